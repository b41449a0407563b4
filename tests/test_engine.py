"""Engine semantics: reproducibility, steps, I/O models, faults, network, clients.

Most checks here use constant work so the expected value follows by hand; statistical
ones say which distribution they rely on.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulator import simulate
from simulator.core.request import ERROR, OK, REJECTED, TIMEOUT

from helpers import scenario, service


def test_same_seed_same_result_bit_for_bit():
    sc = scenario({"svc": service("exp(50ms)", workers=1)}, rate="15/s", duration="200s")
    a, b = simulate(sc, seed=3), simulate(sc, seed=3)
    assert a.summary() == b.summary()
    assert np.array_equal(a.t_issue, b.t_issue) and np.array_equal(a.t_end, b.t_end)


def test_different_seeds_differ():
    sc = scenario({"svc": service("exp(50ms)")}, rate="15/s", duration="200s")
    assert not np.array_equal(simulate(sc, seed=1).t_issue[:100], simulate(sc, seed=2).t_issue[:100])


def test_common_random_numbers_across_designs():
    """Changing one component's work leaves the arrival stream untouched (streams are per name)."""
    fast = scenario({"svc": service("exp(10ms)")}, duration="50s")
    slow = scenario({"svc": service("exp(40ms)")}, duration="50s")
    assert np.array_equal(np.sort(simulate(fast, 5).t_issue), np.sort(simulate(slow, 5).t_issue))


def test_latency_without_queueing_is_the_work():
    sc = scenario({"svc": service("25ms", workers=100)}, rate="5/s")
    lat = simulate(sc).requests["latency"]
    assert np.allclose(lat, 0.025)


def test_sync_call_adds_callee_time_and_network_both_ways():
    sc = scenario({"svc": service("10ms", steps=[{"call": "db.read"}], zone="app", workers=100),
                   "db": {"kind": "database", "zone": "data", "connections": 100,
                          "operations": {"read": {"work": "5ms"}}}},
                  workload={"zone": "app"},
                  network={"zones": ["app", "data"], "links": [{"between": ["app", "data"], "latency": "2ms"}]})
    r = simulate(sc)
    assert np.allclose(r.requests["latency"], 0.010 + 2 * 0.002 + 0.005)
    reaches_db_in_window = int((r.t_issue + 0.012 < 100).sum())  # component windows count arrivals
    assert r.summary()["components"]["db"]["reads"] == reaches_db_in_window


def test_publish_does_not_wait_but_the_work_happens():
    sc = scenario({"svc": service("10ms", steps=[{"publish": "worker.op"}], workers=100),
                   "worker": service("500ms", workers=100)})
    r = simulate(sc)
    assert np.allclose(r.requests["latency"], 0.010)
    # done: published inside the window, finished before the run ended (async work is not drained)
    done = int((((r.t_issue + 0.010) < 100) & ((r.t_issue + 0.510) <= r.end_time)).sum())
    assert r.summary()["components"]["worker"]["served"] == done > 900


def test_parallel_fan_out_waits_for_the_slowest():
    sc = scenario({"svc": service("1ms", steps=[{"parallel": [{"call": "a.op"}, {"call": "b.op"}]}], workers=100),
                   "a": service("20ms", workers=100), "b": service("70ms", workers=100)})
    assert np.allclose(simulate(sc).requests["latency"], 0.001 + 0.070)


def test_branch_follows_its_probabilities():
    sc = scenario({"svc": service("0ms", steps=[{"branch": [{"p": 0.3, "steps": [{"call": "a.op"}]}, {"p": 0.7}]}],
                                  workers=100), "a": service("0ms", workers=100)}, rate="200/s", duration="100s")
    s = simulate(sc).summary()
    n, k = s["requests"]["issued"], s["components"]["a"]["visits"]
    assert abs(k / n - 0.3) < 3 * math.sqrt(0.3 * 0.7 / n)


