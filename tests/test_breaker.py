"""Circuit breakers (``circuit_breaker:``) and bulkheads (``bulkhead:``) on calls, against golden §13 and G5.3.

Golden numbers are copied here with their source (golden.md, the course's reference sheet):

* golden G13.1 — resilience4j's count-based window (size 10, minimum 10, threshold 50 %):
  9 failures in 9 calls stay closed; S F S F S F S F S F opens at the 10th; 4 failures in 10
  stay closed and the 11th outcome re-evaluates the last 10; open rejects until the wait is
  over, then 10 trial calls (the 11th rejected) reopen it at >= 50 % failures, else close it.
  Exact: the state machine is driven by scripted outcomes on a clock of our own, and once
  through a run with an errors fault on the callee.
* golden G13.2 — long-run pass-through to a dead backend: k / (k + λW); λ = 100/s:
  resilience4j defaults (k = 10, W = 60 s) 0.166 %, Hystrix-like (k = 1, W = 5 s) 0.200 %,
  exact up to window edges (±1 trial per cycle).
* golden G13.3 — false trips under a healthy-but-noisy backend: one evaluation of a full
  window of N i.i.d. calls failing with probability f opens with P(Bin(N, f) >= N/2):
  N = 10: f = 0.40 → 0.3669, f = 0.45 → 0.4956 (through runs); N = 100 (resilience4j's
  default window): f = 0.40 → 0.0271, f = 0.45 → 0.1827 (the state machine on its own clock).
* golden G5.3 — a semaphore bulkhead without a waiting room rejects Erlang B, B(c, λE[S]),
  whatever the service-time distribution: (c, a) = (5, 3) → 0.110054, (10, 9) → 0.167963.

Closed forms are computed here (math.comb) or taken from :mod:`simulator.theory`, never from
the code under test. Stochastic checks: independent replications or independent trials,
3-SE bands (tests/bands.py).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bands import assert_binomial_within_3se, assert_replications_within_3se
from helpers import located_problems, scenario, service
from simulator import load_scenario, simulate
from simulator.scenario.load import check_scenario
from simulator.steps.breaker import CLOSED, HALF_OPEN, OPEN, BreakerMachine, CircuitBreaker
from simulator.theory import erlang_b

ROOT = Path(__file__).resolve().parents[1]
S, F = False, True  # an outcome: failed?


# ----------------------------------------------------------------------------- G13.1, the state machine


class Clock:
    """A clock of our own and the breaker's timers on it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.timers: list[tuple[float, Any]] = []
        self.changes: list[tuple[float, int, int]] = []

    def schedule(self, delay, fn) -> None:
        self.timers.append((self.now + delay, fn))

    def advance(self, to: float) -> None:
        self.now = to
        due = [t for t in self.timers if t[0] <= to]
        self.timers = [t for t in self.timers if t[0] > to]
        for at, fn in due:
            fn(at)


def machine(clock: Clock | None = None, **knobs: Any) -> BreakerMachine:
    """The golden G13.1 breaker (window 10, minimum 10, threshold 50 %, wait 60 s, 10 trials) with *knobs*."""
    clock = clock or Clock()
    config = CircuitBreaker(**{"sliding_window_size": 10, "minimum_number_of_calls": 10, **knobs})
    return BreakerMachine(config, lambda now, a, b: clock.changes.append((now, a, b)), clock.schedule)


def feed(breaker: BreakerMachine, outcomes, now: float = 0.0, slow: bool = False) -> list[int]:
    """Run one call per outcome (each must be let through); the state after each."""
    states = []
    for failed in outcomes:
        ticket = breaker.acquire(now)
        assert ticket is not None, f"call rejected in state {breaker.state}"
        breaker.record(ticket, failed, slow, now)
        states.append(breaker.state)
    return states


def test_nine_failures_in_nine_calls_stay_closed():
    assert feed(machine(), [F] * 9) == [CLOSED] * 9


def test_half_failures_in_a_full_window_open_at_the_tenth_call():
    assert feed(machine(), [S, F] * 5) == [CLOSED] * 9 + [OPEN]


