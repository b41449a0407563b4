"""Where an objective reads: its window resolved against a run, the value over it, a recovery time.

See :mod:`simulator.objectives` for the definitions. A fault's interval is read off the
scenario (``at``, ``at + for``): the schedule the run followed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from . import Objective, Window

FULL_RECORDS_NEEDED = ("a window reads the requests issued in it: this run kept summary records "
                       "(records: full, or auto on a smaller run, keeps them)")


def resolve_window(slo: Any, scenario: Any) -> "Window | None":
    """The :class:`~simulator.objectives.Window` of a scenario ``Slo`` in *scenario*, or ``None``
    for the whole measurement window."""
    from ..scenario.slo import find_fault
    from . import Window

    if slo is None or not slo.windowed:
        return None
    warmup, duration = scenario.warmup, scenario.duration
    if slo.window is not None:
        return Window(slo.window.from_, duration if slo.window.to is None else slo.window.to)
    if slo.during is not None:
        fault = find_fault(slo.during, scenario.faults)[1]
        return Window(fault.at, min(fault.at + fault.for_, duration))
    if slo.after is not None:
        fault = find_fault(slo.after, scenario.faults)[1]
        return Window(min(fault.at + fault.for_ + slo.grace, duration), duration)
    fault = find_fault(slo.recovery.after, scenario.faults)[1]
    return Window(warmup, duration, recovery_from=fault.at + fault.for_)


def window_value(objective: "Objective", result: Any, window: "Window") -> tuple[float | None, str | None]:
    """The objective's request-level value over the requests issued in ``[start, end)``, with the
    summary's definitions (rates: answered or ok completions in the window per second)."""
    from . import request_value

    if result.columns is None:
        return None, FULL_RECORDS_NEEDED
    lo, hi = window.start, window.end
    if hi <= lo:
        return None, "the window is empty"
    stats = result.columns.window(lo, hi, len(result.scenario.workload), len(result.operation_keys))
    counts = stats.status_counts()
    issued = int(stats.counts.sum())
    width = hi - lo
    summary: dict[str, Any] = {"latency_s": stats.latency, "throughput_rps": int(stats.answered.sum()) / width,
                               "goodput_rps": int(stats.good.sum()) / width,
                               "availability": counts["ok"] / issued if issued else None, "operations": {}}
    for op_id, name in enumerate(result.operation_names()):
        op = stats.operation(op_id)
        summary["operations"][name] = {"availability": op.ok / op.issued if op.issued else None,
                                       "throughput_rps": op.answered / width, "goodput_rps": op.good / width,
                                       "latency_s": op.latency}
    return request_value(summary, objective.metric, objective.operation), None


def recovery_time(objective: "Objective", result: Any, window: "Window") -> tuple[float | None, str | None]:
    """Seconds from ``window.recovery_from`` (a fault's end) until the metric's series stays within
    its threshold to the end of the measurement window, at bucket precision; ``None`` when it
    still breaks it in the last bucket."""
    slo = objective.slo
    width = result.bucket_width(result.scenario.sample_interval)
    try:
        series = result.timeseries_at(width, until=window.end, operation=slo.operation)
    except Exception as exc:  # noqa: BLE001 - FullRecordsRequired (an operation's series), said as it is
        return None, str(exc)
    starts = series["time"].to_numpy()
    ends = np.append(starts[1:], window.end)
    metric = slo.metric
    if metric in ("throughput", "goodput"):
        values = series[f"{metric}_rps"].to_numpy()
    elif metric == "error_rate":
        values = 1.0 - series["availability"].to_numpy()
    else:
        values = series[metric].to_numpy()
    with np.errstate(invalid="ignore"):
        broken = values > slo.target if slo.max is not None else values < slo.target  # NaN (nothing): not broken
    end = window.recovery_from
    late = np.flatnonzero(broken & (ends > end))
    if late.size == 0:
        return 0.0, None
    last = int(late[-1])
    if last == starts.size - 1:
        return None, None  # not back within target by the end of the run
    return float(ends[last] - end), None
