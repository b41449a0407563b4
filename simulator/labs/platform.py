"""What a submission may not change: the lab's platform (``lab.yaml`` ``fixed:``).

A lab fixes the physics of its platform (each operation's CPU work, workers and vCPUs
per instance, database connections, instance classes, the kinds of components on
offer) and a few structural rules (which service owns which operation). A design that
changes any of them is not graded; :func:`violations` lists every such change as a
located problem, one per field, saying what the lab fixes and what the design has.

A field the design leaves out takes the lab's value (:func:`impose`, applied to the
graded run); a field the design sets to something else is a violation. Comparison is on
validated values, so the same distribution written another way is equal.
"""

from __future__ import annotations

from typing import Any

from ..errors import Problem
from ..scenario.model import Scenario
from ..scenario.source import Source
from ..units import format_duration
from .rules import RULES
from .settings import violations as settings_violations
from .spec import ANY_OPERATION, FixedComponent, LabSpec


def _show(value: Any) -> str:
    """A validated value as a person would write it (a distribution as ``lognormal(median=4ms, p99=25ms)``)."""
    if value is None:
        return "null (not set)"
    dist = getattr(value, "dist", None)
    if isinstance(dist, str) and hasattr(value, "model_dump"):
        args = value.model_dump(exclude_defaults=True, exclude={"dist"}, by_alias=True)
        shown = [f"{k}={format_duration(v).replace(' ', '') if isinstance(v, float) else v}" for k, v in args.items()]
        return f"{dist}({', '.join(shown)})"
    return repr(value)


def _component(name: str, spec: Any, fixed: FixedComponent, kind: str, where: str) -> list[tuple[tuple, str]]:
    """``(path, message)`` for every way component *name* differs from what the lab fixes."""
    found: list[tuple[tuple, str]] = []
    values, works = fixed.resolved(kind)
    for field, expected in values.items():
        actual = getattr(spec, field)
        if field in spec.model_fields_set and actual != expected:
            found.append((("components", name, field),
                          f"the lab fixes {field} of {where} at {_show(expected)} (yours: {_show(actual)})"))
    if works is None:
        return found
    for op_name, op in getattr(spec, "operations", {}).items():
        expected = works.get(op_name, works.get(ANY_OPERATION))
        if expected is None:
            offered = ", ".join(sorted(o for o in works if o != ANY_OPERATION))
            found.append((("components", name, "operations", op_name),
                          f"{op_name!r} is not an operation {where} offers in this lab (it offers: {offered})"))
        elif "work" in op.model_fields_set and op.work != expected:
            found.append((("components", name, "operations", op_name, "work"),
                          f"the lab fixes the work of {where}.{op_name} at {_show(expected)} "
                          f"(yours: {_show(op.work)})"))
    return found


def violations(lab: LabSpec, design: Scenario, source: Source | None = None) -> list[Problem]:
    """Every way *design* changes what *lab* fixes, located in *source* (the design file) when given."""
    fixed = lab.fixed
    if fixed is None:
        return []
    found: list[tuple[tuple, str]] = []
    for name, spec in design.components.items():
        named = fixed.components.get(name)
        if named is not None:
            if spec.kind != named.kind:
                found.append((("components", name, "kind"),
                              f"{name!r} is a {named.kind} in this lab (yours: {spec.kind})"))
                continue
            found += _component(name, spec, named, spec.kind, repr(name))
        elif spec.kind in fixed.kinds:
            found += _component(name, spec, fixed.kinds[spec.kind], spec.kind, f"every {spec.kind}")
        else:
            offered = ", ".join(sorted(fixed.kinds)) or "none"
            found.append((("components", name, "kind"),
                          f"this lab offers no new component of kind {spec.kind!r} (kinds you may add: {offered})"))
    found += settings_violations(fixed.settings, design, fixed.component_kinds)
    for r in fixed.rules:
        for message in RULES[r.rule](design, r.value):
            found.append(((), f"the lab requires it: {message}"))
    file = source.file if source is not None else "design"
    problems = []
    for path, message in found:
        if source is not None:
            problems.append(source.problem(path, message, key=True))
        else:
            problems.append(Problem(file, None, None, ".".join(map(str, path)), message))
    return problems


def _fixed_for(lab: LabSpec, name: str, kind: str) -> FixedComponent | None:
    fixed = lab.fixed
    if fixed is None:
        return None
    named = fixed.components.get(name)
    if named is not None:
        return named if named.kind == kind else None
    return fixed.kinds.get(kind)


def impose(lab: LabSpec, components: dict[str, dict[str, Any]]) -> None:
    """Set what the lab fixes on *components* (a scenario's dumped ``components``), in place.

    Run after :func:`violations` found nothing, this only fills what the design left out
    (a missing ``work`` is the lab's, not zero; a missing ``vcpus`` the lab's, not unlimited).
    """
    for name, data in components.items():
        fixed = _fixed_for(lab, name, data.get("kind"))
        if fixed is None:
            continue
        data.update(fixed.fields)
        if fixed.operations is not None:
            for op_name, op in data.get("operations", {}).items():
                work = fixed.operations.get(op_name, fixed.operations.get(ANY_OPERATION))
                if work is not None:
                    op["work"] = work["work"]
