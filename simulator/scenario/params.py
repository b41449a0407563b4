"""Named parameters and overrides, applied to the raw YAML data before validation.

* ``params:`` declares names with defaults (``arrival_rate: 0.9`` or
  ``arrival_rate: {default: 0.9, min: 0.1, max: 2, description: ...}``).
* ``${name}`` anywhere else is replaced by the value: a scalar that is exactly ``${name}``
  takes the value with its type (number stays number); inside a longer string it is
  interpolated as text (``exp(rate=${service_rate})``).
* ``--param name=value`` overrides a declared default; an undeclared name is an error.
  A bare number given to a parameter whose default is a duration with a unit takes that
  unit (``timeout: {default: 500ms}`` and ``--param timeout=300`` mean 300ms), so sweeps,
  knees and plans over numbers work; a bare number reaching a duration field any other way
  is refused (``5: a duration needs a unit``).
* ``--set dotted.path=value`` overrides any field (``components.web.workers=8``,
  ``workload.0.arrivals.rate=20/s``); it is applied first, so its value may use ``${...}``.

Override values are parsed as YAML scalars: ``8`` is an int, ``20/s`` a string, ``[1, 2]``
a list.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Iterable


from ..errors import Problem
from ..units import duration_unit
from .source import Path, Source, read_value

_REF = re.compile(r"\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}")
OVERRIDE_FILE = "<command line>"


def parse_assignment(text: str, flag: str) -> tuple[str, Any]:
    """Split ``name=value`` and parse the value as a YAML scalar."""
    name, eq, raw = text.partition("=")
    if not eq or not name.strip():
        raise ValueError(f"{flag} {text!r}: expected NAME=VALUE")
    return name.strip(), read_value(raw) if raw.strip() else ""


def apply_sets(source: Source, sets: Iterable[str]) -> list[Problem]:
    """Apply ``--set`` overrides in place on ``source.data``."""
    problems = []
    for text in sets:
        try:
            dotted_path, value = parse_assignment(text, "--set")
        except ValueError as exc:
            problems.append(Problem(OVERRIDE_FILE, None, None, "", str(exc)))
            continue
        error = _set_path(source.data, dotted_path.split("."), value)
        if error:
            problems.append(Problem(OVERRIDE_FILE, None, None, dotted_path, f"--set: {error}"))
    return problems


def _set_path(data: Any, parts: list[str], value: Any) -> str | None:
    node = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                return f"no item {part!r} here (the list has {len(node)} items, numbered from 0)"
            if last:
                node[int(part)] = value
            else:
                node = node[int(part)]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            elif part not in node:
                return f"no field {part!r} here (expected one of {', '.join(map(str, node)) or 'nothing'})"
            else:
                node = node[part]
        else:
            return f"{'.'.join(parts[:i])} is a single value, it has no field {part!r}"
    return None


def resolve_params(source: Source, overrides: Iterable[str]) -> tuple[dict[str, Any], list[Problem]]:
    """Merge ``--param`` overrides into the declared defaults; return ``{name: value}``."""
    problems: list[Problem] = []
    declared = source.data.get("params") or {}
    if not isinstance(declared, dict):
        return {}, problems  # pydantic reports the wrong type
    values = {name: (spec.get("default") if isinstance(spec, dict) else spec) for name, spec in declared.items()}
    for text in overrides:
        try:
            name, value = parse_assignment(text, "--param")
        except ValueError as exc:
            problems.append(Problem(OVERRIDE_FILE, None, None, "", str(exc)))
            continue
        if name not in values:
            known = ", ".join(values) or "none declared"
            problems.append(Problem(OVERRIDE_FILE, None, None, f"params.{name}",
                                    f"--param: unknown parameter {name!r} (expected one of: {known})"))
            continue
        spec = declared[name]
        bound_problem = _outside_bounds(spec, value)
        if bound_problem:
            problems.append(Problem(OVERRIDE_FILE, None, None, f"params.{name}", f"--param: {bound_problem}"))
            continue
        value = _in_unit_of_default(spec, value)
        values[name] = value
        if isinstance(spec, dict):
            spec["default"] = value
        else:
            declared[name] = value
    return values, problems


def _in_unit_of_default(spec: Any, value: Any) -> Any:
    """A bare number for a parameter whose default is a duration with a unit, in that unit:
    ``300`` for ``{default: 500ms}`` is ``"300ms"``. Anything else unchanged."""
    default = spec.get("default") if isinstance(spec, dict) else spec
    unit = duration_unit(default)
    if unit is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    return f"{value!r}{unit}" if isinstance(value, float) else f"{value}{unit}"


def _outside_bounds(spec: Any, value: Any) -> str | None:
    """Declared ``min``/``max`` and ``choices`` are limits, not hints: a value outside them is refused."""
    if not isinstance(spec, dict):
        return None
    choices = spec.get("choices")
    if isinstance(choices, list) and value not in choices:
        return f"{value!r} is not one of the declared choices ({', '.join(map(str, choices))})"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    low, high = spec.get("min"), spec.get("max")
    if isinstance(low, (int, float)) and value < low or isinstance(high, (int, float)) and value > high:
        return f"{value!r} is outside the declared range [{low if low is not None else '-inf'}, " \
               f"{high if high is not None else 'inf'}]"
    return None


def substitute(source: Source, values: dict[str, Any]) -> list[Problem]:
    """Replace ``${name}`` references everywhere except inside ``params:`` itself."""
    problems: list[Problem] = []

    def walk(node: Any, path: Path) -> Any:
        if isinstance(node, dict):
            return {k: (v if path == () and k == "params" else walk(v, path + (k,))) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, path + (i,)) for i, v in enumerate(node)]
        if isinstance(node, str) and "${" in node:
            whole = _REF.fullmatch(node.strip())
            if whole:
                name = whole.group(1)
                if name in values:
                    return copy.deepcopy(values[name])
                problems.append(_unknown(source, path, name, values))
                return node

            def repl(m: re.Match) -> str:
                if m.group(1) in values:
                    return str(values[m.group(1)])
                problems.append(_unknown(source, path, m.group(1), values))
                return m.group(0)

            return _REF.sub(repl, node)
        return node

    source.data = walk(source.data, ())
    return problems


def _unknown(source: Source, path: Path, name: str, values: dict[str, Any]) -> Problem:
    known = ", ".join(values) or "none declared"
    return source.problem(path, f"unknown parameter ${{{name}}} (declare it under params:; declared: {known})")
