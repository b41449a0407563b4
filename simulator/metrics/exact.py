"""Full records: every request and every component visit as numpy columns, and the exact numbers from them.

:class:`RequestColumns` holds one row per request (issue and end time, status, workload,
operation); :class:`SpanColumns` one row per visit of one component (arrival, start =
worker granted, done = its own work over, release = worker freed, end, status,
operation) and its tallied events (time, code). Both answer the questions of
:mod:`simulator.metrics.window` exactly: percentiles by ``numpy.quantile``, time averages
as exact integrals of interval counts (:mod:`simulator.metrics.integrals`), any bucket
width.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.request import OK, REJECTED, TIMEOUT, UNFINISHED
from .grid import bucket_of
from .integrals import bucket_averages, time_average
from .window import (SERIES_QUANTILES, STATUSES, ComponentWindow, RequestBuckets, RequestWindow, latency_stats,
                     sojourn_stats)


@dataclass
class RequestColumns:
    """One row per client request (parallel arrays)."""

    t_issue: np.ndarray
    t_end: np.ndarray
    status: np.ndarray  # int8
    workload: np.ndarray  # uint16
    operation: np.ndarray  # uint16

    def window(self, lo: float, hi: float, workloads: int, operations: int) -> RequestWindow:
        """The requests issued in ``[lo, hi)`` and the completions in it (see :mod:`.window`)."""
        mask = (self.t_issue >= lo) & (self.t_issue < hi)
        status = self.status[mask]
        latency = (self.t_end - self.t_issue)[mask]
        ops = self.operation[mask]
        workloads = max(workloads, int(self.workload.max()) + 1 if self.workload.size else 0)
        operations = max(operations, int(self.operation.max()) + 1 if self.operation.size else 0)
        codes = (self.workload[mask].astype(np.int64) * operations + ops) * STATUSES + status
        counts = np.bincount(codes, minlength=workloads * operations * STATUSES)
        done = (self.t_end >= lo) & (self.t_end < hi)
        op_all = self.operation.astype(np.int64)
        answered = np.bincount(op_all[done & (self.status != TIMEOUT)], minlength=operations)
        good = np.bincount(op_all[done & (self.status == OK)], minlength=operations)
        ok = status == OK
        return RequestWindow(counts=counts.reshape(workloads, operations, STATUSES), answered=answered, good=good,
                             latency=latency_stats(latency[ok]),
                             operations=[latency_stats(latency[(ops == op) & ok]) for op in range(operations)])

    def buckets(self, edges: np.ndarray, end_time: float, operation: int | None = None) -> RequestBuckets:
        """Per bucket of *edges*: issued by issue time; ok/failed/timeouts and ok latency by end time
        (of the requests of one *operation* id, or of all)."""
        t_issue, t_end, status = self.t_issue, self.t_end, self.status
        if operation is not None:
            mine = self.operation == operation
            t_issue, t_end, status = t_issue[mine], t_end[mine], status[mine]
        n = len(edges) - 1
        issue = bucket_of(t_issue, edges, end_time)
        issued = np.bincount(issue[(issue >= 0) & (issue < n)], minlength=n)[:n]
        done = bucket_of(t_end, edges, end_time)
        inside = (done >= 0) & (done < n)
        ok_mask = (status == OK) & inside
        ok = np.bincount(done[ok_mask], minlength=n)[:n]
        failed = np.bincount(done[~(status == OK) & inside], minlength=n)[:n]
        timeouts = np.bincount(done[(status == TIMEOUT) & inside], minlength=n)[:n]
        qs = grouped_quantiles(done[ok_mask], (t_end - t_issue)[ok_mask], n, SERIES_QUANTILES)
        return RequestBuckets(issued=issued, ok=ok, failed=failed, timeouts=timeouts, quantiles=qs)

    def latencies(self, lo: float, hi: float, ok_only: bool, window: bool) -> np.ndarray:
        mask = (self.t_issue >= lo) & (self.t_issue < hi) if window else np.ones(self.t_issue.size, dtype=bool)
        if ok_only:
            mask &= self.status == OK
        return (self.t_end - self.t_issue)[mask]


@dataclass
class SpanColumns:
    """One row per visit of one component, plus its tallied events.

    ``done`` is when the visit's own work here was over (the body of a ``blocking`` station
    starts then; otherwise it is the release), so ``done − arrival`` is the sojourn per visit
    without the downstream calls and ``end − arrival`` the time with them.
    """

    arrival: np.ndarray
    start: np.ndarray
    release: np.ndarray
    end: np.ndarray
    status: np.ndarray  # int8
    op: np.ndarray  # uint16
    done: np.ndarray
    tally_time: np.ndarray = field(default_factory=lambda: np.zeros(0))
    tally_code: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint16))

    def window(self, lo: float, hi: float, operations: int, tally_names: list[str]) -> ComponentWindow:
        """Visits arriving in ``[lo, hi)``, their waits and sojourns, and the exact time averages over it."""
        visits = (self.arrival >= lo) & (self.arrival < hi)
        operations = max(operations, int(self.op.max()) + 1 if self.op.size else 0)
        codes = self.op[visits].astype(np.int64) * STATUSES + self.status[visits]
        matrix = np.bincount(codes, minlength=operations * STATUSES).reshape(operations, STATUSES)
        served = visits & (self.status != REJECTED) & (self.status != UNFINISHED)
        wait = (self.start - self.arrival)[served]
        return ComponentWindow(
            visits=matrix,
            p_wait=float((wait > 0).mean()) if wait.size else None,
            wait_mean=float(wait.mean()) if wait.size else None,
            wait_p99=float(np.quantile(wait, 0.99)) if wait.size else None,
            sojourn=sojourn_stats((self.done - self.arrival)[served]),
            busy_mean=time_average(self.start, self.release, lo, hi),
            queue_mean=time_average(self.arrival, self.start, lo, hi),
            inside_mean=time_average(self.arrival, self.end, lo, hi),
            tallies=self.tally_counts(lo, hi, tally_names))

    def bucket_averages(self, edges: np.ndarray, end_time: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean busy workers, number queued and number inside per bucket (exact integrals / width)."""
        return (bucket_averages(self.start, self.release, edges), bucket_averages(self.arrival, self.start, edges),
                bucket_averages(self.arrival, self.end, edges))

    def arrival_buckets(self, edges: np.ndarray, end_time: float) -> np.ndarray:
        """Visits arriving in each bucket (every status; bucket rule of :mod:`.grid`)."""
        n = len(edges) - 1
        index = bucket_of(self.arrival, edges, end_time)
        return np.bincount(index[(index >= 0) & (index < n)], minlength=n)[:n]

    def tally_counts(self, lo: float, hi: float, tally_names: list[str]) -> dict[str, int]:
        """How many of each tallied event happened in [lo, hi)."""
        inside = (self.tally_time >= lo) & (self.tally_time < hi)
        counts = np.bincount(self.tally_code[inside], minlength=len(tally_names))
        return {name: int(counts[i]) for i, name in enumerate(tally_names)}

    def tally_buckets(self, edges: np.ndarray, end_time: float, tally_names: list[str]) -> list[np.ndarray]:
        """Per tallied name (by code), its count in each bucket (bucket rule of :mod:`.grid`)."""
        n = len(edges) - 1
        index = bucket_of(self.tally_time, edges, end_time)
        out = []
        for code in range(len(tally_names)):
            mine = index[(self.tally_code == code) & (index >= 0) & (index < n)]
            out.append(np.bincount(mine, minlength=n)[:n])
        return out


def grouped_quantiles(groups: np.ndarray, values: np.ndarray, n: int, qs: tuple[float, ...]) -> np.ndarray:
    """Quantiles *qs* of *values* per group ``0..n-1`` (NaN where empty), numpy's linear method, vectorised."""
    out = np.full((n, len(qs)), np.nan)
    if values.size == 0:
        return out
    order = np.lexsort((values, groups))
    groups, values = groups[order], values[order]
    bounds = np.searchsorted(groups, np.arange(n + 1))
    counts = np.diff(bounds)
    present = np.nonzero(counts)[0]
    start, count = bounds[present], counts[present]
    for j, q in enumerate(qs):
        pos = q * (count - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, count - 1)
        frac = pos - lo
        a, b = values[start + lo], values[start + hi]
        out[present, j] = a + frac * (b - a)
    return out
