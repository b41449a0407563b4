"""The closed-form oracle in ``simulator.theory`` reproduces published reference values.

Reference numbers are hard-coded from golden.md (section named on each test). Unless a
test says otherwise, agreement is to 1e-4 relative.
"""

from __future__ import annotations

import math

import pytest

from simulator import theory
from simulator.theory import (
    availability_from_mtbf,
    availability_k_of_n,
    availability_parallel,
    availability_serial,
    erlang_b,
    erlang_c,
    fanout_tail_probability,
    hyperexponential_scv,
    jackson,
    littles_law_L,
    md1,
    mg1,
    mm1,
    mm1_sojourn_quantile,
    mmc,
    mmc_wait_tail,
    mmck,
    mva,
    per_leaf_quantile_for,
    servers_for_wait_probability,
    tandem,
)

REL = 1e-4


def close(expected: float, rel: float = REL, abs_: float | None = None):
    return pytest.approx(expected, rel=rel, abs=abs_)


# --- G5.1 M/M/1 ------------------------------------------------------------------------

def test_mm1_mean_metrics_at_rho_0_9():
    """M/M/1 with lambda=0.9, mu=1 has rho=0.9, L=9, Lq=8.1, W=10, Wq=9 (golden.md G5.1)."""
    m = mm1(0.9, 1.0)
    assert m.utilization == close(0.9)
    assert m.p_wait == close(0.9)
    assert m.p_block == 0.0
    assert m.throughput == close(0.9)
    assert (m.L, m.Lq, m.W, m.Wq) == (close(9.0), close(8.1), close(10.0), close(9.0))


@pytest.mark.parametrize("q, expected", [(0.5, 6.931), (0.99, 46.052), (0.999, 69.078)])
def test_mm1_sojourn_quantiles(q, expected):
    """M/M/1 sojourn is Exp(mu - lambda): p50, p99, p99.9 at rho=0.9 (golden.md G5.1)."""
    assert mm1_sojourn_quantile(0.9, 1.0, q) == close(expected)


# --- G5.2 M/M/c ------------------------------------------------------------------------

def test_mmc_ten_servers_at_rho_0_9():
    """M/M/10 with lambda=9, mu=1: Erlang C 0.668732, Wq, W, Lq, L (golden.md G5.2)."""
    m = mmc(9.0, 1.0, 10)
    assert erlang_b(10, 9.0) == close(0.167963)
    assert m.p_wait == close(0.668732)
    assert (m.Wq, m.W) == (close(0.668732), close(1.668732))
    assert (m.Lq, m.L) == (close(6.018584), close(15.018584))
    assert m.utilization == close(0.9)


@pytest.mark.parametrize("t, expected", [(1.0, 0.246013), (2.0, 0.090503)])
def test_mmc_waiting_time_tail(t, expected):
    """M/M/10, lambda=9, mu=1: P(Wq > t) = C exp(-(c mu - lambda) t) (golden.md G5.2)."""
    assert mmc_wait_tail(9.0, 1.0, 10, t) == close(expected)


def test_mmc_wait_tail_at_zero_is_the_waiting_probability():
    """P(Wq > 0) equals the Erlang C probability of waiting."""
    assert mmc_wait_tail(9.0, 1.0, 10, 0.0) == close(erlang_c(10, 9.0))


@pytest.mark.parametrize("lam, c, p_wait, wq", [
    (1.5, 2, 9 / 14, 1.285714),      # golden.md G5.2: C = 9/14 = 0.642857
    (90.0, 100, 0.216940, 0.021694),  # golden.md G5.2: M/M/100
])
def test_mmc_other_sizes(lam, c, p_wait, wq):
    """M/M/2 at lambda=1.5 and M/M/100 at lambda=90 (mu=1) match golden.md G5.2."""
    m = mmc(lam, 1.0, c)
    assert m.p_wait == close(p_wait)
    assert m.Wq == close(wq)


def test_mmc_with_one_server_is_mm1():
    """M/M/c with c=1 reduces exactly to M/M/1."""
    assert mmc(0.7, 1.3, 1) == mm1(0.7, 1.3)


# --- G5.3 Erlang B ---------------------------------------------------------------------

@pytest.mark.parametrize("c, a, expected", [
    (10, 9.0, 0.167963), (25, 20.0, 0.050222), (5, 3.0, 0.110054),
    (2, 1.5, 0.310345), (100, 90.0, 0.026957),
])
def test_erlang_b_reference_table(c, a, expected):
    """Erlang B blocking for five (servers, load) pairs (golden.md G5.3)."""
    assert erlang_b(c, a) == close(expected)


