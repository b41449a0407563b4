"""Load balancing: one Poisson stream split over ``n`` identical exponential FIFO servers.

Balancers in front of ``n`` identical exponential servers (rate ``mu`` each) fed by one
Poisson stream of total rate ``lambda`` (golden §3): at random (each server an M/M/1),
round robin (each an E_n/M/1), or to the shortest of ``d`` sampled queues (Mitzenmacher's
supermarket model, ``n`` -> infinity).
"""

from __future__ import annotations

from ..arguments import integer as _integer
from ..arguments import non_negative as _non_negative
from ..arguments import positive as _positive
from .queues import _require_stable


def random_routing_response_time(servers: int, arrival_rate: float, service_rate: float) -> float:
    """Mean response time when each arrival picks one of ``n`` servers uniformly at random.

    Random splitting of a Poisson stream gives each server a Poisson stream of rate
    ``lambda / n``, so each is an M/M/1 queue: ``W = 1 / (mu - lambda / n)`` (golden G3.1:
    10.0 at ``n = 10, lambda = 9, mu = 1``).

    Args:
        servers: Number of servers ``n`` (>= 1).
        arrival_rate: Total Poisson arrival rate ``lambda`` (> 0).
        service_rate: Per-server exponential service rate ``mu``; requires ``lambda < n mu``.
    """
    _integer("servers", servers, 1)
    lam, mu = _positive("arrival_rate", arrival_rate), _positive("service_rate", service_rate)
    _require_stable("random-routing system", lam, servers * mu)
    return 1.0 / (mu - lam / servers)


def round_robin_response_time(servers: int, arrival_rate: float, service_rate: float) -> float:
    """Mean response time when Poisson arrivals are dealt round-robin to ``n`` exponential servers.

    Each server receives every ``n``-th arrival, so its interarrival time is Erlang-``n``
    with ``n`` phases of rate ``lambda`` (mean ``n / lambda``, Laplace-Stieltjes transform
    ``A*(s) = (lambda / (lambda + s))^n``): every server is an E_n/M/1 queue. By GI/M/1
    theory (Kleinrock Vol. 1, section 6.4) the sojourn time is Exp(``mu (1 - sigma)``),
    where ``sigma`` is the unique root in (0, 1) of ``sigma = A*(mu (1 - sigma))``; hence
    ``W = 1 / (mu (1 - sigma))``. (Golden G3.1 writes the same equation with the
    per-server rate ``lambda / n``.) Golden G3.1: ``sigma = 0.823330``, ``W = 5.6603`` at
    ``n = 10, lambda = 9, mu = 1``; 5.2268 at ``n = 100, lambda = 90``; 7.5883 at ``n = 2,
    lambda = 1.8``. ``n = 1`` is M/M/1.

    Args:
        servers: Number of servers ``n`` (>= 1).
        arrival_rate: Total Poisson arrival rate ``lambda`` (> 0).
        service_rate: Per-server exponential service rate ``mu``; requires ``lambda < n mu``.
    """
    n = _integer("servers", servers, 1)
    lam, mu = _positive("arrival_rate", arrival_rate), _positive("service_rate", service_rate)
    _require_stable("round-robin system", lam, n * mu)
    # f(s) = A*(mu (1 - s)) - s is convex with f(0) > 0, so Newton's method from 0 climbs
    # monotonically to the root below 1 without overshooting (1 is the other root).
    sigma = 0.0
    for _ in range(1000):
        rate = lam + mu * (1.0 - sigma)
        transform = (lam / rate) ** n
        step = (transform - sigma) / (1.0 - n * transform * mu / rate)  # -f / f', >= 0
        if not step > 1e-16 * (1.0 - sigma):  # converged (or rounding stalled at the root)
            break
        sigma += step
    return 1.0 / (mu * (1.0 - sigma))


def _supermarket_args(load: float, choices: int) -> tuple[float, int]:
    load = _non_negative("load", load)
    if load >= 1:
        raise ValueError(f"unstable supermarket model: load {load:.4g} >= 1")
    return load, _integer("choices", choices, 1)


def supermarket_response_time(load: float, choices: int, service_rate: float = 1.0) -> float:
    """Mean response time of the supermarket model: join the shortest of ``d`` random queues.

    Mitzenmacher (IEEE TPDS 2001), in the limit of infinitely many servers: Poisson
    arrivals at rate ``lambda n``, exponential service at rate ``mu`` at each of ``n``
    FIFO servers, each arrival samples ``d`` servers (with replacement) and joins the
    least loaded. With ``rho = lambda / mu`` the mean time in system is
    ``T_d = (1 / mu) sum_{i >= 1} rho^((d^i - d) / (d - 1))``; ``d = 1`` (random routing)
    gives M/M/1's ``1 / (mu (1 - rho))``. Golden G3.2: ``rho = 0.9`` gives 10, 2.61406
    (``d = 2``) and 2.02786 (``d = 3``). Finite ``n`` adds about 1-2 % at ``n = 100``.

    Args:
        load: Per-server utilization ``rho`` in [0, 1).
        choices: Queues sampled per arrival ``d`` (>= 1).
        service_rate: Per-server service rate ``mu`` (> 0, default 1 so the result is in
            mean service times); the result is in the time unit of ``1/mu``.
    """
    rho, d = _supermarket_args(load, choices)
    mu = _positive("service_rate", service_rate)
    if d == 1:
        return 1.0 / (mu * (1.0 - rho))
    total, exponent = 0.0, 0  # exponent (d^i - d)/(d - 1) for i = 1, 2, ...: 0, d, d + d^2, ...
    while True:
        term = rho ** exponent
        total += term
        if term <= 1e-17 * total:  # terms fall doubly exponentially: the rest is negligible
            return total / mu
        exponent = d * exponent + d


def supermarket_tail(load: float, choices: int, i: int) -> float:
    """Fraction of servers with at least ``i`` jobs in the supermarket model (n -> infinity).

    ``s_i = rho^((d^i - 1) / (d - 1))``, and ``rho^i`` for ``d = 1`` (M/M/1). Golden G3.2 at
    ``rho = 0.9, d = 2``: ``s_1..s_5 = 0.9, 0.729, 0.478297, 0.205891, 0.038152``. The tail
    falls doubly exponentially with ``d >= 2`` instead of geometrically.

    Args:
        load: Per-server utilization ``rho`` in [0, 1).
        choices: Queues sampled per arrival ``d`` (>= 1).
        i: Queue-length threshold (>= 0; ``s_0 = 1``).
    """
    rho, d = _supermarket_args(load, choices)
    _integer("i", i, 0)
    exponent = i if d == 1 else (d ** i - 1) // (d - 1)
    if exponent > 1e300:  # too large to convert to float; rho^exponent underflows anyway
        return 0.0 if rho < 1 else 1.0
    return rho ** exponent