def test_the_window_slides_and_reevaluates_the_last_ten():
    breaker = machine()
    assert feed(breaker, [F, S, S, S, S, S, F, F, F, S]) == [CLOSED] * 10  # 4 of 10
    assert feed(breaker, [F]) == [CLOSED]  # the first F left: F S S S S S F F F S F → still 4 of the last 10
    assert feed(breaker, [F]) == [OPEN]  # S S S S F F F S F F → 5 of 10


@pytest.mark.parametrize("trial_failures, after", [(5, OPEN), (4, CLOSED), (10, OPEN), (0, CLOSED)])
def test_open_rejects_until_the_wait_then_ten_trials_decide(trial_failures, after):
    clock = Clock()
    breaker = machine(clock)
    feed(breaker, [F] * 10)
    assert breaker.state == OPEN
    assert breaker.acquire(30.0) is None and breaker.acquire(59.999) is None  # rejected while open
    tickets = [breaker.acquire(60.0) for _ in range(10)]  # the first call after the wait: half-open
    assert breaker.state == HALF_OPEN and None not in tickets
    assert breaker.acquire(60.0) is None  # call 11 during half-open is rejected
    outcomes = [F] * trial_failures + [S] * (10 - trial_failures)
    for ticket, failed in zip(tickets, outcomes):
        assert breaker.state == HALF_OPEN
        breaker.record(ticket, failed, False, 60.5)
    assert breaker.state == after
    assert [(a, b) for _, a, b in clock.changes] == [(CLOSED, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, after)]
    if after == CLOSED:  # closed again with an empty window: 9 failures do not reopen it
        assert feed(breaker, [F] * 9, now=61.0) == [CLOSED] * 9


def test_without_automatic_transition_the_breaker_stays_open_until_a_call_comes():
    clock = Clock()
    breaker = machine(clock)
    feed(breaker, [F] * 10)
    clock.advance(500.0)
    assert breaker.state == OPEN and clock.timers == []


def test_automatic_transition_moves_to_half_open_at_the_end_of_the_wait():
    clock = Clock()
    breaker = machine(clock, automatic_transition_from_open_to_half_open=True, wait_duration_in_open_state="5s")
    clock.now = 2.0
    feed(breaker, [F] * 10, now=2.0)
    clock.advance(6.999)
    assert breaker.state == OPEN
    clock.advance(7.0)
    assert breaker.state == HALF_OPEN and clock.changes[-1] == (7.0, OPEN, HALF_OPEN)


def test_an_outcome_from_before_the_last_change_is_not_counted():
    breaker = machine(permitted_number_of_calls_in_half_open_state=1)
    late = breaker.acquire(0.0)  # let through while closed, ends after the breaker opened
    feed(breaker, [F] * 10)
    ticket = breaker.acquire(60.0)
    assert breaker.state == HALF_OPEN
    breaker.record(late, True, False, 60.1)  # dropped: half-open judges its own trials
    assert breaker.state == HALF_OPEN
    breaker.record(ticket, False, False, 60.2)
    assert breaker.state == CLOSED


def test_slow_calls_open_the_breaker_at_the_slow_call_rate():
    breaker = machine(slow_call_rate_threshold=50, slow_call_duration_threshold="1s")
    assert feed(breaker, [S] * 4, slow=True) + feed(breaker, [S] * 5) == [CLOSED] * 9
    assert feed(breaker, [S], slow=True) == [OPEN]  # 5 slow successes in 10


def test_a_time_based_window_forgets_calls_older_than_its_size():
    breaker = machine(sliding_window_type="time_based", sliding_window_size=10, minimum_number_of_calls=4)
    feed(breaker, [F, F, F], now=0.0)
    assert feed(breaker, [S, S, S, S], now=10.5) == [CLOSED] * 4  # the failures at 0 s left the window
    assert feed(breaker, [F] * 4, now=11.0) == [CLOSED] * 3 + [OPEN]  # 4 of the 8 calls of the last 10 s


def test_a_count_window_smaller_than_the_minimum_decides_when_full():
    """resilience4j clamps minimumNumberOfCalls to a count window's size."""
    assert feed(machine(sliding_window_size=5, minimum_number_of_calls=100), [F] * 5) == [CLOSED] * 4 + [OPEN]


