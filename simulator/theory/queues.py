"""Single queueing stations: Erlang B/C, M/M/1, M/M/c, M/M/c/K, M/G/1, M/D/1, Little's law.

Assumptions as in :mod:`simulator.theory`: Poisson arrivals at rate ``lambda``; exponential
service at rate ``mu`` per server (general service with mean ``E[S]`` and squared
coefficient of variation ``scv`` for M/G/1); FIFO. A steady state needs
``rho = lambda / (c mu) < 1`` except for M/M/c/K, which is valid for any load. Invalid
inputs raise :class:`ValueError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..arguments import integer as _integer
from ..arguments import non_negative as _non_negative
from ..arguments import positive as _positive
from ..arguments import probability as _probability


@dataclass(frozen=True)
class QueueMetrics:
    """Steady-state metrics of one queueing station."""

    arrival_rate: float  # offered lambda
    throughput: float  # accepted lambda (lambda * (1 - p_block))
    utilization: float  # per-server busy fraction = throughput / (servers * service_rate)
    p_wait: float  # probability an ACCEPTED arrival has to queue
    p_block: float  # probability an arrival is rejected (0 for infinite queues)
    L: float  # mean number in system
    Lq: float  # mean number queued
    W: float  # mean sojourn time of accepted arrivals
    Wq: float  # mean wait in queue of accepted arrivals


def _require_stable(what: str, demand: float, capacity: float) -> None:
    if demand >= capacity:
        raise ValueError(f"unstable {what}: utilization {demand / capacity:.4g} >= 1 "
                         f"(load {demand:g} against capacity {capacity:g})")


def _erlang_c_from_b(servers: int, load: float, blocking: float) -> float:
    return blocking / (1.0 - (load / servers) * (1.0 - blocking))


def erlang_b(servers: int, offered_load: float) -> float:
    """Blocking probability of an M/M/c/c loss system (Erlang B).

    Uses the stable recursion ``B(0) = 1``, ``B(k) = a B(k-1) / (k + a B(k-1))``.

    Args:
        servers: Number of servers ``c`` (>= 1).
        offered_load: Offered traffic ``a`` in Erlangs (> 0).

    Returns:
        Probability that an arrival finds all servers busy and is lost.
    """
    _integer("servers", servers, 1)
    load, blocking = _positive("offered_load", offered_load), 1.0
    for k in range(1, servers + 1):
        blocking = load * blocking / (k + load * blocking)
    return blocking


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that an M/M/c arrival has to wait (Erlang C).

    Args:
        servers: Number of servers ``c`` (>= 1).
        offered_load: Offered traffic ``a`` in Erlangs; requires ``0 < a < c``.

    Returns:
        ``C = B / (1 - (a / c)(1 - B))`` with ``B = erlang_b(c, a)``.
    """
    blocking = erlang_b(servers, offered_load)
    _require_stable("M/M/c system", offered_load, servers)
    return _erlang_c_from_b(servers, offered_load, blocking)


def mm1(arrival_rate: float, service_rate: float) -> QueueMetrics:
    """M/M/1 metrics: ``rho = lambda/mu``, ``L = rho/(1-rho)``, ``W = 1/(mu-lambda)``.

    Args:
        arrival_rate: Poisson arrival rate ``lambda`` (> 0).
        service_rate: Exponential service rate ``mu``; requires ``lambda < mu``.
    """
    return mmc(arrival_rate, service_rate, 1)


def mm1_sojourn_quantile(arrival_rate: float, service_rate: float, q: float) -> float:
    """Quantile of the M/M/1 FIFO sojourn time, which is Exp(``mu - lambda``).

    Args:
        arrival_rate: Poisson arrival rate ``lambda`` (> 0).
        service_rate: Service rate ``mu``; requires ``lambda < mu``.
        q: Quantile level in (0, 1), e.g. 0.99 for p99.

    Returns:
        Seconds ``t`` with ``P(sojourn <= t) = q``, i.e. ``-ln(1 - q) / (mu - lambda)``.
    """
    lam, mu = _positive("arrival_rate", arrival_rate), _positive("service_rate", service_rate)
    _probability("q", q, exclusive=True)
    _require_stable("M/M/1 queue", lam, mu)
    return -math.log1p(-q) / (mu - lam)


