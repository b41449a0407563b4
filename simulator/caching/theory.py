"""Closed forms for caches: the oracle the cache policies and the cache component are checked against.

Pure functions (stdlib ``math`` only; this module imports nothing from the rest of sdsim so
that :mod:`simulator.theory` can re-export it without an import cycle).

Models and their assumptions:

* **IRM** (independent reference model) — requests are i.i.d. draws from a fixed popularity
  vector ``p`` (``p_i >= 0``, ``sum p_i = 1``); there is no temporal locality beyond
  popularity. Times measured "in requests" count requests to the whole cache; divide by the
  total request rate to get seconds.
* **Che's approximation** (Che, Tung, Wang 2002; Fricker, Robert, Roberts 2012) — an LRU
  cache of ``C`` items behaves as if every item stays for a fixed *characteristic time*
  ``T_C`` after its last request, where ``sum_i (1 - exp(-p_i T_C)) = C``. Item ``i`` is then
  resident with probability ``h_i = 1 - exp(-p_i T_C)``, and the hit ratio is
  ``sum_i p_i h_i``.
* **FIFO / RANDOM** (Martina, Garetto, Leonardi 2014) — same method with
  ``h_i = p_i T / (1 + p_i T)`` and ``T`` solving ``sum_i h_i = C``.
* **Static top-C LFU** — the ``C`` most popular items are kept forever. Under IRM this is
  the optimum over all policies that do not know the future, so it bounds LRU, FIFO, LFU
  and W-TinyLFU from above.
* **TTL caches** — one key with Poisson requests at rate ``lambda`` and no capacity
  eviction. ``expireAfterWrite T``: a miss opens a validity window of length ``T`` holding
  ``lambda T`` expected hits, so ``hit = lambda T / (1 + lambda T)``. ``expireAfterAccess T``:
  a request hits iff the previous one was less than ``T`` ago, so
  ``hit = 1 - exp(-lambda T)``. Keys are independent, so over a popularity vector and total
  rate ``Lambda``, key ``i`` has rate ``Lambda p_i``.

When the cache can hold every item that is ever requested (``capacity >= `` the number of
items with ``p_i > 0``), ``T_C`` is infinite: :func:`che_characteristic_time` raises
:class:`ValueError`, and the hit-ratio functions return ``1.0`` (the steady state in which
every requested item is resident). Other invalid inputs (negative or non-finite rates and
times, popularity vectors that are empty, negative or do not sum to 1, capacities below 1)
raise :class:`ValueError`.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable

from ..arguments import integer as _integer
from ..arguments import non_negative as _non_negative
from ..arguments import positive as _positive

__all__ = [
    "zipf_popularity", "che_characteristic_time", "lru_hit_ratio", "fifo_hit_ratio",
    "lfu_hit_ratio", "ttl_hit_ratio_after_write", "ttl_hit_ratio_after_access", "ttl_hit_ratio",
    "stampede_origin_loads",
]

_SUM_TOLERANCE = 1e-6  # how far sum(p) may stray from 1 (rounding in a caller's normalisation)


def _popularity(popularity: Iterable[float]) -> list[float]:
    """Validated popularity as a list of floats (zeros kept, so indices still mean items)."""
    probs = [_non_negative(f"popularity[{i}]", p) for i, p in enumerate(popularity)]
    if not probs:
        raise ValueError("popularity must list at least one item")
    total = math.fsum(probs)
    if abs(total - 1.0) > _SUM_TOLERANCE:
        raise ValueError(f"popularity must sum to 1, got {total!r}")
    return probs


def _solve_characteristic_time(probs: list[float], capacity: int, fifo: bool) -> float:
    """``T > 0`` with ``sum_i h_i(T) = capacity``; requires ``capacity < #{p_i > 0}``.

    Both occupancy curves (``1 - exp(-pT)`` and ``pT / (1 + pT)``) are increasing and concave
    in ``T``, so Newton's method started at ``T = 0`` (below the root) never overshoots: each
    tangent lies above the curve, so every iterate stays below the root and the sequence
    increases monotonically to it. No bracketing or damping is needed.
    """
    active = [p for p in probs if p > 0]
    if capacity >= len(active):
        raise ValueError(f"capacity {capacity} holds all {len(active)} items with positive "
                         "popularity: the characteristic time is infinite")
    t = 0.0
    for _ in range(1000):
        occupancy = slope = 0.0
        if fifo:
            for p in active:
                x = p * t
                occupancy += x / (1.0 + x)
                slope += p / ((1.0 + x) * (1.0 + x))
        else:
            for p in active:
                e = math.exp(-p * t)
                occupancy += 1.0 - e
                slope += p * e
        step = (capacity - occupancy) / slope
        t += step
        if step <= 1e-13 * t:
            return t
    raise ArithmeticError("characteristic time did not converge")  # pragma: no cover


def zipf_popularity(n: int, s: float) -> list[float]:
    """Zipf popularity over ``n`` items: ``p_i = i^-s / sum_j j^-s`` for ranks ``i = 1..n``.

    Args:
        n: Number of items (>= 1).
        s: Zipf exponent ``alpha`` (>= 0; 0 is uniform).

    Returns:
        ``[p_1, ..., p_n]``, non-increasing and summing to 1 (index 0 is rank 1).
    """
    _integer("n", n, 1)
    exponent = _non_negative("s", s)
    weights = [i ** -exponent for i in range(1, n + 1)]
    total = math.fsum(weights)
    return [w / total for w in weights]


def che_characteristic_time(popularity: Iterable[float], capacity: int) -> float:
    """Che's characteristic time ``T_C``: the root of ``sum_i (1 - exp(-p_i T)) = C``.

    Args:
        popularity: Per-request probabilities ``p_i`` (>= 0, summing to 1).
        capacity: Cache size ``C`` in items (>= 1); must be below the number of items with
            ``p_i > 0``, else ``T_C`` is infinite and :class:`ValueError` is raised.

    Returns:
        ``T_C`` in requests (divide by the total request rate for seconds). For example
        Zipf(1.0) over 10^4 items with ``C = 100`` gives ``T_C = 141.2``.
    """
    probs = _popularity(popularity)
    return _solve_characteristic_time(probs, _integer("capacity", capacity, 1), fifo=False)


def lru_hit_ratio(popularity: Iterable[float], capacity: int) -> float:
    """IRM hit ratio of an LRU cache by Che's approximation: ``sum_i p_i (1 - exp(-p_i T_C))``.

    Args:
        popularity: Per-request probabilities ``p_i`` (>= 0, summing to 1).
        capacity: Cache size ``C`` in items (>= 1).

    Returns:
        The long-run fraction of requests that hit; ``1.0`` when ``C`` covers every item
        with ``p_i > 0``.
    """
    probs = _popularity(popularity)
    _integer("capacity", capacity, 1)
    if capacity >= sum(1 for p in probs if p > 0):
        return 1.0
    t = _solve_characteristic_time(probs, capacity, fifo=False)
    return math.fsum(p * -math.expm1(-p * t) for p in probs)


def fifo_hit_ratio(popularity: Iterable[float], capacity: int) -> float:
    """IRM hit ratio of a FIFO (or RANDOM) cache: ``sum_i p_i h_i``, ``h_i = p_i T / (1 + p_i T)``.

    ``T`` solves ``sum_i h_i = C`` (Martina, Garetto, Leonardi 2014). FIFO and RANDOM
    replacement have the same IRM hit ratio under this approximation.

    Args:
        popularity: Per-request probabilities ``p_i`` (>= 0, summing to 1).
        capacity: Cache size ``C`` in items (>= 1).

    Returns:
        The long-run fraction of requests that hit; ``1.0`` when ``C`` covers every item
        with ``p_i > 0``.
    """
    probs = _popularity(popularity)
    _integer("capacity", capacity, 1)
    if capacity >= sum(1 for p in probs if p > 0):
        return 1.0
    t = _solve_characteristic_time(probs, capacity, fifo=True)
    return math.fsum(p * (p * t) / (1.0 + p * t) for p in probs)


def lfu_hit_ratio(popularity: Iterable[float], capacity: int) -> float:
    """IRM hit ratio of static top-C LFU: the sum of the ``C`` largest ``p_i``.

    This is the IRM optimum for any policy that does not see the future, hence an upper
    bound for LRU, FIFO, in-cache LFU and W-TinyLFU.

    Args:
        popularity: Per-request probabilities ``p_i`` (>= 0, summing to 1).
        capacity: Cache size ``C`` in items (>= 1).

    Returns:
        The long-run fraction of requests that hit; ``1.0`` when ``C`` covers every item
        with ``p_i > 0``.
    """
    probs = _popularity(popularity)
    _integer("capacity", capacity, 1)
    if capacity >= sum(1 for p in probs if p > 0):
        return 1.0
    return math.fsum(heapq.nlargest(capacity, probs))


def ttl_hit_ratio_after_write(rate: float, ttl: float) -> float:
    """Hit ratio of one key under ``expireAfterWrite``: ``lambda T / (1 + lambda T)``.

    Assumes Poisson requests to the key, no capacity eviction, and a miss (re)loads the key,
    starting a new validity window of length ``T``.

    Args:
        rate: The key's Poisson request rate ``lambda`` per second (> 0).
        ttl: Expire-after-write time ``T`` in seconds (>= 0; 0 never hits).
    """
    x = _positive("rate", rate) * _non_negative("ttl", ttl)
    return x / (1.0 + x)


def ttl_hit_ratio_after_access(rate: float, ttl: float) -> float:
    """Hit ratio of one key under ``expireAfterAccess``: ``1 - exp(-lambda T)``.

    Assumes Poisson requests to the key and no capacity eviction; every read or write
    restarts the key's expiry clock, so a request hits iff the previous request to the key
    came less than ``T`` ago.

    Args:
        rate: The key's Poisson request rate ``lambda`` per second (> 0).
        ttl: Expire-after-access time ``T`` in seconds (>= 0; 0 never hits).
    """
    return -math.expm1(-_positive("rate", rate) * _non_negative("ttl", ttl))


def ttl_hit_ratio(popularity: Iterable[float], total_rate: float, ttl: float,
                  mode: str = "write") -> float:
    """Aggregate hit ratio of a TTL cache without capacity eviction: ``sum_i p_i f(Lambda p_i T)``.

    Requests form a Poisson stream of rate ``Lambda`` whose keys are i.i.d. draws from
    ``popularity``, so key ``i`` sees an independent Poisson stream of rate ``Lambda p_i``;
    ``f`` is :func:`ttl_hit_ratio_after_write` or :func:`ttl_hit_ratio_after_access`. The
    origin load is ``Lambda (1 - hit)`` requests per second.

    Args:
        popularity: Per-request probabilities ``p_i`` (>= 0, summing to 1).
        total_rate: Total request rate ``Lambda`` per second (> 0).
        ttl: Expiry time ``T`` in seconds (>= 0).
        mode: ``"write"`` (expireAfterWrite) or ``"access"`` (expireAfterAccess).
    """
    probs = _popularity(popularity)
    rate = _positive("total_rate", total_rate)
    period = _non_negative("ttl", ttl)
    if mode == "write":
        per_key = ttl_hit_ratio_after_write
    elif mode == "access":
        per_key = ttl_hit_ratio_after_access
    else:
        raise ValueError(f"mode must be 'write' or 'access', got {mode!r}")
    return math.fsum(p * per_key(rate * p, period) for p in probs if p > 0)


def stampede_origin_loads(arrival_rate: float, load_time: float, coalesce: bool) -> int:
    """Origin loads caused when one hot key expires under steady traffic (a cache stampede).

    Assumptions: requests for the key arrive evenly spaced at ``arrival_rate`` (the
    deterministic reading of golden G6.3); the first request after expiry misses and
    starts a load that takes ``load_time``; every request arriving while that load is in
    flight also misses. Without coalescing each of those misses starts its own load, so the
    loads are the arrivals in ``[0, load_time)``: ``ceil(arrival_rate * load_time)`` (at
    least 1). With coalescing (Caffeine ``get(key, loader)``, Go ``singleflight``) they all
    wait for the first load: exactly 1. (Under Poisson arrivals the uncoalesced expectation
    would be ``1 + arrival_rate * load_time``.)

    Args:
        arrival_rate: Requests per second for the key (> 0).
        load_time: Seconds one origin load takes (>= 0).
        coalesce: Whether concurrent misses on one key share a single load.

    Returns:
        The number of origin loads, e.g. 100 for 500 req/s and 200 ms without coalescing.
    """
    rate = _positive("arrival_rate", arrival_rate)
    duration = _non_negative("load_time", load_time)
    if not isinstance(coalesce, bool):
        raise ValueError(f"coalesce must be a bool, got {coalesce!r}")
    if coalesce:
        return 1
    # The tolerance keeps a product like 0.3 * 10 = 3.0000000000000004 from rounding up to 4.
    return max(1, math.ceil(rate * duration - 1e-9))