# ----------------------------------------------------------------------------- G13.1, through a run

BREAKER = {"sliding_window_size": 10, "minimum_number_of_calls": 10, "wait_duration_in_open_state": "5s",
           "permitted_number_of_calls_in_half_open_state": 2}


def guarded(breaker: dict | None = None, *, rate: Any = "100/s", duration: Any = "60s", warmup: Any = 0,
            faults: list | None = None, step: dict | None = None, **kw: Any):
    """``svc.op`` calls ``db.op`` (5 ms, never queueing) through a breaker."""
    call = {"call": "db.op", **({"circuit_breaker": breaker} if breaker is not None else {}), **(step or {})}
    comps = {"svc": service(work="0ms", steps=[call], workers=10_000), "db": service(work="5ms", workers=10_000)}
    return scenario(comps, rate=rate, duration=duration, warmup=warmup, faults=faults or [], **kw)


def states(result, component: str = "svc"):
    frame = result.components[component].table("breaker_states")
    return [(float(t), int(a), int(b)) for t, a, b in zip(frame["time"], frame["from_state"], frame["to_state"])]


def test_an_errors_fault_opens_the_breaker_which_probes_and_closes_after_it():
    faults = [{"kind": "errors", "target": "db", "probability": 1.0, "at": "10s", "for": "20s"}]
    result = simulate(guarded(BREAKER, faults=faults), seed=4)
    changes = states(result)
    # closed → open at the 10th failure, then every 5 s a half-open of 2 failed trials, until the fault ends
    assert [(a, b) for _, a, b in changes] == [(CLOSED, OPEN)] + [(OPEN, HALF_OPEN), (HALF_OPEN, OPEN)] * 3 \
        + [(OPEN, HALF_OPEN), (HALF_OPEN, CLOSED)]
    opened = [t for t, _, b in changes if b == OPEN]
    probed = [t for t, _, b in changes if b == HALF_OPEN]
    assert 10.0 < opened[0] < 10.5  # ten calls at 100/s, each failing in 5 ms
    for open_at, probe_at in zip(opened, probed):
        assert 5.0 <= probe_at - open_at < 5.2  # the first call after the wait (Poisson gaps of 10 ms)
    assert 30.0 <= changes[-1][0] < 30.2  # the first probe after the fault passes both trials
    entry = result.summary()["components"]["svc"]
    block = entry["breakers"]["svc->db.op"]
    assert block["opens"] == entry["breaker_opens"] == 4
    # calls let through during the fault: the 10 that opened it and 2 trials per probe
    db = result.summary()["components"]["db"]
    assert block["permitted"] + block["rejected"] == entry["visits"]
    assert block["permitted"] == db["visits"]
    assert entry["breaker_rejected"] == block["rejected"] > 0
    seconds = block["state_seconds"]
    assert seconds["open"] == pytest.approx(sum(p - o for o, p in zip(opened, probed)))
    assert sum(seconds.values()) == pytest.approx(60.0)


def test_full_and_summary_records_give_the_same_breaker_numbers():
    faults = [{"kind": "errors", "target": "db", "probability": 1.0, "at": "10s", "for": "20s"}]
    full = simulate(guarded(BREAKER, faults=faults, records="full"), seed=2).summary()["components"]["svc"]
    summary = simulate(guarded(BREAKER, faults=faults, records="summary"), seed=2).summary()["components"]["svc"]
    assert full["breakers"] == summary["breakers"] and full["breaker_rejected"] == summary["breaker_rejected"]


