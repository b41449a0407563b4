"""One objective everywhere: windows, fault-relative windows, component metrics, recovery time.

Expectations are closed-form or hold by construction; verdicts are judged over
replications on a 95 % confidence bound (:func:`simulator.objectives.judge`).
"""

from __future__ import annotations

import pytest

from simulator import load_scenario, simulate
from simulator.core.rng import replication_seeds
from simulator.errors import ScenarioError
from simulator.experiments.executors import replicate
from simulator.objectives import Objective, judge, objective_of, parse_objective
from simulator.scenario.load import check_scenario

def load_text(text: str, path: str = "s.yaml"):
    return check_scenario(path, text=text)


# An errors fault of probability 0.3 on [20 s, 40 s): the requests issued in it fail with
# probability 0.3 (availability 0.7 there), none fails outside it (availability exactly 1).
ERRORS = """
name: errors-window
duration: 60s
records: full
workload:
  - {name: users, entry: web, operation: get, arrivals: {kind: poisson, rate: 200}}
components:
  web: {kind: service, workers: 50, operations: {get: {work: "const(1ms)"}}}
faults:
  - {kind: errors, target: web, at: 20s, for: 20s, probability: 0.3}
slos:
  - {name: whole, metric: availability, min: 0.5}
  - {name: during, metric: availability, min: 0.5, during: 0}
  - {name: fixed, metric: availability, min: 0.5, window: {from: 20s, to: 40s}}
  - {name: after, metric: availability, min: 0.999, after: "errors:web", grace: 1s}
  - {name: util, component: web, metric: utilization, max: 0.5}
"""


def test_windows_read_the_requests_issued_in_them():
    runs = replicate(load_text(ERRORS)[0], replication_seeds(1, 5), workers=1)
    by_name = [{s["name"]: s for s in r.summary()["slos"]} for r in runs]
    during = [s["during"]["value"] for s in by_name]
    assert all(s["during"]["window"] == [20.0, 40.0] and s["fixed"]["value"] == s["during"]["value"]
               for s in by_name)
    assert all(s["after"]["value"] == 1.0 and s["after"]["window"] == [41.0, 60.0] for s in by_name)
    # whole run: a third of the requests see p = 0.3 → 0.9; binomial SE of 0.7 over ~4000 requests ≈ 0.007
    slo = load_text(ERRORS)[0].slos[1]
    lower = judge(objective_of(slo).__class__(**{**objective_of(slo).__dict__, "target": 0.68}), during)
    upper = judge(Objective("during", "x", "max", 0.72, metric="availability"), during)
    assert lower.met and upper.met, (during, lower, upper)
    whole = [s["whole"]["value"] for s in by_name]
    assert judge(Objective("w", "x", "min", 0.89), whole).met and judge(Objective("w", "x", "max", 0.91), whole).met
    # utilization of 50 workers at 200/s × 1 ms is 0.004, read by name from the summary
    assert all(s["util"]["value"] == pytest.approx(200 * 0.001 / 50, rel=0.1) and s["util"]["component"] == "web"
               for s in by_name)


def test_a_component_metric_that_does_not_exist_lists_the_ones_that_do():
    scenario = load_text(ERRORS.replace("metric: utilization", "metric: hit_ratio"))[0]
    with pytest.raises(ValueError, match=r"component 'web': unknown metric 'hit_ratio' .*utilization"):
        simulate(scenario, 1).summary()


@pytest.mark.parametrize("slo, where, message", [
    ("{name: x, metric: availability, min: 0.5, during: 3}", "slos.5.during", "no fault 3 (faults: 0 (errors:web))"),
    ("{name: x, metric: availability, min: 0.5, after: crash}", "slos.5.after", "no fault 'crash'"),
    ("{name: x, component: wbe, metric: utilization, max: 1}", "slos.5.component", "unknown component 'wbe'"),
    ("{name: x, metric: availabilty, min: 1}", "slos.5.metric", "unknown metric 'availabilty' (did you mean"),
    ("{name: x, metric: availability, min: 0.5, window: {from: 50s, to: 70s}}", "slos.5.window", "inside the run"),
    ("{name: x, metric: latency_mean, max: 1s, recovery: {after: 0, within: 5s}}", "slos.5",
     "a recovery time is measured on a time series"),
])
def test_new_objective_fields_are_validated_with_located_errors(slo, where, message):
    with pytest.raises(ScenarioError) as error:
        load_text(ERRORS + f"  - {slo}\n", "s.yaml")
    text = str(error.value)
    assert f"s.yaml:" in text and where in text and message in text, text


