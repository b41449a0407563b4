"""Durations and rates with units, as written in scenario files.

Internally everything is SI: durations in seconds, rates in events per second.

* Durations: a number (seconds) or a string ``<number><unit>`` with unit ``us``, ``ms``,
  ``s``, ``m``, ``h`` or ``d`` — ``250ms``, ``2s``, ``5m``, ``1.5h``.
* Rates: a number (per second) or ``<number>/<unit>`` — ``800/s``, ``3000/m``, ``10/h``.

Parsing errors raise :class:`ValueError` with a message that says what was expected;
pydantic turns them into located scenario problems.
"""

from __future__ import annotations

import math
import re

DURATION_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
RATE_UNITS = {"ms": 1e-3, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_DURATION_RE = re.compile(rf"^\s*({_NUMBER})\s*([a-z]+)?\s*$")
_RATE_RE = re.compile(rf"^\s*({_NUMBER})\s*(?:/\s*([a-z]+))?\s*$")

DURATION_HELP = "a duration such as 250ms, 2s, 5m, 1h or a number of seconds"
RATE_HELP = "a rate such as 800/s, 3000/m or a number per second"


def _finite(value: float, text: object, help_: str) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not finite (expected {help_})")
    return value


def _parse(value: object, pattern: re.Pattern, units: dict[str, float], per_unit: bool, what: str,
           help_: str) -> float:
    """A number as is, or ``<number><unit>`` scaled by the unit (divided by it for rates)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _finite(float(value), value, help_)
    match = pattern.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"{value!r} is not a {what} (expected {help_})")
    number, unit = match.groups()
    if unit is None:
        return _finite(float(number), value, help_)
    if unit not in units:
        raise ValueError(f"unknown time unit {unit!r} in {what} {value!r} (expected one of {', '.join(units)})")
    scaled = float(number) / units[unit] if per_unit else float(number) * units[unit]
    return _finite(scaled, value, help_)


def parse_duration(value: object) -> float:
    """Return *value* as seconds. Numbers are seconds; strings carry a unit."""
    return _parse(value, _DURATION_RE, DURATION_UNITS, False, "duration", DURATION_HELP)


def parse_rate(value: object) -> float:
    """Return *value* as events per second. Numbers are per second; ``N/unit`` strings convert."""
    return _parse(value, _RATE_RE, RATE_UNITS, True, "rate", RATE_HELP)


def format_duration(seconds: float) -> str:
    """A short human form: ``850us``, ``12.3ms``, ``4.20s``, ``3.5m``."""
    if seconds != seconds:  # NaN
        return "–"
    a = abs(seconds)
    if a == 0:
        return "0"
    if a < 1e-3:
        return f"{seconds * 1e6:.0f}us"
    if a < 1:
        return f"{seconds * 1e3:.3g}ms"
    if a < 120:
        return f"{seconds:.3g}s"
    if a < 7200:
        return f"{seconds / 60:.3g}m"
    return f"{seconds / 3600:.3g}h"
