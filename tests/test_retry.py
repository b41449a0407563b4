"""The ``retry`` call policy (``simulator/steps/retry.py``) against golden.md §14.

Golden numbers are copied here with their source (the course's reference sheet, golden §14):
golden G14.1 with i.i.d. attempt failure p and n attempts, success = 1 − pⁿ and E[attempts]
= (1 − pⁿ)/(1 − p) (p = 0.5, n = 3: 0.875 and 1.75; p = 0.1: 0.999 and 1.11), and 3
nested layers of 3 attempts against a dead bottom send it 3³ = 27 attempts per call;
golden G14.2 Envoy's back-off with base 25 ms: retry 1 ∈ [0, 25), 2 ∈ [0, 75), 3 ∈ [0, 175),
≥ 4 ∈ [0, 250) ms, means 12.5 / 37.5 / 87.5 / 125 ms (within 2 % over 10⁵ draws);
golden G14.3 gRPC throttling with maxTokens 4, tokenRatio 1.6: 4 → fail 3 (retry) →
success 4 → fail 3 (retry) → fail 2 (throttled); golden G14.4 Envoy's budget: 50 active → 10
concurrent retries, 5 active → 3.

Deterministic checks are exact; stochastic ones follow golden §0: R independent
replications (seeds 1..R), the grand mean within 3 SE (tests/bands.py).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

from bands import assert_known_se, assert_replications_within_3se
from helpers import located_problems, scenario, service
from simulator import load_scenario, simulate
from simulator.core.request import ERROR, OK
from simulator.scenario.load import check_scenario
from simulator.scenario.slo import component_metrics
from simulator.steps import POLICIES
from simulator.steps.backoff import Backoff
from simulator.steps.budgets import EnvoyBudget, EnvoyState, FinagleBudget, FinagleState, GrpcBudget, GrpcState
from simulator.steps.call import KIND as CALL, CallStep
from simulator.steps.policies import in_order

ROOT = Path(__file__).resolve().parents[1]
STORM = ROOT / "scenarios" / "resilience" / "retry-storm.yaml"
NO_JITTER = {"kind": "constant", "base": "1ms", "jitter": "none"}


def dead(target: str, p: float = 1.0) -> dict:
    """An errors fault failing each visit of *target* with probability *p*, the whole run."""
    return {"kind": "errors", "target": target, "probability": p, "at": 0, "for": "1h"}


def entry(result, component: str) -> dict:
    return result.summary()["components"][component]


# ----------------------------------------------------------------------------- registration


def test_retry_is_a_built_in_policy_at_rank_40_between_timeout_and_fallback():
    assert POLICIES["retry"].rank == 40
    names = [policy.name for policy in in_order()]
    assert names.index("timeout") < names.index("retry") < names.index("fallback")


def test_a_call_without_retry_compiles_to_exactly_the_same_closure():
    """No ``retry`` (nor any policy): the step is the hop's call itself, no wrapper, no extra event."""
    hop = object()
    ctx = SimpleNamespace(call=lambda target: hop)
    assert CALL.compile(CallStep(call="db.op"), ctx) is hop
    assert CALL.metrics(CallStep(call="db.op")) == ()


# ----------------------------------------------------------------------------- golden G14.1


@pytest.mark.parametrize("p, success, attempts", [(0.5, 0.875, 1.75), (0.1, 0.999, 1.11)])
def test_success_and_attempts_with_iid_failures_golden_g14_1(golden_zscores, p, success, attempts):
    n = 3
    assert 1 - p ** n == pytest.approx(success) and (1 - p ** n) / (1 - p) == pytest.approx(attempts, abs=1e-3)
    sc = scenario({"svc": service("1ms", steps=[{"call": "db.op", "retry": {"max_attempts": n, "backoff": NO_JITTER}}]),
                   "db": service("1ms", workers=8)}, rate="200/s", duration="20s", faults=[dead("db", p)])
    availability, amplification = [], []
    for seed in range(1, 11):
        result = simulate(sc, seed)
        availability.append(result.summary()["availability"])
        amplification.append(entry(result, "svc")["load_amplification"])
    if p == 0.5:
        assert_replications_within_3se(golden_zscores, availability, 1 - p ** n, f"G14.1 success p={p} n={n}")
    else:  # 1 − pⁿ = 0.999: about 4 failures per run, a binomial SE over all calls
        calls = 10 * 200 * 20
        estimate = float(np.mean(availability))
        assert_known_se(golden_zscores, estimate, math.sqrt(p ** n * (1 - p ** n) / calls), 1 - p ** n,
                        f"G14.1 success p={p} n={n}", max_rel_se=0.05)
    assert_replications_within_3se(golden_zscores, amplification, (1 - p ** n) / (1 - p),
                                   f"G14.1 E[attempts] p={p} n={n}")