def test_a_timeout_is_a_failure_and_an_open_breaker_never_reaches_the_callee():
    """A dependency slowed 1000×: each attempt times out (timeout, rank 20, inside the breaker)."""
    faults = [{"kind": "slowdown", "target": "db", "factor": 1000, "at": "0s", "for": "1h"}]
    result = simulate(guarded(BREAKER, faults=faults, step={"timeout": "100ms"}, duration="20s"), seed=1)
    changes = states(result)
    assert changes[0][1:] == (CLOSED, OPEN) and 0.1 < changes[0][0] < 0.5
    half_opens = sum(1 for _, _, b in changes if b == HALF_OPEN)
    assert half_opens >= 3 and all(b != CLOSED for _, _, b in changes)  # the trials time out too
    entry, db = result.summary()["components"]["svc"], result.summary()["components"]["db"]
    # the calls issued before it opened (the 10 whose timeouts opened it and those issued while they
    # were timing out) and 2 trials per half-open reach the callee; nothing else does
    before = int((result.t_issue < changes[0][0]).sum())
    assert before >= 10 + 1
    assert db["visits"] == entry["breakers"]["svc->db.op"]["permitted"] == before + 2 * half_opens
    assert entry["breaker_rejected"] == entry["visits"] - db["visits"]


def test_one_breaker_per_call_site_shared_by_the_operations_of_a_component():
    call = {"call": "db.op", "circuit_breaker": BREAKER}
    other = {"call": "db.op", "circuit_breaker": {**BREAKER, "sliding_window_size": 20}}
    comps = {"svc": {"kind": "service", "operations": {"op": {"work": "0ms", "steps": [call]},
                                                       "again": {"work": "0ms", "steps": [call]},
                                                       "other": {"work": "0ms", "steps": [other]}}},
             "db": service(work="1ms", workers=100)}
    result = simulate(scenario(comps, duration="5s"), seed=1)
    assert list(result.summary()["components"]["svc"]["breakers"]) == ["svc->db.op", "svc->db.op#2"]


# ----------------------------------------------------------------------------- G13.2, pass-through


@pytest.mark.parametrize("name, knobs, k, wait, warmup, cycles", [
    ("resilience4j defaults", {}, 10, 60.0, 30.0, 20),
    ("Hystrix-like", {"sliding_window_size": 20, "minimum_number_of_calls": 20, "wait_duration_in_open_state": "5s",
                      "permitted_number_of_calls_in_half_open_state": 1}, 1, 5.0, 2.5, 40),
])
def test_pass_through_to_a_dead_backend_is_k_over_k_plus_lambda_w(name, knobs, k, wait, warmup, cycles):
    rate = 100.0
    golden = {10: 0.00166, 1: 0.00200}[k]  # golden G13.2 (percent / 100, rounded)
    exact = k / (k + rate * wait)
    assert exact == pytest.approx(golden, abs=0.000005)
    faults = [{"kind": "errors", "target": "db", "probability": 1.0, "at": "0s", "for": "10h"}]
    result = simulate(guarded(knobs, rate=rate, duration=warmup + cycles * wait, warmup=warmup, faults=faults),
                      seed=7)
    block = result.summary()["components"]["svc"]["breakers"]["svc->db.op"]
    passed = block["permitted"] / (block["permitted"] + block["rejected"])
    low, high = (k - 1) / (k - 1 + rate * wait), (k + 1) / (k + 1 + rate * wait)  # ±1 trial per cycle
    assert low <= passed <= high, f"{name}: {passed:.5f} not in [{low:.5f}, {high:.5f}] (exact {exact:.5f})"
    assert block["permitted"] == pytest.approx(k * cycles, abs=cycles)


# ----------------------------------------------------------------------------- G13.3, false trips


@pytest.mark.parametrize("f, golden", [(0.40, 0.3669), (0.45, 0.4956)])
def test_false_trips_of_a_full_window_of_ten(golden_zscores, f, golden):
    """Each half-open verdict is one evaluation of a full window of 10 fresh i.i.d. calls: it reopens
    with P(Bin(10, f) >= 5). Every verdict of the run is an independent trial."""
    exact = sum(math.comb(10, j) * f ** j * (1 - f) ** (10 - j) for j in range(5, 11))
    assert exact == pytest.approx(golden, abs=0.00005)
    knobs = {"sliding_window_size": 10, "minimum_number_of_calls": 10, "wait_duration_in_open_state": "10ms",
             "permitted_number_of_calls_in_half_open_state": 10}
    faults = [{"kind": "errors", "target": "db", "probability": f, "at": "0s", "for": "10h"}]
    result = simulate(guarded(knobs, rate="1000/s", duration="60s", faults=faults), seed=11)
    verdicts = [b for _, a, b in states(result) if a == HALF_OPEN]
    assert len(verdicts) > 800
    assert_binomial_within_3se(golden_zscores, verdicts.count(OPEN), len(verdicts), exact,
                               f"G13.3 false trip N=10 f={f}")