def test_erlang_b_is_stable_for_large_systems():
    """The recursion stays finite and in (0, 1) where factorials would overflow."""
    value = erlang_b(5000, 4900.0)
    assert 0.0 < value < 1.0 and math.isfinite(value)


# --- G5.4 / G5.5 M/M/c/K -----------------------------------------------------------------

def test_mm1k_below_saturation():
    """M/M/1/10 at rho=0.9: blocking, throughput, L, W, Wq (golden.md G5.4)."""
    m = mmck(0.9, 1.0, 1, 10)
    assert m.p_block == close(0.050814)
    assert m.throughput == close(0.854268)
    assert m.L == close(3.969441)
    assert (m.W, m.Wq) == (close(4.646601), close(3.646601))


def test_mm1k_at_rho_one_blocks_uniformly():
    """M/M/1/10 at rho=1 has uniform states, so P_block = 1/11 (golden.md G5.4)."""
    assert mmck(1.0, 1.0, 1, 10).p_block == close(1 / 11)


def test_mm1k_overloaded_is_still_defined():
    """M/M/1/5 at rho=1.5 has a steady state: P_block, throughput, W (golden.md G5.4)."""
    m = mmck(1.5, 1.0, 1, 5)
    assert m.p_block == close(0.365414)
    assert m.throughput == close(0.951880)
    assert m.W == close(3.758294)


def test_mmck_four_servers():
    """M/M/4/10, lambda=3.5, mu=1: P_block, throughput, L, Lq, W, Wq (golden.md G5.5)."""
    m = mmck(3.5, 1.0, 4, 10)
    assert m.p_block == close(0.058281)
    assert m.throughput == close(3.296018)
    assert (m.L, m.Lq) == (close(4.856686), close(1.560669))
    assert (m.W, m.Wq) == (close(1.473501), close(0.473501))


def test_mmck_ten_servers():
    """M/M/10/20, lambda=9, mu=1: P_block, Wq, W (golden.md G5.5)."""
    m = mmck(9.0, 1.0, 10, 20)
    assert m.p_block == close(0.029510)
    assert (m.Wq, m.W) == (close(0.263928), close(1.263928))


def test_mmck_loss_system_is_erlang_b():
    """With K = c nobody queues and blocking is Erlang B."""
    m = mmck(9.0, 1.0, 10, 10)
    assert m.p_block == close(erlang_b(10, 9.0))
    assert (m.p_wait, m.Lq, m.Wq) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("lam, mu, c", [(0.9, 1.0, 1), (9.0, 1.0, 10), (3.5, 1.0, 4), (45.0, 2.0, 25)])
def test_mmck_with_huge_capacity_converges_to_mmc(lam, mu, c):
    """As K grows, M/M/c/K tends to M/M/c: blocking vanishes and means agree."""
    finite, infinite = mmck(lam, mu, c, 2000), mmc(lam, mu, c)
    assert finite.p_block < 1e-12
    for field in ("throughput", "utilization", "p_wait", "L", "Lq", "W", "Wq"):
        assert getattr(finite, field) == close(getattr(infinite, field), rel=1e-9), field


def test_mmck_survives_heavy_overload_with_large_capacity():
    """Even rho=3 with K=5000 gives finite metrics (computed in log space)."""
    m = mmck(3.0, 1.0, 1, 5000)
    assert m.throughput == close(1.0) and m.utilization == close(1.0)
    assert m.p_block == close(2 / 3)


# --- G5.6 M/G/1 ------------------------------------------------------------------------

@pytest.mark.parametrize("scv, wq", [(0.0, 4.5), (0.5, 6.75), (1.0, 9.0), (4.0, 22.5)])
def test_mg1_pollaczek_khinchine(scv, wq):
    """M/G/1 at lambda=0.9, E[S]=1: Wq for D, Erlang-2, M and H2 service (golden.md G5.6)."""
    m = mg1(0.9, 1.0, scv)
    assert m.Wq == close(wq)
    assert m.W == close(wq + 1.0)
    assert m.L == close(0.9 * m.W) and m.Lq == close(0.9 * m.Wq)