def three_layers(retry: dict, **extra) -> object:
    return scenario({"svc": service("1ms", steps=[{"call": "a.op", "retry": retry}]),
                     "a": service("1ms", steps=[{"call": "b.op", "retry": retry}]),
                     "b": service("1ms", steps=[{"call": "c.op", "retry": retry}]),
                     "c": service("1ms")}, rate="5/s", duration="20s", faults=[dead("c")], **extra)


def test_three_layers_of_three_attempts_send_27x_to_a_dead_bottom_golden_g14_1():
    result = simulate(three_layers({"max_attempts": 3, "backoff": NO_JITTER}), 1)
    summary = result.summary()
    issued = summary["requests"]["issued"]
    assert issued > 50 and summary["availability"] == 0
    assert entry(result, "c")["visits"] == 27 * issued  # 3³ (golden G14.1)
    for layer, calls in (("svc", issued), ("a", 3 * issued), ("b", 9 * issued)):
        e = entry(result, layer)
        assert (e["retry_calls"], e["retry_attempts"], e["retries_sent"], e["retries_refused"]) == \
               (calls, 3 * calls, 2 * calls, 0)
        assert e["load_amplification"] == 3.0
    assert entry(result, "b")["retry_sites"] == {"c.op": {"calls": 9 * issued, "attempts": 27 * issued,
                                                          "retries": 18 * issued, "retries_refused": 0,
                                                          "load_amplification": 3.0}}


def test_retry_on_decides_which_outcomes_are_retried():
    """A dead callee answers ERROR: retried only when ``retry_on`` names error."""
    for retry_on, attempts in ((["timeout"], 1), (["error"], 3), (["rejected", "timeout"], 1)):
        sc = scenario({"svc": service("1ms", steps=[{"call": "db.op", "retry": {
            "max_attempts": 3, "retry_on": retry_on, "backoff": NO_JITTER}}]), "db": service("1ms")},
            rate="5/s", duration="10s", faults=[dead("db")])
        assert entry(simulate(sc, 1), "svc")["load_amplification"] == attempts, retry_on


# ----------------------------------------------------------------------------- golden G14.2


@pytest.mark.parametrize("n, low, high, mean", [(1, 0, 0.025, 0.0125), (2, 0, 0.075, 0.0375),
                                                (3, 0, 0.175, 0.0875), (4, 0, 0.25, 0.125), (7, 0, 0.25, 0.125)])
def test_envoy_back_off_ranges_and_means_golden_g14_2(n, low, high, mean):
    backoff = Backoff(base=0.025)  # Envoy's defaults: cap = 10 × base = 250 ms, full jitter
    assert backoff.ceiling(n) == pytest.approx(high)
    rng = np.random.default_rng(n)
    draws = np.array([backoff.wait(n, 0.025, u) for u in rng.random(100_000)])
    assert draws.min() >= low and draws.max() < high  # never outside
    assert abs(draws.mean() - mean) <= 0.02 * mean


def test_equal_none_constant_and_decorrelated_jitter_stay_in_their_ranges():
    rng = np.random.default_rng(5)
    u = rng.random(100_000)
    equal = Backoff(base=0.025, jitter="equal")
    draws = np.array([equal.wait(3, 0, x) for x in u])  # v = 175 ms: [v/2, v), mean 3v/4
    assert draws.min() >= 0.0875 and draws.max() < 0.175 and abs(draws.mean() - 0.13125) <= 0.02 * 0.13125
    assert Backoff(base=0.025, jitter="none").wait(3, 0, 0.9) == pytest.approx(0.175)
    constant = Backoff(kind="constant", base=0.1, jitter="full")
    assert {constant.ceiling(n) for n in range(1, 10)} == {0.1}
    decorrelated = Backoff(base=0.025, cap=0.25, jitter="decorrelated")  # min(cap, U[base, 3·previous))
    previous = 0.025
    for x in u[:1000]:
        wait = decorrelated.wait(2, previous, x)
        assert 0.025 <= wait <= min(0.25, 3 * previous)
        previous = wait


