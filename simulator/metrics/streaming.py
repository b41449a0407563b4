"""The aggregating recorder of ``records: summary``: same interface as :class:`~.recorder.Recorder`, bounded memory.

Components and clients call exactly what they call on the full recorder
(``request_done``, ``span_log(...).add``, ``add_unfinished``, ``counter(name)(now)``,
``capacity_changed``, ``scaled``, ``fault``). The hot path is the same one packed row
appended per record; when a buffer holds :data:`CHUNK_ROWS` rows it is **folded**
— turned into numpy columns once, added into the aggregates, emptied. So memory holds at
most one chunk of rows per buffer plus the aggregates:

* requests (:class:`RequestAccumulator`): counts by (workload, operation, status) of the
  requests issued in the window ``[warmup, duration)``; per operation the completions in
  the window (answered: not a timeout; good: ok) by end time; per operation a latency
  :class:`~.sketch.LogSketch` of the window's ok requests (exact count, sum, max); per base
  bucket of the :class:`~.grid.Grid` issued (by issue time) and ok / failed / timeouts (by
  end time), and the ok latencies as coarse sketch rows ``(bucket, key) → count``;
* each component (:class:`ComponentAccumulator`): visits arriving in the window by
  (operation, status); for the served ones (not rejected, not unfinished) the count, the
  number that queued, the exact sum of waits and a wait sketch, and a sketch of their
  sojourns per visit (done − arrival; exact count, sum and max); the exact integrals over
  the window of busy workers ``[start, release)``, queue ``[arrival, start)`` and number
  inside ``[arrival, end)``, and the same integrals per base bucket (each interval split
  exactly across the buckets it overlaps); the visits arriving per base bucket (every
  visit, whatever its status: the offered load); tallies counted over the window and per
  base bucket. Capacity steps, labels, ratios and facts stay as the full recorder keeps them.

The definitions are those of full records (:mod:`simulator.metrics.window`), applied to
each chunk; chunks add up, so counts, integrals, sums and maxima equal the full-record
values (integrals and sums up to float summation order) and the sketches hold exactly the
values the full records would hold.

Memory: a few int64/float64 per base bucket (requests: 4; per component: 4 + one per
tally name), the sketches (about 1,000 buckets each), and the series rows — at most one
per (bucket, latency key) pair that occurs, so no more than the number of ok requests
and no more than buckets × keys (about 12 bytes each). :data:`CHUNK_ROWS` rows per
buffer (a few MB).
"""

from __future__ import annotations

import numpy as np

from ..core.request import OK, REJECTED, TIMEOUT, UNFINISHED
from .aggregates import (KEY_BITS, LATENCY_ACCURACY, SERIES_ACCURACY, ComponentAggregates, RequestAggregates,
                         pack)
from .grid import Grid
from .integrals import total_overlap
from .recorder import Recorder, SpanLog, packer
from .sketch import LogSketch, gamma_for, keys_of
from .window import STATUSES

CHUNK_ROWS = 1 << 16
"""Rows a buffer holds before it is folded into the aggregates."""


class Growing:
    """A dense per-base-bucket array that grows (doubling) as later buckets appear."""

    __slots__ = ("data",)

    def __init__(self, dtype=np.int64):
        self.data = np.zeros(256, dtype=dtype)

    def _reserve(self, n: int) -> None:
        if n > self.data.size:
            grown = np.zeros(max(n, 2 * self.data.size), dtype=self.data.dtype)
            grown[:self.data.size] = self.data
            self.data = grown

    def add(self, index: np.ndarray, weights: np.ndarray | None = None) -> None:
        """data[index[i]] += weights[i] (or 1), for every i."""
        if index.size == 0:
            return
        lo, hi = int(index.min()), int(index.max()) + 1
        self._reserve(hi)
        self.data[lo:hi] += np.bincount(index - lo, weights=weights, minlength=hi - lo)

    def add_range(self, lo: int, values: np.ndarray) -> None:
        self._reserve(lo + values.size)
        self.data[lo:lo + values.size] += values

    def final(self, n: int) -> np.ndarray:
        out = np.zeros(n, dtype=self.data.dtype)
        m = min(n, self.data.size)
        out[:m] = self.data[:m]
        return out


