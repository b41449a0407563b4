"""Reading scraped series as PromQL does: ``increase``/``rate`` between scrapes and ``histogram_quantile``.

Over one scrape interval (from the previous scrape, or from 0 for the first): no
extrapolation is needed, every scrape time is known exactly, and a counter never resets
in a run. ``histogram_quantile`` is Prometheus': linear interpolation inside the bucket
that holds the rank ``q · count`` (the first bucket starts at 0), the highest finite bound
when the rank falls in ``+Inf``, NaN without observations.
"""

from __future__ import annotations

import numpy as np

__all__ = ["histogram_quantile", "increase", "rate"]


def increase(values: np.ndarray) -> np.ndarray:
    """How much a cumulative counter grew over each scrape interval (the first: since 0)."""
    values = np.asarray(values, dtype=float)
    return np.diff(values, prepend=0.0)


def rate(values: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Per-second :func:`increase` over each scrape interval ending at *times*."""
    times = np.asarray(times, dtype=float)
    return increase(values) / np.diff(times, prepend=0.0)


def histogram_quantile(q: float, bounds: np.ndarray, buckets: np.ndarray) -> np.ndarray:
    """The *q*-quantile per row of cumulative *buckets* (``[..., len(bounds) + 1]``, ``+Inf`` last) with
    upper *bounds*, as PromQL's ``histogram_quantile`` estimates it (module docstring)."""
    bounds = np.asarray(bounds, dtype=float)
    buckets = np.atleast_2d(np.asarray(buckets, dtype=float))
    out = np.full(buckets.shape[0], np.nan)
    uppers = np.append(bounds, np.inf)
    lowers = np.append(0.0, bounds)
    for i, row in enumerate(buckets):
        total = row[-1]
        if total <= 0:
            continue
        rank = q * total
        j = int(np.searchsorted(row, rank, side="left"))
        if j >= bounds.size:  # the rank lies in +Inf
            out[i] = bounds[-1]
            continue
        below = row[j - 1] if j > 0 else 0.0
        inside = row[j] - below
        out[i] = uppers[j] if inside <= 0 else lowers[j] + (uppers[j] - lowers[j]) * (rank - below) / inside
    return out