def test_mg1_with_exponential_service_is_mm1():
    """M/G/1 with scv=1 has the same means as M/M/1."""
    g, m = mg1(0.6, 1.0, 1.0), mm1(0.6, 1.0)
    assert (g.L, g.Lq, g.W, g.Wq) == (close(m.L), close(m.Lq), close(m.W), close(m.Wq))


def test_hyperexponential_with_balanced_means_has_scv_four():
    """H2 with p1=0.887298, means 0.563508 / 4.436492 has mean 1, scv 4, Wq 22.5 (golden.md G5.6)."""
    p1, m1, m2 = 0.887298, 0.563508, 4.436492
    scv = hyperexponential_scv(p1, m1, m2)
    assert scv == pytest.approx(4.0, abs=1e-4)
    m = mg1(0.9, p1 * m1 + (1 - p1) * m2, scv)
    assert (m.Wq, m.W) == (close(22.5), close(23.5))


def test_hyperexponential_with_equal_means_is_exponential():
    """Two identical exponential phases give scv = 1."""
    assert hyperexponential_scv(0.3, 2.0, 2.0) == close(1.0)


def test_md1():
    """M/D/1 at lambda=0.5, S=1 waits 0.5 s; at lambda=0.9, Wq=4.5, W=5.5 (golden.md G5.6)."""
    assert md1(0.5, 1.0).Wq == close(0.5)
    assert (md1(0.9, 1.0).Wq, md1(0.9, 1.0).W) == (close(4.5), close(5.5))


# --- G5.7 networks ---------------------------------------------------------------------

def test_jackson_gateway_app_db():
    """Gateway -> app <-> db with feedback: rates, visits, per-station L and W, end-to-end T.

    Reference: golden.md G5.7.
    """
    net = jackson(
        external_arrivals={"gateway": 10.0},
        routing={"gateway": {"app": 1.0}, "app": {"db": 0.5}, "db": {"app": 1.0}},
        service_rates={"gateway": 50.0, "app": 30.0, "db": 40.0},
    )
    names = ["gateway", "app", "db"]
    st = net.stations
    assert [st[n].arrival_rate for n in names] == [close(10.0), close(20.0), close(10.0)]
    assert [net.visit_ratios[n] for n in names] == [close(1.0), close(2.0), close(1.0)]
    assert [st[n].utilization for n in names] == [close(0.2), close(2 / 3), close(0.25)]
    assert [st[n].L for n in names] == [close(0.25), close(2.0), close(1 / 3)]
    assert [st[n].W for n in names] == [close(0.025), close(0.1), close(1 / 30)]
    assert net.L == close(2.58333)
    assert net.response_time == close(0.25833)
    assert net.response_time == close(net.L / 10.0)
    assert net.response_time == close(sum(net.visit_ratios[n] * st[n].W for n in names))


def test_jackson_multi_server_station_uses_mmc():
    """A station given c servers behaves as M/M/c at its solved arrival rate."""
    net = jackson({"a": 9.0}, {}, {"a": 1.0}, servers={"a": 10})
    assert net.stations["a"] == mmc(9.0, 1.0, 10)


def test_jackson_station_without_traffic_is_idle():
    """A station nothing routes to reports zero load, zero visits and W = 1/mu."""
    net = jackson({"a": 1.0}, {"a": {"b": 1.0}}, {"a": 2.0, "b": 3.0, "spare": 4.0})
    assert net.visit_ratios == {"a": close(1.0), "b": close(1.0), "spare": 0.0}
    spare = net.stations["spare"]
    assert (spare.throughput, spare.L, spare.W) == (0.0, 0.0, close(0.25))
    assert net.L == close(mm1(1.0, 2.0).L + mm1(1.0, 3.0).L)


def test_tandem_of_two_mm1():
    """Two M/M/1 stages at lambda=0.8, mu=1: total Wq = 8, total W = 10 (golden.md G5.7)."""
    net = tandem(0.8, [1.0, 1.0])
    assert list(net.stations) == ["stage1", "stage2"]
    assert sum(s.Wq for s in net.stations.values()) == close(8.0)
    assert sum(s.W for s in net.stations.values()) == close(10.0)
    assert net.response_time == close(10.0)


# --- G1.3 MVA --------------------------------------------------------------------------