@pytest.mark.parametrize("f, golden, verdicts", [(0.40, 0.0271, 16_000), (0.45, 0.1827, 4_000)])
def test_false_trips_of_a_full_window_of_a_hundred(golden_zscores, f, golden, verdicts):
    """resilience4j's default window (N = 100, 100 trials in half-open) is far steadier than N = 10:
    each half-open verdict over 100 fresh i.i.d. outcomes reopens with P(Bin(100, f) >= 50). The
    machine runs on a clock of our own (a run would need ~10^6 requests for a 5 % band at 0.027)."""
    import random

    exact = sum(math.comb(100, j) * f ** j * (1 - f) ** (100 - j) for j in range(50, 101))
    assert exact == pytest.approx(golden, abs=0.00005)
    clock = Clock()
    breaker = machine(clock, sliding_window_size=100, minimum_number_of_calls=100,
                      permitted_number_of_calls_in_half_open_state=100, wait_duration_in_open_state=1.0)
    outcomes, reopened = random.Random(13), 0
    for _ in range(verdicts):
        if breaker.state == CLOSED:  # a closed breaker with a fresh window: 100 failures open it
            assert feed(breaker, [F] * 100, now=clock.now)[-1] == OPEN
        clock.advance(clock.now + 1.0)
        tickets = [breaker.acquire(clock.now) for _ in range(100)]
        assert breaker.state == HALF_OPEN and None not in tickets
        for ticket in tickets:
            breaker.record(ticket, outcomes.random() < f, False, clock.now)
        assert breaker.state in (OPEN, CLOSED)
        reopened += breaker.state == OPEN
    assert_binomial_within_3se(golden_zscores, reopened, verdicts, exact, f"G13.3 false trip N=100 f={f}")


# ----------------------------------------------------------------------------- bulkheads, G5.3


def bulkheaded(bulkhead: dict, work: str, rate: float, duration: str = "20s", warmup: str = "2s"):
    call = {"call": "db.op", "bulkhead": bulkhead}
    comps = {"svc": service(work="0ms", steps=[call], workers=10_000), "db": service(work=work, workers=10_000)}
    return scenario(comps, rate=f"{rate}/s", duration=duration, warmup=warmup)


def rejected_share(result) -> float:
    return result.summary()["components"]["svc"]["bulkheads"]["svc->db.op"]["rejected_ratio"]


@pytest.mark.parametrize("c, a, golden", [(5, 3.0, 0.110054), (10, 9.0, 0.167963)])
@pytest.mark.parametrize("work", ["10ms", "exponential(mean=10ms)"])
def test_a_bulkhead_without_a_waiting_room_rejects_erlang_b(golden_zscores, c, a, golden, work):
    """Insensitivity: deterministic and exponential call durations of the same mean reject alike."""
    assert erlang_b(c, a) == pytest.approx(golden, abs=5e-7)
    model = bulkheaded({"max_concurrent_calls": c, "max_wait_duration": "0s"}, work, rate=a / 0.010)
    shares = [rejected_share(simulate(model, seed=seed)) for seed in range(1, 11)]
    assert_replications_within_3se(golden_zscores, shares, golden, f"G5.3 bulkhead c={c} a={a} {work}")


