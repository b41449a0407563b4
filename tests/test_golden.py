"""Golden statistical tests: simulated theory scenarios reproduce closed-form queueing results.

Every expected value comes from :mod:`simulator.theory` (itself pinned to golden.md by
``tests/test_theory.py``) or from a hand-derived constant, never from the simulator.

Method of independent replications (golden.md §0): each test runs the scenario R times
with seeds 1..R (fixed, so the test is deterministic), takes one estimate per run, and
requires the grand mean to lie within 3·SE of the exact value, where SE is the sample
standard deviation of the R estimates divided by sqrt(R). A fixed percentage band would
be wrong at high load (the relative error of a queueing-time mean grows like 1/(1-rho)),
and one seed says nothing about the noise. To keep the band from being vacuous, each
comparison also requires SE < 5 % of the exact value. Run lengths and R are sized so the
SE is roughly 1-3 % of the exact value and warm-up (10 % of the run) is many relaxation
times long.

Little's law (golden.md G1.1) is a sample-path identity, so it is checked on a single run
of every theory scenario at its shipped defaults, with a 2 % tolerance for edge effects.

Tiers: unmarked tests take about 10 s in total; ``@pytest.mark.slow`` ones about 30 s.
The z-score of every comparison is printed at the end of the run (tests/conftest.py).
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from simulator import load_scenario, simulate, theory

THEORY_DIR = Path(__file__).resolve().parents[1] / "scenarios" / "theory"
THEORY_SCENARIOS = ("mm1", "mmc", "mmck", "md1", "mg1", "tandem", "closed", "jackson")
MAX_REL_SE = 0.05  # a band wider than 3 × 5 % of the exact value would prove little
LITTLE_REL_TOL = 0.02

Summary = dict[str, Any]
_ZSCORES: list[dict[str, Any]] = []  # rows of this test, handed to conftest at teardown


# --- the replication / band helpers ------------------------------------------------------

def run_window(duration: float, warmup: float) -> list[str]:
    """``sets`` overriding the run length and the warm-up (seconds)."""
    return [f"duration={duration}s", f"warmup={warmup}s"]


@functools.lru_cache(maxsize=None)
def _summaries(name: str, params: tuple[str, ...], sets: tuple[str, ...], R: int) -> tuple[Summary, ...]:
    """Summaries of R independent runs (seeds 1..R); cached so several metrics share runs."""
    scenario = load_scenario(THEORY_DIR / f"{name}.yaml", params=params, sets=sets)
    return tuple(simulate(scenario, seed=seed).summary() for seed in range(1, R + 1))


def replicate(name: str, params: list[str], sets: list[str], R: int,
              metric_fn: Callable[[Summary], float]) -> np.ndarray:
    """One estimate ``metric_fn(summary)`` per independent replication of theory scenario *name*."""
    return np.array([metric_fn(s) for s in _summaries(name, tuple(params), tuple(sets), R)], dtype=float)


def mean_and_se(values: np.ndarray) -> tuple[float, float]:
    """Grand mean and its standard error (sample std of the estimates / sqrt(R))."""
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(values.size))


def assert_within_3se(values: np.ndarray, exact: float, label: str, max_rel_se: float = MAX_REL_SE) -> None:
    """The grand mean of *values* is within 3 SE of *exact*, and SE is small (< max_rel_se·|exact|)."""
    values = np.asarray(values, dtype=float)
    assert values.size >= 10, f"{label}: need at least 10 replications, got {values.size}"
    assert np.all(np.isfinite(values)), f"{label}: a replication produced no estimate: {values}"
    mean, se = mean_and_se(values)
    z = (mean - exact) / se if se > 0 else math.inf
    _ZSCORES.append({"label": label, "R": values.size, "estimate": mean, "se": se, "exact": exact,
                     "rel_se": se / abs(exact), "z": z})
    detail = (f"{label}: estimate {mean:.6g}, SE {se:.3g} (R={values.size}), exact {exact:.6g}, "
              f"z = {z:+.2f}")
    assert se > 0, f"zero spread across replications (seeds not independent?): {detail}"
    assert se < max_rel_se * abs(exact), (
        f"vacuous band: SE is {se / abs(exact):.1%} of the exact value (limit {max_rel_se:.0%}); "
        f"lengthen the runs or add replications. {detail}")
    assert abs(mean - exact) <= 3 * se, f"outside the 3-SE band: {detail}"


@pytest.fixture(autouse=True)
def _report_zscores(golden_zscores: list):
    """Hand this test's comparisons to the end-of-run z-score table (pass or fail)."""
    _ZSCORES.clear()
    yield
    golden_zscores.extend(_ZSCORES)
    _ZSCORES.clear()


