"""CQRS projections (``kind: projection``) through the engine, against golden G11.1.

Golden numbers are copied here with their source (simulator/docs/golden.md §11, the course's
reference sheet): golden G11.1 — events at λ = 800/s into one projector at μ = 1000/s
(M/M/1): the lag from commit to read model is Exp(μ − λ), mean 5 ms, p99 ln(100)/200 =
23.03 ms; a read d after its write is stale with P = e^{−(μ−λ)d}: 0.8187, 0.3679, 0.1353,
0.0183 at d = 1, 5, 10, 20 ms. The consistency token's cost follows from the same lag by
memorylessness: a read that finds its write missing waits Exp(μ − λ) more (mean 5 ms, p99
23.03 ms), so a share e^{−(μ−λ)d} of the reads pays it. The closed forms come from
:mod:`simulator.theory`, never from the code under test. Stochastic checks: R independent
replications (seeds 1..R), the grand mean within 3 SE of the exact value (tests/bands.py).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from bands import assert_replications_within_3se
from helpers import located_problems, scenario, service
from simulator import Scenario, load_scenario, simulate
from simulator.components.projection.frames import reads, stale_curve
from simulator.errors import ScenarioError
from simulator.scenario.load import check_scenario
from simulator.scenario.slo import component_metrics
from simulator.theory import projection_lag_mean, projection_lag_quantile, stale_read_probability, token_wait

ROOT = Path(__file__).resolve().parents[1]
LAG_SCENARIO = ROOT / "scenarios" / "events" / "projection-lag.yaml"
EVENT_RATE, PROJECTOR_RATE = 800.0, 1000.0  # golden G11.1
DELAYS = (0.001, 0.005, 0.010, 0.020)  # the scenario's read delays, a quarter of the trades each
EDGES = (0.0, 0.002, 0.007, 0.015, 0.030)  # one bin around each delay
R = 10


def projection(**kw: Any) -> dict[str, Any]:
    return {"kind": "projection", "source": "bus.t", "apply": {"work": "1ms"}, **kw}


def fed(view: dict[str, Any] | None = None, *, group: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    """``web.op`` writes into ``bus.t`` and reads ``view.read``; the group ``g`` feeds ``view``."""
    return {"web": service("0ms", steps=[{"call": "bus.t"}, {"call": "view.read"}], workers=1000),
            "bus": {"kind": "broker", "topics": {"t": {"groups": {"g": {"consumer": "view.apply", **(group or {})}}}},
                    **kw},
            "view": view or projection()}


def view_of(result, name: str = "view") -> dict[str, Any]:
    return result.summary()["components"][name]


# ----------------------------------------------------------------------------- golden G11.1


def test_the_closed_forms_are_golden_g11_1():
    """golden G11.1: mean 5 ms, p99 23.03 ms; P(stale) 0.8187, 0.3679, 0.1353, 0.0183; the token's cost."""
    assert projection_lag_mean(EVENT_RATE, PROJECTOR_RATE) == pytest.approx(0.005)
    assert projection_lag_quantile(0.99, EVENT_RATE, PROJECTOR_RATE) == pytest.approx(0.02303, abs=1e-5)
    for d, p in zip(DELAYS, (0.8187, 0.3679, 0.1353, 0.0183)):
        assert stale_read_probability(d, EVENT_RATE, PROJECTOR_RATE) == pytest.approx(p, abs=1e-4)
    share, mean, overall = token_wait(0.005, EVENT_RATE, PROJECTOR_RATE)
    assert (share, mean) == (pytest.approx(0.3679, abs=1e-4), pytest.approx(0.005))
    assert overall == pytest.approx(0.3679 * 0.005, abs=1e-6)
    with pytest.raises(ValueError):
        token_wait(0.005, 1000, 800)  # the projector cannot keep up: no steady state


@pytest.fixture(scope="module")
def lag_runs():
    """R replications of the projection-lag scenario (λ = 800/s, μ = 1000/s), 240 s each."""
    sc = load_scenario(LAG_SCENARIO, sets=["duration=240s"])
    return [simulate(sc, seed) for seed in range(1, R + 1)]


def test_projection_lag_is_exponential_with_rate_mu_minus_lambda(lag_runs, golden_zscores):
    means = [view_of(r, "trade_view")["projection_lag_mean"] for r in lag_runs]
    p99s = [view_of(r, "trade_view")["projection_lag_p99"] for r in lag_runs]
    assert_replications_within_3se(golden_zscores, means, projection_lag_mean(EVENT_RATE, PROJECTOR_RATE),
                                   "golden G11.1 projection lag mean")
    assert_replications_within_3se(golden_zscores, p99s, projection_lag_quantile(0.99, EVENT_RATE, PROJECTOR_RATE),
                                   "golden G11.1 projection lag p99")


