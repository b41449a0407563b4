"""The time grid of a run's buckets, shared by full and summary records.

**Bucket rule** (both record modes, every time series). A query's edges are
``e₀ = 0 < e₁ < … < eₙ`` (multiples of the interval, the last one cut at ``until``); an
instant ``t`` belongs to the bucket ``[eⱼ, eⱼ₊₁)`` that contains it, and the last bucket is
closed, ``[eₙ₋₁, eₙ]``, when ``eₙ`` reaches the run's end (so what happens at the very last
instant — the final answers, the drain's timeouts — is counted). :func:`bucket_of` applies
the rule to raw times (full records).

**The recorded grid** (summary records). The streaming recorder cannot keep times, so it
counts and integrates per *base bucket*: ``[k·s, (k+1)·s)`` for the scenario's
``sample_interval`` ``s``, with one extra edge at ``duration`` when ``duration`` is not a
multiple of ``s`` (so a series cut at ``duration`` stays exact). :class:`Grid` maps times to
base buckets (:meth:`Grid.index`, consistent with edges computed as ``k·s``) and a query's
edges to ranges of base buckets (:meth:`Grid.bounds`). A query can be answered from base
buckets only when every edge lies on the grid — intervals that are integer multiples of
``s``, cut at a grid edge or at the run's end; anything else raises
:class:`FullRecordsRequired`.
"""

from __future__ import annotations

import math

import numpy as np

TOLERANCE = 1e-9
"""Relative slack (of the sample interval) within which a query edge counts as a grid edge."""


class FullRecordsRequired(RuntimeError):
    """The question needs per-request or per-span records, and this run kept aggregates only."""


def bucket_of(times: np.ndarray, edges: np.ndarray, end_time: float) -> np.ndarray:
    """Bucket index of each time under the bucket rule (``-1`` before ``e₀``, ``n`` after ``eₙ``)."""
    n = len(edges) - 1
    index = np.searchsorted(edges, times, side="right") - 1
    if edges[-1] >= end_time:
        index = np.minimum(index, n - 1)  # only t == eₙ can sit at n: the closed last bucket
    return index


class Grid:
    """Base buckets of width *step*, plus an edge at *split* (``duration``) when it is off the grid."""

    __slots__ = ("step", "split", "_split_bucket")

    def __init__(self, step: float, split: float | None = None):
        self.step = float(step)
        if split is not None:
            k = split / self.step
            if abs(k - round(k)) <= TOLERANCE * max(1.0, k):
                split = None
        self.split = None if split is None else float(split)
        # the unshifted bucket that the split cuts in two
        self._split_bucket = None if self.split is None else int(self._plain(np.array([self.split]))[0])

    def _plain(self, t: np.ndarray) -> np.ndarray:
        """k with k·step ≤ t < (k+1)·step, edges computed exactly as ``k * step``."""
        k = np.floor(t / self.step).astype(np.int64)
        k -= k * self.step > t
        k += (k + 1) * self.step <= t
        return k

    def index(self, t: np.ndarray) -> np.ndarray:
        """Base bucket of each time (int64)."""
        t = np.asarray(t, dtype=float)
        k = self._plain(t)
        if self.split is not None:
            k += t >= self.split
        return k

    def edge(self, k: np.ndarray) -> np.ndarray:
        """Left edge of base bucket *k* (vectorised)."""
        k = np.asarray(k, dtype=np.int64)
        if self.split is None:
            return k * self.step
        s = self._split_bucket
        return np.where(k <= s, k * self.step, np.where(k == s + 1, self.split, (k - 1) * self.step))

    def widths(self, k0: int, k1: int) -> np.ndarray:
        """Width of base buckets ``k0 … k1-1``."""
        return np.diff(self.edge(np.arange(k0, k1 + 1)))

    def buckets(self, end_time: float) -> int:
        """How many base buckets a run ending at *end_time* has (the last holds the final instant)."""
        return int(self.index(np.array([end_time]))[0]) + 1

    def bounds(self, edges: np.ndarray, end_time: float) -> np.ndarray:
        """Base-bucket boundaries ``b₀ … bₙ``: query bucket j is base buckets ``bⱼ … bⱼ₊₁-1``.

        Follows the bucket rule (edges past the end, and a last edge at the end, take every
        base bucket up to the final instant). Raises :class:`FullRecordsRequired` when an
        edge is not on the grid.
        """
        total = self.buckets(end_time)
        edges = np.asarray(edges, dtype=float)
        past = edges > end_time
        past[-1] |= edges[-1] >= end_time
        k = self.index(edges)
        slack = TOLERANCE * self.step
        here = np.abs(self.edge(k) - edges) <= slack
        above = np.abs(self.edge(k + 1) - edges) <= slack
        bad = ~past & ~here & ~above
        if bad.any():
            e = float(edges[np.argmax(bad)])
            extra = "" if self.split is None else f", and {self.split:g} s"
            raise FullRecordsRequired(
                f"a bucket edge at t = {e:g} s is not on the recorded grid (multiples of the sample_interval "
                f"{self.step:g} s{extra}, or the run's end {end_time:g} s): this run kept summary records only; "
                "ask for an interval that is a multiple of the sample_interval, or rerun with records: full")
        return np.where(past, total, np.minimum(np.where(here, k, k + 1), total))


def merge(values: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Sum base-bucket *values* into the query buckets given by *bounds* (see :meth:`Grid.bounds`)."""
    n = bounds.size - 1
    size = int(bounds[-1])
    values = np.asarray(values)
    padded = np.zeros(size, dtype=values.dtype)
    m = min(size, values.size)
    padded[:m] = values[:m]
    group = np.searchsorted(bounds, np.arange(size), side="right") - 1
    keep = (group >= 0) & (group < n)
    out = np.bincount(group[keep], weights=padded[keep].astype(float), minlength=n)[:n]
    return out.astype(np.int64) if np.issubdtype(values.dtype, np.integer) else out


def group_of(buckets: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Query bucket of each base bucket index (``-1``/``n`` when outside the query)."""
    return np.searchsorted(bounds, buckets, side="right") - 1


def is_multiple(interval: float, step: float) -> bool:
    m = interval / step
    return round(m) >= 1 and abs(m - round(m)) <= TOLERANCE * max(1.0, m)


def snap(width: float, step: float) -> float:
    """The smallest multiple of *step* that is at least *width* (within tolerance)."""
    m = max(1, math.ceil(width / step - TOLERANCE))
    return m * step
