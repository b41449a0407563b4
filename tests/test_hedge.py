"""Hedged requests (``hedge:`` on a call, rank 50) and fan-out tails, against golden §14.

Golden G14.7 (copied from ../shared/reference/golden.md §14, computed exactly there): leaf
latency X = Exp(mean 10 ms) with probability 0.99, else a straggler of exactly 1000 ms;
with a hedge (a second copy to another replica) after d, the first reply wins and
P(T > t) = P(X > t)·P(X > t − d) for t ≥ d; the extra load is P(X > d). Reference points:
d = 32.09 ms (the p95) gives p99 41.59 ms, p99.9 58.82 ms, mean 10.22 ms, 5.0 % extra;
d = 50 ms gives p99 53.80 ms, p99.9 74.60 ms, mean 10.56 ms, 1.67 % extra. Without a
hedge p99.9 is 1000 ms. Golden G14.6: the max of N Exp(10 ms) leaves has mean 10·H_N
(N = 10: 29.29 ms) and p99 −10·ln(1 − 0.99^(1/N)) (N = 10: 69.03 ms). Golden G14.8: a
timeout t on an Exp(mean m) leaf times out a fraction e^(−t/m).

The leaf has no queueing (unbounded workers): a ``branch`` draws per visit whether the copy
is fast (``fast``: Exp 10 ms) or a straggler (``slow``: 1000 ms), so copies are independent.
Requests are independent, so a tail probability over one run's n requests is a binomial
proportion (tests/bands.py); a mean uses replications.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bands import assert_binomial_within_3se, assert_replications_within_3se
from helpers import located_problems, scenario, service
from simulator import simulate

MANY = 1_000_000  # workers: no queueing anywhere
FAST, STRAGGLER, P_STRAGGLER = 0.010, 1.0, 0.01


def survival(t: float) -> float:
    """P(X > t) of the straggler model (golden G14.7)."""
    return (1 - P_STRAGGLER) * math.exp(-t / FAST) + (P_STRAGGLER if t < STRAGGLER else 0.0)


def hedged_survival(t: float, d: float) -> float:
    """P(T > t) with a hedge after d (golden G14.7's formula)."""
    return survival(t) * (survival(t - d) if t >= d else 1.0)


def straggler(hedge: dict | None, *, requests: int = 100_000, rate: float = 1000.0, **call) -> object:
    """A front service calling the straggling leaf (2 replicas) once per request, hedged or not."""
    step = {"call": "leaf.get", **call}
    if hedge is not None:
        step["hedge"] = hedge
    leaf_steps = [{"branch": [{"p": 1 - P_STRAGGLER, "steps": [{"call": "fast.op"}]},
                              {"p": P_STRAGGLER, "steps": [{"call": "slow.op"}]}]}]
    return scenario({"front": service(0, steps=[step], workers=MANY),
                     "leaf": {"kind": "service", "replicas": 2, "workers": MANY,
                              "operations": {"get": {"work": 0, "steps": leaf_steps}}},
                     "fast": service(f"exp({FAST * 1000:g}ms)", workers=MANY),
                     "slow": service(f"{STRAGGLER * 1000:g}ms", workers=MANY)},
                    entry="front", rate=f"{rate:g}/s", duration=f"{requests / rate:g}s")


def latencies(result) -> np.ndarray:
    frame = result.requests
    return frame.loc[frame["status"] == "ok", "latency"].to_numpy()


def test_the_formula_reproduces_the_golden_table():
    """Golden G14.7's table from its own formula (the oracle the simulation is checked against)."""
    def quantile(q, d):
        lo, hi = 0.0, 2.0
        for _ in range(200):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if hedged_survival(mid, d) > 1 - q else (lo, mid)
        return hi
    assert quantile(0.99, 0.03209) * 1000 == pytest.approx(41.59, abs=0.01)
    assert quantile(0.999, 0.03209) * 1000 == pytest.approx(58.82, abs=0.01)
    assert quantile(0.999, 0.050) * 1000 == pytest.approx(74.60, abs=0.01)
    assert survival(0.03209) == pytest.approx(0.050, abs=0.0005)


@pytest.mark.parametrize("d", [0.03209, 0.050])
def test_hedged_tail_matches_golden_g14_7(golden_zscores, d):
    """P(T > t) at the golden p99 and p99.9 points, and the extra load P(X > d) (golden G14.7)."""
    result = simulate(straggler({"delay": f"{d * 1000:g}ms"}), seed=7)
    lat = latencies(result)
    n = lat.size
    assert n == result.summary()["requests"]["issued"]  # every request answered OK
    p99, p999 = {0.03209: (0.04159, 0.05882), 0.050: (0.05380, 0.07460)}[d]
    for t in (0.020, p99):
        assert_binomial_within_3se(golden_zscores, int((lat > t).sum()), n, hedged_survival(t, d),
                                   f"G14.7 hedge {d * 1000:g}ms P(T > {t * 1000:g}ms)")
    counts = result.summary()["components"]["front"]["counts"]
    assert_binomial_within_3se(golden_zscores, counts["hedges_sent"], n, survival(d),
                               f"G14.7 hedge {d * 1000:g}ms extra load")
    # a hedge wins when it answers first: the first copy is still running when the hedge answers
    assert 0 < counts["hedges_won"] < counts["hedges_sent"]
    # the 1000-ms stragglers are gone from the tail: p99.9 near golden's, far below 1000 ms
    assert np.quantile(lat, 0.999) == pytest.approx(p999, rel=0.15)


def test_hedged_mean_matches_golden_g14_7(golden_zscores):
    """Mean latency with a hedge at the p95 (32.09 ms): 10.22 ms (golden G14.7), 10 replications."""
    d = 0.03209
    grid = np.linspace(0, STRAGGLER, 200_001)
    values = np.array([hedged_survival(t, d) for t in grid])
    exact = float(np.sum((values[1:] + values[:-1]) / 2 * np.diff(grid)))  # E[T] = ∫ P(T > t) dt
    assert exact * 1000 == pytest.approx(10.22, abs=0.01)
    means = [latencies(simulate(straggler({"delay": "32.09ms"}, requests=20_000), seed=s)).mean() for s in range(10)]
    assert_replications_within_3se(golden_zscores, means, exact, "G14.7 hedged mean")


def test_without_a_hedge_the_stragglers_set_the_tail(golden_zscores):
    """No hedge: P(T > 500 ms) is the straggler share, 1 % (golden G14.7: p99.9 = 1000 ms); no hedge counts."""
    result = simulate(straggler(None), seed=3)
    lat = latencies(result)
    assert_binomial_within_3se(golden_zscores, int((lat > 0.5).sum()), lat.size, survival(0.5),
                               "G14.7 no hedge P(T > 500ms)")
    assert "hedges_sent" not in (result.summary()["components"]["front"].get("counts") or {})


def test_more_copies_cut_the_tail_further(golden_zscores):
    """max_extra 2: copies at d and 2d; P(T > t) = P(X > t) P(X > t − d) P(X > t − 2d) for t ≥ 2d."""
    d = 0.01
    result = simulate(straggler({"delay": "10ms", "max_extra": 2}), seed=5)
    lat = latencies(result)
    t = 0.025
    exact = survival(t) * survival(t - d) * survival(t - 2 * d)
    assert_binomial_within_3se(golden_zscores, int((lat > t).sum()), lat.size, exact, "hedge x2 P(T > 25ms)")
    counts = result.summary()["components"]["front"]["counts"]
    # second copies: P(X > d); third copies: both first copies still out at 2d
    expected = survival(d) + survival(2 * d) * survival(d)
    assert_binomial_within_3se(golden_zscores, counts["hedges_sent"], lat.size, expected, "hedge x2 copies sent")


def test_a_failed_copy_sends_the_next_at_once():
    """A copy that fails while another may be sent lets it go at once; all failing fails the call."""
    sc = scenario({"front": service(0, steps=[{"call": "down.op", "hedge": {"delay": "1s", "max_extra": 2}}],
                                    workers=MANY),
                   "down": service("5ms", workers=MANY, replicas=1)}, entry="front", rate="10/s", duration="20s",
                  faults=[{"kind": "errors", "target": "down", "probability": 1.0, "at": 0, "for": "1h"}])
    result = simulate(sc, seed=1)
    s = result.summary()
    frame = result.requests
    assert (frame["status"] == "error").all()
    # three copies back to back, 5 ms each: no wait for the 1 s delay
    assert frame["latency"].to_numpy() == pytest.approx(np.full(len(frame), 0.015))
    assert s["components"]["front"]["counts"]["hedges_sent"] == 2 * s["requests"]["issued"]
    assert s["components"]["front"]["counts"]["hedges_won"] == 0


def test_fan_out_max_of_n_leaves_matches_golden_g14_6(golden_zscores):
    """parallel: N = 10 Exp(10 ms) leaves, no queueing: E[max] = 10·H_10 = 29.29 ms and P(max > 69.03 ms)
    = 1 % (69.03 ms is its p99; golden G14.6); one of the N leaves slower than a leaf's own p99
    (46.05 ms): 1 − 0.99^10 = 9.56 % (golden G14.5)."""
    n_leaves = 10
    leaf_p99 = -FAST * math.log(0.01)
    exact_mean = FAST * sum(1 / i for i in range(1, n_leaves + 1))
    assert exact_mean * 1000 == pytest.approx(29.29, abs=0.01)
    p99_of_max = -FAST * math.log(1 - 0.99 ** (1 / n_leaves))
    assert p99_of_max * 1000 == pytest.approx(69.03, abs=0.01)

    def fan_out(requests: int) -> object:
        return scenario({"front": service(0, steps=[{"parallel": [{"call": "leaf.op"}] * n_leaves}], workers=MANY),
                         "leaf": service(f"exp({FAST * 1000:g}ms)", workers=MANY)},
                        entry="front", rate="1000/s", duration=f"{requests / 1000:g}s")

    means = [latencies(simulate(fan_out(10_000), seed=s)).mean() for s in range(10)]
    assert_replications_within_3se(golden_zscores, means, exact_mean, "G14.6 E[max of 10 leaves]")
    lat = latencies(simulate(fan_out(100_000), seed=11))
    assert_binomial_within_3se(golden_zscores, int((lat > p99_of_max).sum()), lat.size, 0.01,
                               "G14.6 P(max of 10 > its p99)")
    assert_binomial_within_3se(golden_zscores, int((lat > leaf_p99).sum()), lat.size, 1 - 0.99 ** n_leaves,
                               "G14.5 P(one of 10 leaves > leaf p99)")


def test_timeout_at_a_high_percentile_times_out_its_tail(golden_zscores):
    """Golden G14.8: a timeout t on an Exp(mean m) leaf times out e^(−t/m); t = m·ln 10 gives 10 %."""
    t = FAST * math.log(10)
    sc = scenario({"front": service(0, steps=[{"call": "leaf.op", "timeout": f"{t * 1000:.6f}ms",
                                               "fallback": []}], workers=MANY),
                   "leaf": service(f"exp({FAST * 1000:g}ms)", workers=MANY)},
                  entry="front", rate="1000/s", duration="50s")
    result = simulate(sc, seed=2)
    leaf = result.spans
    leaf = leaf[leaf["component"] == "leaf"]
    late = int((leaf["end"] - leaf["arrival"] > t).sum())
    assert_binomial_within_3se(golden_zscores, late, len(leaf), math.exp(-t / FAST), "G14.8 timeout fraction")


@pytest.mark.parametrize("hedge, message", [
    ({"delay": 0}, "must be positive"),
    ({"delay": "10ms", "max_extra": 0}, "greater than or equal to 1"),
    ({"max_extra": 1}, "delay"),
    ({"delay": "10ms", "copies": 2}, "copies"),
    ({"delay": "10ms", "cancel": "sometimes"}, "bool"),
])
def test_bad_hedge_is_located(hedge, message):
    problems = located_problems({"front": service(0, steps=[{"call": "leaf.get", "hedge": hedge}]),
                                 "leaf": service("1ms")}, entry="front")
    assert any("hedge" in p and message in p for p in problems), problems


# ----------------------------------------------------------------------------- cancelling the losers
#
# Deterministic: one closed-loop user (think 100 ms) calls a callee whose work is a constant
# w = 8 ms, hedged every d = 3 ms up to 2 extra copies: every call sends both (P(X > d) = 1).
# With one replica of one worker the copies queue behind the first: when it ends (8 ms) the
# worker goes at once to the second copy, which is in service before the answer reaches the
# caller (a worker that frees takes the next in line first), and the third is still waiting:
# cancelled, it leaves the line unserved. So the callee does 3w per call without cancel and 2w
# with it. Everything below is exact.

THINK, WORK, DELAY = 0.100, 0.008, 0.003
END = 99.95  # the run's end: no call is cut by it


def contended(cancel: bool | None, *, replicas: int = 1, link: str | None = None, downstream: bool = False,
              work: float = WORK, delay: float = DELAY, max_extra: int = 2):
    """``front`` hedges its call to ``back`` (one worker per replica); *cancel* ``None`` leaves the
    default. ``back`` calls ``leaf`` once per visit, after its work, when *downstream*."""
    hedge = {"delay": f"{delay * 1000:g}ms", "max_extra": max_extra} | ({} if cancel is None else {"cancel": cancel})
    back = service(f"{work * 1000:g}ms", replicas=replicas, steps=[{"call": "leaf.op"}] if downstream else None)
    components = {"front": service(0, steps=[{"call": "back.op", "hedge": hedge}], workers=10),
                  "back": back, "leaf": service(0, workers=10)}
    extra = {} if link is None else {"network": {"local": link}}
    return scenario(components, entry="front", duration=f"{END}s",
                    workload={"arrivals": {"kind": "closed", "users": 1, "think": f"{THINK * 1000:g}ms"}}, **extra)


def run(sc):
    result = simulate(sc, seed=1, records="full")
    s = result.summary()
    return result, s, s["components"]["front"]["counts"], s["components"]["back"]


def back_spans(result):
    spans = result.spans
    return spans[spans["component"] == "back"]


def test_without_cancel_every_loser_is_served():
    """cancel: false: all three copies are served, one after the other: the callee does 3w per call."""
    result, s, front, back = run(contended(False))
    calls = s["requests"]["issued"]
    assert front["hedges_sent"] == 2 * calls and front["hedges_won"] == 0 and "hedges_cancelled" not in front
    assert (result.status == 0).all() and np.allclose(result.t_end - result.t_issue, WORK)
    assert back["visits"] == 3 * calls and "cancelled" not in (back.get("counts") or {})
    assert back["utilization"] == pytest.approx(3 * WORK * calls / END, abs=1e-9)


def test_cancel_takes_the_queued_loser_out_of_line():
    """cancel (the default): the third copy leaves the line when the first answers: the callee does
    2w per call (not 3w: the work of P(X > 2d) copies saved), counts the loser ``cancelled`` (a
    REJECTED visit), and the caller's latency and status are the winner's."""
    result, s, front, back = run(contended(None))
    calls = s["requests"]["issued"]
    assert front["hedges_sent"] == 2 * calls and front["hedges_cancelled"] == calls and front["hedges_won"] == 0
    assert back["counts"]["cancelled"] == calls
    assert (result.status == 0).all() and np.allclose(result.t_end - result.t_issue, WORK)
    assert s["requests"]["ok"] == calls
    assert back["utilization"] == pytest.approx(2 * WORK * calls / END, abs=1e-9)
    spans = back_spans(result)
    assert (spans["status"] == "rejected").sum() == calls and (spans["status"] == "ok").sum() == 2 * calls
    # the cancelled copy arrived at 2d and left at the winner's end, w
    left = spans[spans["status"] == "rejected"]
    assert np.allclose(left["end"] - left["arrival"], WORK - 2 * DELAY)


def test_a_copy_a_worker_took_is_not_cancelled():
    """Two replicas, one extra copy after 5 ms: round robin sends it to the idle replica, which takes
    it at once: in service when the first answers, it does its work (a handler that does not check
    for cancellation) and nothing is saved: 2w per call, as without cancel."""
    _, s, front, back = run(contended(True, replicas=2, delay=0.005, max_extra=1))
    calls = s["requests"]["issued"]
    assert front["hedges_sent"] == calls and front["hedges_cancelled"] == 0
    assert back["counts"]["cancelled"] == 0 and back["visits"] == 2 * calls
    assert back["utilization"] == pytest.approx(2 * WORK * calls / END / 2, abs=1e-9)  # over 2 workers


def test_a_copy_on_the_network_is_dropped_on_arrival():
    """Links 2 ms each way (the client's to front too), w = 5 ms, d = 8 ms, two replicas: the first
    copy's answer is back at front 2 + 5 + 2 = 9 ms after it left; the second, sent at 8 ms, would
    arrive at 10 ms: cancelled at 9 ms, it is dropped there, unserved. Latency 2 + 9 + 2 = 13 ms."""
    result, s, front, back = run(contended(True, replicas=2, link="2ms", work=0.005, delay=0.008, max_extra=1))
    calls = s["requests"]["issued"]
    assert front["hedges_sent"] == calls and front["hedges_cancelled"] == calls
    assert back["counts"]["cancelled"] == calls and back["visits"] == 2 * calls
    assert np.allclose(result.t_end - result.t_issue, 0.013)
    dropped = back_spans(result)
    dropped = dropped[dropped["status"] == "rejected"]
    assert len(dropped) == calls and np.allclose(dropped["end"], dropped["arrival"])
    assert np.allclose(dropped["arrival"].to_numpy() - result.t_issue, 0.002 + 0.010)


@pytest.mark.parametrize("cancel, leaf_visits_per_call", [(False, 3), (True, 2)])
def test_a_cancelled_copy_makes_no_downstream_calls(cancel, leaf_visits_per_call):
    """The callee calls a leaf after its work: the copy cancelled in the queue never gets there."""
    _, s, _, _ = run(contended(cancel, downstream=True))
    assert s["components"]["leaf"]["visits"] == leaf_visits_per_call * s["requests"]["issued"]


def test_cancel_is_on_by_default():
    assert contended(None).components["front"].operations["op"].steps[0].hedge.cancel is True


def test_a_cancelled_copy_is_not_retried():
    """retry (rank 40) sits inside the hedge: the copy cancelled in the queue answers REJECTED, which
    this retry would retry, but a cancelled copy makes no more attempts: one cancelled visit per call."""
    sc = contended(True)
    step = sc.components["front"].operations["op"].steps[0]
    hedged = {"call": "back.op", "hedge": step.hedge.model_dump(),
              "retry": {"max_attempts": 3, "retry_on": ["rejected"],
                        "backoff": {"kind": "constant", "base": "1ms", "jitter": "none"}}}
    sc = scenario({"front": service(0, steps=[hedged], workers=10), "back": service(f"{WORK * 1000:g}ms"),
                   "leaf": service(0)}, entry="front", duration=f"{END}s",
                  workload={"arrivals": {"kind": "closed", "users": 1, "think": f"{THINK * 1000:g}ms"}})
    _, s, front, back = run(sc)
    calls = s["requests"]["issued"]
    assert back["counts"]["cancelled"] == calls and back["visits"] == 3 * calls
    assert s["components"]["front"]["retry_attempts"] == 3 * calls


def test_under_poisson_load_cancelling_saves_work_and_every_cancel_is_counted_at_the_callee():
    """Poisson arrivals into a callee of 2 replicas × 1 worker (exp 8 ms, ρ ≈ 0.6), a hedge after
    10 ms: without cancel every copy is served; with it the copies still queued when the first
    answers leave the line. No network: every copy the caller cancels is counted at the callee at
    once (``hedges_cancelled`` = ``cancelled``); the callee's busy time drops by the cancelled
    copies' work, and every request is answered OK either way."""
    def run_poisson(cancel: bool):
        sc = scenario({"front": service(0, steps=[{"call": "back.op", "hedge": {"delay": "10ms", "cancel": cancel}}],
                                        workers=1000),
                       "back": service("exp(8ms)", replicas=2)}, entry="front", rate="70/s", duration="200s")
        result = simulate(sc, seed=3)
        return result.summary()

    plain, cancelling = run_poisson(False), run_poisson(True)
    for s in (plain, cancelling):
        assert s["requests"]["ok"] == s["requests"]["issued"]
    counts = cancelling["components"]["front"]["counts"]
    assert counts["hedges_cancelled"] == cancelling["components"]["back"]["counts"]["cancelled"] > 0
    assert counts["hedges_cancelled"] < counts["hedges_sent"]
    assert cancelling["components"]["back"]["served"] < plain["components"]["back"]["served"]
    assert cancelling["components"]["back"]["utilization"] < plain["components"]["back"]["utilization"]


def test_a_view_keeps_what_it_carries_when_another_is_made_from_it():
    """Deadline, trace span and hedged copy travel together: a traced copy under a deadline keeps all three."""
    from simulator.core.request import Copy, Request

    copy = Copy()
    view = Request(7, 0.0, 0, 0, 0).within(5.0).inside(3).cancellable(copy)
    narrowed = view.within(2.0).inside(9)
    assert (narrowed.deadline, narrowed.span, narrowed.parent, narrowed.copy) == (2.0, 9, 3, copy)
    assert (view.deadline, view.span, view.copy) == (5.0, 3, copy)  # the caller's view is unchanged


def test_a_traced_hedge_cancels_its_losers_and_closes_their_spans():
    """Tracing and cancellation together: the cancelled copies still leave the queue (as untraced), and
    each copy's server span is written, the cancelled ones REJECTED."""
    hedge = {"delay": "3ms", "max_extra": 2, "cancel": True}
    comps = {"api": service(work="0ms", steps=[{"call": "db.op", "hedge": hedge}], workers=100),
             "db": service(work="8ms", workers=1)}
    one_user = {"arrivals": {"kind": "closed", "users": 1, "think": "100ms"}}
    plain = simulate(scenario(comps, entry="api", duration="5s", workload=one_user), seed=1)
    traced = simulate(scenario(comps, entry="api", duration="5s", workload=one_user, tracing={"ratio": 1.0}),
                      seed=1)
    assert traced.summary() == plain.summary()
    cancelled = plain.summary()["components"]["db"]["counts"]["cancelled"]
    assert cancelled > 0
    spans = traced.traces.frame()
    db = spans[(spans["kind"] == "server") & (spans["component"] == "db")]
    assert (db["status"] == "rejected").sum() == cancelled


def test_whether_hedges_cancel_is_known_per_scenario():
    """The answer is remembered per scenario (a walk of every step per component was
    O(components²)), never carried over to another scenario, even one made in its place."""
    import gc

    from simulator.scenario.topology import hedges_cancel

    def design(cancel):
        return scenario({"front": service(0, steps=[{"call": "back.op", "hedge": {"delay": "10ms", "cancel": cancel}}]),
                         "back": service(0.01)})

    for _ in range(3):
        yes, no = design(True), design(False)
        assert hedges_cancel(yes) and not hedges_cancel(no)
        assert hedges_cancel(yes) and not hedges_cancel(no)  # remembered
        del yes, no
        gc.collect()
    assert hedges_cancel(design(False)) is False and hedges_cancel(design(True)) is True
