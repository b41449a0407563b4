"""Where an objective broke: its series in buckets, the broken stretches, the moment it broke.

:func:`find_broken` reads the objective's own series (the operation's, when the objective
names one) in about :data:`BUCKETS` buckets of the measurement window of the first
replication; a bucket with at least :data:`MIN_REQUESTS` completed requests of that scope
whose value breaks the target is *broken*. The onset of each broken stretch is read on the
requests themselves (see :mod:`simulator.labs.feedback`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...core.request import OK
from ...metrics.grid import FullRecordsRequired, bucket_of
from ...metrics.result import Result
from ...scenario.model import LATENCY_METRICS, Slo
from ... import present

MIN_REQUESTS = 5
"""Completed requests of the objective's scope a bucket needs before it is judged."""


SATURATED = 0.9
"""Utilization from which a component counts as saturated (every one at or above it is named)."""


BUCKETS = 60
"""About how many buckets the measurement window is cut into."""


QUANTILE = {"latency_p50": 0.5, "latency_p90": 0.9, "latency_p95": 0.95, "latency_p99": 0.99,
            "latency_p999": 0.999, "latency_max": 1.0, "latency_mean": 1.0}


def _fmt(metric: str, value: float) -> str:
    if metric in LATENCY_METRICS:
        return present.short_latency(value)
    if metric in ("availability", "error_rate"):
        return present.percent(value, 2)
    return present.rate(value)


def _t(x: float) -> str:
    return f"{round(x, 1):g}"


def _pct(u: float) -> str:
    return present.percent(u, 0)


@dataclass
class Broken:
    """Where one objective was broken in one run."""

    width: float  # bucket width (s)
    edges: np.ndarray  # bucket edges, from 0 to the window's end
    index: np.ndarray  # the broken buckets
    stretches: list[tuple[float, float]]  # (onset, end) of each run of consecutive broken buckets
    onsets: dict[int, float]  # the first bucket of each stretch → its onset
    share: float  # broken buckets / buckets of the window
    exact: bool  # onsets read on the requests (full records); else bucket precision
    fault: str | None = None  # the fault active when it first broke

    @property
    def starts(self) -> np.ndarray:
        return self.edges[self.index]


def _fault(row) -> str:
    return f"the {row.kind} of {row.target} ({row.start:g}–{row.end:g} s)"


def find_broken(slo: Slo, result: Result) -> Broken | None:
    """The buckets of the run where *slo* is broken on its own series, or ``None`` when that
    series cannot be read (an operation's series, or a percentile the series lacks, with
    summary records)."""
    lo, hi = result.window
    width = result.bucket_width(max((hi - lo) / BUCKETS, result.scenario.sample_interval))
    try:
        ts = result.timeseries_at(width, until=hi, operation=slo.operation)
    except FullRecordsRequired:
        return None
    times = ts.time.to_numpy()
    edges = np.append(times, hi)
    scope = _scope(result, slo.operation)
    metric = slo.metric
    if metric in LATENCY_METRICS:
        counts = ts.ok.to_numpy()
        if metric in ts.columns:
            values = ts[metric].to_numpy()
        elif scope is not None:
            values = _latency_series(metric, scope, edges, result.end_time)
        else:
            return None
    elif metric in ("availability", "error_rate"):
        counts = (ts.ok + ts.failed).to_numpy()
        values = ts.availability.to_numpy()
        if metric == "error_rate":
            values = 1.0 - values
    else:  # throughput, goodput: a rate, every bucket can be judged
        counts = np.full(times.size, MIN_REQUESTS)
        values = ts[f"{metric}_rps"].to_numpy()
    with np.errstate(invalid="ignore"):
        bad = (values > slo.target) if slo.max is not None else (values < slo.target)
    inside = times >= lo
    index = np.flatnonzero(inside & (counts >= MIN_REQUESTS) & np.nan_to_num(bad, nan=0).astype(bool))
    stretches, onsets = [], {}
    for run in np.split(index, np.flatnonzero(np.diff(index) > 1) + 1) if index.size else []:
        first, last = int(run[0]), int(run[-1])
        onset = _onset(slo, scope, edges, first, result.end_time)
        if onset is None:  # bucket precision: name the first bucket's end, never its (too early) start
            onset = float(edges[first + 1])
        onsets[first] = onset
        stretches.append((onset, float(edges[last + 1])))
    out = Broken(width, edges, index, stretches, onsets, index.size / max(int(inside.sum()), 1),
                 exact=scope is not None)
    if index.size:
        onset, a, b = stretches[0][0], edges[index[0]], edges[index[0] + 1]
        for row in result.faults.itertuples():
            # full records: the fault had begun at the onset (or had just ended: its backlog); else the first
            # broken bucket overlaps it
            if (row.start <= onset < row.end + width) if out.exact else (a < row.end and b > row.start):
                out.fault = _fault(row)
                break
    return out