def test_a_bulkhead_with_a_waiting_room_queues_fifo_up_to_its_wait(golden_zscores):
    """c = 1, calls of exactly 10 ms, a wait of 1 h: nothing is rejected and calls wait as in M/D/1
    (Wq = ρS / (2(1 − ρ)) = 5 ms at ρ = 0.5); with a wait of 1 ms most queued calls give up."""
    from simulator.theory import md1

    patient = [simulate(bulkheaded({"max_concurrent_calls": 1, "max_wait_duration": "1h"}, "10ms", 50.0),
                        seed=s).summary()["components"]["svc"]["bulkheads"]["svc->db.op"] for s in range(1, 11)]
    assert all(b["rejected"] == 0 for b in patient)
    waits = [b["mean_wait_s"] for b in patient]
    exact = md1(50.0, 0.010).Wq
    assert exact == pytest.approx(0.005)
    assert_replications_within_3se(golden_zscores, waits, exact, "bulkhead c=1 wait M/D/1 Wq rho=0.5")
    hasty = simulate(bulkheaded({"max_concurrent_calls": 1, "max_wait_duration": "1ms"}, "10ms", 50.0), seed=1)
    block = hasty.summary()["components"]["svc"]["bulkheads"]["svc->db.op"]
    assert 0 < block["rejected"] and block["mean_wait_s"] <= 0.001 + 1e-12


@pytest.mark.parametrize("per", ["dependency", "call_site"])
def test_a_bulkhead_per_dependency_pools_the_operations_of_the_callee(golden_zscores, per):
    """Two operations of svc call two operations of db, half the load each (a = 1.5 + 1.5 Erlang),
    c = 5 without a waiting room. ``per: dependency``: one semaphore for db, Erlang B over the pooled
    load, B(5, 3) = 0.110054 (golden G5.3); ``per: call_site``: one each, B(5, 1.5) per site."""
    knobs = {"max_concurrent_calls": 5, "max_wait_duration": "0s", "per": per}
    ops = {name: {"work": "0ms", "steps": [{"call": f"db.{name}", "bulkhead": knobs}]} for name in ("x", "y")}
    comps = {"svc": {"kind": "service", "workers": 10_000, "operations": ops},
             "db": {"kind": "service", "workers": 10_000,
                    "operations": {"x": {"work": "exponential(mean=10ms)"}, "y": {"work": "10ms"}}}}
    model = scenario(comps, rate="300/s", duration="20s", warmup="2s",
                     workload={"operation": None, "mix": {"x": 0.5, "y": 0.5}})
    results = [simulate(model, seed=seed).summary()["components"]["svc"]["bulkheads"] for seed in range(1, 11)]
    if per == "dependency":
        assert all(set(blocks) == {"svc->db"} for blocks in results)
        shares = [blocks["svc->db"]["rejected_ratio"] for blocks in results]
        exact = erlang_b(5, 3.0)
        assert exact == pytest.approx(0.110054, abs=5e-7)
    else:
        assert all(set(blocks) == {"svc->db.x", "svc->db.y"} for blocks in results)
        shares = [blocks["svc->db.y"]["rejected_ratio"] for blocks in results]
        exact = erlang_b(5, 1.5)
    assert_replications_within_3se(golden_zscores, shares, exact, f"G5.3 bulkhead per {per}")


# ----------------------------------------------------------------------------- compiles as before


class FakeBuilder:
    """Enough of a StepBuilder to see what a call step compiles to."""

    env = scenario = world = None
    component = "svc"

    def call(self, target):
        return ("hop", target)


def test_a_call_without_the_fields_compiles_to_the_bare_hop():
    from simulator.steps import STEPS

    kind = STEPS["call"]
    spec = kind.spec.model_validate({"call": "db.op"})
    assert kind.compile(spec, FakeBuilder()) == ("hop", "db.op")  # no wrapper at all
    assert kind.metrics(spec) == ()


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("step, where, message", [
    ({"circuit_breaker": {"failure_rate_threshold": 0}}, "circuit_breaker.failure_rate_threshold",
     "greater than 0"),
    ({"circuit_breaker": {"failure_rate_threshold": 150}}, "circuit_breaker.failure_rate_threshold",
     "less than or equal to 100"),
    ({"circuit_breaker": {"sliding_window_type": "sliding"}}, "circuit_breaker.sliding_window_type",
     "unknown sliding_window_type 'sliding' (valid values: count_based, time_based)"),
    ({"circuit_breaker": {"minimum_number_of_calls": 0}}, "circuit_breaker.minimum_number_of_calls",
     "greater than or equal to 1"),
    ({"circuit_breaker": {"wait_duration_in_open_state": "0s"}}, "circuit_breaker.wait_duration_in_open_state",
     "must be positive"),
    ({"circuit_breaker": {"failureRateThreshold": 50}}, "circuit_breaker.failureRateThreshold",
     "unknown field 'failureRateThreshold'"),
    ({"circuit_breaker": {"sliding_window_type": "time_based", "sliding_window_size": 100000}},
     "circuit_breaker", "is in seconds"),
    ({"bulkhead": {"max_concurrent_calls": 0}}, "bulkhead.max_concurrent_calls", "greater than or equal to 1"),
    ({"bulkhead": {"max_wait_duration": "-1s"}}, "bulkhead.max_wait_duration", "must not be negative"),
])
def test_bad_input_is_located(step, where, message):
    comps = {"svc": service(steps=[{"call": "db.op", **step}]), "db": service()}
    found = located_problems(comps, entry="svc")
    assert any(f"components.svc.operations.op.steps.0.{where}" in p and message in p for p in found), found


