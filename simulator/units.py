"""Durations and rates with units, as written in scenario files.

Internally everything is SI: durations in seconds, rates in events per second.

* Durations: a string ``<number><unit>`` with unit ``us``, ``ms``, ``s``, ``m``, ``h`` or
  ``d`` — ``250ms``, ``2s``, ``5m``, ``1.5h``. In scenario files a bare number is refused
  (``require_unit=True``: is ``timeout: 500`` seconds or milliseconds?), except ``0``; from
  Python a number is seconds.
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

DURATION_HELP = "a duration with a unit such as 250ms, 2s, 5m or 1h (a bare number is only allowed for 0)"
RATE_HELP = "a rate such as 800/s, 3000/m or a number per second"


def _finite(value: float, text: object, help_: str) -> float:
    if not math.isfinite(value):
        shown = repr(text) if len(repr(text)) <= 40 else f"{repr(text)[:20]}… ({len(str(text))} characters)"
        raise ValueError(f"{shown} is not finite (expected {help_})")
    return value


def _parse(value: object, pattern: re.Pattern, units: dict[str, float], per_unit: bool, what: str,
           help_: str) -> float:
    """A number as is, or ``<number><unit>`` scaled by the unit (divided by it for rates)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return _finite(float(value), value, help_)
        except OverflowError:  # an int of hundreds of digits
            raise ValueError(f"{str(value)[:20]}… ({len(str(value))} digits) is too large (expected {help_})") from None
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


def bare_number(value: object) -> str | None:
    """The text of *value* when it is a number without a unit (``5``, ``"0.5"``), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, str):
        match = _DURATION_RE.match(value)
        if match and match.group(2) is None:
            return match.group(1)
    return None


def duration_unit(value: object) -> str | None:
    """The unit of a duration written with one (``"500ms"`` → ``"ms"``), else None."""
    match = _DURATION_RE.match(value) if isinstance(value, str) else None
    unit = match.group(2) if match else None
    return unit if unit in DURATION_UNITS else None


def parse_duration(value: object, *, require_unit: bool = False) -> float:
    """Return *value* as seconds. Numbers are seconds; strings carry a unit.

    With *require_unit* (scenario files), a bare number other than 0 raises ValueError
    saying which unit to add: ``5: a duration needs a unit (expected e.g. 5s or 5ms)``.
    """
    bare = bare_number(value) if require_unit else None
    if bare is not None:
        try:
            zero = float(bare) == 0
        except ValueError:
            zero = False
        if not zero:
            if len(bare) > 24:  # do not echo a number of hundreds of digits three times
                raise ValueError(f"{bare[:12]}… ({len(bare)} characters): a duration needs a unit (expected e.g. 5s)")
            raise ValueError(f"{bare}: a duration needs a unit (expected e.g. {bare}s or {bare}ms)")
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


# ----------------------------------------------------------------------------- numbers for people
# What a person reads (terminal tables, the HTML report): significant digits, never scientific
# notation (3.94e-05 s is "39.4 µs"), thousands separated, a space before the unit.


def human_number(value: float | int | None, digits: int = 3) -> str:
    """*value* to *digits* significant digits in plain decimal (``0.0000394``, ``12,300``), ``–`` if missing."""
    if value is None or isinstance(value, bool):
        return "–" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if value != value:
        return "–"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if value == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    text = f"{value:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def human_duration(seconds: float | None, digits: int = 3) -> str:
    """A duration for people: ``39.4 µs``, ``12.3 ms``, ``4.2 s``, ``3.5 min``, ``2 h``; ``–`` if missing."""
    if seconds is None or seconds != seconds:
        return "–"
    seconds = float(f"{seconds:.{digits}g}")  # round first: 0.9995 s is "1 s", not "1,000 ms"
    a = abs(seconds)
    if a == 0:
        return "0 s"
    for limit, scale, unit in ((1e-3, 1e6, "µs"), (1.0, 1e3, "ms"), (120.0, 1.0, "s"), (7200.0, 1 / 60, "min")):
        if a < limit:
            return f"{human_number(seconds * scale, digits)} {unit}"
    return f"{human_number(seconds / 3600, digits)} h"


def human_percent(ratio: float | None, digits: int = 4) -> str:
    """A ratio as a percentage with *digits* significant digits: ``99.87 %``; ``–`` if missing."""
    if ratio is None or ratio != ratio:
        return "–"
    return f"{human_number(100 * ratio, digits)} %"


def human_rate(per_second: float | None, digits: int = 4) -> str:
    """Requests per second: ``1,234 req/s``, ``0.5 req/s``; ``–`` if missing."""
    if per_second is None or per_second != per_second:
        return "–"
    return f"{human_number(per_second, digits)} req/s"


def human_quantity(value: float | None, unit: str, digits: int = 3) -> str:
    """*value* in *unit* for people: ``"s"`` a duration, ``"%"`` a ratio, ``"req/s"`` a rate, else a number."""
    if unit == "s":
        return human_duration(value, digits)
    if unit == "%":
        return human_percent(value, digits + 1)
    if unit == "req/s":
        return human_rate(value, digits + 1)
    return human_number(value, digits)
