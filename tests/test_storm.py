"""Load amplification from the top, per component, and the One Piece retry storm with its fix.

A component's ``visits_per_request`` (``Result.summary()["components"][name]``) is its visits
arriving in the window per request the workloads issued in it: every attempt of a retry and
every copy of a hedge is a visit, so it says how many times each layer is hit per request
sent at the top, whatever the retrying call sites in between do.

Golden numbers (the course's reference sheet, golden §14, G14.1): with i.i.d. attempt failure
p and n attempts, E[attempts] = (1 − pⁿ)/(1 − p) and a call fails with probability pⁿ; 3 nested
layers of 3 attempts against a dead bottom send it 3³ = 27 attempts per call at the top
(9 to the layer above it, 3 to the next). With only the bottom failing (probability p), the
layer above it fails with q₁ = pⁿ, the next with q₂ = q₁ⁿ; the attempts a layer makes per
visit depend on the outcomes of its own attempts only (a stopping time), so by Wald's identity
the visits per top request multiply: V = Π (1 − q_jⁿ)/(1 − q_j) over the layers above
(p = 0.5, n = 3: 1.00196 at the first layer below the top, 1.14286 at the second, 2.0000 at
the bottom). Stochastic checks: 10 independent replications (seeds 1..10), the grand mean
within 3 SE (tests/bands.py, golden §0).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from bands import assert_replications_within_3se
from helpers import scenario, service
from simulator import load_scenario, simulate
from simulator.core.request import OK

ROOT = Path(__file__).resolve().parents[1]
STORM = ROOT / "scenarios" / "onepiece" / "experiments" / "microservices-character-storm.yaml"
FIX = ROOT / "scenarios" / "onepiece" / "experiments" / "microservices-character-storm-fix.yaml"
NO_JITTER = {"kind": "constant", "base": "1ms", "jitter": "none"}
LAYERS = ("svc", "a", "b", "c")


def dead(target: str, p: float = 1.0) -> dict:
    """An errors fault failing each visit of *target* with probability *p*, the whole run."""
    return {"kind": "errors", "target": target, "probability": p, "at": 0, "for": "1h"}


def chain(retry: dict, *, p: float = 1.0, rate: str = "5/s", duration: str = "20s", slos: list | None = None):
    """svc → a → b → c, each call retried per *retry*; c fails each visit with probability *p*."""
    return scenario({"svc": service("1ms", steps=[{"call": "a.op", "retry": retry}]),
                     "a": service("1ms", steps=[{"call": "b.op", "retry": retry}]),
                     "b": service("1ms", steps=[{"call": "c.op", "retry": retry}]),
                     "c": service("1ms", workers=8)}, rate=rate, duration=duration, faults=[dead("c", p)],
                    slos=slos or [])


def visits_per_request(result) -> dict[str, float]:
    return {name: entry["visits_per_request"] for name, entry in result.summary()["components"].items()}


# ----------------------------------------------------------------------------- golden G14.1, from the top


def test_three_layers_of_three_attempts_hit_each_layer_1_3_9_27_times_per_request_golden_g14_1():
    slos = [{"name": "bottom", "component": "c", "metric": "visits_per_request", "max": 27},
            {"name": "bottom, stricter", "component": "c", "metric": "visits_per_request", "max": 26.9}]
    result = simulate(chain({"max_attempts": 3, "backoff": NO_JITTER}, slos=slos), 1)
    summary = result.summary()
    assert summary["requests"]["issued"] > 50 and summary["availability"] == 0
    assert visits_per_request(result) == {"svc": 1.0, "a": 3.0, "b": 9.0, "c": 27.0}  # 3⁰ … 3³
    # an objective reads it like any component metric, over the window or any interval
    assert [(v["value"], v["passed"]) for v in summary["slos"]] == [(27.0, True), (27.0, False)]
    assert result.component_window("c", 0, 10)["visits_per_request"] == 27.0


def test_a_retry_budget_lowers_the_visits_per_request_at_every_layer_exactly():
    """gRPC throttling (max_tokens 10, token_ratio 0.1, golden G14.3) against a dead bottom: each
    site retries while its tokens are above 5. Calls do not overlap (5/s, 1 ms of work), so each
    site's first call makes 3 attempts (tokens 10 → 7), its second 2 (→ 5, the retry refused)
    and every later one 1: each site adds 3 attempts to its calls. So V_a = N + 3, V_b = V_a + 3,
    V_c = V_b + 3 for N requests, against 3N, 9N, 27N without the budget."""
    budget = {"kind": "grpc", "max_tokens": 10, "token_ratio": 0.1}
    result = simulate(chain({"max_attempts": 3, "backoff": NO_JITTER, "budget": budget}), 1)
    summary = result.summary()
    n = summary["requests"]["issued"]
    visits = {name: summary["components"][name]["visits"] for name in LAYERS}
    assert n > 50 and visits == {"svc": n, "a": n + 3, "b": n + 6, "c": n + 9}
    assert visits_per_request(result)["c"] == (n + 9) / n < 27
    assert [summary["components"][name]["retries_refused"] for name in ("svc", "a", "b")] == [n - 1, n + 2, n + 5]


def test_hedged_copies_are_visits_too():
    """A hedge after 1 ms to a callee that works 10 ms always sends its second copy (the loser is
    not cancelled); each copy's retried call hits the dead bottom 3 times: 2 and 6 per request."""
    sc = scenario({"svc": service("1ms", steps=[{"call": "a.op", "hedge": {"delay": "1ms", "max_extra": 1}}]),
                   "a": service("10ms", workers=8, steps=[{"call": "b.op",
                                                           "retry": {"max_attempts": 3, "backoff": NO_JITTER}}]),
                   "b": service("1ms", workers=8)}, rate="5/s", duration="20s", faults=[dead("b")])
    assert visits_per_request(simulate(sc, 1)) == {"svc": 1.0, "a": 2.0, "b": 6.0}


