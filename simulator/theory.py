"""Closed-form queueing and reliability results: the oracle simulations are checked against.

Pure functions (stdlib ``math`` only). Units are SI: times in seconds, rates per second;
``offered_load`` is in Erlangs (``a = arrival_rate / service_rate``).

Models and their assumptions:

* **M/M/1, M/M/c** — Poisson arrivals (rate ``lambda``), exponential service (rate ``mu``
  per server), ``c`` identical servers, FIFO, infinite waiting room, infinite source
  population. A steady state exists only when ``rho = lambda / (c mu) < 1``.
* **M/M/c/K** — as M/M/c but at most ``K >= c`` jobs in the system (queued plus in
  service); an arrival finding ``K`` jobs is lost. Valid for any ``rho``. Waiting
  probability and times refer to *accepted* arrivals.
* **M/G/1** — Poisson arrivals, i.i.d. general service with mean ``E[S]`` and squared
  coefficient of variation ``scv = Var[S] / E[S]^2``, one FIFO server (Pollaczek-Khinchine
  mean-value formula). M/D/1 is ``scv = 0``.
* **Open Jackson network** — Poisson external arrivals, M/M/c stations, probabilistic
  routing; each station is an M/M/c fed by the solution of the traffic equations
  ``lambda_j = gamma_j + sum_i lambda_i P[i][j]``.
* **MVA** — closed network of ``N`` identical users: one delay station (think time ``Z``)
  and load-independent single-server FCFS stations given by service demands ``D_k``.
* **Availability** — independent components; availability is the long-run fraction of
  time up, ``MTBF / (MTBF + MTTR)``.
* **Fan-out** — a request that waits for ``n`` independent leaves is slow if any leaf is.
* **Caches** — independent reference model (IRM) requests with popularity ``p_i``:
  Che's approximation for LRU, its FIFO/RANDOM analogue, static top-C LFU, TTL caches and
  the stampede; defined in :mod:`simulator.caching.theory` and re-exported here.
* **Load balancing** — one Poisson stream split over ``n`` identical exponential FIFO
  servers: at random (M/M/1 each), round robin (E_n/M/1 each), or to the shortest of
  ``d`` sampled queues (Mitzenmacher's supermarket model, ``n`` -> infinity).
* **Placement** — keys with uniformly distributed hashes; consistent-hashing rings
  with ``v`` uniformly hashed points per node.

Invalid inputs (non-positive rates, unstable systems where the formula needs stability,
capacity below servers, probabilities out of range) raise :class:`ValueError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .arguments import integer as _integer
from .arguments import non_negative as _non_negative
from .arguments import positive as _positive
from .arguments import probability as _probability

__all__ = [
    "QueueMetrics", "NetworkMetrics", "MVAResult", "erlang_b", "erlang_c",
    "mm1", "mm1_sojourn_quantile", "mmc", "mmc_wait_tail", "mmck", "mg1", "md1",
    "hyperexponential_scv", "jackson", "tandem", "mva", "littles_law_L",
    "availability_serial", "availability_parallel", "availability_k_of_n",
    "availability_from_mtbf", "fanout_tail_probability", "per_leaf_quantile_for",
    "servers_for_wait_probability",
    "random_routing_response_time", "round_robin_response_time", "supermarket_response_time",
    "supermarket_tail", "ring_share_cv", "mod_n_keys_moved", "consistent_keys_moved",
]


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


@dataclass(frozen=True)
class NetworkMetrics:
    """Steady-state metrics of an open queueing network (station ``W`` is per visit)."""

    stations: dict[str, QueueMetrics]
    visit_ratios: dict[str, float]  # station arrival rate / total external arrival rate
    L: float  # total mean number in the network
    response_time: float  # end-to-end mean sojourn = L / total external arrival rate


@dataclass(frozen=True)
class MVAResult:
    """Exact Mean Value Analysis of a closed network at one population."""

    users: int
    throughput: float
    response_time: float  # time in the queueing stations, excluding think time
    queue_lengths: dict[str, float]
    utilizations: dict[str, float]


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


def _solve_linear(matrix: list[list[float]], rhs: list[float]) -> list[float]:
    """Solve ``matrix x = rhs`` by Gaussian elimination with partial pivoting."""
    size = len(rhs)
    rows = [[*row, value] for row, value in zip(matrix, rhs)]
    for col in range(size):
        pivot = max(range(col, size), key=lambda r: abs(rows[r][col]))
        if abs(rows[pivot][col]) < 1e-12:
            raise ValueError("traffic equations are singular: some jobs can never leave")
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for r in range(col + 1, size):
            factor = rows[r][col] / rows[col][col]
            for k in range(col, size + 1):
                rows[r][k] -= factor * rows[col][k]
    x = [0.0] * size
    for r in reversed(range(size)):
        x[r] = (rows[r][size] - sum(rows[r][k] * x[k] for k in range(r + 1, size))) / rows[r][r]
    return x


def _check_routing(routing: dict[str, dict[str, float]]) -> None:
    for source, targets in routing.items():
        for target, prob in targets.items():
            _probability(f"routing[{source!r}][{target!r}]", prob)
        if math.fsum(targets.values()) > 1.0 + 1e-9:
            raise ValueError(f"routing probabilities out of {source!r} sum to more than 1")


def jackson(external_arrivals: dict[str, float], routing: dict[str, dict[str, float]],
            service_rates: dict[str, float], servers: dict[str, int] | None = None) -> NetworkMetrics:
    """Open Jackson network of M/M/c stations, traffic equations solved exactly.

    Args:
        external_arrivals: Poisson rate ``gamma_j`` arriving from outside per station (>= 0).
        routing: ``routing[i][j]`` = probability a job leaving ``i`` goes to ``j``; missing
            entries are 0 and the remainder ``1 - sum_j P[i][j]`` leaves the network.
        service_rates: Per-server service rate of every station (> 0).
        servers: Servers per station; unlisted stations have one.

    Returns:
        Per-station metrics (``W`` per visit; a station no traffic reaches reports zeros and
        ``W = 1/mu``), visit ratios, total ``L`` and end-to-end ``L / sum(gamma)``.
    """
    servers = servers or {}
    names = list(dict.fromkeys([*service_rates, *external_arrivals, *routing,
                                *(t for targets in routing.values() for t in targets)]))
    missing = [n for n in names if n not in service_rates]
    unknown = [n for n in servers if n not in names]
    if missing:
        raise ValueError(f"stations without a service rate: {missing}")
    if unknown:
        raise ValueError(f"servers given for unknown stations: {unknown}")
    gamma = [_non_negative(f"external_arrivals[{n!r}]", external_arrivals.get(n, 0.0)) for n in names]
    total_external = math.fsum(gamma)
    if total_external <= 0:
        raise ValueError("at least one station needs a positive external arrival rate")
    _check_routing(routing)
    matrix = [[float(i == j) - routing.get(i, {}).get(j, 0.0) for i in names] for j in names]
    rates = dict(zip(names, _solve_linear(matrix, gamma)))  # (I - P^T) lambda = gamma
    stations = {}
    for name in names:
        mu = _positive(f"service_rates[{name!r}]", service_rates[name])
        count = _integer(f"servers[{name!r}]", servers.get(name, 1), 1)
        _require_stable(f"station {name!r}", rates[name], count * mu)
        stations[name] = (mmc(rates[name], mu, count) if rates[name] > 1e-12 else
                          QueueMetrics(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0 / mu, 0.0))
    total_l = math.fsum(m.L for m in stations.values())
    return NetworkMetrics(stations=stations,
                          visit_ratios={n: rates[n] / total_external for n in names},
                          L=total_l, response_time=total_l / total_external)


def tandem(arrival_rate: float, service_rates: list[float]) -> NetworkMetrics:
    """Series of M/M/1 stations ``"stage1"``, ``"stage2"``, ... each visited once.

    Args:
        arrival_rate: Poisson arrival rate into ``stage1`` (> 0).
        service_rates: Service rate of each stage in order; each must exceed ``arrival_rate``.
    """
    if not service_rates:
        raise ValueError("service_rates must list at least one stage")
    names = [f"stage{i}" for i in range(1, len(service_rates) + 1)]
    routing = {a: {b: 1.0} for a, b in zip(names, names[1:])}
    return jackson({names[0]: _positive("arrival_rate", arrival_rate)}, routing,
                   dict(zip(names, service_rates)))


def mva(users: int, think_time: float, service_demands: dict[str, float]) -> MVAResult:
    """Exact single-class MVA: ``R_k = D_k (1 + Q_k(n-1))``, ``X = n / (Z + R)``, ``Q_k = X R_k``.

    Args:
        users: Number of circulating users ``N`` (>= 1).
        think_time: Mean think time ``Z`` at the delay station (>= 0).
        service_demands: Total service demand ``D_k`` per station per interaction (> 0).

    Returns:
        Throughput, response time (excluding think), queue lengths and ``U_k = X D_k``.
    """
    _integer("users", users, 1)
    think = _non_negative("think_time", think_time)
    if not service_demands:
        raise ValueError("service_demands must name at least one station")
    demands = {k: _positive(f"service_demands[{k!r}]", d) for k, d in service_demands.items()}
    queues = dict.fromkeys(demands, 0.0)
    throughput = response = 0.0
    for population in range(1, users + 1):
        residence = {k: d * (1.0 + queues[k]) for k, d in demands.items()}
        response = math.fsum(residence.values())
        throughput = population / (think + response)
        queues = {k: throughput * r for k, r in residence.items()}
    return MVAResult(users=users, throughput=throughput, response_time=response,
                     queue_lengths=queues,
                     utilizations={k: throughput * d for k, d in demands.items()})


def littles_law_L(throughput: float, mean_sojourn: float) -> float:
    """Little's law ``L = X W``: mean number in a system from throughput and mean sojourn.

    Args:
        throughput: Mean arrival (= departure) rate ``X`` (>= 0).
        mean_sojourn: Mean time ``W`` in the system (>= 0).
    """
    return _non_negative("throughput", throughput) * _non_negative("mean_sojourn", mean_sojourn)


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


# --- Load balancing and placement ----------------------------------------------------------
# Balancers in front of n identical exponential servers (rate mu each) fed by one Poisson
# stream of total rate lambda; and where keys land when a key space is spread over nodes
# by hashing (golden §3, §4).


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


def ring_share_cv(nodes: int, virtual_nodes: int) -> float:
    """Coefficient of variation of one node's share of a consistent-hashing ring.

    With ``n`` nodes of ``v`` uniformly hashed points each, the ``n v`` points cut the
    ring into spacings that are jointly Dirichlet(1, ..., 1); a node's share is the sum
    of ``v`` of them, ``Beta(v, (n - 1) v)``, with mean ``1/n`` and
    ``CV = sqrt((n - 1) / (n v + 1))`` (golden G4.1: 0.9045, 0.2985, 0.0948, 0.0300 at
    ``n = 10`` and ``v = 1, 10, 100, 1000``).

    Args:
        nodes: Number of nodes ``n`` (>= 1).
        virtual_nodes: Points per node ``v`` (>= 1).
    """
    n, v = _integer("nodes", nodes, 1), _integer("virtual_nodes", virtual_nodes, 1)
    return math.sqrt((n - 1) / (n * v + 1))


def mod_n_keys_moved(n_from: int, n_to: int) -> float:
    """Fraction of keys that change node under ``hash mod n`` when ``n_from`` nodes become ``n_to``.

    A key with uniformly distributed hash ``h`` stays iff ``h mod n_from == h mod n_to``.
    Over one period ``L = lcm(n_from, n_to)`` that holds for exactly ``min(n_from, n_to)``
    residues (one per common value, by the Chinese remainder theorem), so the fraction
    moved is ``1 - min / lcm``: 10/11 for 10 -> 11 (golden G4.2), 1/2 for 10 -> 20.

    Args:
        n_from: Node count before (>= 1).
        n_to: Node count after (>= 1).
    """
    a, b = _integer("n_from", n_from, 1), _integer("n_to", n_to, 1)
    return 1.0 - min(a, b) / math.lcm(a, b)


def consistent_keys_moved(n_from: int, n_to: int) -> float:
    """Fraction of keys an ideal consistent hash moves when ``n_from`` nodes become ``n_to``.

    Only the keys the added nodes take (or the removed nodes held) move:
    ``|n_to - n_from| / max(n_from, n_to)``, the minimum any balanced placement can
    achieve: 1/11 for 10 -> 11 and 1/6 for 10 -> 12 (golden G4.2). Rings, jump hash and
    Maglev achieve it on average.

    Args:
        n_from: Node count before (>= 1).
        n_to: Node count after (>= 1).
    """
    a, b = _integer("n_from", n_from, 1), _integer("n_to", n_to, 1)
    return abs(b - a) / max(a, b)


# ----------------------------------------------------------------------------- caches
# The closed forms for caches (Che's approximation for LRU, FIFO/RANDOM, static top-C LFU,
# TTL caches, the stampede) live with the cache policies; they are re-exported here so
# `simulator.theory` stays the one place a tutor looks for "formula vs simulation".
from .caching.theory import (  # noqa: E402
    che_characteristic_time, fifo_hit_ratio, lfu_hit_ratio, lru_hit_ratio, stampede_origin_loads,
    ttl_hit_ratio, ttl_hit_ratio_after_access, ttl_hit_ratio_after_write, zipf_popularity,
)

__all__ += [
    "zipf_popularity", "che_characteristic_time", "lru_hit_ratio", "fifo_hit_ratio", "lfu_hit_ratio",
    "ttl_hit_ratio_after_write", "ttl_hit_ratio_after_access", "ttl_hit_ratio", "stampede_origin_loads",
]
