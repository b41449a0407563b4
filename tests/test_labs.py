"""The lab framework: imposed runs, confidence-bound verdicts, every check kind, clean failures.

Uses a small lab in tests/assets/labs/mini: a web tier calling a database must keep p99
under 200 ms and availability over 98 % at 60 req/s while one web replica crashes for
60 s. Its starter (1 replica × 2 workers) fails; its solution (3 × 4) passes.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simulator.cli import app
from simulator.errors import ScenarioError
from simulator.labs import find_lab, grade, load_lab
from simulator.labs.grader import imposed_scenario
from simulator.labs.rules import RULES, hourly_cost
from simulator import check_scenario

LAB = Path(__file__).parent / "assets" / "labs" / "mini"


@pytest.fixture(scope="module")
def lab():
    return load_lab(LAB)


@pytest.fixture
def submission(tmp_path):
    """A copy of the solution that a test may edit."""
    target = tmp_path / "sub"
    shutil.copytree(LAB / "solution", target)
    return target


def by_id(report):
    return {c.id: c for c in report.checks}


def test_starter_fails_and_solution_passes(lab):
    starter, solution = grade(lab, LAB / "starter"), grade(lab, LAB / "solution")
    assert not starter.passed and solution.passed
    assert solution.score == solution.total == 100
    failed = {c.id for c in starter.checks if not c.passed}
    assert {"p99", "availability", "utilization-answer"} <= failed
    assert starter.score == 20  # budget and size are met by a small design


def test_verdicts_are_deterministic(lab):
    a, b = grade(lab, LAB / "solution"), grade(lab, LAB / "solution")
    assert [(c.value, c.bound) for c in a.checks] == [(c.value, c.bound) for c in b.checks]


def test_slo_verdict_is_taken_on_the_confidence_bound(lab):
    report = grade(lab, LAB / "solution")
    p99, avail = by_id(report)["p99"], by_id(report)["availability"]
    assert p99.bound >= p99.value and p99.margin == pytest.approx(p99.target - p99.bound)
    assert avail.bound <= avail.value and avail.margin == pytest.approx(avail.bound - avail.target)


def test_each_check_can_fail_on_its_own(lab, submission):
    design = submission / "design.yaml"
    text = design.read_text()
    # too small for the load: latency fails, the rest holds
    design.write_text(text.replace("workers: 4", "workers: 2").replace("replicas: 3", "replicas: 2"))
    assert {c.id for c in grade(lab, submission).checks if not c.passed} == {"p99"}
    # over budget and too many instances, still fast and available
    design.write_text(text.replace("replicas: 3", "replicas: 9"))
    assert {c.id for c in grade(lab, submission).checks if not c.passed} == {"budget", "small"}
    # a wrong answer costs only its own points
    design.write_text(text)
    (submission / "answers.yaml").write_text("db_utilization: 0.5\n")
    report = grade(lab, submission)
    assert {c.id for c in report.checks if not c.passed} == {"utilization-answer"} and report.passed


def test_availability_fails_alone_without_redundancy(lab, submission):
    design = submission / "design.yaml"
    design.write_text(design.read_text().replace("replicas: 3", "replicas: 1").replace("workers: 4", "workers: 12"))
    failed = {c.id for c in grade(lab, submission).checks if not c.passed}
    assert failed == {"availability"}


def test_tampering_with_workload_or_faults_changes_nothing(lab, submission):
    """The grader imposes the lab's load and faults: lowering the rate or deleting a fault is ignored."""
    design = submission / "design.yaml"
    honest = grade(lab, submission)
    tampered = design.read_text().replace("rate: 1/s", "rate: 0.001/s") + (
        "faults: []\nslos: [{name: fake, metric: availability, min: 0}]\nduration: 1s\n").replace("duration: 1s\n", "")
    design.write_text(tampered)
    again = grade(lab, submission)
    assert [(c.id, c.value) for c in honest.checks] == [(c.id, c.value) for c in again.checks]


def test_feedback_names_the_failing_slo_bottleneck_and_phase(lab):
    checks = by_id(grade(lab, LAB / "starter"))
    availability = "\n".join(checks["availability"].feedback)
    assert "availability must be at least 98.00%" in availability
    assert "crash of web" in availability
    assert "bottleneck: web" in "\n".join(checks["p99"].feedback)


def test_design_missing_a_component_the_lab_crashes(lab, submission):
    design = submission / "design.yaml"
    design.write_text(design.read_text().replace("web", "frontend"))
    report = grade(lab, submission)
    p99 = by_id(report)["p99"]
    assert not p99.passed and any("fault schedule needs it" in line for line in p99.feedback)
    assert not report.malformed


def test_malformed_submission_scores_zero_with_located_problems(lab, submission):
    (submission / "design.yaml").write_text("name: x\nduration: ten\n")
    report = grade(lab, submission)
    assert report.malformed and report.score == 0 and not report.passed
    assert any("design.yaml:2:11: duration" in p for p in report.problems)
    (submission / "design.yaml").write_text((LAB / "solution" / "design.yaml").read_text())
    (submission / "answers.yaml").write_text("db_utilization: [1\n")
    assert grade(lab, submission).malformed