@pytest.mark.parametrize("users, throughput, response", [
    (1, 0.9091, 0.1000), (5, 4.3605, 0.1467), (10, 7.8542, 0.2732),
    (20, 9.9813, 1.0037), (30, 10.000, 2.0000),
])
def test_mva_single_station_with_think_time(users, throughput, response):
    """N users, Z=1 s, one station D=0.1 s: X and R per golden.md G1.3 (table rounded, 1e-3 rel).

    The response-time law R = N/X - Z must also hold.
    """
    r = mva(users, 1.0, {"cpu": 0.1})
    assert r.users == users
    assert r.throughput == close(throughput, rel=1e-3)
    assert r.response_time == close(response, rel=1e-3)
    assert r.response_time == close(users / r.throughput - 1.0, rel=1e-9)
    assert r.utilizations["cpu"] == close(0.1 * r.throughput, rel=1e-12)
    assert r.queue_lengths["cpu"] == close(r.throughput * r.response_time, rel=1e-9)


def test_mva_one_user_utilization():
    """With one user U = 0.1/1.1 = 0.0909; golden.md G1.3 prints it as 0.091 (3 digits)."""
    assert mva(1, 1.0, {"cpu": 0.1}).utilizations["cpu"] == pytest.approx(0.091, abs=5e-4)


def test_mva_two_stations_respect_bottleneck_bound():
    """Throughput never exceeds 1 / D_max and queue lengths plus thinkers account for all users."""
    r = mva(50, 2.0, {"web": 0.02, "db": 0.05})
    assert r.throughput <= 1 / 0.05 + 1e-9
    assert sum(r.queue_lengths.values()) + r.throughput * 2.0 == close(50.0, rel=1e-9)


# The central-server model (scenarios/theory/central-server*.yaml): a CPU (S = 5 ms) and two
# disks (8 ms, 12 ms); after a burst a job reads disk1 (p 0.6) or disk2 (p 0.35) and comes
# back, or leaves (p 0.05). Visit ratios 20, 12, 7; demands D = V S = 100, 96, 84 ms.
CENTRAL_ROUTING = {"cpu": {"disk1": 0.6, "disk2": 0.35}, "disk1": {"cpu": 1.0}, "disk2": {"cpu": 1.0}}
CENTRAL_RATES = {"cpu": 200.0, "disk1": 125.0, "disk2": 1000 / 12}
CENTRAL_VISITS = {"cpu": 20.0, "disk1": 12.0, "disk2": 7.0}
CENTRAL_DEMANDS = {"cpu": 0.100, "disk1": 0.096, "disk2": 0.084}


def buzen(users: int, think: float, demands: dict[str, float]) -> tuple[float, dict[str, float]]:
    """Throughput and mean queue lengths by Buzen's convolution (an independent exact method):
    G starts as the delay station's Z^n/n!, each FCFS station folds in g(n) += D g(n-1);
    X = G(N-1)/G(N) and Q_k = sum_j D_k^j G(N-j)/G(N) (G with all stations)."""
    g = [think ** n / math.factorial(n) for n in range(users + 1)]
    for d in demands.values():
        for n in range(1, users + 1):
            g[n] += d * g[n - 1]
    queues = {k: sum(d ** j * g[users - j] for j in range(1, users + 1)) / g[users] for k, d in demands.items()}
    return g[users - 1] / g[users], queues


@pytest.mark.parametrize("users", [1, 5, 10, 20])
def test_mva_residence_times_agree_with_buzen_convolution(users):
    """Exact MVA of the closed central-server model equals Buzen's convolution (1973): the same
    throughput and queue lengths, residence times R_k = Q_k / X summing to the response time;
    per visit R_k / V_k. At 10 users, Z = 1 s: X = 6.3621/s, R = 571.80 ms, per visit
    10.808, 16.632, 22.293 ms (the numbers in central-server-closed.yaml's header)."""
    r = mva(users, 1.0, CENTRAL_DEMANDS)
    throughput, queues = buzen(users, 1.0, CENTRAL_DEMANDS)
    assert r.throughput == close(throughput, rel=1e-12)
    for k in CENTRAL_DEMANDS:
        assert r.queue_lengths[k] == close(queues[k], rel=1e-9)
        assert r.residence_times[k] == close(queues[k] / throughput, rel=1e-9)
    assert sum(r.residence_times.values()) == close(r.response_time, rel=1e-12)
    if users == 10:
        assert (r.throughput, r.response_time) == (close(6.3621), close(0.57180))
        per_visit = [r.residence_times[k] / CENTRAL_VISITS[k] for k in CENTRAL_VISITS]
        assert per_visit == [close(0.010808), close(0.016632), close(0.022293)]


