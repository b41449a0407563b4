"""Annotated field types shared by the scenario models: durations, rates, probabilities.

They accept what a person writes in YAML (``250ms``, ``800/s``) and hold SI floats.
The JSON Schema advertises both spellings.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field, PlainSerializer, WithJsonSchema

from ..units import DURATION_HELP, RATE_HELP, parse_duration, parse_rate


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
    {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": r"^\s*[0-9.eE+-]+\s*(us|ms|s|m|min|h|d)?\s*$"}],
     "description": DURATION_HELP}
)
_RATE_SCHEMA = WithJsonSchema(
    {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": r"^\s*[0-9.eE+-]+\s*(/\s*(ms|s|m|min|h|d))?\s*$"}],
     "description": RATE_HELP}
)

Duration = Annotated[
    float,
    BeforeValidator(lambda v: _nonnegative("a duration")(parse_duration(v))),
    _DURATION_SCHEMA,
    PlainSerializer(float),
]
"""A non-negative duration in seconds."""

PositiveDuration = Annotated[
    float,
    BeforeValidator(lambda v: _positive("this duration")(parse_duration(v))),
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
