"""Queueing networks: open Jackson networks (and tandem lines) and exact MVA for closed ones.

* **Open Jackson network**: Poisson external arrivals, M/M/c stations, probabilistic
  routing; each station is an M/M/c fed by the solution of the traffic equations
  ``lambda_j = gamma_j + sum_i lambda_i P[i][j]``.
* **MVA**: a closed network of ``N`` identical users, one delay station (think time ``Z``)
  and load-independent single-server FCFS stations given by service demands ``D_k``
  (``D_k = V_k S_k``: visits per interaction × service time per visit). A station's
  sojourn per visit is its residence time over its visits, ``R_k / V_k``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..arguments import integer as _integer
from ..arguments import non_negative as _non_negative
from ..arguments import positive as _positive
from ..arguments import probability as _probability
from .queues import QueueMetrics, _require_stable, mmc


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
    residence_times: dict[str, float] = field(default_factory=dict)  # R_k per interaction; sum = response_time


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
        Throughput, response time (excluding think), queue lengths, ``U_k = X D_k`` and the
        residence times ``R_k`` (per interaction, all visits together: a station visited
        ``V_k`` times per interaction has a sojourn per visit of ``R_k / V_k``).
    """
    _integer("users", users, 1)
    think = _non_negative("think_time", think_time)
    if not service_demands:
        raise ValueError("service_demands must name at least one station")
    demands = {k: _positive(f"service_demands[{k!r}]", d) for k, d in service_demands.items()}
    queues = dict.fromkeys(demands, 0.0)
    throughput = response = 0.0
    residence: dict[str, float] = {}
    for population in range(1, users + 1):
        residence = {k: d * (1.0 + queues[k]) for k, d in demands.items()}
        response = math.fsum(residence.values())
        throughput = population / (think + response)
        queues = {k: throughput * r for k, r in residence.items()}
    return MVAResult(users=users, throughput=throughput, response_time=response,
                     queue_lengths=queues,
                     utilizations={k: throughput * d for k, d in demands.items()},
                     residence_times=residence)