def test_central_server_as_an_open_jackson_network():
    """At 5 jobs/s the traffic equations give visit ratios 20, 12, 7 (1/0.05 bursts per job),
    rho = 0.5, 0.48, 0.42, per-visit W_i = 1/(mu_i - lambda_i) = 10, 15.385, 20.690 ms and
    T = sum V_i W_i = 529.44 ms (the numbers in central-server.yaml's header)."""
    net = jackson({"cpu": 5.0}, CENTRAL_ROUTING, CENTRAL_RATES)
    assert net.visit_ratios == {k: close(v) for k, v in CENTRAL_VISITS.items()}
    assert [net.stations[k].utilization for k in CENTRAL_VISITS] == [close(0.5), close(0.48), close(0.42)]
    assert [net.stations[k].W for k in CENTRAL_VISITS] == [close(0.010), close(1 / 65), close(1 / (1000 / 12 - 35))]
    assert net.response_time == close(sum(CENTRAL_VISITS[k] * net.stations[k].W for k in CENTRAL_VISITS))
    assert net.response_time == close(0.52944)


# --- Little, availability, fan-out -------------------------------------------------------

def test_littles_law():
    """2000 req/s spending 0.150 s each means 300 in flight (golden.md G5)."""
    assert littles_law_L(2000.0, 0.150) == close(300.0)


def test_availability_combinations():
    """Serial, parallel and 2-of-3 availabilities (golden.md G18.1)."""
    assert availability_serial(0.999, 0.999, 0.9995) == close(0.997502)
    assert availability_parallel(0.99, 0.99) == close(0.9999)
    assert availability_parallel(0.99, 0.99, 0.99) == close(0.999999)
    assert availability_k_of_n(2, 3, 0.99) == close(0.999702)


def test_k_of_n_extremes_are_serial_and_parallel():
    """n-of-n is the serial system and 1-of-n the parallel one."""
    assert availability_k_of_n(3, 3, 0.95) == close(availability_serial(0.95, 0.95, 0.95))
    assert availability_k_of_n(1, 3, 0.95) == close(availability_parallel(0.95, 0.95, 0.95))


@pytest.mark.parametrize("mtbf, mttr, expected", [
    (720.0, 1.0, 0.998613),   # golden.md G18.1
    (1000.0, 10.0, 0.990099),  # golden.md G18.3
])
def test_availability_from_mtbf(mtbf, mttr, expected):
    """Availability = MTBF / (MTBF + MTTR)."""
    assert availability_from_mtbf(mtbf, mttr) == close(expected)


def test_fanout_tail_amplification():
    """With 1% slow leaves, 10-way fan-out is slow 9.56%, 100-way 63.4% (golden.md G14.5)."""
    assert fanout_tail_probability(0.01, 10) == pytest.approx(0.095618, abs=1e-4)
    assert fanout_tail_probability(0.01, 100) == close(0.633968)


def test_per_leaf_quantile_for_p99_at_fanout_100():
    """A p99 over 100 leaves needs each leaf at its 0.99^(1/100) quantile (golden.md G14.5)."""
    q = per_leaf_quantile_for(0.99, 100)
    assert q == close(0.999899)
    assert 1 - fanout_tail_probability(1 - q, 100) == close(0.99)


# --- G5.8 capacity planning --------------------------------------------------------------

@pytest.mark.parametrize("c, p_wait", [
    (10, 0.6687), (11, 0.4305), (12, 0.2660), (13, 0.1575), (15, 0.0482),
])
def test_waiting_probability_by_server_count(c, p_wait):
    """lambda=90/s, S=100 ms: P(wait) for 10..15 servers (golden.md G5.8, 1e-3 absolute)."""
    assert mmc(90.0, 10.0, c).p_wait == pytest.approx(p_wait, abs=1e-3)


def test_servers_for_wait_probability():
    """13 is the fewest servers keeping P(wait) <= 0.2 at lambda=90/s, mu=10/s (golden.md G5.8)."""
    assert servers_for_wait_probability(90.0, 10.0, 0.2) == 13


@pytest.mark.parametrize("lam, mu, target", [
    (90.0, 10.0, 0.2), (9.5, 1.0, 0.01), (0.5, 1.0, 0.9), (400.0, 3.0, 0.05),
])
def test_servers_for_wait_probability_is_minimal(lam, mu, target):
    """The answer meets the target and one server fewer does not (or would be unstable)."""
    c = servers_for_wait_probability(lam, mu, target)
    assert erlang_c(c, lam / mu) <= target
    assert c - 1 <= lam / mu or erlang_c(c - 1, lam / mu) > target


