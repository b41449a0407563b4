"""How numbers look to people: one vocabulary for latency, ratios, rates, money and counts.

Every place that shows a number to a person (the terminal report, the HTML report,
comparisons, sweep tables, lab feedback) formats it here, so the same p99 reads the same
everywhere. Missing values (``None`` or NaN) read ``–``; nothing is ever written in
scientific notation.

Two media differ only in typography, not in digits (:class:`Medium`): the terminal
writes ``99.870%`` and ``812.4/s``; HTML writes ``99.870 %`` and ``812.4 req/s``, with
thousands separated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .units import format_duration, human_duration, human_number

MISSING = "–"
"""What a missing number reads."""


@dataclass(frozen=True)
class Medium:
    """The typography of one output: what separates a percentage from ``%``, the unit of a rate,
    and whether rates group thousands."""

    percent_sep: str
    rate_unit: str
    grouping: bool


TERMINAL = Medium(percent_sep="", rate_unit="/s", grouping=False)
HTML = Medium(percent_sep=" ", rate_unit=" req/s", grouping=True)


def missing(value: float | None) -> bool:
    """True for ``None`` and NaN: a number that was not measured."""
    return value is None or value != value


def latency(seconds: float | None, digits: int = 3) -> str:
    """A duration with its unit: ``39.4 µs``, ``12.3 ms``, ``4.2 s``, ``3.5 min``."""
    return human_duration(seconds, digits)


def short_latency(seconds: float | None) -> str:
    """A duration without a space, for running text: ``850us``, ``12.3ms``, ``4.2s``."""
    return MISSING if missing(seconds) else format_duration(seconds)


def percent(ratio: float | None, digits: int = 2, medium: Medium = TERMINAL) -> str:
    """A ratio as a percentage with *digits* decimals: ``99.870%`` (``99.870 %`` in HTML)."""
    return MISSING if missing(ratio) else f"{100 * ratio:.{digits}f}{medium.percent_sep}%"


def rate(per_second: float | None, digits: int = 1, medium: Medium = TERMINAL) -> str:
    """Events per second with *digits* decimals: ``812.4/s`` (``1,812.4 req/s`` in HTML)."""
    if missing(per_second):
        return MISSING
    return f"{per_second:{',' if medium.grouping else ''}.{digits}f}{medium.rate_unit}"


def money(per_hour: float | None) -> str:
    """Dollars per hour: ``$1.25/h``."""
    return MISSING if missing(per_hour) else f"${per_hour:.2f}/h"


def count(n: int | None) -> str:
    """A whole number with thousands separated: ``12,300``."""
    return MISSING if n is None else f"{n:,}"


def number(value: float | int | None, digits: int = 3) -> str:
    """*value* to *digits* significant digits, plain decimals: ``0.0000394``, ``12,300``."""
    return human_number(value, digits)


def significant(value: float, digits: int = 3) -> str:
    """*value* with enough decimals for *digits* significant ones, trailing zeros kept (table columns
    line up): ``12.0``, ``0.0450``, ``1,234``."""
    if value == 0:
        return "0"
    decimals = max(0, digits - int(math.floor(math.log10(abs(value)))) - 1)
    return f"{value:,.{min(decimals, 6)}f}"


def metric_value(metric: str, value: float | None, medium: Medium = TERMINAL, *, rate_digits: int = 1) -> str:
    """*value* of the metric named *metric*, read by its name: ``latency*`` a duration, ``availability``
    and ``error_rate`` a percentage with 3 decimals, ``*ratio`` / ``*utilization`` a percentage with 2,
    a saga count (``sagas_failed``, ``saga_messages``…) a count, anything else a rate."""
    if missing(value):
        return MISSING
    name = metric.rsplit(".", 1)[-1]
    if name in SAGA_COUNTS:
        return count(int(value))
    if name.startswith("latency"):
        return latency(value)
    if name in ("availability", "error_rate"):
        return percent(value, 3, medium)
    if name.endswith(("ratio", "utilization")):
        return percent(value, 2, medium)
    return rate(value, rate_digits, medium)


SAGA_COUNTS = ("sagas_completed", "sagas_compensated", "sagas_failed", "saga_messages", "saga_compensations")
"""The counts a component coordinating sagas reports (:mod:`simulator.steps.saga`)."""
SAGA_KEYS = frozenset({"sagas", "saga_completed_ratio", *SAGA_COUNTS})
"""Every summary key of a component's sagas: shown in the sagas table, not among the details."""
SAGA_COLUMNS = ("component", "saga", "sagas", "completed", "compensated", "failed", "completion", "msg/saga",
                "undo/saga", "p50", "p99", "p99 comp.", "partial effects")
"""The sagas table: p50 and p99 of completed sagas, p99 of compensated ones; undo/saga = compensations run."""


def saga_rows(summary: dict, medium: Medium = TERMINAL) -> list[list[str]]:
    """One row per saga of each component (columns :data:`SAGA_COLUMNS`): its outcomes, messages,
    compensations and latencies in the measurement window, and which steps left partial effects."""
    rows = []
    for name, component in summary["components"].items():
        for saga, s in (component.get("sagas") or {}).items():
            lat = s["latency_s"]
            partial = ", ".join(f"{step} ×{n}" for step, n in s["partial_effects"].items()) or "none"
            rows.append([name, saga, count(s["count"]), count(s["completed"]), count(s["compensated"]),
                         count(s["failed"]), percent(s["completed_ratio"], 2, medium), number(s["messages_per_saga"]),
                         number(s["compensations_per_saga"]), latency(lat["completed"]["p50"]),
                         latency(lat["completed"]["p99"]), latency(lat["compensated"]["p99"]), partial])
    return rows