# M/D/1-like: one worker, 10 ms of work (capacity 100/s), 50/s Poisson arrivals. A slowdown
# ×4 for D = 10 s cuts capacity to 25/s: the backlog grows by B = (50 − 25)·10 = 250 requests
# (fluid), then drains at 100 − 50 = 50/s. A request waits backlog/100 s, so the p99 stays
# above 200 ms until the backlog falls under 20 requests: (250 − 20)/50 = 4.6 s after the end.
# Measured at bucket precision (1 s, the end of the last bucket that breaks it): 5 s.
RECOVERY = """
name: recovery
duration: 60s
records: full
workload:
  - {name: users, entry: web, operation: get, arrivals: {kind: poisson, rate: 50}}
components:
  web: {kind: service, workers: 1, operations: {get: {work: "const(10ms)"}}}
faults:
  - {kind: slowdown, target: web, at: 20s, for: 10s, factor: 4}
slos:
  - {name: back, metric: latency_p99, max: 200ms, recovery: {after: slowdown, within: 8s}}
  - {name: quick, metric: latency_p99, max: 200ms, recovery: {after: 0, within: 3s}}
"""


@pytest.mark.parametrize("records", ["full", "summary"])
def test_recovery_time_matches_the_fluid_drain_time(records):
    scenario = load_text(RECOVERY.replace("records: full", f"records: {records}"))[0]
    runs = replicate(scenario, replication_seeds(7, 5), workers=1)
    times = [{s["name"]: s for s in r.summary()["slos"]}["back"]["value"] for r in runs]
    # the fluid drain crosses 200 ms at 4.6 s; the bucket that holds it ends 0.4–1.4 s later (4.6 ≤ R ≤ 5.6 on
    # average): the 95 % interval of the mean over the replications must reach that band
    from simulator.stats import mean_interval

    ci = mean_interval(times)
    assert ci.low <= 5.6 and ci.high >= 4.6 and ci.high - ci.low < 4, (times, ci)
    objective = objective_of(scenario.slos[0])
    assert objective.bound == "max" and objective.target == 8.0 and objective.unit == "s"
    assert judge(objective, times).met
    assert not judge(objective_of(scenario.slos[1]), times).met


def test_recovery_is_zero_without_a_backlog_and_none_when_it_never_recovers():
    scenario = load_text(RECOVERY.replace("factor: 4", "factor: 1.5"))[0]  # 66/s capacity: no backlog
    assert simulate(scenario, 1).summary()["slos"][0]["value"] == 0.0
    never = load_text(RECOVERY.replace("at: 20s, for: 10s", "at: 20s, for: 35s"))[0]  # drains past the end
    verdict = simulate(never, 1).summary()["slos"][0]
    assert verdict["value"] is None and not verdict["passed"]


def test_one_reading_for_summaries_and_sweep_records():
    result = simulate(load_scenario("scenarios/theory/mmc.yaml"), 3)
    summary = result.summary()
    from simulator.experiments.runs import RunSpec, record

    rec = record(RunSpec("x", (), (), 3, 0, 0), result)
    for text in ("latency_p99<=1s", "availability>=0.9", "throughput>=1/s", "error_rate<=0.1",
                 "component.station.p_wait<=0.5", "component.station.wait_mean<=1s",
                 "component.station.in_system_mean<=100"):
        objective = parse_objective(text)
        assert objective.value(summary) == pytest.approx(objective.value(rec)), text


# Each replica: 1 worker of 10 ms (100/s). At 250/s, 3 replicas are the fewest that keep
# utilization under 0.9 (250/300 = 0.83; 2 would be 1.25); each costs $0.25/h behind a $0.05/h balancer.
PLANNED = """
name: planned
duration: 30s
params:
  replicas: {default: 1}
workload:
  - {name: users, entry: lb, operation: get, arrivals: {kind: poisson, rate: 250}}
components:
  lb: {kind: load_balancer, backend: web}
  web: {kind: service, replicas: "${replicas}", workers: 1, operations: {get: {work: "const(10ms)"}}}
"""


def test_plan_minimises_dollars(tmp_path):
    from simulator.experiments.planning import plan

    path = tmp_path / "planned.yaml"
    path.write_text(PLANNED)
    result = plan(path, {"replicas": (1, 6)}, ["component.web.utilization<=0.9"], replications=3, cost="dollars",
                  prices={"service": 0.25, "load_balancer": 0.05}, workers=1)
    assert result.found and result.config == {"replicas": 3}
    assert result.cost == pytest.approx(3 * 0.25 + 0.05)


def test_plan_and_grade_options_reach_the_cli(tmp_path):
    from typer.testing import CliRunner

    from simulator.cli import app

    path = tmp_path / "planned.yaml"
    path.write_text(PLANNED)
    runner = CliRunner()
    out = runner.invoke(app, ["plan", str(path), "--knob", "replicas=2:4", "--slo", "component.web.utilization<=0.9",
                              "-r", "2", "-w", "1", "--minimise", "dollars", "--price", "service=0.25",
                              "--price", "load_balancer=0.05"])
    assert out.exit_code == 0 and "replicas=3 ($0.8/h" in out.output, out.output
    assert "--scheduler" in runner.invoke(app, ["grade", "--help"]).output
