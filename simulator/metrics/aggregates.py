"""Summary records: what the streaming recorder kept of a run, and the answers it can give.

Built by :mod:`simulator.metrics.streaming` at the end of a run; read by
:class:`~simulator.metrics.result.Result` through the same questions as full records
(:mod:`simulator.metrics.window`):

* the window ``[warmup, duration)`` — exact counts by (workload, operation, status),
  completions by operation, exact time integrals (busy workers, queue, number inside),
  exact wait count / sum / share that queued, latency, wait and per-visit sojourn sketches
  (:class:`~simulator.metrics.sketch.LogSketch`, :data:`LATENCY_ACCURACY`) with exact mean
  and max;
* per base bucket of the :class:`~simulator.metrics.grid.Grid` (the ``sample_interval``),
  over the whole run — issued, ok, failed, timeouts, the same three integrals, the visits
  arriving (every status), tally counts, and coarse ok-latency sketches
  (:data:`SERIES_ACCURACY`) kept as packed ``(bucket, key) → count`` rows.

Any time-series question whose bucket edges lie on the grid is answered by summing base
buckets (and merging their sketches); other edges raise
:class:`~simulator.metrics.grid.FullRecordsRequired`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .grid import Grid, group_of, merge
from .sketch import LogSketch, grouped_quantiles
from .window import (SERIES_QUANTILES, ComponentWindow, RequestBuckets, RequestWindow, sketch_stats,
                     sojourn_sketch_stats)

LATENCY_ACCURACY = 0.01
"""Relative error bound of the window's latency and wait percentiles in summary records."""
SERIES_ACCURACY = 0.02
"""Relative error bound of the per-bucket (time series) latency percentiles in summary records."""
KEY_BITS = 21
"""Packed series rows are ``bucket << KEY_BITS | (key + KEY_OFFSET)``."""
KEY_OFFSET = 1 << 20
QUERY_ROWS = 1 << 20
"""Series rows handled at once when a time series is asked for (bounds the memory of the query)."""


def pack(buckets: np.ndarray, keys: np.ndarray) -> np.ndarray:
    return (buckets.astype(np.int64) << KEY_BITS) | (keys + KEY_OFFSET)


