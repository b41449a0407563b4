"""Argument checks shared by the pure modules (closed forms, policies, placement strategies).

Each returns the value (as ``float`` for the numeric checks) or raises :class:`ValueError`
naming the argument, what was expected and what was given. Booleans are refused
everywhere: ``True`` is an ``int`` to Python, never a count or a rate here.
"""

from __future__ import annotations

import math


def positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def non_negative(name: str, value: float) -> float:
    if isinstance(value, bool) or not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a non-negative finite number, got {value!r}")
    return float(value)


def integer(name: str, value: int, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def probability(name: str, value: float, *, exclusive: bool = False) -> float:
    """Check ``value`` lies in [0, 1] (or in (0, 1) when ``exclusive``)."""
    inside = 0 < value < 1 if exclusive else 0 <= value <= 1
    if isinstance(value, bool) or not inside:
        bounds = "(0, 1)" if exclusive else "[0, 1]"
        raise ValueError(f"{name} must be a probability in {bounds}, got {value!r}")
    return float(value)