def station(component: str, *keys: str) -> Callable[[Summary], float]:
    """metric_fn reading ``summary['components'][component][k1][k2]...``."""
    def metric(summary: Summary) -> float:
        value = summary["components"][component]
        for key in keys:
            value = value[key]
        return value
    return metric


def latency(stat: str) -> Callable[[Summary], float]:
    return lambda summary: summary["latency_s"][stat]


def blocking(summary: Summary) -> float:
    requests = summary["requests"]
    return requests["rejected"] / requests["issued"]


# --- G5.2 M/M/c: Erlang C ----------------------------------------------------------------

MMC = dict(name="mmc", params=["arrival_rate=9", "service_rate=1", "servers=10"],
           sets=run_window(3300, 300), R=20)


@pytest.mark.slow
def test_mmc_wait_probability_is_erlang_c():
    """M/M/c, c=10, lambda=9, mu=1: the fraction of arrivals that queue is Erlang C
    C(10, 9) = 0.668732 (golden.md G5.2; theory.mmc(...).p_wait)."""
    exact = theory.mmc(9.0, 1.0, 10).p_wait
    assert_within_3se(replicate(**MMC, metric_fn=station("station", "p_wait")), exact, "M/M/10 P(wait)")


@pytest.mark.slow
def test_mmc_mean_wait_is_erlang_c_over_spare_capacity():
    """M/M/c, c=10, lambda=9, mu=1: mean time queued Wq = C/(c mu - lambda) = 0.668732 s
    (golden.md G5.2; theory.mmc(...).Wq)."""
    exact = theory.mmc(9.0, 1.0, 10).Wq
    assert_within_3se(replicate(**MMC, metric_fn=station("station", "wait_s", "mean")), exact, "M/M/10 Wq")


# --- G5.5 M/M/c/K -------------------------------------------------------------------------

MMCK = dict(name="mmck", params=["arrival_rate=3.5", "service_rate=1", "servers=4", "capacity=10"],
            sets=run_window(2500, 250), R=10)


def test_mmck_blocking_probability():
    """M/M/4/10, lambda=3.5, mu=1: the share of requests rejected (rejected / issued) is the
    stationary probability of K in the system, P_block = 0.058281 (golden.md G5.5;
    theory.mmck(...).p_block, by PASTA)."""
    exact = theory.mmck(3.5, 1.0, 4, 10).p_block
    assert_within_3se(replicate(**MMCK, metric_fn=blocking), exact, "M/M/4/10 P(block)")


def test_mmck_sojourn_of_accepted_requests():
    """M/M/4/10, lambda=3.5, mu=1: accepted requests spend W = L / lambda_eff = 1.473501 s in
    the station (golden.md G5.5; theory.mmck(...).W); rejected ones are not in the latency."""
    exact = theory.mmck(3.5, 1.0, 4, 10).W
    assert_within_3se(replicate(**MMCK, metric_fn=latency("mean")), exact, "M/M/4/10 W (accepted)")


# --- G5.6 M/G/1: Pollaczek-Khinchine -------------------------------------------------------

@pytest.mark.parametrize("arrival_rate, R", [
    pytest.param(0.5, 10, id="rho=0.5"),
    pytest.param(0.7, 20, id="rho=0.7", marks=pytest.mark.slow),
])
def test_md1_mean_wait_is_pollaczek_khinchine(arrival_rate, R):
    """M/D/1 with S = 1 s: Wq = rho/(1-rho) · S/2, i.e. 0.5 s at lambda=0.5 and 7/6 s at
    lambda=0.7 (golden.md G5.6; theory.md1(...).Wq) — half the M/M/1 wait."""
    exact = theory.md1(arrival_rate, 1.0).Wq
    values = replicate("md1", [f"arrival_rate={arrival_rate}", "service_time=1"], run_window(10000, 1000), R,
                       station("server", "wait_s", "mean"))
    assert_within_3se(values, exact, f"M/D/1 lambda={arrival_rate} Wq")


