"""The base model and the annotated field types shared by the scenario models.

:class:`Strict` is the base of every scenario model. Durations, rates and probabilities
accept what a person writes in YAML (``250ms``, ``800/s``) and hold SI floats; the JSON
Schema advertises both spellings.
"""

from __future__ import annotations

from typing import Annotated, Any, Mapping, Union

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, PlainSerializer, Tag,
                      ValidationInfo, WithJsonSchema)

from ..units import DURATION_HELP, RATE_HELP, parse_duration, parse_rate


class Strict(BaseModel):
    """Base of every scenario model: immutable, unknown keys are errors.

    Each model's validator is built on first use (``defer_build``): the scenario's validator
    holds every model it nests, so they need not each build their own at import (20 ms of
    ``sdsim validate``, ``benchmarks/bench_startup.py``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)


UNITS_REQUIRED = {"units_required": True}
"""Validation context of a scenario *file* (``Scenario.model_validate(data, context=UNITS_REQUIRED)``):
a bare number where a duration is expected is an error (``timeout: 500`` — seconds or
milliseconds?), except 0. Without it (models built from Python, a dump validated again)
numbers are seconds."""


TAGGED_UNIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {}
"""Custom error type of a tagged union (``unknown_component``) → (tag key, what a tag is called,
the valid tags): the loader turns the bare error into ``unknown kind 'databse' (did you mean …)``."""


def tagged_union(specs: Mapping[str, type[BaseModel]], key: str, what: str) -> Any:
    """The union of *specs* told apart by the field *key* (``kind: cache``); an unknown tag is an
    ``unknown_<what>`` error the loader turns into a sentence listing the valid tags."""

    def tag(value: Any) -> str | None:
        return value.get(key) if isinstance(value, dict) else getattr(value, key, None)

    TAGGED_UNIONS[f"unknown_{what}"] = (key, key, tuple(specs))
    return Annotated[
        Union[tuple(Annotated[t, Tag(k)] for k, t in specs.items())],  # type: ignore[misc]
        Discriminator(tag, custom_error_type=f"unknown_{what}",
                      custom_error_message=f"unknown {what} {key} (expected one of {', '.join(specs)})"),
    ]


def units_required(info: ValidationInfo | None) -> bool:
    context = getattr(info, "context", None)
    return bool(isinstance(context, dict) and context.get("units_required"))


def _duration(check):
    def validate(value: Any, info: ValidationInfo) -> float:
        return check(parse_duration(value, require_unit=units_required(info)))

    return validate


def _nonnegative(kind: str):
    def check(value: float) -> float:
        if value < 0:
            raise ValueError(f"{kind} must not be negative (got {value:g})")
        return value

    return check


def _positive(kind: str):
    def check(value: float) -> float:
        if value <= 0:
            raise ValueError(f"{kind} must be positive (got {value:g})")
        return value

    return check


_DURATION_SCHEMA = WithJsonSchema(
    {"anyOf": [{"type": "number", "minimum": 0, "maximum": 0}, {"type": "string", "pattern": r"^\s*(0+(\.0*)?|[0-9.eE+-]+\s*(us|ms|s|m|min|h|d))\s*$"}],
     "description": DURATION_HELP}
)
_RATE_SCHEMA = WithJsonSchema(
    {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": r"^\s*[0-9.eE+-]+\s*(/\s*(ms|s|m|min|h|d))?\s*$"}],
     "description": RATE_HELP}
)

Duration = Annotated[
    float,
    BeforeValidator(_duration(_nonnegative("a duration"))),
    _DURATION_SCHEMA,
    PlainSerializer(float),
]
"""A non-negative duration in seconds."""

PositiveDuration = Annotated[
    float,
    BeforeValidator(_duration(_positive("this duration"))),
    _DURATION_SCHEMA,
    PlainSerializer(float),
]
"""A duration in seconds that must be > 0."""

Rate = Annotated[
    float,
    BeforeValidator(lambda v: _nonnegative("a rate")(parse_rate(v))),
    _RATE_SCHEMA,
    PlainSerializer(float),
]
"""A non-negative rate in events per second."""

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$", min_length=1)]