# ----------------------------------------------------------------------------- the chart, the scenario, the README


def test_the_breaker_chart_draws_each_open_interval():
    faults = [{"kind": "errors", "target": "db", "probability": 1.0, "at": "10s", "for": "20s"}]
    result = simulate(guarded(BREAKER, faults=faults), seed=4)
    fig = result.plot.breakers()
    bars = [a for ax in fig.axes for a in ax.collections if (a.get_gid() or "").startswith("breaker:svc->db.op:1")]
    assert len(bars) == sum(1 for _, _, b in states(result) if b == OPEN)
    assert any((a.get_gid() or "").startswith("fault:errors:db") for ax in fig.axes for a in ax.patches)
    # the time-series charts hatch the same open intervals
    for chart in (result.plot_latency(), result.plot_throughput()):
        hatched = [p for ax in chart.axes for p in ax.patches if p.get_gid() == "breaker-open:svc->db.op"]
        assert len(hatched) >= len(bars)


def test_the_scenario_fails_fast_instead_of_waiting_out_the_timeout():
    result = simulate(load_scenario(ROOT / "scenarios" / "resilience" / "breaker.yaml"))
    summary = result.summary()
    guarded_, comps = summary["components"]["shop"], summary["components"]
    assert guarded_["breaker_opens"] >= 1 and guarded_["breaker_rejected"] > 0
    pages = summary["operations"]
    assert pages["shop.page"]["latency_s"]["mean"] < pages["plain-shop.page"]["latency_s"]["mean"] / 3
    assert comps["recommendations"]["visits"] < comps["plain-recommendations"]["visits"] * 0.8
    changes = states(result, "shop")
    assert changes[0][2] == OPEN and changes[-1][2] == CLOSED  # opens in the outage, closes after it


def test_the_readme_example_validates_and_runs():
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- circuit-breaker-example -->\s*```yaml\n(.+?)\n```", text, re.S)
    assert match, "README has no circuit-breaker-example block"
    body = yaml.safe_load(match.group(1))
    doc = {"name": "readme-breaker", "duration": "30s", **body,
           "workload": [{"name": "w", "entry": "web", "operation": "page", "arrivals": {"kind": "poisson",
                                                                                       "rate": "50/s"}}]}
    scenario_, warnings = check_scenario("readme.yaml", text=yaml.safe_dump(doc, sort_keys=False))
    assert warnings == []
    entry = simulate(scenario_, seed=1).summary()["components"]["web"]
    assert "breakers" in entry and "bulkheads" in entry


def test_objectives_read_the_breaker_and_bulkhead_metrics():
    faults = [{"kind": "errors", "target": "db", "probability": 1.0, "at": "10s", "for": "20s"}]
    slos = [{"name": "never open", "component": "svc", "metric": "breaker_opens", "max": 0},
            {"name": "no rejections", "component": "svc", "metric": "bulkhead_rejected", "max": 0}]
    model = guarded(BREAKER, faults=faults, step={"bulkhead": {"max_concurrent_calls": 1000}}, slos=slos)
    verdicts = {v["name"]: v for v in simulate(model, seed=4).summary()["slos"]}
    assert not verdicts["never open"]["passed"] and verdicts["no rejections"]["passed"]