@pytest.mark.slow
def test_mg1_hyperexponential_mean_wait_is_pollaczek_khinchine():
    """M/G/1 with two-phase hyperexponential service (p=0.887298, means 0.563508 s and
    4.436492 s: E[S] = 1 s, scv = 4) at lambda=0.5: Wq = rho/(1-rho) · (1+scv)/2 · E[S]
    = 2.5 s (golden.md G5.6; theory.mg1 with theory.hyperexponential_scv)."""
    p, mean1, mean2 = 0.887298, 0.563508, 4.436492
    mean_service = p * mean1 + (1 - p) * mean2
    scv = theory.hyperexponential_scv(p, mean1, mean2)
    exact = theory.mg1(0.5, mean_service, scv).Wq
    values = replicate("mg1", ["arrival_rate=0.5", f"p={p}", f"mean1={mean1}", f"mean2={mean2}"],
                       run_window(20000, 2000), 20, station("server", "wait_s", "mean"))
    assert_within_3se(values, exact, "M/H2/1 lambda=0.5 Wq")


# --- G5.7 tandem (Burke / Jackson) ------------------------------------------------------------

def test_tandem_end_to_end_sojourn():
    """Two M/M/1 stations in series, lambda=0.5, mu1=mu2=1: by Burke's theorem each stage is
    an independent M/M/1, so the end-to-end mean latency is 1/(mu1-lambda) + 1/(mu2-lambda)
    = 4 s (golden.md G5.7; theory.tandem(...).response_time)."""
    exact = theory.tandem(0.5, [1.0, 1.0]).response_time
    values = replicate("tandem", ["arrival_rate=0.5", "service_rate1=1", "service_rate2=1"],
                       run_window(3000, 300), 10, latency("mean"))
    assert_within_3se(values, exact, "tandem lambda=0.5 W")


# --- G1.3 closed network: exact MVA ------------------------------------------------------------

@pytest.mark.parametrize("users", [
    pytest.param(5, id="N=5"),
    pytest.param(10, id="N=10", marks=pytest.mark.slow),
])
@pytest.mark.parametrize("metric", ["throughput", "response_time"])
def test_closed_network_matches_mva(users, metric):
    """N users, think time Z = Exp(1 s), one exponential FCFS server with S = 0.1 s: the
    throughput X and the response time R (excluding think time) equal exact Mean Value
    Analysis — N=5: X=4.3605/s, R=0.1467 s; N=10: X=7.8542/s, R=0.2732 s (golden.md G1.3;
    theory.mva)."""
    exact = getattr(theory.mva(users, 1.0, {"server": 0.1}), metric)
    metric_fn = (lambda s: s["throughput_rps"]) if metric == "throughput" else latency("mean")
    values = replicate("closed", [f"users={users}", "think_time=1", "service_time=0.1"],
                       run_window(1000, 100), 10, metric_fn)
    assert_within_3se(values, exact, f"closed N={users} {'X' if metric == 'throughput' else 'R'}")


# --- G5.7 Jackson network with feedback ---------------------------------------------------------

JACKSON_RATES = {"gateway": 50.0, "app": 30.0, "db": 40.0}  # mu = 1 / mean work (20, 33.3, 25 ms)
JACKSON_ROUTING = {"gateway": {"app": 1.0}, "app": {"db": 0.5}, "db": {"app": 1.0}}
JACKSON_RUNS = dict(name="jackson", params=["arrival_rate=10"], sets=run_window(1000, 100), R=10)


def _jackson_theory() -> theory.NetworkMetrics:
    return theory.jackson({"gateway": 10.0}, JACKSON_ROUTING, JACKSON_RATES)


@pytest.mark.slow
def test_jackson_end_to_end_latency():
    """Open Jackson network gateway (50/s) → app (30/s) → with p=0.5 db (40/s) → app again,
    10 req/s: traffic equations give visit ratios 1, 2, 1 and end-to-end T = L/lambda
    = 258.33 ms (golden.md G5.7; theory.jackson(...).response_time)."""
    assert _jackson_theory().response_time == pytest.approx(0.258333, rel=1e-5)  # golden.md G5.7
    values = replicate(**JACKSON_RUNS, metric_fn=latency("mean"))
    assert_within_3se(values, _jackson_theory().response_time, "Jackson T")