def test_blocking_io_holds_the_worker_async_frees_it():
    """A Flask-style worker waits on its database call; a Node-style event loop does not."""
    def design(io):
        return scenario({"svc": service("10ms", steps=[{"call": "db.read"}], workers=4, io=io),
                         "db": {"kind": "database", "connections": 100, "operations": {"read": {"work": "90ms"}}}},
                        rate="20/s", duration="300s")
    blocking = simulate(design("blocking")).summary()["components"]["svc"]["utilization"]
    nonblocking = simulate(design("async")).summary()["components"]["svc"]["utilization"]
    # offered load: 20/s × 100 ms held = 2 of 4 workers; 20/s × 10 ms = 0.2 of 4
    assert blocking == pytest.approx(0.5, rel=0.05)
    assert nonblocking == pytest.approx(0.05, rel=0.05)


def test_full_queue_rejects():
    """One worker, no waiting room, constant 1 s work, 10 req/s: while busy, everything is refused."""
    sc = scenario({"svc": service("1s", workers=1, queue=0)}, rate="10/s", duration="200s")
    s = simulate(sc).summary()
    assert s["requests"]["rejected"] > 0.8 * s["requests"]["issued"]
    assert s["components"]["svc"]["served"] == s["requests"]["ok"]
    assert s["requests"]["ok"] <= 200 + 1  # at most one per second of window


def test_client_timeout_counts_and_the_server_keeps_working():
    sc = scenario({"svc": service("2s", workers=1000)}, rate="5/s", duration="60s", workload={"timeout": "1s"})
    r = simulate(sc)
    s = r.summary()
    assert s["requests"]["timeout"] == s["requests"]["issued"] and s["availability"] == 0
    assert np.allclose(r.requests["latency"], 1.0)
    finished_before_the_end = int((r.t_issue + 2.0 <= r.end_time).sum())
    assert s["components"]["svc"]["served"] == finished_before_the_end > 250  # the abandoned work still ran


@pytest.mark.parametrize("arrivals", [{"kind": "poisson", "rate": "50/s"},
                                      {"kind": "closed", "users": 40, "think": "exp(500ms)"}])
def test_a_timeout_ends_exactly_the_requests_slower_than_it(arrivals):
    """Work exp(mean 1 s), timeout 1 s, a worker each: P(timeout) = e^-1; a timed-out
    request's latency is the timeout; the others' latency is their work (< 1 s)."""
    sc = scenario({"svc": service("exp(1s)", workers=10_000)}, duration="100s", drain="5s",
                  workload={"arrivals": arrivals, "timeout": "1s"})
    r = simulate(sc, 3)
    req = r.requests
    timed_out = (req.status == "timeout").to_numpy()
    assert np.allclose(req[timed_out].latency, 1.0)
    assert (req[~timed_out].status == "ok").all() and (req[~timed_out].latency < 1.0).all()
    n, p = len(req), math.exp(-1)
    assert abs(timed_out.mean() - p) < 3 * math.sqrt(p * (1 - p) / n), (timed_out.mean(), n)
    assert r.summary()["requests"]["issued"] == n  # each request recorded once, however it ended


def test_database_pool_timeout():
    sc = scenario({"svc": service("0ms", steps=[{"call": "db.write"}], workers=100),
                   "db": {"kind": "database", "connections": 1, "pool_timeout": "500ms",
                          "operations": {"write": {"work": "1s"}}}}, rate="10/s", duration="100s")
    s = simulate(sc).summary()
    assert s["components"]["db"]["errors"] > 0.8 * s["requests"]["issued"]
    assert s["components"]["db"]["writes"] == s["components"]["db"]["served"]
    assert s["components"]["db"]["wait_s"]["p99"] <= 0.5 + 1e-9


def test_crash_fails_everything_while_down_then_recovers():
    sc = scenario({"svc": service("50ms", workers=4, replicas=2)}, rate="20/s", duration="100s",
                  faults=[{"kind": "crash", "target": "svc", "at": "30s", "for": "10s"}])
    r = simulate(sc)
    req = r.requests
    during = (req.t_issue >= 30) & (req.t_issue < 40)
    assert (req[during].status == "error").all() and during.sum() > 100
    assert (req[req.t_issue >= 40].status == "ok").all()
    in_flight = (req.t_issue < 30) & (req.t_issue + 0.05 > 30)
    assert (req[in_flight].status == "error").all()
    assert (req[req.t_issue < 30 - 0.05 - 1e-9].status == "ok").all()
    assert r.faults.iloc[0].to_dict() == {"kind": "crash", "target": "svc", "start": 30.0, "end": 40.0,
                                           "detail": "all replicas"}


