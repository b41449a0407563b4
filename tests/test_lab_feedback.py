"""Feedback on a failed SLO reads the stretch that broke it, not the whole run.

A small lab: one service `app` (2 workers, ~10 ms a request, so ~200 req/s) calling a
database, a light background load (`browse`, 30 req/s from t = 0) and a trading spike
(`trade`, 400 req/s from t = 20 s for 10 s) that saturates `app` until its backlog drains.
The window starts at 5 s and the buckets are (120 − 5) / 60 ≈ 1.92 s wide, so the bucket
holding t = 20 s starts at 19.17 s: the feedback must still never name a moment before 20 s.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from rich.console import Console

from simulator import check_scenario
from simulator.core.rng import replication_seeds
from simulator.simulation import simulate
from simulator.labs import LabSpec, grade
from simulator.labs.feedback import find_broken
from simulator.labs.grader import imposed_scenario
from simulator.labs.junit import write_junit
from simulator.report import grade_renderable

SPIKE_AT = 20.0

DESIGN = """\
name: spike
duration: 60s
{records}
workload:
  - {{name: me, entry: app, operation: browse, arrivals: {{kind: poisson, rate: 1/s}}}}
components:
  app:
    kind: service
    workers: 2
    operations:
      browse: {{work: exp(10ms), steps: [{{call: db.read}}]}}
      trade: {{work: exp(10ms), steps: [{{call: db.read}}]}}
  db:
    kind: database
    connections: 10
    operations: {{read: {{work: exp(1ms)}}}}