def add_intervals(acc: Growing, begin: np.ndarray, end: np.ndarray, grid: Grid,
                  kb: np.ndarray | None = None, ke: np.ndarray | None = None) -> None:
    """Add to each base bucket the length of its overlap with every interval ``[begin, end)``.

    *kb*, *ke* are ``grid.index(begin)``, ``grid.index(end)`` when the caller has them.
    Each interval adds ``min(end, right edge of its first bucket) − begin`` to its first
    bucket, ``end − left edge of its last bucket`` to its last one (when that is another
    bucket), and the full width to every bucket in between.
    """
    kb = grid.index(begin) if kb is None else kb
    ke = grid.index(end) if ke is None else ke
    acc.add(kb, np.minimum(end, grid.edge(kb + 1)) - begin)
    later = ke > kb
    if not later.any():
        return
    acc.add(ke, np.where(later, end - grid.edge(ke), 0.0))
    inner = ke - kb > 1
    if inner.any():  # whole buckets in between: a coverage count via a difference array
        first, stop = kb[inner] + 1, ke[inner]
        k0, k1 = int(first.min()), int(stop.max())
        diff = np.bincount(first - k0, minlength=k1 - k0 + 1) - np.bincount(stop - k0, minlength=k1 - k0 + 1)
        acc.add_range(k0, np.cumsum(diff)[:-1] * grid.widths(k0, k1))


def columns(flat, fields: int) -> np.ndarray:
    """A flat ``array('d')`` of rows as a (fields, n) array of contiguous columns (a copy: the buffer may be reused)."""
    return np.frombuffer(flat, dtype=float).reshape(-1, fields).T.copy()


class SeriesRows:
    """The per-bucket latency sketches as sorted, distinct packed ``(bucket, key)`` rows with counts.

    Requests are recorded when they end, so chunks arrive in end-time order and a chunk's
    buckets start where the previous chunk's ended: each chunk's rows are counted, the rows
    of its last bucket are held back (the next chunk may add to that bucket) and the rest
    are appended — already sorted and distinct, no global sort needed. Should a chunk ever
    reach back into buckets already appended, :meth:`finish` falls back to one sort.
    Counts are uint32 per row (one bucket, one sketch key).
    """

    def __init__(self) -> None:
        self.keys: list[np.ndarray] = []
        self.counts: list[np.ndarray] = []
        self.held_keys = np.zeros(0, dtype=np.int64)
        self.held_counts = np.zeros(0, dtype=np.int64)
        self.ordered = True

    def add(self, packed: np.ndarray) -> None:
        keys, counts = count_unique(np.concatenate((self.held_keys, packed)),
                                    np.concatenate((self.held_counts, np.ones(packed.size, dtype=np.int64))))
        if self.keys and keys.size and keys[0] <= self.keys[-1][-1]:
            self.ordered = False
        last = keys[-1] >> KEY_BITS
        cut = int(np.searchsorted(keys, last << KEY_BITS))
        if cut:
            self.keys.append(keys[:cut])
            self.counts.append(counts[:cut].astype(np.uint32))
        self.held_keys, self.held_counts = keys[cut:], counts[cut:]

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        pieces = [*self.keys, self.held_keys]
        weights = [*self.counts, self.held_counts.astype(np.uint32)]
        keys, counts = np.concatenate(pieces), np.concatenate(weights)
        self.keys, self.counts = [], []
        if not self.ordered:
            keys, summed = count_unique(keys, counts.astype(np.int64))
            counts = summed.astype(np.uint32)
        return keys, counts