def test_crash_of_some_replicas_only_fails_their_in_flight_work():
    sc = scenario({"svc": service("200ms", workers=10, replicas=3)}, rate="30/s", duration="100s",
                  faults=[{"kind": "crash", "target": "svc", "replicas": 1, "at": "50s", "for": "20s"}])
    req = simulate(sc).requests
    failed = req[req.status == "error"]
    assert 0 < len(failed) <= 10  # only the work in flight on the crashed replica at t=50
    assert ((failed.t_issue <= 50) & (failed.t_issue > 49.8 - 1e-9)).all()


def test_crash_deep_in_a_call_chain_fails_the_request_cleanly():
    """The database crashes while blocking callers wait on it: the callers fail, their workers free."""
    sc = scenario({"svc": service("1ms", steps=[{"call": "db.read"}], workers=50),
                   "db": {"kind": "database", "connections": 2, "operations": {"read": {"work": "exp(100ms)"}}}},
                  rate="15/s", duration="120s", faults=[{"kind": "crash", "target": "db", "at": "60s", "for": "5s"},
                                                         {"kind": "crash", "target": "svc", "at": "90s", "for": "5s"}])
    s = simulate(sc).summary()
    assert s["requests"]["error"] > 0 and s["requests"]["ok"] > 0.8 * s["requests"]["issued"]
    assert s["components"]["svc"]["errors"] == s["requests"]["error"]


def test_error_fault_fails_that_share_of_operations_only_while_it_lasts():
    """A bad deploy: 30 % of the operations at svc fail between 100 s and 200 s."""
    sc = scenario({"svc": service("1ms", workers=100)}, rate="50/s", duration="300s",
                  faults=[{"kind": "errors", "target": "svc", "probability": 0.3, "at": "100s", "for": "100s"}])
    req = simulate(sc).requests
    during = (req.t_issue >= 100) & (req.t_issue < 200)
    share = (req[during].status == "error").mean()
    n = int(during.sum())
    assert abs(share - 0.3) < 3 * math.sqrt(0.3 * 0.7 / n)
    assert (req[~during & (req.t_issue < 99.99)].status == "ok").all() and (req[req.t_issue >= 200].status == "ok").all()


def test_overlapping_error_faults_compose_as_independent_causes():
    """A 10 % background error rate over the whole run and a 50 % bad deploy from 100 s to 200 s: inside the
    deploy 1 − 0.9 × 0.5 = 55 % fail, and when it ends the background's 10 % remains (not 0 %)."""
    sc = scenario({"svc": service("1ms", workers=100)}, rate="100/s", duration="300s",
                  faults=[{"kind": "errors", "target": "svc", "probability": 0.1, "at": "0s", "for": "300s"},
                          {"kind": "errors", "target": "svc", "probability": 0.5, "at": "100s", "for": "100s"}])
    req = simulate(sc).requests
    for lo, hi, p in ((0, 100, 0.1), (100, 200, 0.55), (200, 300, 0.1)):
        inside = req[(req.t_issue >= lo + 0.01) & (req.t_issue < hi - 0.01)]
        share, n = (inside.status == "error").mean(), len(inside)
        assert abs(share - p) < 3 * math.sqrt(p * (1 - p) / n), (lo, share, p)


def test_call_timeout_fails_the_caller_and_fallback_degrades_gracefully():
    """A 2 s dependency behind a 100 ms call timeout: without a fallback the operation fails
    after 100 ms; with ``fallback: []`` it succeeds after 100 ms without the answer."""
    def design(fallback):
        step = {"call": "slow.op", "timeout": "100ms", **({"fallback": fallback} if fallback is not None else {})}
        return scenario({"svc": service("10ms", steps=[step], workers=100), "slow": service("2s", workers=100)},
                        rate="5/s", duration="60s")
    strict = simulate(design(None)).requests
    assert (strict.status == "error").all() and np.allclose(strict.latency, 0.110)
    degraded = simulate(design([])).requests
    assert (degraded.status == "ok").all() and np.allclose(degraded.latency, 0.110)