@pytest.mark.parametrize("index, delay", list(enumerate(DELAYS)), ids=[f"{d * 1000:g}ms" for d in DELAYS])
def test_a_read_d_after_its_write_is_stale_with_exp_minus_theta_d(lag_runs, golden_zscores, index, delay):
    ratios = []
    for result in lag_runs:
        curve = stale_curve(result, "trade_view", EDGES)
        assert curve.reads.iloc[index] > 20_000  # every trade reads once, a quarter at each delay
        ratios.append(curve.stale_ratio.iloc[index])
    assert_replications_within_3se(golden_zscores, ratios, stale_read_probability(delay, EVENT_RATE, PROJECTOR_RATE),
                                   f"golden G11.1 P(stale) {delay * 1000:g} ms after the write")


def test_every_stale_read_here_misses_its_own_write(lag_runs):
    """With a million keys, a trade's key almost never has another write nearby: stale reads are own
    stale reads, each its delay behind (the oldest missing write is its own) but for a rare collision,
    and never less behind than the key's last acknowledged write is old."""
    result = lag_runs[0]
    v = view_of(result, "trade_view")
    assert v["counts"]["stale_reads"] == v["counts"]["stale_own_reads"] > 0
    table = reads(result, "trade_view")
    stale = table[table.stale]
    assert stale.own.all() and (stale.behind >= stale.age - 1e-12).all()
    assert (~np.isclose(stale.behind, stale.age)).sum() <= 10  # ~ 65,000 stale reads × 800/s × 20 ms / 10⁶ keys
    nearest = np.abs(table.age.to_numpy()[:, None] - np.array(DELAYS)).min(axis=1)
    assert (nearest < 1e-9).mean() > 0.999


# ----------------------------------------------------------------------------- the consistency token


@pytest.fixture(scope="module")
def token_runs():
    sc = load_scenario(LAG_SCENARIO, params=["consistency_token=true"], sets=["duration=60s"])
    return [simulate(sc, seed) for seed in range(1, R + 1)]


def test_the_token_leaves_no_stale_own_read_and_costs_the_predicted_wait(token_runs, golden_zscores):
    """Every read waits for its own trade: no stale own read; a share mean(e^{−θd}) waits, each
    Exp(θ) more (mean 5 ms, p99 23.03 ms), and the trade's latency grows by that on average."""
    theory = [token_wait(d, EVENT_RATE, PROJECTOR_RATE) for d in DELAYS]
    share = sum(t[0] for t in theory) / len(DELAYS)
    waited, wait_means, wait_p99s, latencies = [], [], [], []
    for result in token_runs:
        v = view_of(result, "trade_view")
        assert v["counts"]["stale_own_reads"] == v["counts"]["stale_reads"] == v["counts"]["token_timeouts"] == 0
        assert v["stale_ratio"] == 0.0
        waited.append(v["counts"]["token_waits"] / v["counts"]["reads"])
        wait_means.append(v["token_wait_mean"])
        wait_p99s.append(v["token_wait_p99"])
        latencies.append(result.summary()["latency_s"]["mean"])
    mean_wait = theory[0][1]
    assert_replications_within_3se(golden_zscores, waited, share, "golden G11.1 token: share of reads that wait")
    assert_replications_within_3se(golden_zscores, wait_means, mean_wait, "golden G11.1 token: mean wait")
    assert_replications_within_3se(golden_zscores, wait_p99s, -math.log(0.01) * mean_wait,
                                   "golden G11.1 token: p99 wait")
    latency = sum(DELAYS) / len(DELAYS) + sum(t[2] for t in theory) / len(DELAYS)  # the delay, then the wait
    assert_replications_within_3se(golden_zscores, latencies, latency, "golden G11.1 token: trade latency")


@pytest.mark.parametrize("when_late", ["error", "serve_stale"])
def test_a_token_read_gives_up_after_max_wait(when_late):
    """A projector at 2 ms per event fed at 100/s misses most 0.5 ms deadlines: late reads fail, or are
    served and counted as stale own reads, one for one."""
    view = projection(apply={"work": "2ms"}, read={"consistency_token": True, "max_wait": "0.5ms",
                                                   "when_late": when_late})
    result = simulate(scenario(fed(view), entry="web", rate="100/s", duration="20s"), 1)
    v = view_of(result)
    late = v["counts"]["token_timeouts"]
    assert late == v["counts"]["token_waits"] > 1000  # the write is always missing: 2 ms > 0.5 ms
    assert v["token_wait_mean"] == pytest.approx(0.0005)
    if when_late == "error":
        assert v["counts"]["reads"] == v["counts"]["token_waits"] - late == 0
        assert result.summary()["availability"] < 0.01
    else:
        assert v["counts"]["stale_own_reads"] == late == v["counts"]["reads"]