def test_back_off_through_a_run_golden_g14_2(golden_zscores):
    """Two attempts against a dead callee, no other delay: each request lasts its one back-off,
    U[0, 25 ms) (golden G14.2's retry 1), its mean 12.5 ms within 3 SE of the uniform's."""
    sc = scenario({"svc": service(0, workers=100, steps=[{"call": "db.op", "retry": {"max_attempts": 2}}]),
                   "db": service(0)},
                  rate="100/s", duration="30s", faults=[dead("db")])
    result = simulate(sc, 3, records="full")
    latency = result.t_end - result.t_issue
    assert (result.status == ERROR).all() and latency.size > 2500
    assert latency.min() >= 0 and latency.max() < 0.025
    assert_known_se(golden_zscores, float(latency.mean()), 0.025 / math.sqrt(12 * latency.size), 0.0125,
                    "G14.2 retry 1 back-off mean through a run")


# ----------------------------------------------------------------------------- golden G14.3 and G14.4


def test_grpc_retry_throttling_vector_golden_g14_3():
    state = GrpcState(GrpcBudget(kind="grpc", max_tokens=4, token_ratio=1.6))
    assert state.tokens == 4
    steps = []
    for failed in (True, False, True, True):
        state.attempted(failed, not failed)
        steps.append((state.tokens, state.allow(0.0)))
    assert steps == [(3, True), (4, True), (3, True), (2, False)]  # 2 is not > 2: throttled


def test_grpc_throttling_in_a_run_refuses_every_retry_after_the_second_failure():
    """Golden G14.3 through the policy: a dead callee, 4 tokens. Call 1: fail (3, retry), fail (2,
    throttled); every later call's first failure finds the count at or below 2: no retry."""
    sc = scenario({"svc": service("1ms", steps=[{"call": "db.op", "retry": {
        "max_attempts": 3, "backoff": NO_JITTER, "budget": {"kind": "grpc", "max_tokens": 4, "token_ratio": 1.6}}}]),
        "db": service("1ms")}, rate="5/s", duration="20s", faults=[dead("db")])
    e = entry(simulate(sc, 1), "svc")
    assert e["retries_sent"] == 1 and e["retries_refused"] == e["retry_calls"] > 50


def test_envoy_retry_budget_golden_g14_4():
    budget = EnvoyBudget(kind="envoy")  # budget_percent 20, min_retry_concurrency 3
    assert (budget.limit(50), budget.limit(5)) == (10, 3)
    state = EnvoyState(budget)
    for _ in range(50):
        state.start(0.0)
    assert [state.allow(0.0) for _ in range(11)] == [True] * 10 + [False]
    state.retried()  # one retry's attempt ended: its place is free again
    assert state.allow(0.0) and not state.allow(0.0)
    for _ in range(45):
        state.end()
    state.retrying = 0
    assert [state.allow(0.0) for _ in range(4)] == [True] * 3 + [False]


def test_finagle_budget_deposits_a_share_per_call_and_forgets_after_ttl():
    state = FinagleState(FinagleBudget(kind="finagle", percent=20, ttl=10, min_per_second=0))
    for _ in range(10):
        state.start(0.0)
    assert [state.allow(1.0) for _ in range(3)] == [True, True, False]  # 20 % of 10 calls
    assert state.balance(10.0) == -2  # the deposits of t = 0 have left the window, the retries of t = 1 not yet
    assert state.balance(11.0) == 0
    reserve = FinagleState(FinagleBudget(kind="finagle", percent=0, ttl=2, min_per_second=5))
    assert sum(reserve.allow(0.0) for _ in range(20)) == 10  # min_per_second × ttl, with no calls


def test_a_budget_of_nothing_refuses_every_retry():
    sc = scenario({"svc": service("1ms", steps=[{"call": "db.op", "retry": {
        "max_attempts": 3, "budget": {"kind": "envoy", "percent": 0, "min_concurrent": 0}}}]),
        "db": service("1ms")}, rate="5/s", duration="20s", faults=[dead("db")])
    e = entry(simulate(sc, 1), "svc")
    assert e["retries_sent"] == 0 and e["retries_refused"] == e["retry_calls"] > 50 and e["load_amplification"] == 1


# ----------------------------------------------------------------------------- the deadline


