"""One objective everywhere: windows, fault-relative windows, component metrics, recovery time.

Expectations are closed-form or hold by construction; verdicts are judged over
replications on a 95 % confidence bound (:func:`simulator.objectives.judge`). A component
metric is read over a window like a request metric: its ratios and counters from the
timestamped tallies (or the summary records' buckets), its time averages over the window,
its per-visit statistics from the visits arriving in it (full records); a recovery time is
measured on its time averages, counters and ratios.
"""

from __future__ import annotations

import math

import pytest

from simulator import load_scenario, simulate
from simulator.core.rng import replication_seeds
from simulator.errors import ScenarioError
from simulator.experiments.executors import replicate
from simulator.objectives import Objective, component_value, judge, objective_of, parse_objective
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
    """Refused at load (located, before any run), and by the summary reader for a summary built elsewhere."""
    with pytest.raises(ScenarioError, match=r"s.yaml:\d+:\d+: slos.\d.metric: component 'web' \(service\) does not "
                                            r"report 'hit_ratio': it reports utilization, p_wait"):
        load_text(ERRORS.replace("metric: utilization", "metric: hit_ratio"), "s.yaml")
    summary = simulate(load_text(ERRORS)[0], 1).summary()
    with pytest.raises(ValueError, match=r"component 'web': unknown metric 'hit_ratio' .*utilization"):
        component_value(summary, "web", "hit_ratio")


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
    assert "s.yaml:" in text and where in text and message in text, text


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


# ----------------------------------------------------------------------------- component metrics over a window

# One user reads the one key through a cache (no work of its own) whose entries expire 950 ms after
# they are written; the origin answers in 13 ms; the user thinks 100 ms between requests and starts
# with a think. Nothing is random, so the timeline is exact:
#   a miss at m loads until m + 13 ms; hits follow at m + 13 ms + 100 ms·j for j = 1…9 (the 10th
#   would come 1 s after the write, past the 950 ms expiry): one miss and 9 hits every 1.013 s,
#   the misses at m_k = 0.1 + 1.013 k.
#   The origin crashes over [20 s, 25 s). m_19 = 19.347 s: its hits fall at 19.46 … 20.26 s, so 3 of
#   them (20.06, 20.16, 20.26) are in the window; the entry expires at 20.31 s, and from 20.36 s on
#   every request misses at once (the origin refuses), every 100 ms up to 24.96 s: 47 misses.
#   Hit ratio during the crash: 3 / (3 + 47) = 0.06.
#   From 25.06 s the cycle restarts (misses at 25.06 + 1.013 k). In [30 s, 60 s): the misses k = 5 … 34
#   (30 of them); the hits of k = 4 reach 30.025 s (1), k = 5 … 33 give 9 each (261), k = 34 (59.502 s)
#   gives 4 before 60 s: 266 hits. Hit ratio after the crash plus a 5 s grace: 266 / 296.
ORIGIN_CRASH = """
name: origin-crash
duration: 60s
records: full
workload:
  - {name: users, entry: cache, operation: read, keys: "uniform(n=1)",
     arrivals: {kind: closed, users: 1, think: "const(100ms)"}}
components:
  cache: {kind: cache, origin: db, capacity: 10, expire_after_write: 950ms}
  db: {kind: service, operations: {read: {work: "const(13ms)"}}}
faults:
  - {kind: crash, target: db, at: 20s, for: 5s}
slos:
  - {name: during, component: cache, metric: hit_ratio, min: 0.5, during: crash}
  - {name: misses, component: cache, metric: misses, max: 10, during: crash}
  - {name: after, component: cache, metric: hit_ratio, min: 0.85, after: crash, grace: 5s}
  - {name: whole, component: cache, metric: hit_ratio, min: 0.5}
  - {name: waits, component: db, metric: p_wait, max: 0.5, window: {from: 20s, to: 25s}}
"""


