"""Load shedding, LIFO under overload and deadline propagation at a service.

Checked against golden §5 (copied from ../shared/reference/golden.md): G5.4, M/M/1/K with
ρ = 0.9 and K = 10 (one in service, 9 waiting) blocks P_block = 0.050814, which is what
``shed: {max_queue_length: 9}`` must reject and count as ``shed``; G5.1, an M/M/1 has mean
sojourn 1/(μ − λ) whatever the (work-conserving) order, so ``queue_order: lifo`` keeps the
mean (ρ = 0.5: 2 / μ) and only reshuffles who waits. Exact rules are checked on every
span of a run: a request shed by queue time waited longer than ``max_queue_time`` and took
no work, one served did not; an expired one is dropped only once its deadline is past.
"""

from __future__ import annotations

import numpy as np
import pytest

from bands import assert_replications_within_3se
from helpers import located_problems, scenario, service
from simulator import simulate
from simulator.core.request import Carried, Request


def spans_of(result, component: str = "svc"):
    spans = result.spans
    return spans[spans["component"] == component]


def test_max_queue_length_is_mm1k_blocking(golden_zscores):
    """shed: {max_queue_length: 9} at one worker is M/M/1/10: P_block = 0.050814 (golden G5.4), all counted shed."""
    sc = scenario({"svc": service("exp(10ms)", shed={"max_queue_length": 9})}, rate="90/s", duration="1000s")
    shares = []
    for seed in range(10):
        result = simulate(sc, seed=seed)
        s = result.summary()
        shed = s["components"]["svc"]["counts"]["shed"]
        assert shed == s["requests"]["rejected"] == s["components"]["svc"]["rejected"]
        shares.append(shed / s["requests"]["issued"])
    assert_replications_within_3se(golden_zscores, shares, 0.050814, "G5.4 M/M/1/10 shed share")


def test_a_shorter_queue_bound_than_max_queue_length_is_not_shedding():
    """queue: 3 with max_queue_length: 9: the queue bound rejects first, nothing counted shed."""
    sc = scenario({"svc": service("exp(10ms)", queue=3, shed={"max_queue_length": 9})}, rate="90/s", duration="200s")
    s = simulate(sc, seed=1).summary()
    assert s["requests"]["rejected"] > 0
    assert s["components"]["svc"]["counts"]["shed"] == 0


def test_max_queue_time_drops_exactly_the_requests_that_waited_too_long():
    """Every shed visit waited more than max_queue_time and did no work; every served one waited no more."""
    sc = scenario({"svc": service("exp(10ms)", shed={"max_queue_time": "50ms"})}, rate="150/s", duration="100s")
    result = simulate(sc, seed=3)
    spans = spans_of(result)
    shed = spans[spans["status"] == "rejected"]
    served = spans[spans["status"] == "ok"]
    assert len(shed) > 1000 and len(served) > 5000
    assert (shed["wait"] > 0.05).all()
    assert (shed["release"] == shed["start"]).all()  # the worker went on at once
    assert (served["wait"] <= 0.05).all()
    s = result.summary()
    assert s["components"]["svc"]["counts"]["shed"] == len(shed[shed["start"] < 100])  # counted when dropped
    # overloaded at 150 % yet the server keeps its full throughput of good answers
    assert s["goodput_rps"] == pytest.approx(100, rel=0.05)


def test_lifo_keeps_the_mm1_mean_sojourn(golden_zscores):
    """M/M/1 at ρ = 0.5 (μ = 100/s): mean sojourn 1/(μ − λ) = 20 ms in LIFO order too (golden G5.1)."""
    sc = scenario({"svc": service("exp(10ms)", queue_order="lifo")}, rate="50/s", duration="400s", warmup="40s")
    means = [simulate(sc, seed=s).summary()["latency_s"]["mean"] for s in range(10)]
    assert_replications_within_3se(golden_zscores, means, 0.020, "G5.1 M/M/1 LIFO mean sojourn")


def test_lifo_serves_the_newest_waiting_request_first():
    """Whenever a worker takes a queued request, no request that arrived later was still waiting."""
    sc = scenario({"svc": service("exp(10ms)", queue_order="lifo")}, rate="95/s", duration="100s")
    spans = spans_of(simulate(sc, seed=2))
    waited = spans[spans["wait"] > 0].sort_values("start")
    arrival, start = spans["arrival"].to_numpy(), spans["start"].to_numpy()
    for a, s in zip(waited["arrival"].to_numpy()[:2000], waited["start"].to_numpy()[:2000]):
        # arrived after this one, before it started, and started after it: would have been skipped
        assert not np.any((arrival > a) & (arrival < s) & (start > s))
    fifo = spans_of(simulate(scenario({"svc": service("exp(10ms)")}, rate="95/s", duration="100s"), seed=2))
    # the same arrivals and work: LIFO waits are far more spread (many near 0, a few very long)
    assert np.median(spans["wait"]) < np.median(fifo["wait"])
    assert spans["wait"].max() > fifo["wait"].max()