def count_unique(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct *values* (int64, sorted) and the summed *weights* of each; a stable sort, fast on
    nearly sorted input."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1]))) if ordered.size else order[:0]
    summed = np.add.reduceat(weights[order], starts) if starts.size else weights[:0]
    return ordered[starts], summed


class RequestAccumulator:
    """Folds chunks of request rows ``(issue, end, status, workload, operation)``."""

    def __init__(self, grid: Grid, lo: float, hi: float):
        self.grid, self.lo, self.hi = grid, lo, hi
        self.counts = np.zeros((1, 1, STATUSES), dtype=np.int64)
        self.answered = np.zeros(1, dtype=np.int64)
        self.good = np.zeros(1, dtype=np.int64)
        self.latency: list[LogSketch] = [LogSketch(LATENCY_ACCURACY)]
        self.issued, self.ok, self.failed, self.timeouts = Growing(), Growing(), Growing(), Growing()
        self.series_gamma = gamma_for(SERIES_ACCURACY)
        self.series = SeriesRows()

    def _grow(self, workloads: int, operations: int) -> None:
        w, o, _ = self.counts.shape
        if workloads > w or operations > o:
            grown = np.zeros((max(w, workloads), max(o, operations), STATUSES), dtype=np.int64)
            grown[:w, :o] = self.counts
            self.counts = grown
            for name in ("answered", "good"):
                old = getattr(self, name)
                new = np.zeros(max(o, operations), dtype=np.int64)
                new[:old.size] = old
                setattr(self, name, new)
        while len(self.latency) < self.counts.shape[1]:
            self.latency.append(LogSketch(LATENCY_ACCURACY))

    def fold(self, rows: np.ndarray) -> None:
        """Add one chunk: *rows* is (5, n), one contiguous column per field."""
        t_issue, t_end, status, workload, op = rows
        status, workload, op = status.astype(np.int64), workload.astype(np.int64), op.astype(np.int64)
        self._grow(int(workload.max()) + 1, int(op.max()) + 1)
        workloads, operations, _ = self.counts.shape
        window = (t_issue >= self.lo) & (t_issue < self.hi)
        codes = (workload[window] * operations + op[window]) * STATUSES + status[window]
        self.counts += np.bincount(codes, minlength=self.counts.size).reshape(self.counts.shape)
        ok = status == OK
        done = (t_end >= self.lo) & (t_end < self.hi)
        self.answered += np.bincount(op[done & (status != TIMEOUT)], minlength=operations)
        self.good += np.bincount(op[done & ok], minlength=operations)
        latency = t_end - t_issue
        measured = window & ok
        measured_ops = op[measured]
        for o in np.flatnonzero(np.bincount(measured_ops)) if measured_ops.size else ():
            self.latency[o].add(latency[measured & (op == o)] if self.counts.shape[1] > 1 else latency[measured])
        grid = self.grid
        self.issued.add(grid.index(t_issue))
        ended = grid.index(t_end)
        self.ok.add(ended[ok])
        self.failed.add(ended[~ok])
        self.timeouts.add(ended[status == TIMEOUT])
        if ok.any():
            self.series.add(pack(ended[ok], keys_of(latency[ok], self.series_gamma)))

    def finish(self, end_time: float, workloads: int, operations: int) -> RequestAggregates:
        self._grow(workloads, operations)
        n = self.grid.buckets(end_time)
        keys, counts = self.series.finish()
        return RequestAggregates(
            grid=self.grid, end_time=end_time, counts=self.counts, answered=self.answered, good=self.good,
            latency=self.latency, issued=self.issued.final(n), ok=self.ok.final(n), failed=self.failed.final(n),
            timeouts=self.timeouts.final(n), series_keys=keys, series_counts=counts, series_gamma=self.series_gamma)


class ComponentAccumulator:
    """Folds one component's chunks of spans ``(arrival, start, release, end, status, op, done)`` and tallies."""

    def __init__(self, grid: Grid, lo: float, hi: float, operations: int):
        self.grid, self.lo, self.hi = grid, lo, hi
        self.visits = np.zeros((max(1, operations), STATUSES), dtype=np.int64)
        self.waits = self.waited = 0
        self.wait_sum = 0.0
        self.wait = LogSketch(LATENCY_ACCURACY)
        self.sojourn = LogSketch(LATENCY_ACCURACY)
        self.busy = self.queue = self.inside = 0.0
        self.busy_b, self.queue_b, self.inside_b = Growing(float), Growing(float), Growing(float)
        self.arrivals_b = Growing()
        self.tally_window = np.zeros(0, dtype=np.int64)
        self.tally_b: list[Growing] = []

    def fold_spans(self, rows: np.ndarray) -> None:
        """Add one chunk of spans: *rows* is (7, n), one contiguous column per field."""
        arrival, start, release, end, status, op, done = rows
        status, op = status.astype(np.int64), op.astype(np.int64)
        top = int(op.max()) + 1
        if top > self.visits.shape[0]:
            grown = np.zeros((top, STATUSES), dtype=np.int64)
            grown[:self.visits.shape[0]] = self.visits
            self.visits = grown
        lo, hi = self.lo, self.hi
        window = (arrival >= lo) & (arrival < hi)
        codes = op[window] * STATUSES + status[window]
        self.visits += np.bincount(codes, minlength=self.visits.size).reshape(self.visits.shape)
        served = window & (status != REJECTED) & (status != UNFINISHED)
        wait = (start - arrival)[served]
        self.waits += int(wait.size)
        self.waited += int(np.count_nonzero(wait > 0))
        self.wait_sum += float(wait.sum())
        self.wait.add(wait)
        self.sojourn.add((done - arrival)[served])
        self.busy += total_overlap(start, release, lo, hi)
        self.queue += total_overlap(arrival, start, lo, hi)
        self.inside += total_overlap(arrival, end, lo, hi)
        grid = self.grid
        ka, ks, kr, ke = grid.index(arrival), grid.index(start), grid.index(release), grid.index(end)
        self.arrivals_b.add(ka)
        add_intervals(self.busy_b, start, release, grid, ks, kr)
        add_intervals(self.queue_b, arrival, start, grid, ka, ks)
        add_intervals(self.inside_b, arrival, end, grid, ka, ke)

    def fold_tallies(self, rows: np.ndarray, names: int) -> None:
        """Add one chunk of tallies: *rows* is (2, n) — times and codes; *names* tally names exist."""
        time, code = rows
        code = code.astype(np.int64)
        if names > self.tally_window.size:
            grown = np.zeros(names, dtype=np.int64)
            grown[:self.tally_window.size] = self.tally_window
            self.tally_window = grown
        while len(self.tally_b) < names:
            self.tally_b.append(Growing())
        window = (time >= self.lo) & (time < self.hi)
        self.tally_window += np.bincount(code[window], minlength=names)
        index = self.grid.index(time)
        for c in np.unique(code):
            self.tally_b[c].add(index[code == c])

    def finish(self, end_time: float, names: int) -> ComponentAggregates:
        n = self.grid.buckets(end_time)
        self.fold_tallies(np.zeros((2, 0)), names)
        return ComponentAggregates(
            grid=self.grid, end_time=end_time, window_bounds=(self.lo, self.hi), visits=self.visits,
            waits=self.waits, waited=self.waited, wait_sum=self.wait_sum, wait=self.wait, sojourn=self.sojourn,
            busy=self.busy, queue=self.queue, inside=self.inside, busy_b=self.busy_b.final(n),
            queue_b=self.queue_b.final(n), inside_b=self.inside_b.final(n), arrivals_b=self.arrivals_b.final(n),
            tally_window=self.tally_window,
            tally_b=[g.final(n) for g in self.tally_b])


class StreamingSpanLog(SpanLog):
    """A :class:`~.recorder.SpanLog` whose spans and tallies are folded every :data:`CHUNK_ROWS` rows."""

    __slots__ = ("acc", "monitor")
    FULL = False  # record tables follow their summary rule

    def __init__(self, name: str, kind: str, capacity: int, operations: list[str], acc: ComponentAccumulator,
                 monitor=None):
        super().__init__(name, kind, capacity, operations)
        self.acc = acc
        self.monitor = monitor  # a monitoring ScrapeFolder, when the scenario is scraped
        rows, put, limit, fold = self.rows, self.rows.frombytes, CHUNK_ROWS * self.FIELDS, self.fold
        pack_row = packer(self.FIELDS)

        def add(arrival: float, start: float, release: float, end: float, status: int, op: int,
                done: float | None = None) -> None:
            put(pack_row(arrival, start, release, end, status, op, release if done is None else done))
            if len(rows) >= limit:
                fold()

        self.add = add

    def counter(self, name: str):
        if name not in self.tally_names:
            self.tally_names.append(name)
        code = float(self.tally_names.index(name))
        tallies, put, limit, fold = self.tallies, self.tallies.frombytes, CHUNK_ROWS * 2, self.fold
        pack_row = packer(2)

        def count(now: float) -> None:
            put(pack_row(now, code))
            if len(tallies) >= limit:
                fold()

        return count

    def fold(self) -> None:
        """Fold the buffered spans and tallies into the aggregates and empty the buffers."""
        if len(self.rows):
            rows = columns(self.rows, self.FIELDS)
            self.acc.fold_spans(rows)
            if self.monitor is not None:
                self.monitor.fold_visits(self.name, rows)
            del self.rows[:]
        if len(self.tallies):
            self.acc.fold_tallies(columns(self.tallies, 2), len(self.tally_names))
            del self.tallies[:]


class StreamingRecorder(Recorder):
    """The recorder of ``records: summary`` for one run of a scenario (window, grid from the scenario)."""

    FULL = False  # record tables follow their summary rule

    def __init__(self, warmup: float, duration: float, sample_interval: float, monitoring=None):
        super().__init__()
        self.monitor = None
        if monitoring is not None:  # the scrape's request and visit families, folded as the run goes
            from ..monitoring.folding import ScrapeFolder

            self.monitor = ScrapeFolder(monitoring.scrape_interval, monitoring.buckets)
        self.grid = Grid(sample_interval, duration)
        self.window_bounds = (warmup, duration)
        self.acc = RequestAccumulator(self.grid, warmup, duration)
        rows, put, limit, fold = self.requests, self.requests.frombytes, CHUNK_ROWS * self.REQUEST_FIELDS, self.fold
        pack_row = packer(self.REQUEST_FIELDS)

        def request_done(t_issue: float, t_end: float, status: int, workload: int, operation: int) -> None:
            put(pack_row(t_issue, t_end, status, workload, operation))
            if len(rows) >= limit:
                fold()

        self.request_done = request_done

    def span_log(self, name: str, kind: str, capacity: int, operations: list[str]) -> SpanLog:
        acc = ComponentAccumulator(self.grid, *self.window_bounds, len(operations))
        log = self.spans[name] = StreamingSpanLog(name, kind, capacity, operations, acc, self.monitor)
        return log

    def fold(self) -> None:
        if len(self.requests):
            rows = columns(self.requests, self.REQUEST_FIELDS)
            self.acc.fold(rows)
            if self.monitor is not None:
                self.monitor.fold_requests(rows)
            del self.requests[:]

    def finish(self, end_time: float, workloads: int, operations: int
               ) -> tuple[RequestAggregates, dict[str, ComponentAggregates]]:
        """Fold what is left and freeze the aggregates of a run that ended at *end_time*."""
        self.fold()
        components = {}
        for name, log in self.spans.items():
            log.fold()
            components[name] = log.acc.finish(end_time, len(log.tally_names))
        return self.acc.finish(end_time, workloads, operations), components