# --- internal consistency ----------------------------------------------------------------

@pytest.mark.parametrize("lam, mu, c", [
    (0.5, 1.0, 1), (9.0, 1.0, 10), (1.5, 1.0, 2), (90.0, 1.0, 100), (7.3, 0.4, 20),
])
def test_mmc_obeys_littles_law(lam, mu, c):
    """L = X W, Lq = X Wq, W = Wq + 1/mu and utilization = lambda / (c mu) for M/M/c."""
    m = mmc(lam, mu, c)
    assert m.L == close(m.throughput * m.W, rel=1e-12)
    assert m.Lq == close(m.throughput * m.Wq, rel=1e-12)
    assert m.W == close(m.Wq + 1 / mu, rel=1e-12)
    assert m.utilization == close(lam / (c * mu), rel=1e-12)
    assert m.L - m.Lq == close(lam / mu, rel=1e-9)


@pytest.mark.parametrize("lam, mu, c, k", [
    (0.9, 1.0, 1, 10), (1.5, 1.0, 1, 5), (3.5, 1.0, 4, 10), (30.0, 1.0, 10, 12),
])
def test_mmck_obeys_littles_law(lam, mu, c, k):
    """For M/M/c/K, Little's law holds on accepted throughput and busy servers = X / mu."""
    m = mmck(lam, mu, c, k)
    assert m.throughput == close(lam * (1 - m.p_block), rel=1e-12)
    assert m.L == close(m.throughput * m.W, rel=1e-12)
    assert m.Lq == close(m.throughput * m.Wq, rel=1e-12)
    assert m.L - m.Lq == close(m.throughput / mu, rel=1e-9)
    assert 0.0 <= m.p_wait <= 1.0


def test_metrics_are_immutable():
    """QueueMetrics is a frozen value object."""
    with pytest.raises(AttributeError):
        mm1(0.5, 1.0).L = 0.0  # type: ignore[misc]


def test_public_api_is_exported():
    """Every name in __all__ exists in the module."""
    assert all(hasattr(theory, name) for name in theory.__all__)


# --- invalid inputs ----------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda: mm1(1.0, 1.0),                      # rho = 1: no steady state
    lambda: mm1(2.0, 1.0),                      # rho > 1
    lambda: mm1(0.0, 1.0),                      # non-positive arrival rate
    lambda: mm1(0.5, -1.0),                     # negative service rate
    lambda: mm1(float("nan"), 1.0),
    lambda: mm1_sojourn_quantile(0.5, 1.0, 1.0),
    lambda: mm1_sojourn_quantile(0.5, 1.0, 0.0),
    lambda: mmc(10.0, 1.0, 10),                 # lambda = c mu
    lambda: mmc(1.0, 1.0, 0),                   # no servers
    lambda: mmc(1.0, 1.0, 2.5),                 # fractional servers
    lambda: mmc_wait_tail(9.0, 1.0, 10, -1.0),  # negative time
    lambda: erlang_c(10, 10.0),                 # a >= c
    lambda: erlang_b(0, 1.0),
    lambda: erlang_b(5, 0.0),
    lambda: mmck(1.0, 1.0, 4, 3),               # capacity < servers
    lambda: mmck(0.0, 1.0, 1, 5),
    lambda: mg1(1.0, 1.0, 1.0),                 # rho = 1
    lambda: mg1(0.5, 1.0, -0.1),                # negative scv
    lambda: md1(2.0, 0.5),
    lambda: hyperexponential_scv(1.2, 1.0, 1.0),
    lambda: jackson({"a": 1.0}, {}, {"a": 0.5}),                       # unstable station
    lambda: jackson({"a": 1.0}, {"a": {"b": 1.0}}, {"a": 5.0}),        # no service rate for b
    lambda: jackson({"a": 1.0}, {"a": {"a": 1.0}}, {"a": 5.0}),        # jobs never leave
    lambda: jackson({"a": 1.0}, {"a": {"b": 0.7, "c": 0.6}}, {"a": 5.0, "b": 5.0, "c": 5.0}),
    lambda: jackson({"a": 0.0}, {}, {"a": 5.0}),                       # no external traffic
    lambda: jackson({"a": 1.0}, {}, {"a": 5.0}, servers={"x": 2}),     # unknown station
    lambda: tandem(1.0, [2.0, 0.9]),
    lambda: tandem(1.0, []),
    lambda: mva(0, 1.0, {"cpu": 0.1}),
    lambda: mva(5, -1.0, {"cpu": 0.1}),
    lambda: mva(5, 1.0, {}),
    lambda: littles_law_L(-1.0, 1.0),
    lambda: availability_serial(),
    lambda: availability_parallel(0.9, 1.1),
    lambda: availability_k_of_n(4, 3, 0.9),
    lambda: availability_from_mtbf(0.0, 1.0),
    lambda: fanout_tail_probability(0.01, 0),
    lambda: per_leaf_quantile_for(1.0, 10),
    lambda: servers_for_wait_probability(90.0, 10.0, 0.0),
])
def test_invalid_inputs_raise_value_error(call):
    """Non-positive rates, unstable systems, impossible shapes and bad probabilities are rejected."""
    with pytest.raises(ValueError):
        call()