def mmc(arrival_rate: float, service_rate: float, servers: int) -> QueueMetrics:
    """M/M/c metrics: ``p_wait = C(c, a)``, ``Wq = C / (c mu - lambda)``, ``W = Wq + 1/mu``.

    Args:
        arrival_rate: Poisson arrival rate ``lambda`` (> 0).
        service_rate: Per-server exponential service rate ``mu`` (> 0).
        servers: Number of servers ``c`` (>= 1); requires ``lambda < c mu``.
    """
    lam, mu = _positive("arrival_rate", arrival_rate), _positive("service_rate", service_rate)
    _integer("servers", servers, 1)
    _require_stable("M/M/c queue", lam, servers * mu)
    p_wait = erlang_c(servers, lam / mu)
    wq = p_wait / (servers * mu - lam)
    w = wq + 1.0 / mu
    return QueueMetrics(arrival_rate=lam, throughput=lam, utilization=lam / (servers * mu),
                        p_wait=p_wait, p_block=0.0, L=lam * w, Lq=lam * wq, W=w, Wq=wq)


def mmc_wait_tail(arrival_rate: float, service_rate: float, servers: int, t: float) -> float:
    """M/M/c FIFO waiting-time tail ``P(Wq > t) = C(c, a) exp(-(c mu - lambda) t)``.

    Args:
        arrival_rate: Poisson arrival rate ``lambda`` (> 0).
        service_rate: Per-server service rate ``mu`` (> 0).
        servers: Number of servers ``c``; requires ``lambda < c mu``.
        t: Threshold in seconds (>= 0).
    """
    p_wait = mmc(arrival_rate, service_rate, servers).p_wait
    return p_wait * math.exp(-(servers * service_rate - arrival_rate) * _non_negative("t", t))


def _mmck_state_probabilities(load: float, servers: int, capacity: int) -> list[float]:
    """Stationary ``p_0..p_K``, built in log space so any utilization is safe."""
    logs = [0.0]
    for n in range(1, capacity + 1):
        logs.append(logs[-1] + math.log(load / min(n, servers)))
    peak = max(logs)
    weights = [math.exp(x - peak) for x in logs]
    total = math.fsum(weights)
    return [w / total for w in weights]


def mmck(arrival_rate: float, service_rate: float, servers: int, capacity: int) -> QueueMetrics:
    """M/M/c/K metrics; valid for any utilization, including ``lambda >= c mu``.

    By PASTA an arrival is blocked with probability ``p_K`` and, if accepted, waits iff it
    finds ``c <= n < K`` jobs; ``W`` and ``Wq`` follow from Little's law on ``throughput``.

    Args:
        arrival_rate: Offered Poisson arrival rate ``lambda`` (> 0).
        service_rate: Per-server exponential service rate ``mu`` (> 0).
        servers: Number of servers ``c`` (>= 1).
        capacity: Maximum number in the system ``K``, including those in service (>= c).
    """
    lam, mu = _positive("arrival_rate", arrival_rate), _positive("service_rate", service_rate)
    _integer("servers", servers, 1)
    _integer("capacity", capacity, 1)
    if capacity < servers:
        raise ValueError(f"capacity ({capacity}) must be >= servers ({servers})")
    p = _mmck_state_probabilities(lam / mu, servers, capacity)
    p_block = p[capacity]
    throughput = lam * (1.0 - p_block)
    in_system = math.fsum(n * pn for n, pn in enumerate(p))
    queued = math.fsum((n - servers) * p[n] for n in range(servers + 1, capacity + 1))
    return QueueMetrics(arrival_rate=lam, throughput=throughput,
                        utilization=throughput / (servers * mu),
                        p_wait=math.fsum(p[servers:capacity]) / (1.0 - p_block),
                        p_block=p_block, L=in_system, Lq=queued,
                        W=in_system / throughput, Wq=queued / throughput)