def nested_visits(p: float, n: int, layers: int) -> list[float]:
    """Visits per top request at each layer below the top when only the bottom fails with *p*
    (module docstring: Wald's identity over the layers); the last is the bottom."""
    failures = [p]
    for _ in range(layers - 1):
        failures.append(failures[-1] ** n)
    per_layer = [(1 - q ** n) / (1 - q) for q in reversed(failures)]  # from the top down
    return [math.prod(per_layer[:i + 1]) for i in range(layers)]


def test_nested_visits_closed_form():
    assert nested_visits(1 - 1e-12, 3, 3) == pytest.approx([3, 9, 27], rel=1e-6)
    assert nested_visits(0.5, 3, 3) == pytest.approx([1.001957, 1.142857, 2.0], abs=1e-6)
    assert nested_visits(0.5, 3, 1) == [1.75]  # golden G14.1, p = 0.5, n = 3


def test_visits_per_request_with_a_flaky_bottom_match_the_nested_closed_form(golden_zscores):
    p, n = 0.5, 3
    expected = dict(zip(("a", "b", "c"), nested_visits(p, n, 3)))
    runs = [visits_per_request(simulate(chain({"max_attempts": n, "backoff": NO_JITTER}, p=p, rate="100/s"), seed))
            for seed in range(1, 11)]
    for layer in ("b", "c"):  # a: 1.00196, its spread too small for a meaningful band
        assert_replications_within_3se(golden_zscores, [r[layer] for r in runs], expected[layer],
                                       f"visits per request at {layer}, bottom failing p={p}, n={n} (G14.1 nested)")
    assert all(1 <= r["a"] <= 1.01 for r in runs)


# ----------------------------------------------------------------------------- the One Piece storm and its fix


def test_the_storm_against_a_dead_character_db_sends_it_9_or_27_attempts_per_request(golden_zscores):
    """storm.yaml with character-db answering errors the whole run (a dead bottom): every
    browse or get_character request hits it 3 × 3 = 9 times (gateway, character), every buy or
    sell 3 × 3 × 3 = 27 times (gateway, trading, character). Per request of the mix (traders at
    30/s here: browse 0.35, get 0.25, buy 0.05, sell 0.03; admins at 0.1/s never reach it):
    (0.60 × 9 + 0.08 × 27) × 30 / 30.1 = 7.5349 (golden G14.1 per layer)."""
    sets = ["faults.0={kind: errors, target: character-db, probability: 1, at: 0s, for: 1h}",
            "duration=40s", "warmup=10s", "slos=[]"]
    expected = (0.60 * 9 + 0.08 * 27) * 30 / 30.1
    runs = [simulate(load_scenario(STORM, params=["rate=30"], sets=sets), seed).summary()["components"] for seed in range(1, 11)]
    assert_replications_within_3se(golden_zscores, [c["character-db"]["visits_per_request"] for c in runs],
                                   expected, "storm: character-db visits per request, dead bottom")
    for c in runs:
        assert c["character"]["load_amplification"] == 3.0 and c["trading"]["load_amplification"] == 3.0
        assert c["gateway"]["retry_sites"]["trading.buy_character"]["load_amplification"] == 3.0


def _measures(result) -> dict[str, float]:
    ok, issued = result.status == OK, result.t_issue
    during, after = (issued >= 120) & (issued < 180), (issued >= 190) & (issued < 240)
    base = result.component_window("character-db", 60, 120)["visits_per_request"]
    return {"during": float(ok[during].mean()), "after": float(ok[after].mean()),
            "db_x": result.component_window("character-db", 120, 180)["visits_per_request"] / base}


@pytest.mark.slow
def test_the_storm_multiplies_the_load_at_the_bottom_and_the_fix_caps_it_and_recovers():
    """Over 2 replications of each file (FINDINGS.md, section E has 5): the storm sends
    character-db more than 8 times its pre-brownout load per request and serves fewer requests
    during the brownout than the same design without retries; the fix keeps every retrying site
    at or below 1.05 attempts per call, character-db at or below its pre-brownout load, serves
    more during the brownout than no retries at all, and is back to ≥ 99 % from 10 s after."""
    for seed in (1, 2):
        storm, bare, fix = (simulate(load_scenario(STORM), seed), simulate(load_scenario(STORM, params=["attempts=1"]), seed),
                            simulate(load_scenario(FIX), seed))
        s, b, f = _measures(storm), _measures(bare), _measures(fix)
        assert s["db_x"] > 8 and s["during"] < b["during"] - 0.1, (s, b)
        assert f["db_x"] <= 1 and f["during"] > b["during"] and f["after"] >= 0.99, (f, b)
        components = fix.summary()["components"]
        for name in ("gateway", "trading", "character"):
            assert components[name]["load_amplification"] <= 1.05 and components[name]["retries_refused"] > 0
        assert components["character"]["breaker_opens"] > 0 and components["character"]["breaker_rejected"] > 0
        assert not storm.slos_passed() and fix.slos_passed()
        assert np.isclose(b["db_x"], 1, atol=0.1)  # without retries the brownout adds no load