def test_fallback_runs_its_own_steps_when_the_call_fails():
    sc = scenario({"svc": service("1ms", steps=[{"call": "primary.op", "fallback": [{"call": "cache.op"}]}],
                                  workers=100),
                   "primary": service("5ms", workers=100), "cache": service("2ms", workers=100)},
                  rate="10/s", duration="100s", faults=[{"kind": "crash", "target": "primary", "at": "40s", "for": "20s"}])
    r = simulate(sc)
    s = r.summary()
    assert s["availability"] == 1.0
    req = r.requests
    during = (req.t_issue >= 40) & (req.t_issue < 60)
    assert np.allclose(req[during].latency, 0.003) and np.allclose(req[req.t_issue >= 60].latency, 0.006)
    assert s["components"]["cache"]["served"] == int(during.sum())


def test_slowdown_multiplies_work():
    sc = scenario({"svc": service("10ms", workers=100)}, rate="10/s",
                  faults=[{"kind": "slowdown", "target": "svc", "at": "20s", "for": "10s", "factor": 5}])
    req = simulate(sc).requests
    during = (req.t_issue >= 20) & (req.t_issue < 30)
    assert np.allclose(req[during].latency, 0.050) and np.allclose(req[~during].latency, 0.010)


def test_latency_fault_adds_to_the_link_both_ways():
    sc = scenario({"svc": service("10ms", workers=100, zone="b")}, workload={"zone": "a"},
                  network={"zones": ["a", "b"], "links": [{"between": ["a", "b"], "latency": "1ms"}]},
                  faults=[{"kind": "latency", "between": ["a", "b"], "extra": "20ms", "at": "50s", "for": "10s"}])
    req = simulate(sc).requests
    during = (req.t_issue >= 50) & (req.t_end < 60)
    assert np.allclose(req[during].latency, 0.010 + 2 * 0.021)
    assert np.allclose(req[req.t_issue < 50 - 0.05].latency, 0.012)


def test_poisson_counts_per_second_have_mean_and_variance_of_the_rate():
    """G1.2: counts per 1 s window at 100/s have mean 100 and variance 100."""
    sc = scenario({"svc": service("0ms", workers=1000)}, rate="100/s", duration="400s")
    counts = simulate(sc).timeseries["issued"].to_numpy()[:400]
    k = counts.size
    assert abs(counts.mean() - 100) < 3 * math.sqrt(100 / k)
    assert abs(counts.var(ddof=1) - 100) < 3 * 100 * math.sqrt(2 / (k - 1))


def test_rate_profile_steps_ramps_and_spikes():
    sc = scenario({"svc": service("0ms", workers=1000)}, rate="50/s", duration="400s",
                  workload={"profile": [{"at": "100s", "rate": "150/s"},
                                        {"at": "200s", "rate": "50/s", "ramp": "100s"},
                                        {"at": "350s", "rate": "300/s", "for": "20s"}]})
    issued = simulate(sc).timeseries["issued"].to_numpy()

    def check(lo, hi, expected_mean_rate):
        n = issued[lo:hi].sum()
        expected = expected_mean_rate * (hi - lo)
        assert abs(n - expected) < 3 * math.sqrt(expected), (lo, hi, n, expected)

    check(0, 100, 50)
    check(100, 200, 150)
    check(200, 300, 100)  # linear ramp 150 → 50: mean 100
    check(300, 350, 50)
    check(350, 370, 300)
    check(370, 400, 50)


def test_closed_loop_never_has_more_requests_in_flight_than_users():
    sc = scenario({"svc": service("exp(100ms)")}, duration="200s",
                  workload={"arrivals": {"kind": "closed", "users": 5, "think": "exp(1s)"}})
    req = simulate(sc).requests
    times = np.concatenate([req.t_issue, req.t_end])
    steps = np.concatenate([np.ones(len(req)), -np.ones(len(req))])
    order = np.lexsort((steps, times))  # ends before starts at equal times
    assert np.cumsum(steps[order]).max() <= 5