def test_drop_expired_drops_work_past_the_client_deadline():
    """A 200 ms client timeout: an expired visit waited at least 200 ms; a served one less (no network)."""
    sc = scenario({"svc": service("exp(10ms)", drop_expired=True)}, rate="150/s", duration="60s",
                  workload={"timeout": "200ms"})
    result = simulate(sc, seed=1)
    spans = spans_of(result)
    expired = spans[spans["status"] == "rejected"]
    served = spans[spans["status"] == "ok"]
    assert len(expired) > 1000
    assert (expired["wait"] >= 0.2 - 1e-12).all() and (expired["release"] == expired["start"]).all()
    assert (served["wait"] < 0.2).all()
    assert result.summary()["components"]["svc"]["counts"]["expired"] == len(expired[expired["start"] < 60])  # counted when dropped


def test_a_calls_timeout_narrows_the_deadline_for_the_callee():
    """The caller's call timeout (50 ms) is earlier than the client's (10 s): the callee drops at 50 ms."""
    sc = scenario({"svc": service(0, steps=[{"call": "db.op", "timeout": "50ms"}], workers=100_000),
                   "db": service("exp(10ms)", drop_expired=True)},
                  rate="150/s", duration="60s", workload={"timeout": "10s"})
    spans = spans_of(simulate(sc, seed=4), "db")
    expired = spans[spans["status"] == "rejected"]
    assert len(expired) > 1000
    assert (expired["wait"] >= 0.05 - 1e-12).all()
    assert (spans.loc[spans["status"] == "ok", "wait"] < 0.05).all()


def test_without_a_deadline_nothing_expires():
    """drop_expired without any timeout on the way: no deadline, nothing dropped."""
    sc = scenario({"svc": service("exp(10ms)", drop_expired=True)}, rate="90/s", duration="50s")
    s = simulate(sc, seed=1).summary()
    assert s["components"]["svc"]["counts"]["expired"] == 0 and s["requests"]["rejected"] == 0


def test_the_deadline_is_the_earlier_one():
    request = Request(1, 0.0, 0, 0, 0)
    assert request.deadline is None
    narrowed = request.within(2.0)
    assert isinstance(narrowed, Carried) and narrowed.deadline == 2.0 and narrowed.id == 1
    assert narrowed.within(5.0) is narrowed  # a later deadline changes nothing
    assert narrowed.within(1.0).deadline == 1.0 and narrowed.deadline == 2.0  # the caller's view is unchanged


def test_settings_off_report_no_new_counts():
    """A service without shed / drop_expired reports neither count (the summary is as before)."""
    counts = simulate(scenario({"svc": service("exp(10ms)")}, duration="10s"), seed=1).summary()["components"]["svc"]
    assert "shed" not in (counts.get("counts") or {}) and "expired" not in (counts.get("counts") or {})


@pytest.mark.parametrize("settings, where, message", [
    ({"shed": {}}, "shed", "max_queue_time"),
    ({"shed": {"max_queue_time": 0}}, "shed.max_queue_time", "must be positive"),
    ({"shed": {"max_queue_length": -1}}, "shed.max_queue_length", "greater than or equal to 0"),
    ({"shed": {"max_queue_wait": "1s"}}, "shed.max_queue_wait", ""),
    ({"queue_order": "random"}, "queue_order", "fifo"),
    ({"drop_expired": "sometimes"}, "drop_expired", "bool"),
])
def test_bad_overload_settings_are_located(settings, where, message):
    problems = located_problems({"svc": service("1ms", **settings)}, entry="svc")
    assert any(f"components.svc.{where}" in p and message in p for p in problems), problems


def test_the_readme_example_is_a_valid_design_that_runs():
    import re
    from pathlib import Path

    import yaml

    from simulator.scenario.load import check_scenario

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    match = re.search(r"<!-- overload-example -->\s*```yaml\n(.+?)\n```", text, re.S)
    assert match, "README has no overload-example block"
    doc = {"name": "readme-overload", "duration": "30s", **yaml.safe_load(match.group(1))}
    scenario_, warnings = check_scenario("readme.yaml", text=yaml.safe_dump(doc, sort_keys=False))
    assert warnings == []
    s = simulate(scenario_, seed=1).summary()
    search, api = s["components"]["search"], s["components"]["api"]
    assert search["counts"]["shed"] + search["counts"]["expired"] > 0  # 250/s into 2 × 1 workers at 100/s each
    assert api["counts"]["hedges_sent"] > 0