def test_structural_rules_and_cost_model(submission):
    design, _ = check_scenario(submission / "design.yaml")
    assert hourly_cost(design, {"service": 0.10, "database": 0.20}) == (pytest.approx(0.5), [])
    assert RULES["max_instances"](design, 3) == ["4 instances in total, at most 3 allowed"]
    assert RULES["required_components"](design, ["web", "cache"]) == ["no component named 'cache'"]
    assert RULES["no_shared_database"](design, None) == []
    assert RULES["operations_served_by"](design, {"get": "db"}) == []
    assert RULES["operations_served_by"](design, {"get": "cache"}) == ["'get' is not served by 'cache'"]


def test_shared_database_is_detected(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("""\
name: shared
duration: 10s
workload:
  - {name: w, entry: a, operation: x, arrivals: {kind: poisson, rate: 1}}
components:
  a: {kind: service, operations: {x: {steps: [{call: b.y}, {call: db.read}]}}}
  b: {kind: service, operations: {y: {steps: [{call: db.read}]}}}
  db: {kind: database, operations: {read: {}}}
""")
    design, _ = check_scenario(path)
    assert RULES["no_shared_database"](design, None) == ["database 'db' is shared by a, b"]


def test_imposed_scenario_keeps_only_the_entry_name(lab):
    design, _ = check_scenario(LAB / "solution" / "design.yaml")
    graded, problems = imposed_scenario(lab, design)
    assert problems == [] and graded.workload[0].entry == "web"
    assert graded.workload[0].arrivals.rate == 60 and graded.duration == 300 and len(graded.faults) == 1


def test_cli_grade_exit_codes_json_and_junit(tmp_path, submission):
    runner = CliRunner()
    ok = runner.invoke(app, ["grade", str(LAB), str(submission), "--json", "--junit", str(tmp_path / "j.xml")])
    assert ok.exit_code == 0, ok.stderr
    doc = json.loads(ok.stdout)
    assert doc["passed"] and doc["score"] == doc["total"] == 100
    suite = ET.parse(tmp_path / "j.xml").getroot()
    assert suite.get("tests") == "5" and suite.get("failures") == "0"
    fail = runner.invoke(app, ["grade", str(LAB), str(LAB / "starter")])
    assert fail.exit_code == 1 and "FAIL" in fail.stdout
    (submission / "design.yaml").write_text("name: [\n")
    bad = runner.invoke(app, ["grade", str(LAB), str(submission), "--junit", str(tmp_path / "bad.xml")])
    assert bad.exit_code == 3 and "invalid YAML" in bad.stderr and "Traceback" not in bad.stderr
    assert ET.parse(tmp_path / "bad.xml").getroot().get("errors") == "1"


def test_labs_start_copies_the_starter_and_the_reference_sheets_not_the_solution(tmp_path, monkeypatch):
    monkeypatch.setenv("SDSIM_LABS", str(LAB.parent))
    runner = CliRunner()
    listed = runner.invoke(app, ["labs", "list"])
    assert "mini" in listed.stdout
    target = tmp_path / "mine"
    assert runner.invoke(app, ["labs", "start", "mini", str(target)]).exit_code == 0
    copied = sorted(p.name for p in target.iterdir())
    assert copied == sorted([p.name for p in (LAB / "starter").iterdir()] + ["reference"])
    assert sorted(p.name for p in (target / "reference").iterdir()) == ["golden.md", "typical-numbers.md"]
    assert not (target / "solution").exists() and not (target / "lab.yaml").exists()
    assert runner.invoke(app, ["labs", "start", "mini", str(target)]).exit_code == 2  # not empty
    assert find_lab("mini") == LAB.parent / "mini"
    with pytest.raises(ScenarioError):
        find_lab("no-such-lab")


def test_feedback_reads_one_operations_own_series():
    """Operation x is fast except while its dependency is slowed down (20-30 s); operation y is
    slow all the time. The mixed series breaks a 5 ms p99 everywhere, x's own series only during
    the slow-down: the phase line of x's SLO names the slow-down. With summary records there is
    no per-operation series, so there is no phase line rather than a wrong one."""
    from helpers import scenario

    from simulator import simulate
    from simulator.labs.feedback import explain_slo_failure
    from simulator.scenario.model import Slo

    spec = scenario({"svc": {"kind": "service", "workers": 100,
                             "operations": {"x": {"work": "0.5ms", "steps": [{"call": "xdep.op"}]},
                                            "y": {"work": "20ms"}}},
                     "xdep": {"kind": "service", "workers": 100, "operations": {"op": {"work": "1ms"}}}},
                    workload={"operation": None, "mix": {"x": 0.5, "y": 0.5}}, rate="100/s", duration="60s",
                    warmup="5s", faults=[{"kind": "slowdown", "target": "xdep", "factor": 20, "at": "20s",
                                          "for": "10s"}])
    whole_slo = Slo(name="p99", metric="latency_p99", max=0.005)
    x_slo = Slo(name="x p99", metric="latency_p99", operation="x", max=0.005)
    run = simulate(spec, seed=1)
    summary = run.summary()
    whole = "\n".join(explain_slo_failure(whole_slo, [run], [summary], 1.0))
    x = "\n".join(explain_slo_failure(x_slo, [run], [summary], 1.0))
    assert "broken for most of the run" in whole
    assert "it broke during the slowdown of xdep (20–30 s)" in x
    streamed = simulate(spec, seed=1, records="summary")
    lines = explain_slo_failure(x_slo, [streamed], [streamed.summary()], 1.0)
    assert not any("broke" in line for line in lines)