def test_zipf_keys_follow_their_law():
    sc = scenario({"svc": service("0ms", workers=1000)}, rate="500/s", duration="100s",
                  workload={"keys": "zipf(s=1.0, n=100)"})
    from simulator.engine.build import build

    world = build(sc)
    seen = []
    pending = world.pending

    class Spy(dict):  # every issued request passes through the pending table
        def __setitem__(self, rid, request):
            seen.append(request.key)
            super().__setitem__(rid, request)

    world.pending = world.clients[0].pending = Spy(pending)
    world.run()
    keys = np.array(seen)
    h = sum(1 / k for k in range(1, 101))
    p0 = 1 / h  # probability of the most popular key
    assert abs((keys == 0).mean() - p0) < 3 * math.sqrt(p0 * (1 - p0) / keys.size)
    assert keys.min() >= 0 and keys.max() < 100


def test_drain_lets_requests_issued_in_the_window_finish():
    sc = scenario({"svc": service("30s", workers=100)}, rate="1/s", duration="100s", drain="1m")
    s = simulate(sc).summary()
    assert s["requests"]["ok"] == s["requests"]["issued"]


def test_requests_unanswered_after_the_drain_count_as_timeouts():
    sc = scenario({"svc": service("30s", workers=100)}, rate="1/s", duration="100s", drain="5s")
    r = simulate(sc)
    s = r.summary()
    late = (r.t_issue >= 100 - 25) & (r.t_issue < 100)  # would finish after 100 + 5
    assert s["requests"]["timeout"] == int(late.sum()) > 0
    assert r.end_time == pytest.approx(105.0)


def test_status_codes_are_stable():
    assert (OK, ERROR, TIMEOUT, REJECTED) == (0, 1, 2, 3)


def chain(stages: int, work: str, rate: str, duration: str, **extra):
    """``s0`` → ``s1`` → … synchronous calls, each stage ``io: async`` (its worker free while downstream)."""
    components = {}
    for i in range(stages):
        op: dict = {"work": work, "steps": [{"call": f"s{i + 1}.op"}] if i < stages - 1 else []}
        components[f"s{i}"] = {"kind": "service", "operations": {"op": op}, **({"io": "async"} if i < stages - 1 else {})}
    return scenario(components, entry="s0", rate=rate, duration=duration, drain="1000s", **extra)


def test_a_deep_chain_of_calls_continues_in_fresh_processes_every_few_levels():
    """Every event resumes the chain of generators above it, so a call that crosses a multiple of
    HANDOVER_DEPTH (8) levels continues in a process of its own: 20 stages of 1 ms answer in exactly
    20 ms, as without; shallow designs never hand over."""
    from simulator.engine.build import build
    from simulator.engine.world import HANDOVER_DEPTH

    assert HANDOVER_DEPTH == 8
    world = build(chain(20, "const(1ms)", "1/s", "60s"), 1)
    crossings = [i for i in range(19) if world.hands_over(f"s{i}.op", f"s{i + 1}.op")]
    assert crossings == [7, 15]  # into depth 8 and 16
    assert not build(chain(8, "const(1ms)", "1/s", "60s"), 1).hands_over("s6.op", "s7.op")
    req = simulate(chain(20, "const(1ms)", "1/s", "60s")).requests
    assert len(req) > 40 and (req.status == "ok").all() and np.allclose(req.latency, 0.020)


def test_a_deep_tandem_keeps_jacksons_sojourn(golden_zscores):
    """16 M/M/1 stages (λ = 0.5, μ = 1, two hand-overs per request): the mean sojourn is Jackson's
    16 / (μ − λ) = 32 s, over 10 independent runs within 3 SE."""
    from bands import assert_replications_within_3se

    means = []
    for seed in range(1, 11):
        req = simulate(chain(16, "exp(1s)", "0.5/s", "4000s", warmup="500s"), seed).requests
        means.append(float(req[req.status == "ok"].latency.mean()))
    assert_replications_within_3se(golden_zscores, means, 32.0, "Jackson tandem of 16 M/M/1 stages, W (s)")