@pytest.mark.parametrize("records", ["full", "summary"])
def test_a_component_ratio_over_a_fault_window_is_counted_in_it(records):
    """Σ numerator / Σ denominator over the window, from timestamped tallies (full records) or from the
    sample_interval buckets (summary records): the same exact numbers either way."""
    scenario = load_text(ORIGIN_CRASH)[0]
    result = simulate(scenario, records=records)
    summary = result.summary()
    slos = {s["name"]: s for s in summary["slos"]}
    assert slos["during"]["value"] == pytest.approx(3 / 50, abs=1e-15) and not slos["during"]["passed"]
    assert slos["during"]["window"] == [20.0, 25.0] and slos["during"]["component"] == "cache"
    assert slos["misses"]["value"] == 47  # a counter, read by name
    assert slos["after"]["value"] == pytest.approx(266 / 296, abs=1e-15) and slos["after"]["window"] == [30.0, 60.0]
    assert slos["whole"]["value"] == summary["components"]["cache"]["hit_ratio"]  # the whole window: the summary's
    during = result.component_window("cache", 20.0, 25.0)
    assert during["counts"]["hits"] == 3 and during["counts"]["misses"] == 47 and during["hit_ratio"] == 3 / 50
    if records == "full":
        assert slos["waits"]["value"] == 0.0 and "unavailable" not in slos["waits"]
    else:
        assert slos["waits"]["value"] is None and not slos["waits"]["passed"]
        assert slos["waits"]["unavailable"].startswith("p_wait is counted per visit, and this run kept summary records")


def test_a_component_window_is_the_summary_entry_over_that_interval():
    result = simulate(load_text(ORIGIN_CRASH)[0])
    summary = result.summary()["components"]
    assert result.component_window("cache", *result.window) == summary["cache"]
    assert result.component_window("db", *result.window) == summary["db"]
    crashed = result.component_window("db", 20.0, 25.0)
    assert crashed["visits"] == crashed["errors"] == 47 and crashed["served"] == 0  # refused at once
    with pytest.raises(KeyError, match="unknown component 'dbb'"):
        result.component_window("dbb", 0.0, 1.0)


def test_summary_records_need_the_window_on_their_grid():
    """Summary records count per sample_interval (1 s): a window edge at 20.5 s is not on that grid."""
    text = ORIGIN_CRASH.replace("at: 20s, for: 5s", "at: 20.5s, for: 5s")
    verdict = {s["name"]: s for s in simulate(load_text(text)[0], records="summary").summary()["slos"]}["during"]
    assert verdict["value"] is None and "not on the recorded grid" in verdict["unavailable"]
    exact = {s["name"]: s for s in simulate(load_text(text)[0], records="full").summary()["slos"]}["during"]
    assert exact["value"] is not None and exact["window"] == [20.5, 25.5]


# Ten workers of 10 ms at 200/s: utilization 0.2; a slowdown ×3 over [20 s, 40 s) makes it 0.6 there.
# The busy time in the window is 30 ms per visit arriving in it (up to the few still running at 40 s),
# N ~ Poisson(4000): the relative standard error is 1/√4000 ≈ 1.6 %.
SLOWED = """
name: slowed
duration: 60s
records: full
workload:
  - {name: users, entry: web, operation: get, arrivals: {kind: poisson, rate: 200}}
components:
  web: {kind: service, workers: 10, operations: {get: {work: "const(10ms)"}}}
faults:
  - {kind: slowdown, target: web, at: 20s, for: 20s, factor: 3}
slos:
  - {name: busy, component: web, metric: utilization, max: 0.7, during: slowdown}
"""


def test_a_component_time_average_over_a_window():
    scenario = load_text(SLOWED)[0]
    full, summary = simulate(scenario, 4, records="full"), simulate(scenario, 4, records="summary")
    [verdict] = full.summary()["slos"]
    busy = verdict["value"]
    se = 0.6 / math.sqrt(200 * 20)
    assert abs(busy - 0.6) < 3 * se, busy
    window = full.component_window("web", 20.0, 40.0)
    assert busy * 10 * 20 == pytest.approx(window["visits"] * 0.03, rel=0.005)  # 30 ms per visit in the window
    assert summary.summary()["slos"][0]["value"] == pytest.approx(busy, rel=1e-9)  # the same integral, by bucket
    outside = full.component_window("web", 0.0, 20.0)["utilization"]
    assert abs(outside - 0.2) < 3 * 0.2 / math.sqrt(200 * 20)


