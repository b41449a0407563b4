"""Small, dependency-free statistics for replications: means, standard errors, t intervals.

Confidence intervals across runs come from per-run summary statistics (one number per
replication, then a Student t interval), the method of independent replications. Paired
differences (common random numbers: both designs run with the same seeds) give much
narrower intervals than comparing two independent means.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

# Two-sided 95 % Student t quantiles t_{0.975, df}.
_T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
         10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110, 18: 2.101,
         19: 2.093, 20: 2.086, 21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064, 25: 2.060, 26: 2.056, 27: 2.052,
         28: 2.048, 29: 2.045, 30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980}


def t_quantile_975(df: int) -> float:
    """t_{0.975} for *df* degrees of freedom (table, linear in 1/df between entries, 1.96 beyond)."""
    if df < 1:
        raise ValueError("a t interval needs at least two observations")
    if df in _T975:
        return _T975[df]
    if df > 120:
        return 1.96 + (1.980 - 1.96) * 120 / df
    lo = max(k for k in _T975 if k < df)
    hi = min(k for k in _T975 if k > df)
    w = (1 / df - 1 / hi) / (1 / lo - 1 / hi)
    return _T975[hi] + w * (_T975[lo] - _T975[hi])


@dataclass(frozen=True)
class Interval:
    """A mean with its standard error and 95 % confidence interval over *n* observations."""

    mean: float
    se: float
    low: float
    high: float
    n: int

    def excludes(self, value: float) -> bool:
        return not (self.low <= value <= self.high)


def mean_interval(values: Sequence[float]) -> Interval:
    """Mean and 95 % t interval of *values* (NaN/None dropped)."""
    xs = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    n = len(xs)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, math.nan, 0)
    mean = sum(xs) / n
    if n == 1:
        return Interval(mean, math.nan, math.nan, math.nan, 1)
    var = sum((x - mean) ** 2 for x in xs) / (n - 1)
    se = math.sqrt(var / n)
    half = t_quantile_975(n - 1) * se
    return Interval(mean, se, mean - half, mean + half, n)


def paired_difference(a: Sequence[float], b: Sequence[float]) -> Interval:
    """95 % interval of the mean of b − a over pairs where both are measured."""
    pairs = [(x, y) for x, y in zip(a, b) if x is not None and y is not None
             and not math.isnan(float(x)) and not math.isnan(float(y))]
    return mean_interval([y - x for x, y in pairs])
