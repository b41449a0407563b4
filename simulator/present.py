"""How numbers look to people: one vocabulary for latency, ratios, rates, money and counts.

Every place that shows a number to a person (the terminal report, the HTML report,
comparisons, sweep tables, chart labels, the notebook explorer, lab feedback) formats it
here, so the same p99 reads the same everywhere. Missing values (``None`` or NaN) read
``–``; nothing is ever written in scientific notation.

Media differ only in typography, not in digits (:class:`Medium`): the terminal writes
``99.870%`` and ``812.4/s``; HTML and charts write ``99.870 %`` and ``812.4 req/s``, with
thousands separated; the notebook explorer writes ``99.87%`` and ``812.40 req/s`` and
``n/a`` for what was not measured.

Latency has three forms: :func:`latency` (tables, labels: ``12.3 ms``), :func:`short_latency`
(running text: ``12.3ms``) and :func:`fixed_latency` (a readout that changes as a slider
moves: one decimal, ``12.3 ms`` up to ``9,999.9 ms``, then ``12.0 s``).
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
    whether rates group thousands, and what a number that was not measured reads."""

    percent_sep: str
    rate_unit: str
    grouping: bool
    missing_text: str = MISSING


TERMINAL = Medium(percent_sep="", rate_unit="/s", grouping=False)
HTML = Medium(percent_sep=" ", rate_unit=" req/s", grouping=True)
CHART = HTML
"""Chart titles and labels share the HTML report's typography (the report embeds the charts)."""
NOTEBOOK = Medium(percent_sep="", rate_unit=" req/s", grouping=True, missing_text="n/a")
"""The notebook explorer's one-line summary (:func:`simulator.interactive.summary_line`)."""


def missing(value: float | None) -> bool:
    """True for ``None`` and NaN: a number that was not measured."""
    return value is None or value != value


def latency(seconds: float | None, digits: int = 3, *, up_to: str = "h") -> str:
    """A duration with its unit, to *digits* significant digits: ``39.4 µs``, ``12.3 ms``, ``4.2 s``,
    ``3.5 min``, ``2 h``. ``up_to="s"`` keeps seconds however long (``243 s``, ``1,230 s``): a label
    next to an axis in milliseconds and seconds."""
    if up_to not in ("h", "s"):
        raise ValueError(f"up_to is 'h' or 's', not {up_to!r}")
    if up_to == "s" and not missing(seconds):
        rounded = float(f"{seconds:.{digits}g}")  # as human_duration rounds: 0.9996 s is "1 s"
        if abs(rounded) >= 1:
            return f"{human_number(rounded, digits)} s"
    return human_duration(seconds, digits)


def short_latency(seconds: float | None) -> str:
    """A duration without a space, for running text: ``850us``, ``12.3ms``, ``4.2s``."""
    return MISSING if missing(seconds) else format_duration(seconds)


def fixed_latency(seconds: float | None, medium: Medium = TERMINAL) -> str:
    """Milliseconds with one decimal below 10 s, then seconds with one decimal: ``12.3 ms``,
    ``8,204.4 ms``, ``42.0 s``. The unit and the number of decimals do not change with small
    moves, so a readout that follows a slider stays steady (and an overloaded queue's p99 does
    not read ``42,000.0 ms``)."""
    if missing(seconds):
        return medium.missing_text
    return f"{seconds:,.1f} s" if seconds >= 10 else f"{seconds * 1e3:,.1f} ms"


def percent(ratio: float | None, digits: int = 2, medium: Medium = TERMINAL) -> str:
    """A ratio as a percentage with *digits* decimals: ``99.870%`` (``99.870 %`` in HTML)."""
    return medium.missing_text if missing(ratio) else f"{100 * ratio:.{digits}f}{medium.percent_sep}%"


def rate(per_second: float | None, digits: int = 1, medium: Medium = TERMINAL) -> str:
    """Events per second with *digits* decimals: ``812.4/s`` (``1,812.4 req/s`` in HTML)."""
    if missing(per_second):
        return medium.missing_text
    return f"{per_second:{',' if medium.grouping else ''}.{digits}f}{medium.rate_unit}"


def money(per_hour: float | None, digits: int = 2) -> str:
    """Dollars per hour with *digits* decimals: ``$1.25/h`` (``$0.125/h`` with 3: a lab's small budgets)."""
    return MISSING if missing(per_hour) else f"${per_hour:.{digits}f}/h"


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


def plus_minus(mean: float | None, half_width: float | None, decimals: int | None = None) -> str:
    """A mean and the half-width of its interval: ``1,261 ± 219``, ``8.16 ± 0.11``, ``100.000 ± 0.000``.

    The mean has *decimals* decimals, or :func:`significant` digits; the half-width is shown to
    the mean's precision, or with its own significant digits when it is finer than the mean's
    last digit (``12.0 ± 0.0450``). No half-width (one replication): the mean alone.
    """
    if missing(mean):
        return MISSING
    text = significant(mean) if decimals is None else f"{mean:,.{decimals}f}"
    if missing(half_width):
        return text
    shown = len(text.split(".")[1]) if "." in text else 0
    if half_width == 0 or half_width >= 10 ** -shown:
        return f"{text} ± {half_width:,.{shown}f}"
    return f"{text} ± {significant(half_width)}"