"""

FAILING = [  # three objectives the spike breaks
    {"id": "p99", "slo": {"metric": "latency_p99", "max": "200ms"}},
    {"id": "p95", "slo": {"metric": "latency_p95", "max": "200ms"}},
    {"id": "trade-p99", "slo": {"metric": "latency_p99", "operation": "trade", "max": "200ms"}},
]
HOLDING = {"id": "browse-p50", "slo": {"metric": "latency_p50", "operation": "browse", "max": "10s"}}


def make_lab(checks: list[dict], replications: int = 2, faults: list[dict] | None = None) -> LabSpec:
    return LabSpec.model_validate({
        "name": "spike", "title": "Spike", "seed": 11, "replications": replications,
        "prices": {"service": 0.1, "database": 0.2, "cache": 0.1, "load_balancer": 0.02},
        "run": {"duration": "120s", "warmup": "5s", "drain": "30s", "faults": faults or [], "workload": [
            {"name": "browsers", "operation": "browse", "arrivals": {"kind": "poisson", "rate": "30/s"}},
            {"name": "traders", "operation": "trade", "arrivals": {"kind": "poisson", "rate": "0/s"},
             "profile": [{"at": f"{SPIKE_AT:g}s", "rate": "400/s", "for": "10s"}]},
        ]},
        "checks": [{"points": 10, "required": True, **c} for c in checks],
    })


def submission(tmp_path, records: str = "") -> object:
    folder = tmp_path / "sub"
    folder.mkdir(exist_ok=True)
    (folder / "design.yaml").write_text(DESIGN.format(records=records), encoding="utf-8")
    return folder


def first_run(lab: LabSpec, folder):
    design, _ = check_scenario(folder / "design.yaml")
    graded, problems = imposed_scenario(lab, design)
    assert problems == []
    return simulate(graded, replication_seeds(lab.seed, lab.replications)[0])


def times_named(lines: list[str]) -> list[float]:
    return [float(x) for line in lines for x in re.findall(r"t = (\d+(?:\.\d+)?)", line)]


@pytest.fixture(scope="module")
def spike(tmp_path_factory):
    lab = make_lab(FAILING + [HOLDING])
    folder = submission(tmp_path_factory.mktemp("spike"))
    return lab, folder, grade(lab, folder)


def by_id(report):
    return {c.id: c for c in report.checks}


def test_the_moment_named_is_never_before_the_load_that_broke_it(spike):
    lab, folder, report = spike
    checks = by_id(report)
    # the bucket holding the spike's start begins before it: the old reading would name 19.2 s
    broken = find_broken(lab.checks[2].slo.as_slo("trade-p99"), first_run(lab, folder))
    assert broken.starts[0] < SPIKE_AT < broken.starts[0] + broken.width
    for check in ("p99", "p95", "trade-p99"):
        moment = checks[check].feedback[1]
        assert moment.startswith("it first broke at t = "), checks[check].feedback
        named = times_named([moment])
        assert named and all(SPIKE_AT <= t < SPIKE_AT + 5 for t in named), moment
    assert all(t >= SPIKE_AT for t in times_named(report.diagnosis + sum((c.feedback for c in report.checks), [])))


def test_utilization_is_read_while_it_was_broken_not_over_the_whole_run(spike):
    lab, folder, report = spike
    result = first_run(lab, folder)
    whole = result.summary()["components"]["app"]["utilization"]
    assert whole < 0.5  # calm for most of the window: the whole-run mean understates the spike
    [line] = report.diagnosis
    assert line.startswith("app saturated at t = 2")
    busy = float(re.search(r"app (\d+)% busy", line).group(1)) / 100
    queued = float(re.search(r"(\d+) requests queued", line).group(1))
    assert busy >= 0.9 and queued > 50
    assert f"({100 * whole:.0f}% over the whole window)" in line  # both numbers, side by side
    # the same reading from the Result: app's buckets while trade-p99 was broken
    broken = find_broken(lab.checks[2].slo.as_slo("trade-p99"), result)
    frame = result.component_timeseries_at(broken.width, until=result.window[1])
    app = frame[frame.component == "app"]
    assert app[app.time.isin(broken.starts)].utilization.mean() >= 0.9


def test_one_diagnosis_line_for_one_cause_with_three_failed_checks(spike):
    _, _, report = spike
    checks = by_id(report)
    failed = [c for c in report.checks if not c.passed]
    assert {c.id for c in failed} == {"p99", "p95", "trade-p99"} and checks["browse-p50"].passed
    assert len(report.diagnosis) == 1
    line = report.diagnosis[0]
    assert "breaking p99, p95, trade-p99" in line
    for c in failed:
        assert c.feedback[0].startswith(("latency_p99", "latency_p95")) and "confidence bound" in c.feedback[0]
        assert len(c.feedback) == 3 and c.feedback[2].startswith("bottleneck: app saturated at t = ")
        assert c.feedback[2].endswith("see diagnosis")
        assert line not in c.feedback and not any("busy" in f for f in c.feedback)
    assert checks["browse-p50"].feedback == []
    assert report.to_dict()["diagnosis"] == report.diagnosis


def test_an_objective_that_never_breaks_gets_no_diagnosis(tmp_path):
    report = grade(make_lab([HOLDING], replications=1), submission(tmp_path))
    assert report.passed and report.diagnosis == [] and report.to_dict()["diagnosis"] == []


def test_a_crash_is_named_as_the_cause_not_read_as_load(tmp_path):
    """While `app` is down it is idle, not relieved: the crash is named, and no utilization is read there."""
    crash = {"kind": "crash", "target": "app", "at": "80s", "for": "15s"}
    check = {"id": "browse-availability", "slo": {"metric": "availability", "operation": "browse", "min": 0.99}}
    report = grade(make_lab([check], replications=1, faults=[crash]), submission(tmp_path))
    [result] = report.checks
    assert not result.passed
    assert result.feedback[1].startswith("it broke during the crash of app (80–95 s), first at t = ")
    assert all(t >= 80 for t in times_named(result.feedback[1:]))
    assert result.feedback[2] == "cause: the crash of app (80–95 s): see diagnosis"
    [line] = report.diagnosis
    assert line.startswith("the crash of app (80–95 s): broken at t = 8") and "breaking browse-availability" in line
    assert "busy" not in line


def test_summary_records_say_less_rather_than_something_wrong(tmp_path):
    """Without full records an operation's own series cannot be read: no moment is named from a mixed one."""
    report = grade(make_lab([FAILING[2]], replications=1), submission(tmp_path, "records: summary"))
    [check] = report.checks
    assert not check.passed
    lines = check.feedback + report.diagnosis
    assert times_named(lines) == []
    assert "needs trade's own series" in check.feedback[1] and not any("broke" in f for f in check.feedback)
    assert check.feedback[2] == "bottleneck: app, over the whole window: see diagnosis"
    [line] = report.diagnosis
    assert "for trade-p99" in line
    assert re.search(r"app \d+% busy averaged over the whole window", line)


def test_the_diagnosis_is_printed_and_in_junit(spike, tmp_path):
    _, _, report = spike
    console = Console(record=True, width=300)
    console.print(grade_renderable(report))
    text = console.export_text()
    assert "diagnosis" in text and text.count(report.diagnosis[0]) == 1
    write_junit(report, tmp_path / "junit.xml")
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    assert suite.find("system-out").text.count(report.diagnosis[0]) == 1