def test_recovery_time_of_a_component_metric_matches_the_fluid_drain_time():
    """The RECOVERY scenario's backlog (250 requests after the slowdown, draining at 50/s) read on the
    component: the mean queue length per 1 s bucket stays above 20 until the fluid backlog 250 − 50 t
    averages under 20 over a bucket: the bucket [4 s, 5 s) after the end averages 25, the next one
    nothing, so the recovery time is 5 s (a 4.6 … 5.6 s band, as the request-level test)."""
    from simulator.stats import mean_interval

    text = RECOVERY + ("  - {name: queue, component: web, metric: queue_len_mean, max: 20, "
                       "recovery: {after: slowdown, within: 8s}}\n")
    for records in ("full", "summary"):
        scenario = load_text(text.replace("records: full", f"records: {records}"))[0]
        runs = replicate(scenario, replication_seeds(7, 5), workers=1)
        times = [{s["name"]: s for s in r.summary()["slos"]}["queue"]["value"] for r in runs]
        ci = mean_interval(times)
        assert ci.low <= 5.6 and ci.high >= 4.6 and ci.high - ci.low < 4, (records, times, ci)


def test_recovery_of_a_counter_or_ratio_reads_it_bucket_by_bucket():
    """After the origin is back (25 s) each 1 s bucket holds one or two misses among ten look-ups:
    hit ratio 0.8 or more, under 5 misses; during the crash every bucket is all misses."""
    text = ORIGIN_CRASH + ("  - {name: back, component: cache, metric: hit_ratio, min: 0.5, "
                           "recovery: {after: crash, within: 2s}}\n"
                           "  - {name: calm, component: cache, metric: misses, max: 5, "
                           "recovery: {after: crash, within: 2s}}\n"
                           "  - {name: never, component: cache, metric: hit_ratio, min: 0.95, "
                           "recovery: {after: crash, within: 2s}}\n")
    for records in ("full", "summary"):
        slos = {s["name"]: s for s in simulate(load_text(text)[0], records=records).summary()["slos"]}
        assert slos["back"]["value"] == 0.0 and slos["back"]["passed"]
        assert slos["calm"]["value"] == 0.0
        assert slos["never"]["value"] is None and not slos["never"]["passed"]  # ≤ 0.9 in every bucket


@pytest.mark.parametrize("slo, where, message", [
    ("{name: x, component: db, metric: p_wait, max: 0.5, recovery: {after: 0, within: 5s}}", "slos.5",
     "(not p_wait, which is counted per visit)"),
    ("{name: x, component: cache, metric: capacity, max: 5, recovery: {after: 0, within: 5s}}", "slos.5.metric",
     "component 'cache' has utilization, queue_len_mean, in_system_mean, hits, misses"),
    ("{name: x, component: db, metric: hit_ratio, max: 5, recovery: {after: 0, within: 5s}}", "slos.5.metric",
     "component 'db' has utilization, queue_len_mean, in_system_mean\n"),
])
def test_a_component_recovery_needs_a_series(slo, where, message):
    with pytest.raises(ScenarioError) as error:
        load_text(ORIGIN_CRASH + f"  - {slo}\n", "s.yaml")
    text = str(error.value) + "\n"
    assert where in text and message in text, text


def test_summary_records_refuse_a_window_on_visits_but_not_on_tallies():
    text = ORIGIN_CRASH.replace("records: full", "records: summary")
    with pytest.raises(ScenarioError, match=r"slos.4: a window reads the visits: it needs full records"):
        load_text(text)
    scenario = load_text(text.replace("metric: p_wait", "metric: utilization"))[0]
    slos = simulate(scenario).summary()["slos"]
    assert slos[0]["value"] == pytest.approx(3 / 50) and slos[4]["value"] == 0.0  # the db was down
    assert not any("unavailable" in s for s in slos)
