"""``fixed.settings``: fields a lab imposes by dotted path, in the scenario's sections or deep in a component.

Some physics live outside what ``fixed.components`` compares field by field: how often
Prometheus scrapes and evaluates (``monitoring.scrape_interval``,
``monitoring.evaluation_interval``), how long after an incident a page still counts
(``monitoring.detection_grace``), what a TLS handshake costs
(``security.mtls.handshake_cpu``), or one field inside a component's section, such as the
time a database takes to promote its standby while the health checks stay the student's
(``components.orders.failover.promotion``). A lab fixes them by path::

    fixed:
      settings:
        monitoring.evaluation_interval: 15s
        security.mtls.requests_per_connection: 100
        components.orders.failover.promotion: 60s     # orders must be in fixed.components (its kind)

A path names a field of the scenario (its YAML spelling), through nested sections; a
``components.NAME.…`` path starts at that component, whose kind ``fixed.components`` gives.
A design that sets the field to another value is refused (:func:`violations`, compared on
validated values); one that leaves it out gets the lab's value (:func:`impose`). A section
the design does not have is not created: a lab fixes how monitoring works if the design
monitors, how fast a backup restores if the design has backups.
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any, Mapping

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from ..scenario.model import Scenario
from ..units import format_duration

NOT_FIXABLE = ("extends", "name", "description", "params", "workload", "faults", "slos", "seed",
               "duration", "warmup", "drain")
"""Top-level fields a lab controls otherwise (``run:``) or that are the student's own."""


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside *annotation* (``Monitoring | None`` → ``Monitoring``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, Annotated):
        for arg in typing.get_args(annotation):
            found = _model_of(arg)
            if found is not None:
                return found
    return None


def _field(model: type[BaseModel], key: str) -> tuple[str, FieldInfo] | None:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return name, info
    return None


def _root(path: str, kinds: Mapping[str, str]) -> tuple[list[str], type[BaseModel], list[str]]:
    """``(keys to the root, the root's model, keys below it)``: the scenario, or a fixed component."""
    keys = path.split(".")
    if keys[0] == "components":
        from ..components import KINDS

        if len(keys) < 3:
            raise ValueError(f"fixed.settings: {path!r}: a component's field is components.NAME.FIELD[.FIELD…]")
        kind = kinds.get(keys[1])
        if kind not in KINDS:
            raise ValueError(f"fixed.settings: {path!r}: {keys[1]!r} is not in fixed.components (its kind says "
                             "which fields it has)")
        return keys[:2], KINDS[kind].spec, keys[2:]
    if keys[0] in NOT_FIXABLE:
        raise ValueError(f"fixed.settings: {keys[0]} is not fixed by path (the lab's run and fixed.components "
                         "say what it imposes there)")
    return [], Scenario, keys


def _walk(path: str, kinds: Mapping[str, str]) -> tuple[list[str], list[tuple[str, str, FieldInfo]]]:
    """``(keys to the root, [(yaml key, attribute, field)…] below it)``; ValueError on a path that names nothing."""
    prefix, model, keys = _root(path, kinds)
    steps = []
    for i, key in enumerate(keys):
        found = _field(model, key) if model is not None else None
        if found is None:
            where = ".".join([*prefix, *keys[:i]]) or "a scenario"
            known = ", ".join(info.alias or name for name, info in model.model_fields.items()) if model else "none"
            raise ValueError(f"fixed.settings: {path!r}: {where} has no field {key!r} (its fields: {known})")
        name, info = found
        steps.append((key, name, info))
        model = _model_of(info.annotation)
        if i < len(keys) - 1 and model is None:
            raise ValueError(f"fixed.settings: {path!r}: {'.'.join([*prefix, *keys[:i + 1]])} is a value, "
                             "not a section")
    return prefix, steps


def _adapter(info: FieldInfo) -> TypeAdapter:
    annotation = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    return TypeAdapter(annotation)


def expected(path: str, raw: Any, kinds: Mapping[str, str] = {}) -> Any:
    """The lab's value at *path*, validated as the field's own type (ValueError saying why not)."""
    _, steps = _walk(path, kinds)
    try:
        return _adapter(steps[-1][2]).validate_python(raw)
    except ValidationError as exc:
        raise ValueError(f"fixed.settings: {path}: {exc.errors()[0]['msg']} (got {raw!r})") from None


def check_paths(settings: dict[str, Any], kinds: Mapping[str, str] = {}) -> None:
    """Every path names a field and every value is valid for it (ValueError otherwise); *kinds*: the
    kind of each component of ``fixed.components``."""
    for path, raw in settings.items():
        expected(path, raw, kinds)


def violations(settings: dict[str, Any], design: Scenario, kinds: Mapping[str, str] = {}
               ) -> list[tuple[tuple, str]]:
    """``(path, message)`` for every fixed setting *design* sets to something else."""
    found = []
    for path, raw in settings.items():
        prefix, steps = _walk(path, kinds)
        value: Any = design if not prefix else design.components.get(prefix[1])
        if prefix and getattr(value, "kind", None) != kinds.get(prefix[1]):
            continue  # no such component, or of another kind: fixed.components says so
        keys = list(prefix)
        for key, attribute, _ in steps:
            if value is None or attribute not in value.model_fields_set:
                break
            keys.append(key)
            value = getattr(value, attribute)
        else:
            want = expected(path, raw, kinds)
            if value != want:
                found.append((tuple(keys), f"the lab fixes {path} at {raw!r} (yours: {_shown(value, raw)})"))
    return found


def _shown(value: Any, raw: Any) -> str:
    """*value* as the lab wrote its own: a duration with its unit when the lab's has one."""
    if isinstance(value, float) and isinstance(raw, str) and raw[-1:].isalpha():
        return format_duration(value)
    return repr(value.model_dump(by_alias=True) if isinstance(value, BaseModel) else value)


def impose(settings: dict[str, Any], data: dict[str, Any], kinds: Mapping[str, str] = {}) -> None:
    """Write the fixed settings into *data* (a scenario's ``model_dump(by_alias=True)``), in place,
    under the sections the design has."""
    for path, raw in settings.items():
        prefix, steps = _walk(path, kinds)
        here: Any = data
        if prefix:
            here = data.get("components", {}).get(prefix[1])
            if not isinstance(here, dict) or here.get("kind") != kinds.get(prefix[1]):
                continue  # no such component, or of another kind: fixed.components says so
        *sections, leaf = [key for key, _, _ in steps]
        for key in sections:
            if not isinstance(here.get(key), dict):
                break  # a section the design does not have: not created
            here = here[key]
        else:
            here[leaf] = raw
