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
    origin = fault.at if slo.recovery.from_ == "start" else fault.at + fault.for_
    return Window(warmup, duration, recovery_from=origin)


def window_value(objective: "Objective", result: Any, window: "Window") -> tuple[float | None, str | None]:
    """The objective's value over ``[start, end)``: a component's (:func:`component_window_value`),
    or request-level over the requests issued in it, with the summary's definitions (rates:
    answered or ok completions in the window per second)."""
    from . import request_value

    lo, hi = window.start, window.end
    if hi <= lo:
        return None, "the window is empty"
    if objective.component is not None:
        return component_window_value(objective, result, window)
    if result.columns is None:
        return None, FULL_RECORDS_NEEDED
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


def component_window_value(objective: "Objective", result: Any, window: "Window") -> tuple[float | None, str | None]:
    """A component's metric over ``[start, end)``: its summary entry over that interval
    (:meth:`~simulator.metrics.result.Result.component_window`). With summary records the
    visit statistics exist for the measurement window only, and other edges must lie on the
    ``sample_interval`` grid: otherwise the value is ``None`` and the reason says so."""
    from . import component_metrics, component_value

    component, metric = objective.component, objective.metric
    try:
        entry = result.component_window(component, window.start, window.end)
    except RuntimeError as exc:  # FullRecordsRequired (an edge off the recorded grid), said as it is
        return None, str(exc)
    if metric not in component_metrics(entry) and result.columns is None:
        if metric in component_metrics(result.component_window(component, *result.window)):
            return None, FULL_VISITS_NEEDED.format(metric=metric)
    return component_value({"components": {component: entry}}, component, metric), None


FULL_VISITS_NEEDED = ("{metric} is counted per visit, and this run kept summary records, which keep the visits of "
                      "the whole measurement window only (records: full, or auto on a smaller run, keeps them)")


def recovery_time(objective: "Objective", result: Any, window: "Window") -> tuple[float | None, str | None]:
    """Seconds from ``window.recovery_from`` (a fault's end, or start) until the metric's series stays within
    its threshold to the end of the measurement window, at bucket precision; ``None`` when it
    still breaks it in the last bucket."""
    slo = objective.slo
    width = result.bucket_width(result.scenario.sample_interval)
    try:
        starts, values = _series(objective, result, width, window.end)
    except Exception as exc:  # noqa: BLE001 - FullRecordsRequired (an operation's series), said as it is
        return None, str(exc)
    ends = np.append(starts[1:], window.end)
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


def _series(objective: "Objective", result: Any, width: float, until: float) -> tuple[np.ndarray, np.ndarray]:
    """``(bucket starts, the metric's value per bucket)`` up to *until*: a request metric from
    ``Result.timeseries_at``; a component's time average from ``component_timeseries_at``, its
    counter (events per bucket) or ratio from ``tally_timeseries_at`` (NaN where nothing to divide)."""
    slo, metric = objective.slo, objective.metric
    if objective.component is None:
        series = result.timeseries_at(width, until=until, operation=slo.operation)
        if metric in ("throughput", "goodput"):
            values = series[f"{metric}_rps"].to_numpy()
        elif metric == "error_rate":
            values = 1.0 - series["availability"].to_numpy()
        else:
            values = series[metric].to_numpy()
        return series["time"].to_numpy(), values
    component = objective.component
    frame = result.component_timeseries_at(width, until=until)
    frame = frame[frame["component"] == component]
    starts = frame["time"].to_numpy()
    averages = {"utilization": "utilization", "queue_len_mean": "queue_len", "in_system_mean": "in_system"}
    if metric in averages:
        return starts, frame[averages[metric]].to_numpy(dtype=float)
    tallies = result.tally_timeseries_at(width, until=until)
    rows = tallies[(tallies["component"] == component) & (tallies["name"] == metric)]
    if rows.empty:  # a counter that never fired
        return starts, np.zeros(starts.size)
    column = "value" if metric in result.components[component].ratios else "count"
    return rows["time"].to_numpy(), rows[column].to_numpy(dtype=float)