def test_unstable_error_message_is_explanatory():
    """The error for an overloaded queue says it is unstable and shows the utilization."""
    with pytest.raises(ValueError, match=r"unstable.*utilization 1\.2"):
        mm1(1.2, 1.0)


# --- load balancing and placement (golden.md sections 3 and 4) ------------------------------

def test_random_routing_is_mm1_per_server():
    """Random routing of lambda=9 over 10 servers (mu=1): each is M/M/1 at rho=0.9, W=10 (G3.1)."""
    assert theory.random_routing_response_time(10, 9.0, 1.0) == close(10.0)
    assert theory.random_routing_response_time(10, 9.0, 1.0) == close(mm1(0.9, 1.0).W)


def test_round_robin_ten_servers_root_and_response_time():
    """RR over 10 servers, lambda=9, mu=1: E_10/M/1 root sigma=0.823330 and W=5.6603 (G3.1)."""
    w = theory.round_robin_response_time(10, 9.0, 1.0)
    assert w == close(5.6603)
    assert 1.0 - 1.0 / w == pytest.approx(0.823330, abs=5e-7)  # W = 1 / (mu (1 - sigma))


@pytest.mark.parametrize("n, lam, expected", [(100, 90.0, 5.2268), (2, 1.8, 7.5883)])
def test_round_robin_other_sizes(n, lam, expected):
    """RR at per-server rho=0.9: W=5.2268 at n=100 and 7.5883 at n=2 (golden.md G3.1)."""
    assert theory.round_robin_response_time(n, lam, 1.0) == close(expected)


def test_round_robin_root_solves_the_gim1_equation():
    """sigma = 1 - 1/(mu W) satisfies sigma = (lambda / (lambda + mu (1 - sigma)))^n."""
    for n, lam, mu in [(10, 9.0, 1.0), (3, 0.5, 0.25), (50, 499.0, 10.0)]:
        sigma = 1.0 - 1.0 / (mu * theory.round_robin_response_time(n, lam, mu))
        assert sigma == close((lam / (lam + mu * (1.0 - sigma))) ** n, rel=1e-10)


def test_round_robin_with_one_server_is_mm1():
    """One server gets every arrival: E_1/M/1 is M/M/1."""
    assert theory.round_robin_response_time(1, 0.7, 1.3) == close(mm1(0.7, 1.3).W, rel=1e-9)


@pytest.mark.parametrize("n, lam", [(2, 1.0), (10, 9.0), (10, 9.9), (100, 70.0)])
def test_round_robin_lies_between_shared_queue_and_random(n, lam):
    """Policy ordering of G3.1: M/M/n (one shared queue) < round robin < random routing."""
    rr = theory.round_robin_response_time(n, lam, 1.0)
    assert mmc(lam, 1.0, n).W < rr < theory.random_routing_response_time(n, lam, 1.0)


@pytest.mark.parametrize("load, d1, d2, d3", [
    (0.50, 2.0, 1.26569, 1.12524),
    (0.80, 5.0, 1.94736, 1.58089),
    (0.90, 10.0, 2.61406, 2.02786),
    (0.95, 20.0, 3.38305, 2.53513),
    (0.99, 100.0, 5.43200, 3.85785),
])
def test_supermarket_response_time_table(load, d1, d2, d3):
    """Mitzenmacher's T_d(lambda) for d = 1, 2, 3 matches the G3.2 table to its 6 digits."""
    for d, expected in [(1, d1), (2, d2), (3, d3)]:
        assert theory.supermarket_response_time(load, d) == pytest.approx(expected, abs=5e-6)


