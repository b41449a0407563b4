"""A mergeable quantile sketch with a relative-error guarantee (DDSketch-style log buckets).

:class:`LogSketch` summarises non-negative numbers (latencies, waits) in constant memory:
zeros are counted exactly, every positive ``x`` falls in the bucket ``k = ceil(log_γ x)``,
which holds ``(γ^(k-1), γ^k]``, and a bucket stands for the value ``2 γ^k / (γ + 1)``.
With ``γ = (1 + α) / (1 − α)`` that value is within relative error ``α`` of every ``x`` in
the bucket, which gives the guarantee:

**Guarantee.** For a sketch of the values ``x`` (all ≥ 0, finite) and any ``q`` in
[0, 1], ``quantile(q)`` differs from ``numpy.quantile(x, q)`` (numpy's default *linear*
method) by at most ``α · numpy.quantile(x, q)``, whatever the data — adversarial inputs
included — and however many sketches were merged. Why: numpy's answer is
``(1 − f)·x₍ᵢ₎ + f·x₍ᵢ₊₁₎`` for the order statistics at ranks ``i = ⌊q(n − 1)⌋`` and
``i + 1`` (``f`` the fractional part); the sketch finds the buckets of those two ranks
exactly (counts are exact), replaces each order statistic by its bucket's value (each
within ``α`` relatively; then clamped to the exact [min, max], which can only bring it
closer) and interpolates with the same ``f``. A convex combination of two estimates
each within ``α`` of non-negative numbers is within ``α`` of their combination.

Count, sum (so the mean), min and max are exact (the sum up to float summation order).
Memory is one int64 per bucket between the smallest and the largest positive value seen:
``ln(max/min) / ln γ`` buckets, about 1,150 for 1 µs … 1,000 s at α = 1 %.

Internally γ is built from ``α · (1 − 1e-7)`` so that float rounding in ``log``/``exp`` at a
bucket edge (relative size ~1e-13) cannot push an estimate past the stated ``α``.

:func:`keys_of`, :func:`values_of` and :func:`grouped_quantiles` are the same mapping for
many small sketches kept as ``(group, key, count)`` rows (the per-bucket time series).
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

ZERO_KEY = -(1 << 20) + 1
"""The key standing for the value 0 in packed ``(group, key)`` rows (below every real key)."""
_KEY_MAX = (1 << 20) - 1
_MARGIN = 1.0 - 1e-7


def gamma_for(relative_accuracy: float) -> float:
    """The bucket ratio γ that gives *relative_accuracy* (with the rounding margin)."""
    if not 0.0 < relative_accuracy < 1.0:
        raise ValueError(f"relative accuracy must be in (0, 1), got {relative_accuracy!r}")
    alpha = relative_accuracy * _MARGIN
    return (1.0 + alpha) / (1.0 - alpha)


def keys_of(values: np.ndarray, gamma: float) -> np.ndarray:
    """Bucket key of each value: ``ceil(log_γ x)`` for x > 0, :data:`ZERO_KEY` for 0 (int64)."""
    values = np.asarray(values, dtype=float)
    scale = 1.0 / math.log(gamma)
    if values.size and values.min() > 0:  # the common case: no zeros to mask
        return np.clip(np.ceil(np.log(values) * scale), ZERO_KEY + 1, _KEY_MAX).astype(np.int64)
    keys = np.full(values.shape, ZERO_KEY, dtype=np.int64)
    positive = values > 0
    if positive.any():
        raw = np.ceil(np.log(values[positive]) * scale)
        keys[positive] = np.clip(raw, ZERO_KEY + 1, _KEY_MAX).astype(np.int64)
    return keys


def values_of(keys: np.ndarray, gamma: float) -> np.ndarray:
    """The value a bucket key stands for: ``2 γ^k / (γ + 1)``, and 0 for :data:`ZERO_KEY`."""
    keys = np.asarray(keys, dtype=np.int64)
    out = np.exp(keys * math.log(gamma) + math.log(2.0 / (gamma + 1.0)))
    return np.where(keys == ZERO_KEY, 0.0, out)




class LogSketch:
    """Quantiles within relative error ``relative_accuracy`` of numpy's (see the module docstring).

    ``add(values)`` (vectorised), ``merge(other)``, ``quantile(q)`` / ``quantiles(qs)``,
    exact ``count``, ``sum``, ``mean``, ``min``, ``max``; ``buckets()`` gives the bucket
    values and counts (for drawing a histogram). Sketches merge only with the same accuracy.
    """

    __slots__ = ("relative_accuracy", "gamma", "_log_gamma", "counts", "offset", "zeros", "count", "sum", "min",
                 "max")

    def __init__(self, relative_accuracy: float = 0.01):
        self.relative_accuracy = float(relative_accuracy)
        self.gamma = gamma_for(self.relative_accuracy)
        self._log_gamma = math.log(self.gamma)
        self.counts = np.zeros(0, dtype=np.int64)  # counts[i]: values with key offset + i
        self.offset = 0
        self.zeros = 0
        self.count = 0
        self.sum = 0.0
        self.min = math.inf
        self.max = -math.inf

    # -- building ---------------------------------------------------------------------------
    def add(self, values: Iterable[float] | np.ndarray) -> None:
        """Add every value of *values* (finite, ≥ 0)."""
        values = np.asarray(values, dtype=float).ravel()
        if values.size == 0:
            return
        low, high = float(values.min()), float(values.max())
        if not (low >= 0.0 and high < math.inf):  # also false for NaN
            raise ValueError("LogSketch takes finite values >= 0 only")
        self.count += int(values.size)
        self.sum += float(values.sum())
        self.min, self.max = min(self.min, low), max(self.max, high)
        keys = keys_of(values, self.gamma)
        positive = keys != ZERO_KEY
        self.zeros += int(values.size - np.count_nonzero(positive))
        keys = keys[positive]
        if keys.size:
            lo = int(keys.min())
            self._add_counts(lo, np.bincount(keys - lo))

    def _add_counts(self, lo: int, counts: np.ndarray) -> None:
        """Add *counts* for keys ``lo, lo + 1, …`` (growing the dense array as needed)."""
        hi = lo + counts.size
        if self.counts.size == 0:
            self.counts, self.offset = counts.astype(np.int64), lo
            return
        start, stop = min(self.offset, lo), max(self.offset + self.counts.size, hi)
        if start < self.offset or stop > self.offset + self.counts.size:
            grown = np.zeros(stop - start, dtype=np.int64)
            grown[self.offset - start:self.offset - start + self.counts.size] = self.counts
            self.counts, self.offset = grown, start
        self.counts[lo - self.offset:hi - self.offset] += counts

    def merge(self, other: "LogSketch") -> "LogSketch":
        """Add everything *other* holds (same accuracy required); returns self."""
        if other.gamma != self.gamma:
            raise ValueError("only sketches of the same relative accuracy merge")
        if other.count == 0:
            return self
        self.count += other.count
        self.sum += other.sum
        self.zeros += other.zeros
        self.min, self.max = min(self.min, other.min), max(self.max, other.max)
        if other.counts.size:
            self._add_counts(other.offset, other.counts)
        return self

    def copy(self) -> "LogSketch":
        twin = LogSketch(self.relative_accuracy)
        return twin.merge(self)

    # -- reading ----------------------------------------------------------------------------
    @property
    def mean(self) -> float | None:
        return self.sum / self.count if self.count else None

    def _rank_values(self, ranks: np.ndarray) -> np.ndarray:
        """Estimate of the order statistic at each 0-based rank (ranks < count)."""
        out = np.zeros(ranks.size)
        positive = ranks >= self.zeros
        if positive.any():
            cumulative = np.cumsum(self.counts)
            index = np.searchsorted(cumulative, ranks[positive] - self.zeros, side="right")
            out[positive] = values_of(index + self.offset, self.gamma)
        return np.clip(out, self.min, self.max)

    def quantiles(self, qs: Iterable[float]) -> np.ndarray:
        """Estimates of ``numpy.quantile(values, qs)``; NaN for an empty sketch."""
        qs = np.asarray(list(qs), dtype=float)
        if self.count == 0:
            return np.full(qs.size, np.nan)
        h = qs * (self.count - 1)
        lo = np.floor(h).astype(np.int64)
        hi = np.minimum(lo + 1, self.count - 1)
        a, b = self._rank_values(lo), self._rank_values(hi)
        return a + (h - lo) * (b - a)

    def quantile(self, q: float) -> float:
        return float(self.quantiles([q])[0])

    def buckets(self) -> tuple[np.ndarray, np.ndarray]:
        """(value, count) of every non-empty bucket, zeros first when there are any."""
        nonzero = np.nonzero(self.counts)[0]
        values = values_of(nonzero + self.offset, self.gamma)
        counts = self.counts[nonzero]
        if self.zeros:
            values, counts = np.concatenate(([0.0], values)), np.concatenate(([self.zeros], counts))
        return values, counts

    def __repr__(self) -> str:
        return f"LogSketch(relative_accuracy={self.relative_accuracy:g}, count={self.count})"


def grouped_quantiles(groups: np.ndarray, keys: np.ndarray, counts: np.ndarray, n: int, qs: tuple[float, ...],
                      gamma: float) -> np.ndarray:
    """Per group ``0..n-1`` the sketch estimate of each quantile in *qs* (NaN where empty).

    The rows ``(group, key, count)`` are bucket counts of many small sketches with bucket
    ratio *gamma* (keys from :func:`keys_of`; a group may repeat a key). Same rank rule and
    the same guarantee as :meth:`LogSketch.quantiles`, except that there is no exact
    min/max clamp. Vectorised: one sort, one cumulative sum, one search per quantile.
    """
    out = np.full((n, len(qs)), np.nan)
    if counts.size == 0:
        return out
    order = np.lexsort((keys, groups))
    groups, keys, counts = groups[order], keys[order], counts[order].astype(np.int64)
    cumulative = np.cumsum(counts)
    bounds = np.searchsorted(groups, np.arange(n + 1))
    before = np.concatenate(([0], cumulative))[bounds]  # values in groups < g
    total = np.diff(before)
    present = np.nonzero(total)[0]
    base, size = before[present], total[present]
    for j, q in enumerate(qs):
        h = q * (size - 1)
        lo = np.floor(h).astype(np.int64)
        hi = np.minimum(lo + 1, size - 1)
        a = values_of(keys[np.searchsorted(cumulative, base + lo, side="right")], gamma)
        b = values_of(keys[np.searchsorted(cumulative, base + hi, side="right")], gamma)
        out[present, j] = a + (h - lo) * (b - a)
    return out
