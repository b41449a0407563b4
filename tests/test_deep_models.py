"""Valid deep models run: a request may go round a feedback loop any number of times.

M/M/1 with Bernoulli feedback (golden: Jackson networks): external Poisson λ, one
exponential server μ, after each service the job returns with probability p. Visits per
job V = 1/(1-p); the station sees λ/(1-p) and behaves as M/M/1 at that rate; a job's
mean time in the system is V / (μ - λ/(1-p)). With p = 0.99 a job makes 100 visits on
average and some make over a thousand: before, each visit nested a call in Python and
the run died of RecursionError past about 250.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulator import simulate
from simulator.scenario.load import check_scenario

LAM, MU, P = 0.05, 10.0, 0.99
FEEDBACK = f"""
name: mm1-feedback
seed: 1
duration: 20000s
warmup: 1000s
workload:
  - {{name: jobs, entry: cpu, operation: serve, arrivals: {{kind: poisson, rate: {LAM}/s}}}}
components:
  cpu:
    kind: service
    workers: 1
    io: async
    operations:
      serve:
        work: exp({1000 / MU:g}ms)
        steps: [{{branch: [{{p: {P}, steps: [{{call: cpu.serve}}]}}, {{p: {1 - P:.2f}, steps: []}}]}}]
"""


@pytest.mark.slow
def test_feedback_099_runs_for_any_seed_and_matches_jackson():
    scenario, _ = check_scenario("feedback.yaml", text=FEEDBACK)
    visits, latency, utilization = [], [], []
    for seed in range(1, 11):
        s = simulate(scenario, seed).summary()  # before: RecursionError for seeds 1-5
        assert s["requests"]["ok"] == s["requests"]["issued"] > 700
        visits.append(s["components"]["cpu"]["served"] / s["requests"]["issued"])
        latency.append(s["latency_s"]["mean"])
        utilization.append(s["components"]["cpu"]["utilization"])
    v = 1 / (1 - P)
    expected = {"visits": (visits, v), "latency": (latency, v / (MU - LAM * v)), "utilization": (utilization, LAM * v / MU)}
    for name, (values, target) in expected.items():
        values = np.asarray(values)
        se = values.std(ddof=1) / math.sqrt(len(values))
        assert abs(values.mean() - target) < 3 * se + 0.01 * target, (name, values.mean(), target, se)


def test_a_loop_deeper_than_the_nesting_limit_runs_and_a_shallow_one_is_unchanged(monkeypatch):
    """With the limit at 3 every 4th nested visit starts a fresh process; results stay valid."""
    from simulator.core import process

    scenario, _ = check_scenario("feedback.yaml", text=FEEDBACK.replace("duration: 20000s", "duration: 3000s"))
    baseline = simulate(scenario, 4).summary()
    monkeypatch.setattr(process, "NESTED_LIMIT", 3)
    monkeypatch.setattr(process.unnested, "__defaults__", (3,))
    shallow = simulate(scenario, 4).summary()
    assert shallow["requests"] == baseline["requests"]
    assert shallow["components"]["cpu"]["served"] == baseline["components"]["cpu"]["served"]


def test_a_loop_that_never_ends_on_average_is_refused_with_the_loop_named():
    from simulator.errors import ScenarioError

    twice = FEEDBACK.replace("steps: [{branch", "steps: [{publish: cpu.serve}, {publish: cpu.serve}]\n        x: [{branch")
    twice = twice.split("\n        x:")[0] + "\n"
    with pytest.raises(ScenarioError) as info:
        check_scenario("loop.yaml", text=twice)
    (message,) = [str(p) for p in info.value.problems]
    assert "cpu.serve → cpu.serve makes 2 calls round the loop per visit" in message
    at_one = FEEDBACK.replace(f"p: {P}, steps", "p: 1.0, steps").replace(f"p: {1 - P:.2f}, steps: []", "p: 0.0, steps: []")
    with pytest.raises(ScenarioError, match="never ends"):
        check_scenario("loop.yaml", text=at_one)


def test_the_mean_visits_are_the_closed_form():
    from simulator.scenario.loops import mean_calls

    scenario, _ = check_scenario("feedback.yaml", text=FEEDBACK)
    assert mean_calls(scenario)[("cpu", "serve")][("cpu", "serve")] == pytest.approx(P)


def test_a_blocking_feedback_loop_is_warned_about_with_the_loop_named():
    _, warnings = check_scenario("feedback.yaml", text=FEEDBACK.replace("io: async", "io: blocking"))
    assert any("blocking operation on a feedback loop (cpu.serve → cpu.serve)" in str(w) and "(1 per replica)" in str(w)
               for w in warnings)
    _, quiet = check_scenario("feedback.yaml", text=FEEDBACK)
    assert not any("feedback loop" in str(w) for w in quiet)