def test_supermarket_scales_with_service_time():
    """With mu = 4 per second every time is a quarter as long; at load 0 it is one service time."""
    assert theory.supermarket_response_time(0.9, 2, 4.0) == close(2.61406 / 4)
    assert theory.supermarket_response_time(0.0, 2) == 1.0


def test_supermarket_tail_at_rho_0_9_with_two_choices():
    """s_1..s_5 = 0.9, 0.729, 0.478297, 0.205891, 0.038152 at lambda=0.9, d=2 (G3.2); d=1 is 0.9^i."""
    got = [theory.supermarket_tail(0.9, 2, i) for i in range(1, 6)]
    assert got == [close(x) for x in (0.9, 0.729, 0.478297, 0.205891, 0.038152)]
    assert theory.supermarket_tail(0.9, 2, 0) == 1.0
    assert theory.supermarket_tail(0.9, 1, 5) == close(0.9 ** 5)
    assert theory.supermarket_tail(0.9, 2, 5000) == 0.0  # far beyond float range: underflows


def test_supermarket_mean_is_the_sum_of_its_tail():
    """Little's law: T = L / lambda with L = sum_{i>=1} s_i (the mean queue length)."""
    for load, d in [(0.9, 2), (0.5, 3), (0.95, 4)]:
        queue = math.fsum(theory.supermarket_tail(load, d, i) for i in range(1, 60))
        assert theory.supermarket_response_time(load, d) == close(queue / load, rel=1e-12)


@pytest.mark.parametrize("v, expected", [(1, 0.9045), (10, 0.2985), (100, 0.0948), (1000, 0.0300)])
def test_ring_share_cv_table(v, expected):
    """CV of a node's ring share at n=10 for v virtual nodes (golden.md G4.1, 4 decimals)."""
    assert theory.ring_share_cv(10, v) == pytest.approx(expected, abs=5e-5)


def test_mod_n_keys_moved_exact():
    """mod-N 10 -> 11 moves 10/11 (G4.2); the formula agrees with counting one lcm period."""
    assert theory.mod_n_keys_moved(10, 11) == close(10 / 11, rel=1e-12)
    for a, b in [(10, 11), (10, 12), (12, 10), (10, 20), (7, 7), (1, 5)]:
        period = math.lcm(a, b)
        moved = sum(h % a != h % b for h in range(period)) / period
        assert theory.mod_n_keys_moved(a, b) == close(moved, rel=1e-12)


def test_consistent_keys_moved_ideal():
    """An ideal consistent hash moves 1/11 at 10 -> 11 and 1/6 at 10 -> 12 (G4.2), either way."""
    assert theory.consistent_keys_moved(10, 11) == close(1 / 11, rel=1e-12)
    assert theory.consistent_keys_moved(10, 12) == close(1 / 6, rel=1e-12)
    assert theory.consistent_keys_moved(11, 10) == close(1 / 11, rel=1e-12)
    assert theory.consistent_keys_moved(10, 10) == 0.0


@pytest.mark.parametrize("call", [
    lambda: theory.random_routing_response_time(10, 10.0, 1.0),   # lambda = n mu
    lambda: theory.random_routing_response_time(0, 1.0, 1.0),
    lambda: theory.round_robin_response_time(10, 10.0, 1.0),
    lambda: theory.round_robin_response_time(2, 1.0, 0.0),
    lambda: theory.round_robin_response_time(2.0, 1.0, 1.0),      # fractional servers
    lambda: theory.supermarket_response_time(1.0, 2),              # load 1: unstable
    lambda: theory.supermarket_response_time(-0.1, 2),
    lambda: theory.supermarket_response_time(0.5, 0),
    lambda: theory.supermarket_response_time(0.5, 2, 0.0),
    lambda: theory.supermarket_tail(0.5, 2, -1),
    lambda: theory.ring_share_cv(10, 0),
    lambda: theory.ring_share_cv(0, 10),
    lambda: theory.mod_n_keys_moved(0, 10),
    lambda: theory.consistent_keys_moved(10, 0),
])
def test_load_balancing_invalid_inputs_raise_value_error(call):
    """Unstable systems, non-integer or non-positive counts and loads outside [0, 1) are rejected."""
    with pytest.raises(ValueError):
        call()