def unpack(packed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return packed >> KEY_BITS, (packed & ((1 << KEY_BITS) - 1)) - KEY_OFFSET


@dataclass
class RequestAggregates:
    """The requests of a run, aggregated (see the module docstring)."""

    grid: Grid
    end_time: float
    counts: np.ndarray  # int64 [workloads, operations, statuses], window by issue time
    answered: np.ndarray  # int64 [operations], end time in the window, not timeout
    good: np.ndarray  # int64 [operations], end time in the window, ok
    latency: list[LogSketch]  # per operation: ok requests issued in the window
    issued: np.ndarray  # int64 [base buckets], by issue time
    ok: np.ndarray  # by end time
    failed: np.ndarray
    timeouts: np.ndarray
    series_keys: np.ndarray = field(repr=False)  # sorted, unique packed (bucket, key) of ok latencies by end time
    series_counts: np.ndarray = field(repr=False)  # uint32 count per row
    series_gamma: float = 0.0

    def latency_sketch(self) -> LogSketch:
        """Ok latencies of the window, all operations (a merged copy)."""
        merged = LogSketch(LATENCY_ACCURACY)
        for sketch in self.latency:
            merged.merge(sketch)
        return merged

    def window(self) -> RequestWindow:
        return RequestWindow(counts=self.counts, answered=self.answered, good=self.good,
                             latency=sketch_stats(self.latency_sketch()),
                             operations=[sketch_stats(s) for s in self.latency])

    def buckets(self, edges: np.ndarray, end_time: float) -> RequestBuckets:
        bounds = self.grid.bounds(edges, end_time)
        return RequestBuckets(issued=merge(self.issued, bounds), ok=merge(self.ok, bounds),
                              failed=merge(self.failed, bounds), timeouts=merge(self.timeouts, bounds),
                              quantiles=self._series_quantiles(bounds))

    def _series_quantiles(self, bounds: np.ndarray) -> np.ndarray:
        """p50/p95/p99 per query bucket from the series rows (sorted by bucket, then key), a slice of
        about :data:`QUERY_ROWS` rows at a time so that memory stays bounded on long runs."""
        n = bounds.size - 1
        out = np.full((n, len(SERIES_QUANTILES)), np.nan)
        packed = self.series_keys
        rows = np.searchsorted(packed, bounds.astype(np.int64) << KEY_BITS)  # first row of each query bucket
        j = 0
        while j < n:
            stop = int(np.searchsorted(rows, rows[j] + QUERY_ROWS, side="right")) - 1
            stop = min(max(stop, j + 1), n)
            lo, hi = int(rows[j]), int(rows[stop])
            if hi > lo:
                buckets, keys = unpack(packed[lo:hi])
                group = group_of(buckets, bounds[j:stop + 1])
                out[j:stop] = grouped_quantiles(group, keys, self.series_counts[lo:hi], stop - j, SERIES_QUANTILES,
                                                self.series_gamma)
            j = stop
        return out


@dataclass
class ComponentAggregates:
    """One component's visits and tallies, aggregated (see the module docstring)."""

    grid: Grid
    end_time: float
    window_bounds: tuple[float, float]
    visits: np.ndarray  # int64 [operations, statuses], window by arrival time
    waits: int  # served visits in the window (not rejected, not unfinished)
    waited: int  # of which queued (wait > 0)
    wait_sum: float
    wait: LogSketch
    sojourn: LogSketch  # done − arrival of the same served visits (exact count, sum, max)
    busy: float  # ∫ busy workers dt over the window
    queue: float  # ∫ number queued dt
    inside: float  # ∫ number inside dt
    busy_b: np.ndarray  # the same integrals per base bucket
    queue_b: np.ndarray
    inside_b: np.ndarray
    arrivals_b: np.ndarray  # int64 [base buckets]: visits by arrival time, every status
    tally_window: np.ndarray  # int64 [names], window
    tally_b: list[np.ndarray]  # per name: int64 [base buckets]

    def window(self, lo: float, hi: float, operations: int, tally_names: list[str]) -> ComponentWindow:
        width = hi - lo
        return ComponentWindow(
            visits=self.visits,
            p_wait=self.waited / self.waits if self.waits else None,
            wait_mean=self.wait_sum / self.waits if self.waits else None,
            wait_p99=self.wait.quantile(0.99) if self.waits else None,
            sojourn=sojourn_sketch_stats(self.sojourn),
            busy_mean=self.busy / width if width > 0 else float("nan"),
            queue_mean=self.queue / width if width > 0 else float("nan"),
            inside_mean=self.inside / width if width > 0 else float("nan"),
            tallies=self.tally_counts(lo, hi, tally_names))

    def bucket_averages(self, edges: np.ndarray, end_time: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        bounds = self.grid.bounds(edges, end_time)
        width = np.diff(edges)
        return tuple(merge(values, bounds) / width for values in (self.busy_b, self.queue_b, self.inside_b))

    def arrival_buckets(self, edges: np.ndarray, end_time: float) -> np.ndarray:
        """Visits arriving in each bucket of *edges* (every status), from the base buckets."""
        return merge(self.arrivals_b, self.grid.bounds(edges, end_time))

    def tally_counts(self, lo: float, hi: float, tally_names: list[str]) -> dict[str, int]:
        """Tallied events in [lo, hi): exact for the window; other ranges must lie on the grid."""
        if (lo, hi) == tuple(self.window_bounds):
            counts = self.tally_window
        else:
            bounds = self.grid.bounds(np.array([lo, hi]), self.end_time)
            counts = [int(merge(b, bounds)[0]) for b in self.tally_b]
        return {name: int(counts[i]) if i < len(counts) else 0 for i, name in enumerate(tally_names)}

    def tally_buckets(self, edges: np.ndarray, end_time: float, tally_names: list[str]) -> list[np.ndarray]:
        bounds = self.grid.bounds(edges, end_time)
        n = len(edges) - 1
        return [merge(self.tally_b[code], bounds) if code < len(self.tally_b) else np.zeros(n, dtype=np.int64)
                for code in range(len(tally_names))]
