"""``fixed.settings``: fields of a scenario's sections that a lab imposes, by dotted path.

Some physics live outside the components: how often Prometheus scrapes and evaluates
(``monitoring.scrape_interval``, ``monitoring.evaluation_interval``), how long after an
incident a page still counts (``monitoring.detection_grace``), what a TLS handshake costs
(``security.mtls.handshake_cpu``). A lab fixes them by path::

    fixed:
      settings:
        monitoring.evaluation_interval: 15s
        security.mtls.requests_per_connection: 100

A path names a field of the scenario (its YAML spelling), through nested sections. A design
that sets the field to another value is refused (:func:`violations`, compared on validated
values); one that leaves it out gets the lab's value (:func:`impose`). A section the design
does not have is not created: a lab fixes how monitoring works if the design monitors.
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from ..scenario.model import Scenario
from ..units import format_duration

NOT_FIXABLE = ("extends", "name", "description", "params", "workload", "components", "faults", "slos", "seed",
               "duration", "warmup", "drain")
"""Top-level fields a lab controls otherwise (``run:``, ``fixed.components``) or that are the student's own."""


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


def _walk(path: str) -> list[tuple[str, str, FieldInfo]]:
    """``(yaml key, attribute, field)`` for each segment of *path*; ValueError on a path that names nothing."""
    model: type[BaseModel] | None = Scenario
    steps = []
    keys = path.split(".")
    if keys[0] in NOT_FIXABLE:
        raise ValueError(f"fixed.settings: {keys[0]} is not fixed by path (the lab's run and fixed.components "
                         "say what it imposes there)")
    for i, key in enumerate(keys):
        found = _field(model, key) if model is not None else None
        if found is None:
            where = ".".join(keys[:i]) or "a scenario"
            known = ", ".join(info.alias or name for name, info in model.model_fields.items()) if model else "none"
            raise ValueError(f"fixed.settings: {path!r}: {where} has no field {key!r} (its fields: {known})")
        name, info = found
        steps.append((key, name, info))
        model = _model_of(info.annotation)
        if i < len(keys) - 1 and model is None:
            raise ValueError(f"fixed.settings: {path!r}: {'.'.join(keys[:i + 1])} is a value, not a section")
    return steps


def _adapter(info: FieldInfo) -> TypeAdapter:
    annotation = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    return TypeAdapter(annotation)


def expected(path: str, raw: Any) -> Any:
    """The lab's value at *path*, validated as the field's own type (ValueError saying why not)."""
    *_, (_, _, info) = _walk(path)
    try:
        return _adapter(info).validate_python(raw)
    except ValidationError as exc:
        raise ValueError(f"fixed.settings: {path}: {exc.errors()[0]['msg']} (got {raw!r})") from None


def check_paths(settings: dict[str, Any]) -> None:
    """Every path names a field and every value is valid for it (ValueError otherwise)."""
    for path, raw in settings.items():
        expected(path, raw)


def violations(settings: dict[str, Any], design: Scenario) -> list[tuple[tuple, str]]:
    """``(path, message)`` for every fixed setting *design* sets to something else."""
    found = []
    for path, raw in settings.items():
        value: Any = design
        keys = []
        for key, attribute, _ in _walk(path):
            if value is None or attribute not in value.model_fields_set:
                break
            keys.append(key)
            value = getattr(value, attribute)
        else:
            want = expected(path, raw)
            if value != want:
                found.append((tuple(keys), f"the lab fixes {path} at {raw!r} (yours: {_shown(value, raw)})"))
    return found


def _shown(value: Any, raw: Any) -> str:
    """*value* as the lab wrote its own: a duration with its unit when the lab's has one."""
    if isinstance(value, float) and isinstance(raw, str) and raw[-1:].isalpha():
        return format_duration(value)
    return repr(value.model_dump(by_alias=True) if isinstance(value, BaseModel) else value)


def impose(settings: dict[str, Any], data: dict[str, Any]) -> None:
    """Write the fixed settings into *data* (a scenario's ``model_dump(by_alias=True)``), in place,
    under the sections the design has."""
    for path, raw in settings.items():
        *sections, leaf = [key for key, _, _ in _walk(path)]
        here = data
        for key in sections:
            if here.get(key) is None:
                if here is data:  # a top-level section the design does not have: not created
                    break
                here[key] = {}
            here = here[key]
        else:
            here[leaf] = raw
