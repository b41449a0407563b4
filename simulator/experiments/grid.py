"""Parameter grids: value specs (``1,2,4``, ``100:2000:100``, ``log:1:1000:7``) and their points.

A sweep varies declared scenario parameters. Each ``--param NAME=SPEC`` gives one
parameter its values; the grid is the cartesian product of them, in order: the first
parameter varies slowest, the last fastest (like nested loops written in the order given),
so point numbers are deterministic.

Value specs:

``1,2,4``          a list; each item is read as a YAML scalar, exactly like ``--param``
                   (``8`` int, ``0.5`` float, ``20/s`` text). Commas inside parentheses or
                   brackets do not split: ``lognormal(median=2ms, p99=10ms),exp(5ms)`` is two
                   items. One value (``8``) is a list of one.
``100:2000:100``   START:STOP:STEP, inclusive of STOP when a step lands on it (within
                   rounding); ``10:1:-3`` counts down. All three integers ⇒ integer values;
                   otherwise floats, rounded to 12 significant digits (``0.1:0.3:0.1`` gives
                   0.1, 0.2, 0.3, not 0.30000000000000004).
``log:1:1000:7``   COUNT values spaced evenly on a log scale from START to STOP (both > 0,
                   both included), rounded to 6 significant digits; with integer endpoints,
                   whole values stay integers (``log:1:64:7`` is 1, 2, 4, …, 64).

A text value containing ``:`` must be quoted (``'"a:b"'``); a bad spec raises
:class:`ValueError` naming the parameter and what was expected.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any


from ..scenario.params import parse_assignment
from ..scenario.source import read_value

__all__ = ["MAX_VALUES", "format_value", "normalize_grid", "param_arguments", "parse_grid", "parse_param",
           "parse_values", "points"]

MAX_VALUES = 10_000
"""Most values one parameter may take (a typo such as ``1:1e9:1`` fails fast instead of hanging)."""

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_INT = re.compile(r"[-+]?\d[\d_]*\Z")
_OPEN, _CLOSE = "([{", ")]}"


def _split_top(text: str, sep: str) -> list[str]:
    """Split *text* on *sep* outside parentheses, brackets, braces and quotes."""
    parts, depth, quote, current = [], 0, "", []
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(depth - 1, 0)
        elif ch == sep and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


def _number(text: str, what: str) -> int | float:
    text = text.strip()
    if _INT.match(text):
        return int(text)
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{what} {text!r} is not a finite number")
    return value


def _round(value: float, digits: int) -> float:
    return float(f"{value:.{digits}g}")


def _check_count(n: int, spec: str) -> None:
    if n > MAX_VALUES:
        raise ValueError(f"{spec!r} gives {n:,} values (at most {MAX_VALUES:,}); use a larger step")


def _range(spec: str, parts: list[str]) -> list[int | float]:
    if len(parts) != 3 or any(not p.strip() for p in parts):
        raise ValueError(f"range {spec!r}: expected START:STOP:STEP, e.g. 100:2000:100")
    start, stop, step = (_number(p, f"range {spec!r}:") for p in parts)
    if step == 0:
        raise ValueError(f"range {spec!r}: the step must not be 0")
    if (stop - start) * step < 0:
        direction = "up" if stop > start else "down"
        raise ValueError(f"range {spec!r}: a step of {step!r} never gets from {start!r} {direction} to {stop!r} "
                         f"(use a {'positive' if stop > start else 'negative'} step)")
    if all(isinstance(v, int) for v in (start, stop, step)):
        n = (stop - start) // step + 1
        _check_count(n, spec)
        return list(range(start, stop + (1 if step > 0 else -1), step))
    n = math.floor((stop - start) / step + 1e-9) + 1
    _check_count(n, spec)
    return [_round(start + i * step, 12) for i in range(n)]


def _log(spec: str, parts: list[str]) -> list[int | float]:
    if len(parts) != 3 or any(not p.strip() for p in parts):
        raise ValueError(f"log range {spec!r}: expected log:START:STOP:COUNT, e.g. log:1:1000:7")
    start, stop = (_number(p, f"log range {spec!r}:") for p in parts[:2])
    count = _number(parts[2], f"log range {spec!r}: COUNT")
    if not isinstance(count, int) or count < 2:
        raise ValueError(f"log range {spec!r}: COUNT must be a whole number of at least 2, not {parts[2].strip()!r}")
    if start <= 0 or stop <= 0:
        raise ValueError(f"log range {spec!r}: START and STOP must be greater than 0 on a log scale")
    if start == stop:
        raise ValueError(f"log range {spec!r}: START and STOP are equal (use a single value)")
    _check_count(count, spec)
    ints = isinstance(start, int) and isinstance(stop, int)
    ratio = math.log(stop / start)
    values: list[int | float] = []
    for i in range(count):
        v = start if i == 0 else stop if i == count - 1 else _round(start * math.exp(ratio * i / (count - 1)), 6)
        values.append(int(v) if ints and float(v).is_integer() else float(v))
    return values


def _scalar(item: str, spec: str) -> Any:
    text = item.strip()
    if not text:
        raise ValueError(f"list {spec!r}: an empty value (two commas in a row, or a trailing comma?)")
    return read_value(text)


def parse_values(spec: str) -> list[Any]:
    """The values of one value spec (see the module docstring). Raises ValueError on a bad spec."""
    if not isinstance(spec, str):
        raise ValueError(f"a value spec is text such as '1,2,4', not {type(spec).__name__}")
    text = spec.strip()
    if not text:
        raise ValueError("no values given (expected e.g. 1,2,4 or 100:2000:100 or log:1:1000:7)")
    colon = _split_top(text, ":")
    if len(colon) > 1:
        if colon[0].strip().lower() == "log":
            values = _log(text, colon[1:])
        elif "," in text:
            raise ValueError(f"{text!r}: a range (START:STOP:STEP) cannot be mixed with a list; "
                             "quote a text value that contains ':'")
        else:
            values = _range(text, colon)
    else:
        values = [_scalar(item, text) for item in _split_top(text, ",")]
    return _unique(values, text)


def _kind(value: Any) -> str:
    """Values compare within a kind only: 1 and 1.0 are the same number, True and 1 are not."""
    if isinstance(value, bool):
        return "bool"
    return "number" if isinstance(value, (int, float)) else type(value).__name__


def _unique(values: list[Any], spec: str) -> list[Any]:
    seen: list[Any] = []
    for v in values:
        if any(_kind(v) == _kind(s) and v == s for s in seen):
            raise ValueError(f"{spec!r}: the value {v!r} is repeated")
        seen.append(v)
    return values


def parse_param(text: str) -> tuple[str, list[Any]]:
    """``"NAME=SPEC"`` → ``(name, values)``."""
    name, eq, spec = text.partition("=")
    name = name.strip()
    if not eq or not name:
        raise ValueError(f"--param {text!r}: expected NAME=SPEC, e.g. servers=8,10,12 or rate=100:2000:100")
    if not _NAME.match(name):
        raise ValueError(f"--param {text!r}: {name!r} is not a parameter name (letters, digits and _)")
    try:
        return name, parse_values(spec)
    except ValueError as exc:
        raise ValueError(f"--param {name}: {exc}") from None


def parse_grid(specs: Iterable[str]) -> dict[str, list[Any]]:
    """Several ``NAME=SPEC`` → an ordered ``{name: values}``; a name given twice is an error."""
    grid: dict[str, list[Any]] = {}
    for text in specs:
        name, values = parse_param(text)
        if name in grid:
            raise ValueError(f"--param {name} is given twice (put all its values in one spec: {name}=1,2,4)")
        grid[name] = values
    return grid


def _plain(value: Any) -> Any:
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value!r} is not a usable parameter value")
    return value


def normalize_grid(grid: Mapping[str, Any] | None) -> dict[str, list[Any]]:
    """Accept ``{name: [values]}``, ``{name: "spec"}`` or ``{name: scalar}``; return ``{name: [values]}``."""
    out: dict[str, list[Any]] = {}
    for name, spec in (grid or {}).items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"{name!r} is not a parameter name (letters, digits and _)")
        try:
            if isinstance(spec, str):
                values = parse_values(spec)
            elif isinstance(spec, Iterable) and not isinstance(spec, (bytes, Mapping)):
                values = [_plain(v) for v in spec]
            else:
                values = [_plain(spec)]
            if not values:
                raise ValueError("no values given")
            _unique(values, str(spec))
            for v in values:
                format_value(v)
        except ValueError as exc:
            raise ValueError(f"parameter {name}: {exc}") from None
        out[name] = values
    return out


def points(grid: Mapping[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, first parameter slowest. No parameters ⇒ one empty point."""
    names = list(grid)
    return [dict(zip(names, combo)) for combo in itertools.product(*(grid[n] for n in names))]