def test_no_attempt_starts_at_or_after_the_deadline():
    """Attempts at 0, 100, 200, 300 ms (a constant 100 ms back-off); the next would start at 400 ms,
    after the 350 ms deadline: 4 attempts, then the call ends with the last one's error."""
    sc = scenario({"svc": service(0, workers=100, steps=[{"call": "db.op", "retry": {
        "max_attempts": 10, "deadline": "350ms", "backoff": {"kind": "constant", "base": "100ms", "jitter": "none"}}}]),
        "db": service(0)}, rate="5/s", duration="20s", faults=[dead("db")])
    result = simulate(sc, 1, records="full")
    e = entry(result, "svc")
    assert e["retry_calls"] == result.summary()["requests"]["issued"] and e["retry_attempts"] == 4 * e["retry_calls"]
    assert np.allclose(result.t_end - result.t_issue, 0.3) and (result.status == ERROR).all()


def test_an_attempt_in_flight_at_the_deadline_fails_the_call_with_timeout_there():
    """A callee taking 1 s, a 350 ms deadline: the call ends at 350 ms, after one attempt (the
    operation whose call failed ends with ERROR)."""
    retry = {"max_attempts": 3, "deadline": "350ms"}
    sc = scenario({"svc": service(0, workers=100, steps=[{"call": "db.op", "retry": retry}]),
                   "db": service("1s", workers=100)}, rate="5/s", duration="20s")
    result = simulate(sc, 1, records="full")
    assert np.allclose(result.t_end - result.t_issue, 0.35) and (result.status == ERROR).all()
    assert entry(result, "svc")["load_amplification"] == 1


def test_per_try_timeout_inside_the_deadline():
    """db takes 200 ms, each try is timed at 100 ms, 50 ms between tries, deadline 400 ms: tries start at
    0, 150 and 300 ms (the fourth would start at 450 ms); the third is cut by the deadline at 400 ms."""
    sc = scenario({"svc": service(0, workers=100, steps=[{"call": "db.op", "timeout": "100ms", "retry": {
        "max_attempts": 5, "deadline": "400ms", "backoff": {"kind": "constant", "base": "50ms", "jitter": "none"}}}]),
        "db": service("200ms", workers=1000)}, rate="5/s", duration="20s")
    result = simulate(sc, 1, records="full")
    e = entry(result, "svc")
    assert e["retry_calls"] == result.summary()["requests"]["issued"] and e["retry_attempts"] == 3 * e["retry_calls"]
    assert np.allclose(result.t_end - result.t_issue, 0.4) and (result.status == ERROR).all()


def three_at_once(deadline: str, *, drop_expired: bool = True, timeout: str | None = None):
    """One request per second (a closed-loop user) makes three retried calls at once to ``db``
    (one worker, 30 ms of work): they are served at 0–30, 30–60 and 60–90 ms after the request."""
    call = {"call": "db.op", "retry": {"max_attempts": 1, "deadline": deadline}}
    if timeout is not None:
        call["timeout"] = timeout
    return scenario({"svc": service(0, workers=10, steps=[{"parallel": [dict(call), dict(call), dict(call)]}]),
                     "db": service("30ms", drop_expired=drop_expired)},
                    duration="60s", workload={"arrivals": {"kind": "closed", "users": 1, "think": "1s"}})


@pytest.mark.parametrize("deadline, expired", [("50ms", 1), ("100ms", 0)])
def test_a_retry_deadline_narrows_the_deadline_the_callee_sees(deadline, expired):
    """With deadline propagation (db drops expired work) an attempt carries the call's start +
    ``deadline``: the third call, which a worker takes at 60 ms, is dropped as ``expired`` when
    the deadline is 50 ms (its caller left at 50 ms), served when it is 100 ms."""
    result = simulate(three_at_once(deadline), 1)
    s = result.summary()
    calls = s["requests"]["issued"]
    db = s["components"]["db"]
    assert db["counts"]["expired"] == expired * calls
    assert db["served"] == (3 - expired) * calls and db["rejected"] == expired * calls
    assert db["utilization"] == pytest.approx((3 - expired) * 0.030 * calls / 60, abs=1e-9)


def test_a_per_try_timeout_narrows_the_retry_deadline_further():
    """A 40-ms per-try timeout inside a 100-ms retry deadline: each attempt carries start + 40 ms.
    The second call, taken at 30 ms, is served; the third, taken at 60 ms, is dropped: one expired
    per request."""
    s = simulate(three_at_once("100ms", timeout="40ms"), 1).summary()
    assert s["components"]["db"]["counts"]["expired"] == s["requests"]["issued"]


def test_a_retry_deadline_makes_no_deadline_where_none_is_read():
    """No component drops expired work: requests carry no deadline and the third call is served
    after its caller left (its work goes on, as before)."""
    result = simulate(three_at_once("50ms", drop_expired=False), 1)
    s = result.summary()
    assert s["components"]["db"]["served"] == 3 * s["requests"]["issued"]
    assert "expired" not in (s["components"]["db"].get("counts") or {})