# ----------------------------------------------------------------------------- the definitions, exactly


def test_stale_means_a_write_acknowledged_before_the_read_and_not_yet_applied():
    """Writers and readers of 5 keys apart: each read's verdict is recomputed from the applied writes'
    records (acknowledged = applied − lag): stale iff some write of its key was acknowledged before it
    and applied after it; never its own (the readers write nothing)."""
    comps = fed(projection(apply={"work": "exp(4ms)"}))
    comps["reader"] = {"kind": "service", "workers": 100, "operations": {"op": {"steps": [{"call": "view.read"}]}}}
    comps["web"]["operations"]["op"]["steps"] = [{"call": "bus.t"}]
    sc = Scenario.model_validate({
        "name": "two", "duration": "30s", "components": comps,
        "workload": [{"name": "writers", "entry": "web", "operation": "op", "keys": {"dist": "uniform", "n": 5},
                      "arrivals": {"kind": "poisson", "rate": "150/s"}},
                     {"name": "readers", "entry": "reader", "operation": "op", "keys": {"dist": "uniform", "n": 5},
                      "arrivals": {"kind": "poisson", "rate": "100/s"}}]})
    result = simulate(sc, 2)
    applied = result.components["view"].table("projection_lag")
    applied["acked"] = applied.time - applied.lag
    by_key = {k: g for k, g in applied.groupby(applied.key.astype(int))}
    table = reads(result, "view")
    expected = [bool(((by_key[k].acked < t) & (by_key[k].time > t)).any()) if k in by_key else False
                for t, k in zip(table.time, table.key)]
    assert table.stale.tolist() == expected
    assert 0.2 < table.stale.mean() < 0.9 and not table.own.any()
    v = view_of(result)
    assert v["counts"]["stale_own_reads"] == 0 and v["stale_ratio"] == pytest.approx(table.stale.mean(), abs=0.01)


def test_redelivered_events_change_nothing_and_every_acknowledged_write_is_applied_once():
    """A projector replica crashes (at least once: the group replays what it processed since the last
    commit). Each replayed event is a re-application; every acknowledged write is applied once."""
    view = projection(replicas=2, apply={"work": "exp(2ms)"})
    comps = fed(view, group={"consumers": 1, "auto_commit_interval": "5s", "session_timeout": "2s"})
    comps["bus"]["topics"]["t"]["partitions"] = 4
    sc = scenario(comps, entry="web", rate="200/s", duration="40s",
                  workload={"keys": {"dist": "uniform", "n": 1000}},
                  faults=[{"kind": "crash", "target": "view", "replicas": 1, "at": "10s", "for": "5s"}])
    result = simulate(sc, 4)
    v, bus = view_of(result), result.summary()["components"]["bus"]
    assert bus["duplicated"] > 0 and v["counts"]["reapplied"] == bus["duplicated"]  # all replayed at 12 s
    first_applies = len(result.components["view"].table("projection_lag"))  # the whole run, drain included
    assert bus["messages_lost"] == 0 and first_applies == bus["messages_processed"] > 7000
    # what the run's end cut short is still missing from the read model, and nothing else
    assert v["unapplied"] == bus["messages_produced"] - bus["messages_processed"] == bus["in_flight"] + bus["backlog"]


def test_reads_fail_while_no_projector_replica_is_up():
    sc = scenario(fed(), entry="web", rate="100/s", duration="20s",
                  faults=[{"kind": "crash", "target": "view", "at": "5s", "for": "5s"}])
    result = simulate(sc, 1)
    errors = result.summary()["components"]["view"]["errors"]
    assert 400 < errors < 600  # the reads of 5 s at 100/s (applies wait in the broker, they never reach it)


def test_full_and_summary_records_give_the_same_projection_metrics():
    sc = load_scenario(LAG_SCENARIO, params=["consistency_token=true"], sets=["duration=10s"])
    full, summary = simulate(sc, 3, records="full"), simulate(sc, 3, records="summary")
    # the station's sojourn quantiles are estimated when streaming; the projection's own facts are exact
    keep = lambda s: {k: v for k, v in s.items() if k not in ("utilization", "wait_s", "p_wait", "sojourn_s")}  # noqa: E731
    assert keep(view_of(full, "trade_view")) == keep(view_of(summary, "trade_view"))
    assert summary.components["trade_view"].tables["reads"].count == len(reads(full, "trade_view"))


# ----------------------------------------------------------------------------- objectives


