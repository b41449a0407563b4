"""Availability of independent components, and the tail of fan-out requests.

* **Availability**: components fail independently; availability is the long-run fraction
  of time up, ``MTBF / (MTBF + MTTR)``; serial, parallel and k-of-n compositions.
* **Fan-out**: a request that waits for ``n`` independent leaves is slow if any leaf is.
"""

from __future__ import annotations

import math

from ..arguments import integer as _integer
from ..arguments import non_negative as _non_negative
from ..arguments import positive as _positive
from ..arguments import probability as _probability


def _availabilities(values: tuple[float, ...]) -> list[float]:
    if not values:
        raise ValueError("need at least one availability")
    return [_probability(f"availability #{i + 1}", a) for i, a in enumerate(values)]


def availability_serial(*availabilities: float) -> float:
    """Availability when every component must be up: ``prod(a_i)``.

    Args:
        *availabilities: Availability of each independent component, in [0, 1].
    """
    return math.prod(_availabilities(availabilities))


def availability_parallel(*availabilities: float) -> float:
    """Availability when any one redundant replica suffices: ``1 - prod(1 - a_i)``.

    Args:
        *availabilities: Availability of each independent replica, in [0, 1].
    """
    return 1.0 - math.prod(1.0 - a for a in _availabilities(availabilities))


def availability_k_of_n(k: int, n: int, availability: float) -> float:
    """Availability of a k-out-of-n system: ``sum_{i>=k} C(n, i) a^i (1 - a)^(n - i)``.

    Args:
        k: Components that must be up (1 <= k <= n).
        n: Identical independent components (>= 1).
        availability: Availability ``a`` of each component, in [0, 1].
    """
    _integer("n", n, 1)
    if _integer("k", k, 1) > n:
        raise ValueError(f"k ({k}) must be <= n ({n})")
    a = _probability("availability", availability)
    return math.fsum(math.comb(n, i) * a**i * (1.0 - a) ** (n - i) for i in range(k, n + 1))


def availability_from_mtbf(mtbf: float, mttr: float) -> float:
    """Steady-state availability ``MTBF / (MTBF + MTTR)`` (any one time unit).

    Args:
        mtbf: Mean time between failures (> 0).
        mttr: Mean time to repair (>= 0).
    """
    up, down = _positive("mtbf", mtbf), _non_negative("mttr", mttr)
    return up / (up + down)


def fanout_tail_probability(p_slow: float, fanout: int) -> float:
    """Probability a request waiting on all ``n`` leaves is slow: ``1 - (1 - p)^n``.

    Args:
        p_slow: Probability one leaf is slow, in [0, 1] (0.01 = beyond its p99).
        fanout: Number of independent leaves ``n`` (>= 1).
    """
    p = _probability("p_slow", p_slow)
    return 1.0 - (1.0 - p) ** _integer("fanout", fanout, 1)


def per_leaf_quantile_for(target_quantile: float, fanout: int) -> float:
    """Leaf quantile ``q^(1/n)`` each leaf must meet for the request to meet quantile ``q``.

    Args:
        target_quantile: Desired request-level quantile, in (0, 1) (e.g. 0.99).
        fanout: Number of independent leaves ``n`` (>= 1).
    """
    q = _probability("target_quantile", target_quantile, exclusive=True)
    return q ** (1.0 / _integer("fanout", fanout, 1))
