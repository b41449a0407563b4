"""The request and visit families of the scrape, folded while a ``records: summary`` run goes.

With full records the scrape reads every request and visit after the run
(:mod:`.scrape`). With summary records those rows are folded away every few thousand, so
when the scenario has ``monitoring:`` the streaming recorder also hands each chunk to a
:class:`ScrapeFolder`: per (workload, operation) and per (component, operation), the events
of each status and the successful ones' durations per histogram bucket, counted per
scrape interval (by end time, as the scrape counts them). At the end of the run the last
scrape interval takes what the grid puts after it (the closed last bucket of
:func:`simulator.metrics.grid.bucket_of`), so the series are the full-records scrape's:
the same counts and bucket counts, and the same duration sums up to float rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.request import OK
from ..metrics.grid import Grid
from ..metrics.window import STATUSES

ROUNDING = 1e-9  # as the scrape's (simulator.monitoring.scrape.ROUNDING): a duration on a bound counts in it


class _Key:
    """One label set's flat, growing per-interval arrays: events by status, ok durations by bucket, their sum."""

    __slots__ = ("status", "slots", "sums")

    def __init__(self) -> None:
        self.status = np.zeros(0, dtype=np.int64)
        self.slots = np.zeros(0, dtype=np.int64)
        self.sums = np.zeros(0, dtype=float)


def _add(array: np.ndarray, index: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    if index.size == 0:
        return array
    top = int(index.max()) + 1
    if top > array.size:
        grown = np.zeros(max(top, 2 * array.size), dtype=array.dtype)
        grown[:array.size] = array
        array = grown
    array[:top] += np.bincount(index, weights=weights, minlength=top).astype(array.dtype, copy=False)
    return array


def _rows(flat: np.ndarray, width: int, n: int) -> np.ndarray:
    """*flat* (interval × width) as *n* rows; rows from the last on fold into it."""
    padded = np.zeros(-(-flat.size // width) * width, dtype=flat.dtype)  # the last row may be partly grown
    padded[:flat.size] = flat
    rows = padded.reshape(-1, width)
    out = np.zeros((n, width), dtype=flat.dtype)
    m = min(n, rows.shape[0])
    out[:m] = rows[:m]
    if rows.shape[0] > n:
        out[n - 1] += rows[n:].sum(axis=0)
    return out


@dataclass
class Folded:
    """What :class:`ScrapeFolder` counted, per scrape interval (rows) of a run that ended at its end:
    ``status[key]`` (intervals × statuses), ``buckets[key]`` (intervals × (bounds + 1), not cumulative),
    ``sums[key]`` (intervals); keys ``(workload, operation)`` for ``requests`` and ``(component, operation)``
    for ``visits``, in the order first seen."""

    interval: float
    bounds: np.ndarray
    requests: dict
    visits: dict


class ScrapeFolder:
    """Folds request rows ``(issue, end, status, workload, operation)`` and visit spans
    ``(arrival, start, release, end, status, op, done)`` into per-scrape-interval counts."""

    def __init__(self, interval: float, bounds) -> None:
        self.interval = float(interval)
        self.grid = Grid(self.interval)
        self.bounds = np.asarray(bounds, dtype=float)
        self.requests: dict[tuple, _Key] = {}
        self.visits: dict[tuple, _Key] = {}

    def _fold(self, table: dict, key: tuple, ends: np.ndarray, status: np.ndarray, durations: np.ndarray) -> None:
        entry = table.get(key)
        if entry is None:
            entry = table[key] = _Key()
        index = self.grid.index(ends)
        entry.status = _add(entry.status, index * STATUSES + status)
        ok = status == OK
        b = self.bounds.size + 1
        slot = np.searchsorted(self.bounds, durations[ok] - ROUNDING, side="left")
        entry.slots = _add(entry.slots, index[ok] * b + slot)
        entry.sums = _add(entry.sums, index[ok], durations[ok])

    def fold_requests(self, rows: np.ndarray) -> None:
        t_issue, t_end, status, workload, op = rows
        status, workload, op = status.astype(np.int64), workload.astype(np.int64), op.astype(np.int64)
        for w, o in sorted(set(zip(workload.tolist(), op.tolist()))):
            mine = (workload == w) & (op == o)
            self._fold(self.requests, (w, o), t_end[mine], status[mine], (t_end - t_issue)[mine])

    def fold_visits(self, component: str, rows: np.ndarray) -> None:
        arrival, _, _, end, status, op, _ = rows
        status, op = status.astype(np.int64), op.astype(np.int64)
        for o in np.unique(op).tolist():
            mine = op == o
            self._fold(self.visits, (component, o), end[mine], status[mine], (end - arrival)[mine])

    def finish(self, intervals: int) -> Folded:
        """The counts of a run with *intervals* scrape intervals (``len(scrape_times(...))``)."""
        b = self.bounds.size + 1

        def frozen(table):
            return {key: (_rows(e.status, STATUSES, intervals), _rows(e.slots, b, intervals),
                          _rows(e.sums, 1, intervals)[:, 0]) for key, e in table.items()}

        return Folded(self.interval, self.bounds, frozen(self.requests), frozen(self.visits))