def format_value(value: Any) -> str:
    """Text that ``--param name=<text>`` reads back as exactly *value* (same type, same float bits)."""
    value = _plain(value)
    if isinstance(value, bool) or value is None:
        text = json.dumps(value)
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = repr(value)
        if "e" in text and "." not in text:  # YAML 1.1 floats need a dot: 1e-05 would read as text
            mantissa, _, exponent = text.partition("e")
            text = f"{mantissa}.0e{exponent}"
    else:
        text = str(value)
    if _reads_as(text, value):
        return text
    text = json.dumps(value)  # JSON is YAML: quoted text, lists, mappings
    if _reads_as(text, value):
        return text
    raise ValueError(f"{value!r} cannot be written as a --param value")


def _reads_as(text: str, value: Any) -> bool:
    try:
        back = parse_assignment(f"x={text}", "--param")[1]
    except ValueError:
        return False
    return type(back) is type(value) and back == value


def param_arguments(point: Mapping[str, Any]) -> list[str]:
    """``{"servers": 8}`` → ``["servers=8"]``, the ``params=`` of :func:`simulator.load_scenario`."""
    return [f"{name}={format_value(value)}" for name, value in point.items()]


_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def parse_range(text: str, *, integer: bool = False, what: str = "--param") -> tuple[str, float, float]:
    """``NAME=LOW:HIGH`` → ``(name, low, high)`` with low < high (whole numbers with *integer*)."""
    name, eq, spec = text.partition("=")
    name = name.strip()
    bounds = spec.split(":")
    kind = "whole numbers" if integer else "numbers"
    if not eq or not name or len(bounds) != 2:
        raise ValueError(f"{what} {text!r}: expected NAME=LOW:HIGH, e.g. {'servers=1:30' if integer else 'rate=10:500'}")
    values = []
    for b in bounds:
        b = b.strip()
        pattern = r"[-+]?\d+" if integer else _NUMBER
        if not re.fullmatch(pattern, b):
            raise ValueError(f"{what} {text!r}: LOW and HIGH must be {kind}, not {b!r}")
        values.append(int(b) if integer else float(b))
    low, high = values
    if not low < high:
        raise ValueError(f"{what} {text!r}: LOW must be less than HIGH")
    return name, low, high


def parse_knob(text: str) -> tuple[str, tuple[int, int]]:
    """``NAME=LOW:HIGH`` (whole numbers) → ``(name, (low, high))``."""
    name, low, high = parse_range(text, integer=True, what="--knob")
    return name, (int(low), int(high))
