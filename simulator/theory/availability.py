"""Availability arithmetic: compositions of independent parts, quorums, nines and partial-quorum staleness.

Closed forms (golden §7, §18) for what a replicated design can promise, to check a
simulation or a design against:

* **serial** (every part needed), **parallel** (any one of them suffices, perfect
  failover), **k-of-n** (at least ``k`` of ``n`` identical parts up), the **majority
  quorum** of a Raft group or a ``QUORUM`` read (``k = floor(n/2) + 1``);
* the **steady state** of a part that fails and is repaired: ``MTBF / (MTBF + MTTR)``;
* **nines**: the downtime an availability allows over a period;
* **PBS**: the probability that a read of ``R`` replicas right after a write acknowledged
  by ``W`` of ``N`` misses it (Bailis et al., VLDB 2012).

Every part fails independently of the others; availability is the long-run fraction of
time up, in [0, 1]. The compositions are those of :mod:`simulator.theory.reliability`
under the short names of the reliability-block-diagram literature.
"""

from __future__ import annotations

import math

from ..arguments import integer as _integer
from ..arguments import positive as _positive
from ..arguments import probability as _probability
from ..units import parse_duration
from .reliability import availability_from_mtbf, availability_k_of_n, availability_parallel, availability_serial


def serial(*availabilities: float) -> float:
    """Availability when every part must be up: ``prod(a_i)`` (golden G18.1:
    0.999 × 0.999 × 0.9995 = 0.997502)."""
    return availability_serial(*availabilities)


def parallel(*availabilities: float) -> float:
    """Availability when any one part suffices: ``1 - prod(1 - a_i)`` (golden G18.1:
    two at 0.99 give 0.9999)."""
    return availability_parallel(*availabilities)


def k_of_n(k: int, n: int, p: float) -> float:
    """Availability when at least ``k`` of ``n`` identical parts, each up with probability
    ``p``, must be up: ``sum_{i>=k} C(n, i) p^i (1 - p)^(n - i)`` (golden G18.1: 2-of-3 at
    0.99 = 0.999702)."""
    return availability_k_of_n(k, n, p)


def majority_quorum(n: int, p: float) -> float:
    """Availability of a majority quorum of ``n`` replicas each up with probability ``p``:
    k-of-n with ``k = floor(n/2) + 1`` (golden G7.1: n = 3, p = 0.99 gives 0.999702).
    A majority tolerates ``floor((n - 1) / 2)`` failures."""
    return k_of_n(_integer("n", n, 1) // 2 + 1, n, p)


def steady_state(mtbf: float, mttr: float) -> float:
    """Long-run availability of a part that alternates up (mean ``mtbf``) and down (mean
    ``mttr``), any one time unit: ``MTBF / (MTBF + MTTR)`` (golden G18.1: 720 h and 1 h give
    0.998613). It holds for any up- and down-time distributions with those means
    (alternating renewal process)."""
    return availability_from_mtbf(mtbf, mttr)


def nines_downtime(availability: float, period: float | str) -> float:
    """Seconds of downtime that ``availability`` allows over ``period``: ``(1 - A) × period``
    (golden G18.2: 99.9 % over 30 days is 43.2 minutes).

    Args:
        availability: In [0, 1] (0.999 for "three nines").
        period: Seconds, or a duration with a unit (``"365d"``, ``"30d"``, ``"7d"``, ``"1d"``).
    """
    a = _probability("availability", availability)
    seconds = parse_duration(period, require_unit=True) if isinstance(period, str) else _positive("period", period)
    return (1.0 - a) * seconds


def stale_read_probability(n: int, r: int, w: int) -> float:
    """Probability that a read of ``r`` replicas, right after a write acknowledged by ``w``
    of the ``n``, contacts none of those ``w`` (no anti-entropy yet): ``C(n - w, r) / C(n, r)``,
    0 when ``r + w > n`` (the quorums intersect). Golden G7.2 (PBS, Bailis et al. 2012):
    N = 3, R = W = 1 gives 2/3. Not the projection-lag staleness of golden G11.1
    (:func:`simulator.theory.messaging.stale_read_probability`)."""
    _integer("n", n, 1)
    for name, size in (("r", r), ("w", w)):
        if _integer(name, size, 1) > n:
            raise ValueError(f"{name} ({size}) must be <= n ({n})")
    return math.comb(n - w, r) / math.comb(n, r)