DURATION_WORDS = frozenset({"latency", "seconds", "staleness", "delay", "wait", "time", "lag", "s"})
"""Words of a metric's name that make it a duration in seconds (``message_latency_p99``,
``consumer_lag_seconds_max``, ``projection_lag_p99``, ``token_wait_mean``, ``replay_time_max``);
``consumer_lag`` alone counts messages."""


def slo_cells(slo: dict, medium: Medium = TERMINAL) -> tuple[str, str, str]:
    """``(metric, value, target)`` of one SLO verdict of a summary, as its table shows them. A
    ``recovery`` SLO's value and target are times (seconds from its fault's end until the metric
    came back), so they read as durations, and the metric says what "back" means."""
    metric = slo["metric"] + (f" ({slo['operation']})" if slo.get("operation") else "")
    bound = "≤ " if slo.get("bound") == "max" else "≥ "
    recovery = slo.get("recovery")
    if recovery:
        back = "≥ " if recovery.get("threshold_bound") == "min" else "≤ "
        metric = (f"recovery after {recovery['after']}: {metric} back to "
                  f"{back}{metric_value(slo['metric'], recovery['threshold'], medium)}")
        return metric, latency(slo["value"]) if not missing(slo["value"]) else "never", bound + latency(slo["target"])
    return metric, metric_value(slo["metric"], slo["value"], medium), bound + metric_value(slo["metric"],
                                                                                          slo["target"], medium)


def metric_value(metric: str, value: float | None, medium: Medium = TERMINAL, *, rate_digits: int = 1) -> str:
    """*value* of the metric named *metric*, read by its name: ``availability`` and ``error_rate`` a
    percentage with 3 decimals, ``*ratio`` / ``*utilization`` / ``p_*`` (a probability) a percentage with 2, ``throughput``,
    ``goodput`` and ``*_rps`` a rate, a name with a word of :data:`DURATION_WORDS` a duration (``*_ms``: in milliseconds)
    (``consumer_lag`` without ``seconds`` is a count of messages), anything else a count when whole
    and a plain number otherwise (``messages_lost``, ``visits_per_request``, ``queue_len_mean``)."""
    if missing(value):
        return medium.missing_text
    name = metric.rsplit(".", 1)[-1]
    words = set(name.split("_"))
    if name in ("availability", "error_rate"):
        return percent(value, 3, medium)
    if name.endswith(("ratio", "utilization")) or name.startswith("p_"):
        return percent(value, 2, medium)
    if name in ("throughput", "goodput") or name.endswith("_rps"):
        return rate(value, rate_digits, medium)
    if name.endswith("_ms"):  # a plug-in's fact in milliseconds
        return latency(value / 1000)
    if words & DURATION_WORDS and not (name.startswith("consumer_lag") and "seconds" not in words):
        return latency(value)
    if float(value).is_integer():
        return count(int(value))
    return number(value)


SAGA_COUNTS = ("sagas_completed", "sagas_compensated", "sagas_failed", "saga_messages", "saga_compensations",
               "sagas_started", "sagas_running")
"""The counts a component coordinating sagas reports (:mod:`simulator.steps.saga`)."""
SAGA_KEYS = frozenset({"sagas", "saga_completed_ratio", "saga_compensated_ratio", "saga_failed_ratio", *SAGA_COUNTS})
"""Every summary key of a component's sagas: shown in the sagas table, not among the details."""
SAGA_COLUMNS = ("component", "saga", "sagas", "completed", "compensated", "failed", "running", "completion", "msg/saga",
                "undo/saga", "p50", "p99", "p99 comp.", "partial effects")
"""The sagas table: p50 and p99 of completed sagas, p99 of compensated ones; undo/saga = compensations run;
running: still under way when the run ended."""


def saga_rows(summary: dict, medium: Medium = TERMINAL) -> list[list[str]]:
    """One row per saga of each component (columns :data:`SAGA_COLUMNS`): its outcomes, messages,
    compensations and latencies in the measurement window, and which steps left partial effects."""
    rows = []
    for name, component in summary["components"].items():
        for saga, s in (component.get("sagas") or {}).items():
            lat = s["latency_s"]
            partial = ", ".join(f"{step} ×{n}" for step, n in s["partial_effects"].items()) or "none"
            rows.append([name, saga, count(s["count"]), count(s["completed"]), count(s["compensated"]),
                         count(s["failed"]), count(s["running"]), percent(s["completed_ratio"], 2, medium), number(s["messages_per_saga"]),
                         number(s["compensations_per_saga"]), latency(lat["completed"]["p50"]),
                         latency(lat["completed"]["p99"]), latency(lat["compensated"]["p99"]), partial])
    return rows

