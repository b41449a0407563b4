"""What both record modes hand to :class:`~simulator.metrics.result.Result`: the numbers, not the rows.

Full records (:mod:`simulator.metrics.exact`) compute these from every request and span;
summary records (:mod:`simulator.metrics.aggregates`) read them off running aggregates.
:class:`~simulator.metrics.result.Result` turns them into the JSON summary and the
DataFrames, so the two modes cannot drift apart in definitions.

Definitions (the same as :meth:`Result.summary`): the window is ``[warmup, duration)``;
requests and visits belong to it by issue/arrival time; ``answered`` (ok, error or
rejected) and ``good`` (ok) count completions whose end time is in the window; latency
statistics are over ok requests issued in the window; a component's waits and sojourns
per visit are over its served visits (not rejected, not unfinished) arriving in the window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.request import ERROR, OK, REJECTED, TIMEOUT, UNFINISHED

QUANTILES = {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99, "p999": 0.999}
STATUS_NAMES = {OK: "ok", ERROR: "error", TIMEOUT: "timeout", REJECTED: "rejected", UNFINISHED: "unfinished"}
STATUSES = len(STATUS_NAMES)
SERIES_QUANTILES = (0.5, 0.95, 0.99)
"""The latency percentiles of the time series (p50, p95, p99)."""
VISIT_QUANTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}
"""The percentiles of a component's sojourn per visit (``sojourn_s``), next to its mean."""


@dataclass
class OperationWindow:
    """One operation's requests in the window."""

    issued: int
    ok: int
    answered: int
    good: int
    latency: dict[str, float | None]


@dataclass
class RequestWindow:
    """The window's requests: per (workload, operation, status) counts, completions, latency."""

    counts: np.ndarray  # int64 [workloads, operations, statuses], by issue time in the window
    answered: np.ndarray  # int64 [operations]: answered (not timeout) with end time in the window
    good: np.ndarray  # int64 [operations]: ok with end time in the window
    latency: dict[str, float | None]  # all operations
    operations: list[dict[str, float | None]]  # latency stats per operation id

    def status_counts(self) -> dict[str, int]:
        per_status = self.counts.sum(axis=(0, 1))
        return {name: int(per_status[code]) for code, name in STATUS_NAMES.items() if code != UNFINISHED}

    def operation(self, op: int) -> OperationWindow:
        by_status = self.counts[:, op, :].sum(axis=0)
        return OperationWindow(issued=int(by_status.sum()), ok=int(by_status[OK]), answered=int(self.answered[op]),
                               good=int(self.good[op]), latency=self.operations[op])


@dataclass
class ComponentWindow:
    """One component over the window: visits by (operation, status), waits, time averages, tallies."""

    visits: np.ndarray  # int64 [operations, statuses], by arrival time in the window
    p_wait: float | None  # share of served visits (not rejected, not unfinished) that queued
    wait_mean: float | None
    wait_p99: float | None
    sojourn: dict[str, float | None]  # served visits' done − arrival: mean and VISIT_QUANTILES (None: no visit)
    busy_mean: float  # time-average busy workers over the window
    queue_mean: float  # time-average number queued
    inside_mean: float  # time-average number inside (arrival to end)
    tallies: dict[str, int]


@dataclass
class RequestBuckets:
    """Per time bucket: issued (by issue time), ok / failed / timeouts (by end time), ok-latency p50/p95/p99."""

    issued: np.ndarray
    ok: np.ndarray
    failed: np.ndarray
    timeouts: np.ndarray
    quantiles: np.ndarray  # [buckets, 3]


def latency_stats(values: np.ndarray) -> dict[str, float | None]:
    """mean, p50…p999, max of *values* (exact); ``None`` when there are none."""
    if values.size == 0:
        return {"mean": None, **{k: None for k in QUANTILES}, "max": None}
    qs = np.quantile(values, list(QUANTILES.values()))
    return {"mean": float(values.mean()), **{k: float(q) for k, q in zip(QUANTILES, qs)}, "max": float(values.max())}


def sketch_stats(sketch) -> dict[str, float | None]:
    """The same keys from a :class:`~simulator.metrics.sketch.LogSketch` (mean and max exact)."""
    if sketch.count == 0:
        return {"mean": None, **{k: None for k in QUANTILES}, "max": None}
    qs = sketch.quantiles(QUANTILES.values())
    return {"mean": float(sketch.mean), **{k: float(q) for k, q in zip(QUANTILES, qs)}, "max": float(sketch.max)}


def sojourn_stats(values: np.ndarray) -> dict[str, float | None]:
    """mean and :data:`VISIT_QUANTILES` of per-visit sojourns *values* (exact); ``None`` when there are none."""
    if values.size == 0:
        return {"mean": None, **dict.fromkeys(VISIT_QUANTILES)}
    qs = np.quantile(values, list(VISIT_QUANTILES.values()))
    return {"mean": float(values.mean()), **{k: float(q) for k, q in zip(VISIT_QUANTILES, qs)}}


def sojourn_sketch_stats(sketch) -> dict[str, float | None]:
    """The same keys from a :class:`~simulator.metrics.sketch.LogSketch` (mean exact)."""
    if sketch.count == 0:
        return {"mean": None, **dict.fromkeys(VISIT_QUANTILES)}
    qs = sketch.quantiles(VISIT_QUANTILES.values())
    return {"mean": float(sketch.mean), **{k: float(q) for k, q in zip(VISIT_QUANTILES, qs)}}