@pytest.mark.slow
@pytest.mark.parametrize("component", ["gateway", "app", "db"])
def test_jackson_station_utilization(component):
    """Jackson network at 10 req/s: each station's busy fraction is lambda_j / mu_j with the
    traffic-equation rates lambda = (10, 20, 10), i.e. rho = (0.2, 0.6667, 0.25)
    (golden.md G5.7; theory.jackson(...).stations[j].utilization)."""
    exact = _jackson_theory().stations[component].utilization
    values = replicate(**JACKSON_RUNS, metric_fn=station(component, "utilization"))
    assert_within_3se(values, exact, f"Jackson rho[{component}]")


# --- G5.1 M/M/1 sojourn tail ----------------------------------------------------------------

def test_mm1_sojourn_p99():
    """M/M/1, lambda=0.5, mu=1: the FIFO sojourn time is Exp(mu - lambda), so its 99th
    percentile is ln(100)/0.5 = 9.2103 s (golden.md G5.1; theory.mm1_sojourn_quantile).
    The per-run p99 estimator is consistent; its O(1/n) bias is far below the SE here."""
    exact = theory.mm1_sojourn_quantile(0.5, 1.0, 0.99)
    assert exact == pytest.approx(math.log(100) / 0.5)
    values = replicate("mm1", ["arrival_rate=0.5", "service_rate=1"], run_window(8000, 800), 16, latency("p99"))
    assert_within_3se(values, exact, "M/M/1 lambda=0.5 p99")


# --- G5.3 Erlang B insensitivity -----------------------------------------------------------------

@pytest.mark.parametrize("work", [
    pytest.param(None, id="exponential"),
    pytest.param("const(1s)", id="constant"),
])
def test_erlang_b_is_insensitive_to_service_distribution(work):
    """Pure loss system M/G/c/c, c=5, offered load a = lambda·E[S] = 3 Erlangs (E[S] = 1 s):
    the share of arrivals rejected is Erlang B(5, 3) = 0.110054 whether service is
    exponential or constant — the loss formula depends on the service time only through
    its mean (golden.md G5.3; theory.erlang_b)."""
    exact = theory.erlang_b(5, 3.0)
    sets = run_window(1500, 150) + ([f"components.station.operations.serve.work={work}"] if work else [])
    values = replicate("mmck", ["arrival_rate=3", "service_rate=1", "servers=5", "capacity=5"], sets, 10, blocking)
    assert_within_3se(values, exact, f"Erlang B(5,3) {'constant' if work else 'exponential'} service")


# --- G1.1 Little's law on every theory scenario ---------------------------------------------------

@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.slow) if n in ("mmc", "jackson") else n for n in THEORY_SCENARIOS
])
def test_littles_law_holds_for_every_component(name):
    """Little's law L = lambda·W (golden.md G1.1) on one run of each theory scenario at its
    shipped defaults: for every component, the reported time-average number inside
    (in_system_mean) equals (visits arriving in the window / window length) × (mean of
    end - arrival over those visits), computed here from result.spans, within 2 %
    (the identity holds on the sample path up to edge effects at the window ends)."""
    result = simulate(load_scenario(THEORY_DIR / f"{name}.yaml"), seed=1)
    summary = result.summary()
    lo, hi = summary["warmup_s"], summary["duration_s"]
    spans = result.spans
    assert set(spans["component"]) == set(summary["components"])
    for component, stats in summary["components"].items():
        visits = spans[(spans["component"] == component) & (spans["arrival"] >= lo) & (spans["arrival"] < hi)]
        assert len(visits) > 1000, f"{name}/{component}: too few visits ({len(visits)}) for Little's law"
        arrival_rate = len(visits) / (hi - lo)
        mean_sojourn = float((visits["end"] - visits["arrival"]).mean())
        expected = theory.littles_law_L(arrival_rate, mean_sojourn)
        assert stats["in_system_mean"] == pytest.approx(expected, rel=LITTLE_REL_TOL), (
            f"{name}/{component}: in_system_mean {stats['in_system_mean']:.6g} vs "
            f"lambda·W = {arrival_rate:.6g} × {mean_sojourn:.6g} = {expected:.6g}")
