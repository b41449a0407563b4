"""Explain a failed SLO in the student's terms.

Which objective and by how much, the bottleneck component and its utilization, a queue
that kept growing, and the phase of the run where it broke (relative to the lab's faults).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..metrics.grid import FullRecordsRequired
from ..metrics.result import Result
from ..scenario.model import LATENCY_METRICS, Slo
from ..units import format_duration


def _fmt(metric: str, value: float) -> str:
    if metric in LATENCY_METRICS:
        return format_duration(value)
    if metric in ("availability", "error_rate"):
        return f"{100 * value:.2f}%"
    return f"{value:.1f}/s"


def explain_slo_failure(slo: Slo, runs: list[Result], summaries: list[dict[str, Any]], bound: float) -> list[str]:
    scope = f" of {slo.operation}" if slo.operation else ""
    relation = "at most" if slo.max is not None else "at least"
    lines = [f"{slo.metric}{scope} must be {relation} {_fmt(slo.metric, slo.target)}; "
             f"the 95% confidence bound over {len(runs)} runs is {_fmt(slo.metric, bound)}"]
    utilization: dict[str, list[float]] = {}
    for s in summaries:
        for name, c in s["components"].items():
            utilization.setdefault(name, []).append(c["utilization"] or 0.0)
    if utilization:
        name, values = max(utilization.items(), key=lambda kv: float(np.mean(kv[1])))
        lines.append(f"bottleneck: {name} at {100 * float(np.mean(values)):.0f}% utilization "
                     f"({runs[0].components[name].kind}, capacity {runs[0].components[name].capacity})")
        growing = _growing_queue(runs[0], name)
        if growing:
            lines.append(growing)
    phase = _phase(slo, runs[0])
    if phase:
        lines.append(phase)
    return lines


def _growing_queue(result: Result, component: str) -> str | None:
    lo, hi = result.window
    frame = result.component_timeseries_at(result.bucket_width(max((hi - lo) / 20, result.scenario.sample_interval)),
                                           until=hi)
    queue = frame[(frame.component == component) & (frame.time >= lo)]["queue_len"].to_numpy()
    if queue.size < 4:
        return None
    first, last = queue[: queue.size // 4].mean(), queue[-(queue.size // 4):].mean()
    if last > 10 and last > 3 * max(first, 1.0):
        return f"{component}'s queue kept growing: {first:.0f} → {last:.0f} requests waiting (arrivals exceed capacity)"
    return None


def _phase(slo: Slo, result: Result) -> str | None:
    """When the objective was first broken, bucket by bucket, and which fault was active then.

    An objective on one operation reads that operation's own series; it needs full records
    (with summary records the series mixes operations and would name the wrong moment, so
    there is no line rather than a wrong one).
    """
    lo, hi = result.window
    width = result.bucket_width(max((hi - lo) / 60, result.scenario.sample_interval))
    try:
        ts = result.timeseries_at(width, until=hi, operation=slo.operation)
    except FullRecordsRequired:
        return None
    ts = ts[ts.time >= lo]
    if slo.metric in ("latency_p50", "latency_p95", "latency_p99"):
        series = ts[slo.metric]
    elif slo.metric == "availability":
        series = ts["availability"]
    else:
        return None
    broken = ts.time[(series > slo.target) if slo.max is not None else (series < slo.target)]
    if broken.empty:
        return "no single stretch of the run broke it: the whole run is slightly over the target"
    start = float(broken.iloc[0])
    faults = result.faults
    for row in faults.itertuples():
        if start < row.end and start + width > row.start:  # the first broken bucket overlaps the fault
            return f"it broke during the {row.kind} of {row.target} ({row.start:g}–{row.end:g} s)"
    share = len(broken) / max(len(ts), 1)
    if share > 0.8:
        return "it is broken for most of the run: the design lacks capacity for the load, not only during faults"
    return f"it first broke at t = {start:g} s (broken in {share:.0%} of the run)"
