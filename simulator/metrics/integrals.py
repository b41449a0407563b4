"""Time averages of "how many intervals are open" — the maths behind utilization and queue length.

A component's busy workers at time t is the number of spans whose [start, release)
contains t; its queue length counts [arrival, start); the number in the component counts
[arrival, end). Their time averages are integrals of interval counts, computed exactly
from the spans (no sampling) with sorted prefix sums.
"""

from __future__ import annotations

import numpy as np


def total_overlap(begin: np.ndarray, end: np.ndarray, lo: float, hi: float) -> float:
    """∫_lo^hi (number of intervals [begin, end) open at t) dt."""
    if hi <= lo or begin.size == 0:
        return 0.0
    return float(np.clip(np.minimum(end, hi) - np.maximum(begin, lo), 0.0, None).sum())


def time_average(begin: np.ndarray, end: np.ndarray, lo: float, hi: float) -> float:
    """Mean number of open intervals over [lo, hi)."""
    return total_overlap(begin, end, lo, hi) / (hi - lo) if hi > lo else float("nan")


def bucket_averages(begin: np.ndarray, end: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Mean number of open intervals in each bucket [edges[k], edges[k+1]).

    Uses F(e) = Σ min(e, end_i) − Σ min(e, begin_i), each sum read off a sorted prefix sum.
    """
    if begin.size == 0:
        return np.zeros(len(edges) - 1)

    def sum_min(values: np.ndarray) -> np.ndarray:
        ordered = np.sort(values)
        prefix = np.concatenate(([0.0], np.cumsum(ordered)))
        idx = np.searchsorted(ordered, edges, side="left")
        return prefix[idx] + edges * (ordered.size - idx)

    cumulative = sum_min(end) - sum_min(begin)
    return np.diff(cumulative) / np.diff(edges)