def test_objectives_read_the_projection_metrics():
    sc = load_scenario(LAG_SCENARIO)
    names = component_metrics(sc.components["trade_view"], sc)
    for name in ("stale_ratio", "stale_own_ratio", "stale_reads", "reads", "projection_lag_p99",
                 "projection_lag_mean", "staleness_p99", "unapplied"):
        assert name in names
    assert "token_wait_mean" not in names  # only with the token
    token = load_scenario(LAG_SCENARIO, params=["consistency_token=true"])
    assert {"token_wait_mean", "token_wait_p99", "token_waits"} <= set(component_metrics(
        token.components["trade_view"], token))
    data = yaml.safe_load(LAG_SCENARIO.read_text())
    data["duration"] = "10s"
    data["slos"] = [{"name": "stale", "component": "trade_view", "metric": "stale_ratio", "max": 0.01},
                    {"name": "lag", "component": "trade_view", "metric": "projection_lag_p99", "max": 0.05}]
    scenario_, _ = check_scenario("p.yaml", text=yaml.safe_dump(data, sort_keys=False))
    verdicts = {v["name"]: v["passed"] for v in simulate(scenario_).summary()["slos"]}
    assert verdicts == {"stale": False, "lag": True}


def test_an_slo_on_the_token_wait_without_a_token_is_refused_located():
    data = yaml.safe_load(LAG_SCENARIO.read_text())
    data["slos"] = [{"name": "cheap token", "component": "trade_view", "metric": "token_wait_mean", "max": 0.01}]
    with pytest.raises(ScenarioError) as caught:
        check_scenario("p.yaml", text=yaml.safe_dump(data, sort_keys=False))
    assert any(str(p).startswith("p.yaml:") and "token_wait_mean" in str(p) for p in caught.value.problems)


# ----------------------------------------------------------------------------- bad input


def problems_of(components: dict[str, Any]) -> list[str]:
    return located_problems(components, entry="web")


@pytest.mark.parametrize("change, where, message", [
    (lambda c: c["view"].update(source="nobus.t"), "components.view.source", "broker 'nobus' does not exist"),
    (lambda c: c["view"].update(source="web.op"), "components.view.source",
     "'web' is a service (expected a broker"),
    (lambda c: c["view"].update(source="bus.nope"), "components.view.source", "'bus' has no topic 'nope' (its topics: t)"),
    (lambda c: c["bus"]["topics"]["t"]["groups"]["g"].update(consumer="web.op"), "components.view.source",
     "no group of bus.t consumes view.apply"),
    (lambda c: c["bus"]["topics"]["t"]["groups"]["g"].update(consumer="view.nope"),
     "components.bus.topics.t.groups.g.consumer", "'view' has no operation 'nope' (it has: apply, read)"),
    (lambda c: c["web"]["operations"]["op"]["steps"].append({"call": "view.query"}),
     "components.web.operations.op.steps.2.call", "'view' has no operation 'query'"),
    (lambda c: c["view"].update(source="bus"), "components.view.source", "should match pattern"),
    (lambda c: c["view"].update(read={"when_late": "retry"}), "components.view.read.when_late", "serve_stale"),
    (lambda c: c["view"].update(read={"max_wait": "0s"}), "components.view.read.max_wait", "positive"),
    (lambda c: c["view"].update(workers=0), "components.view.workers", "greater than or equal to 1"),
    (lambda c: c["view"].update(apply={"work": "1ms", "steps": []}), "components.view.apply.steps", "unknown field"),
])
def test_bad_input_is_located(change, where, message):
    comps = fed()
    change(comps)
    found = problems_of(comps)
    assert any(where in p and message in p for p in found), found


# ----------------------------------------------------------------------------- the README and the scenario


def test_the_readme_example_is_a_valid_design_that_runs():
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- projection-example -->\s*```yaml\n(.+?)\n```", text, re.S)
    assert match, "README has no projection-example block"
    body = yaml.safe_load(match.group(1))
    doc = {"name": "readme-projection", "duration": "20s", **body,
           "workload": [{"name": "traders", "entry": "trading", "operation": "trade", "keys": "uniform(n=100000)",
                         "arrivals": {"kind": "poisson", "rate": "800/s"}}]}
    scenario_, warnings = check_scenario("readme.yaml", text=yaml.safe_dump(doc, sort_keys=False))
    assert warnings == []
    result = simulate(scenario_)
    v = view_of(result, "trade_view")
    assert v["counts"]["reads"] > 10_000 and v["counts"]["stale_own_reads"] == 0 and v["unapplied"] == 0
    assert [s["passed"] for s in result.summary()["slos"]] == [True, True]


def test_the_scenario_sweeps_the_projector_rate():
    """A faster projector lags less: the lag mean follows 1/(μ − λ) (here within 15 %, one run each)."""
    for rate in (900, 1600):
        sc = load_scenario(LAG_SCENARIO, params=[f"projector_rate={rate}"], sets=["duration=60s"])
        lag = view_of(simulate(sc, 1), "trade_view")["projection_lag_mean"]
        assert lag == pytest.approx(projection_lag_mean(EVENT_RATE, rate), rel=0.15)