# ----------------------------------------------------------------------------- metrics and SLOs


def test_the_retry_counts_are_declared_and_an_slo_reads_the_amplification():
    sc = three_layers({"max_attempts": 3, "backoff": NO_JITTER},
                      slos=[{"name": "no storm", "component": "svc", "metric": "load_amplification", "max": 1.5}])
    assert {"retry_calls", "retries_refused", "load_amplification"} <= set(component_metrics(sc.components["svc"], sc))
    slos = simulate(sc, 1).summary()["slos"]
    assert len(slos) == 1 and slos[0]["passed"] is False and slos[0]["value"] == 3.0


def test_calls_of_one_site_share_its_budget_and_must_declare_the_same():
    budget = {"kind": "envoy"}
    sc = scenario({"svc": {"kind": "service", "operations": {
        "op": {"work": "1ms", "steps": [{"call": "db.op", "retry": {"budget": budget}}]},
        "other": {"work": "1ms", "steps": [{"call": "db.op", "retry": {"budget": {"kind": "grpc"}}}]}}},
        "db": service()})
    with pytest.raises(ValueError, match="share one budget"):
        simulate(sc, 1)


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("retry, where, says", [
    ({"max_attempts": 0}, "retry.max_attempts", "greater than or equal to 1"),
    ({"backoff": {"jitter": "fuzzy"}}, "retry.backoff.jitter", "unknown jitter 'fuzzy'"),
    ({"backoff": {"base": "300ms", "cap": "250ms"}}, "retry.backoff", "cap (250ms) is below base (300ms)"),
    ({"budget": {"kind": "envoy", "max_tokens": 4}}, "retry.budget", "'max_tokens' is a knob of the grpc budget"),
    ({"budget": {"kind": "finagle", "min_concurrent": 4}}, "retry.budget", "knob of the envoy budget"),
    ({"budget": {"kind": "hystrix"}}, "retry.budget.kind", "valid kinds: envoy, grpc, finagle"),
    ({"retry_on": ["5xx"]}, "retry.retry_on.0", "'timeout', 'error' or 'rejected'"),
    ({"backoff": {"kind": "constant", "jitter": "decorrelated"}}, "retry.backoff", "needs kind exponential"),
    ({"deadline": 5}, "retry.deadline", "unit"),
])
def test_bad_retry_input_is_located(retry, where, says):
    found = located_problems({"svc": service(steps=[{"call": "db.op", "retry": retry}]), "db": service()}, entry="svc")
    assert len(found) == 1 and f"steps.0.{where}:" in found[0] and says in found[0], found


# ----------------------------------------------------------------------------- the scenario and the README


def test_the_retry_storm_stays_failed_and_a_budget_recovers():
    """scenarios/resilience/retry-storm.yaml: without a budget the db is sent several attempts per
    request and requests issued after the slowdown still fail; with Envoy budgets they succeed."""
    budgets = [f"components.{c}.operations.get.steps.0.retry.budget={{kind: envoy}}" for c in ("api", "character")]
    storm, fixed = simulate(load_scenario(STORM)), simulate(load_scenario(STORM, sets=budgets))
    after = lambda r: float((r.status[r.t_issue >= 120] == OK).mean())  # noqa: E731
    issued = storm.summary()["requests"]["issued"]
    assert entry(storm, "db")["visits"] > 3 * issued and entry(storm, "api")["load_amplification"] > 2
    assert entry(fixed, "db")["visits"] < 1.2 * issued and entry(fixed, "api")["retries_refused"] > 0
    assert after(storm) < 0.05 and after(fixed) > 0.99


def test_the_readme_example_is_a_valid_design_that_runs():
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- retry-example -->\s*```yaml\n(.+?)\n```", text, re.S)
    assert match, "README has no retry-example block"
    body = yaml.safe_load(match.group(1))
    doc = {"name": "readme-retry", "duration": "30s", **body,
           "workload": [{"name": "users", "entry": "api", "operation": "get",
                         "arrivals": {"kind": "poisson", "rate": "50/s"}}],
           "faults": [dead("character", 0.5)]}
    scenario_, warnings = check_scenario("readme.yaml", text=yaml.safe_dump(doc, sort_keys=False))
    assert warnings == []
    e = entry(simulate(scenario_), "api")
    assert e["retry_sites"]["character.get"]["calls"] > 1000 and 1.2 < e["load_amplification"] <= 3