def mg1(arrival_rate: float, mean_service: float, scv: float) -> QueueMetrics:
    """M/G/1 metrics (Pollaczek-Khinchine): ``Wq = rho E[S] (1 + scv) / (2 (1 - rho))``.

    Args:
        arrival_rate: Poisson arrival rate ``lambda`` (> 0).
        mean_service: Mean service time ``E[S]`` (> 0); requires ``lambda E[S] < 1``.
        scv: Squared coefficient of variation of service time (>= 0; 1 = exponential).
    """
    lam, mean = _positive("arrival_rate", arrival_rate), _positive("mean_service", mean_service)
    variability = _non_negative("scv", scv)
    rho = lam * mean
    _require_stable("M/G/1 queue", rho, 1.0)
    wq = rho * mean * (1.0 + variability) / (2.0 * (1.0 - rho))
    w = wq + mean
    return QueueMetrics(arrival_rate=lam, throughput=lam, utilization=rho, p_wait=rho,
                        p_block=0.0, L=lam * w, Lq=lam * wq, W=w, Wq=wq)


def md1(arrival_rate: float, service_time: float) -> QueueMetrics:
    """M/D/1 metrics: :func:`mg1` with constant service time (``scv = 0``).

    Args:
        arrival_rate: Poisson arrival rate ``lambda`` (> 0).
        service_time: Constant service time; requires ``lambda * service_time < 1``.
    """
    return mg1(arrival_rate, service_time, 0.0)


def hyperexponential_scv(p1: float, mean1: float, mean2: float) -> float:
    """SCV of a two-phase hyperexponential: Exp(mean1) w.p. ``p1``, else Exp(mean2).

    Args:
        p1: Probability of phase 1, in [0, 1].
        mean1: Mean of phase 1 (> 0).
        mean2: Mean of phase 2 (> 0).

    Returns:
        ``E[S^2] / E[S]^2 - 1`` with ``E[S^2] = 2 (p1 m1^2 + (1 - p1) m2^2)``; always >= 1.
    """
    p1 = _probability("p1", p1)
    m1, m2 = _positive("mean1", mean1), _positive("mean2", mean2)
    mean = p1 * m1 + (1.0 - p1) * m2
    return 2.0 * (p1 * m1 * m1 + (1.0 - p1) * m2 * m2) / (mean * mean) - 1.0


def littles_law_L(throughput: float, mean_sojourn: float) -> float:
    """Little's law ``L = X W``: mean number in a system from throughput and mean sojourn.

    Args:
        throughput: Mean arrival (= departure) rate ``X`` (>= 0).
        mean_sojourn: Mean time ``W`` in the system (>= 0).
    """
    return _non_negative("throughput", throughput) * _non_negative("mean_sojourn", mean_sojourn)


def servers_for_wait_probability(arrival_rate: float, service_rate: float, max_p_wait: float) -> int:
    """Smallest server count ``c > lambda/mu`` whose Erlang C is <= ``max_p_wait``.

    Args:
        arrival_rate: Poisson arrival rate ``lambda`` (> 0).
        service_rate: Per-server service rate ``mu`` (> 0).
        max_p_wait: Largest acceptable probability of waiting, in (0, 1].
    """
    load = _positive("arrival_rate", arrival_rate) / _positive("service_rate", service_rate)
    if not 0 < max_p_wait <= 1:
        raise ValueError(f"max_p_wait must be in (0, 1], got {max_p_wait!r}")
    blocking, servers = 1.0, 0
    while True:  # Erlang B recursion one server at a time; Erlang C falls as c grows
        servers += 1
        blocking = load * blocking / (servers + load * blocking)
        if servers > load and _erlang_c_from_b(servers, load, blocking) <= max_p_wait:
            return servers