@dataclass
class _Scope:
    t_issue: np.ndarray
    t_end: np.ndarray
    ok: np.ndarray


def _scope(result: Result, operation: str | None) -> _Scope | None:
    """The requests the objective reads (full records only)."""
    columns = result.columns
    if columns is None:
        return None
    mine = np.ones(columns.t_issue.size, dtype=bool)
    if operation is not None:
        mine = columns.operation == result.operation_names().index(operation)
    return _Scope(columns.t_issue[mine], columns.t_end[mine], columns.status[mine] == OK)


def _latency_series(metric: str, scope: _Scope, edges: np.ndarray, end_time: float) -> np.ndarray:
    """Per bucket (by completion) the *metric* of the successful requests (NaN when there are none)."""
    done = bucket_of(scope.t_end, edges, end_time)
    latency = scope.t_end - scope.t_issue
    out = np.full(edges.size - 1, np.nan)
    for j in np.unique(done[scope.ok & (done >= 0) & (done < out.size)]):
        values = latency[scope.ok & (done == j)]
        out[j] = values.mean() if metric == "latency_mean" else np.quantile(values, QUANTILE[metric])
    return out


def _onset(slo: Slo, scope: _Scope | None, edges: np.ndarray, j: int, end_time: float) -> float | None:
    """The moment bucket *j* went over its allowance, read on its requests (full records), clipped to the
    bucket's start and to the first request of the scope issued in it."""
    if scope is None:
        return None
    a, b = float(edges[j]), float(edges[j + 1])
    onset = a
    issued = scope.t_issue[(scope.t_issue >= a) & (scope.t_issue < b)]
    if issued.size:
        onset = max(onset, float(issued.min()))
    done = bucket_of(scope.t_end, edges, end_time) == j
    metric, target = slo.metric, slo.target
    if metric in LATENCY_METRICS:
        ok = done & scope.ok
        late = ok & (scope.t_end - scope.t_issue > target)
        instants = np.sort(scope.t_issue[late] + target)  # when each became late
        allowed = math.floor((1 - QUANTILE[metric]) * int(ok.sum()) + 1e-9)
    elif metric in ("availability", "error_rate"):
        instants = np.sort(scope.t_end[done & ~scope.ok])
        share = (1 - target) if metric == "availability" else target
        allowed = math.floor(share * int(done.sum()) + 1e-9)
    else:
        return onset
    if instants.size:
        onset = max(onset, float(instants[min(allowed, instants.size - 1)]))
    return onset


def _stretches(stretches: list[tuple[float, float]]) -> str:
    spans = [f"{_t(a)}–{_t(b)}" if round(b - a, 1) > 0 else f"{_t(a)}" for a, b in stretches]
    if len(spans) <= 3:
        return "t = " + (", ".join(spans[:-1]) + " and " if len(spans) > 1 else "") + spans[-1] + " s"
    total = sum(b - a for a, b in stretches)
    return (f"{len(spans)} stretches between t = {_t(stretches[0][0])} and {_t(stretches[-1][1])} s "
            f"({_t(total)} s in all)")


def _merge(stretches: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for a, b in sorted(stretches):
        if out and a <= out[-1][1] + 1e-9:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _moment(broken: Broken | None, slo: Slo) -> str | None:
    if broken is None:
        if slo.operation is not None:
            return (f"the moment it failed needs {slo.operation}'s own series, which this run did not keep "
                    "(summary records): rerun with records: full to see it")
        return None
    if not broken.starts.size:
        return (f"no single stretch of the run broke it on its own ({_t(broken.width)} s buckets with at least "
                f"{MIN_REQUESTS} requests): the whole run is slightly over the target")
    onset = broken.stretches[0][0]
    if broken.exact:
        first, at, note = "it first broke", f"at t = {_t(onset)} s", ""
    else:  # bucket precision: the first broken bucket's end, late by at most a bucket and never early
        first, at, note = "it had broken", f"by t = {_t(onset)} s", f"read to the {_t(broken.width)} s bucket"
    if broken.fault:
        return f"it broke during {broken.fault}, first {at}" + (f" ({note})" if note else "")
    if broken.share > 0.8:
        return (f"{first} {at}" + (f" ({note})" if note else "") + " and stayed broken for most of the run "
                f"({present.percent(broken.share, 0)} of it): the design lacks capacity for the load, not only during faults")
    return f"{first} {at} ({note + '; ' if note else ''}broken in {present.percent(broken.share, 0)} of the run)"
