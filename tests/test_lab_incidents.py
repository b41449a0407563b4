"""What a lab that grades alerting needs: hidden incidents, fixed settings, alert scores as objectives,
and the lock-down rules.

* ``run.incidents`` (:mod:`simulator.labs.incidents`): a schedule per replication seed, inside the
  window, in time order, ``gap`` apart; every placement that fits equally likely (the start of a
  lone incident is uniform over the slack: mean and variance in a 3-SE band over 400 seeds); an
  instructor's ``--seed`` draws other schedules;
* ``incident: false``: a background error rate is not an incident, so an alert it sets off is false;
* ``fixed.settings`` (:mod:`simulator.labs.settings`): a design that changes a fixed setting is
  refused at the line that does it; one that leaves it out runs with the lab's value;
* ``alerts.SELECTOR.METRIC`` in ``slos:`` and in lab checks, with feedback that lists the run's
  incidents, what detected them and the false alerts;
* the structural rules ``mtls_strict`` and ``least_privilege``.

The mini lab (``tests/assets/labs/mini-alerts``): one service at 20 requests/s with a 1 %
background error rate, two incidents drawn per run from a 50 % error burst and a crash.
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from simulator import load_scenario, simulate
from simulator.cli import app
from simulator.core.rng import replication_seeds
from simulator.errors import ScenarioError
from simulator.labs import grade, load_lab
from simulator.labs.grader import WithIncidents, imposed_scenario
from simulator.labs.incidents import Incidents
from simulator.labs.rules import RULES
from simulator.scenario.model import Scenario

ROOT = Path(__file__).resolve().parents[1]
LAB = Path(__file__).parent / "assets" / "labs" / "mini-alerts"
SOLUTION = (LAB / "solution" / "design.yaml").read_text()


@pytest.fixture(scope="module")
def lab():
    return load_lab(LAB)


@pytest.fixture(scope="module")
def solution_report(lab):
    return grade(lab, LAB / "solution", workers=1)


def submit(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "design.yaml").write_text(text)
    return folder


def by_id(report):
    return {c.id: c for c in report.checks}


# ----------------------------------------------------------------------------- drawing incidents


POOL = Incidents(count=3, between=(60.0, 900.0), gap=30.0,
                 pool=[{"kind": "errors", "target": "web", "probability": 0.5, "for": "1m"},
                       {"kind": "crash", "target": "web", "for": "2m"},
                       {"kind": "latency", "target": "web", "delay": "50ms", "for": 90}])


def test_a_schedule_depends_on_the_seed_only():
    assert POOL.draw(7) == POOL.draw(7)
    schedules = {tuple((f["kind"], round(f["at"], 6)) for f in POOL.draw(seed)) for seed in range(50)}
    assert len(schedules) == 50


@pytest.mark.parametrize("seed", range(200))
def test_a_schedule_fits_its_window_in_order_and_apart(seed):
    faults = POOL.draw(seed)
    assert len(faults) == 3 and len({f["kind"] for f in faults}) == 3  # no replacement while the pool lasts
    lengths = {"errors": 60.0, "crash": 120.0, "latency": 90.0}
    ends = [f["at"] + lengths[f["kind"]] for f in faults]
    assert faults[0]["at"] >= 60.0 and ends[-1] <= 900.0 + 1e-9
    for before, after in zip(ends, faults[1:]):
        assert after["at"] >= before + 30.0 - 1e-9


def test_a_lone_incident_starts_uniformly_over_the_slack():
    """One 60 s incident in [0, 600]: its start is Uniform[0, 540] (mean 270, variance 540²/12),
    over 400 independent seeds, in a 3-standard-error band."""
    one = Incidents(count=1, between=(0.0, 600.0), pool=[{"kind": "crash", "target": "web", "for": "1m"}])
    starts = [one.draw(seed)[0]["at"] for seed in range(400)]
    n, mean, var = len(starts), 270.0, 540.0 ** 2 / 12
    assert abs(statistics.fmean(starts) - mean) <= 3 * math.sqrt(var / n)
    fourth_central = 540.0 ** 4 / 80  # the uniform's fourth central moment: the SE of the variance
    assert abs(statistics.variance(starts) - var) <= 3 * math.sqrt((fourth_central - var ** 2) / n)
    assert min(starts) >= 0.0 and max(starts) <= 540.0


@pytest.mark.parametrize("bad, message", [
    ({"pool": [{"kind": "crash", "target": "web", "for": "1m", "at": "2m"}]}, "no `at`"),
    ({"pool": [{"kind": "crash", "target": "web"}]}, "`for` is required"),
    ({"between": ["5m", "1m"]}, "end must be after"),
    ({"count": 3, "between": ["0s", "3m"]}, "may need 480 s, the window between is 180 s"),
])
def test_a_pool_that_cannot_be_drawn_is_refused(bad, message):
    data = {"count": 2, "between": ["0s", "10m"], "gap": "1m",
            "pool": [{"kind": "crash", "target": "web", "for": "2m"}], **bad}
    with pytest.raises(ValueError, match=message):
        Incidents.model_validate(data)


def test_a_bad_pool_in_lab_yaml_is_located(tmp_path):
    text = (LAB / "lab.yaml").read_text().replace("- {kind: crash, target: web, for: 1m}",
                                                    "- {kind: crash, target: web, at: 1m, for: 1m}")
    folder = tmp_path / "lab"
    folder.mkdir()
    (folder / "lab.yaml").write_text(text)
    with pytest.raises(ScenarioError) as raised:
        load_lab(folder)
    assert "lab.yaml:" in str(raised.value.problems[0]) and "no `at`" in str(raised.value.problems[0])


def test_every_replication_draws_its_own_incidents_after_the_labs_faults(lab):
    graded, problems = imposed_scenario(lab, load_scenario(LAB / "solution" / "design.yaml"))
    assert not problems and len(graded.faults) == 1  # the background errors only: incidents come per run
    run = WithIncidents(lab.run.incidents)
    first, second = run.scenario(graded, 1), run.scenario(graded, 2)
    assert first.faults[0] == graded.faults[0] == second.faults[0]  # the lab's own keep their index
    assert [f.at for f in first.faults[1:]] != [f.at for f in second.faults[1:]]
    assert len(first.faults) == len(second.faults) == 3


# ----------------------------------------------------------------------------- grading alerts


def test_the_solution_pages_on_every_incident_and_only_then(solution_report):
    assert solution_report.score == 100, [(c.id, c.feedback) for c in solution_report.checks]


def test_a_noisy_rule_fails_with_the_runs_incidents_and_false_alerts(lab, tmp_path):
    noisy = SOLUTION.replace("> 0.1", "> 0.005")  # under the 1 % background rate: fires at once, stays firing
    report = grade(lab, submit(tmp_path, noisy), workers=1)
    checks = by_id(report)
    assert not checks["quiet"].passed and not checks["recall"].passed
    text = "\n".join(checks["quiet"].feedback)
    assert "fired with no incident: ErrorsHigh at 15 s" in text
    assert text.count(": missed") == 2  # it was already firing: no new page for either incident


def test_the_background_errors_are_not_incidents(lab):
    graded, _ = imposed_scenario(lab, load_scenario(LAB / "solution" / "design.yaml"))
    result = WithIncidents(lab.run.incidents)(graded, lab.seed)
    scores = result.alert_scores().set_index("alert")
    assert len(result.faults) == 3 and scores.loc["all", "incidents"] == 2


def test_an_instructors_seed_draws_other_runs_and_other_incidents(lab, tmp_path):
    runner = CliRunner()
    own = runner.invoke(app, ["grade", str(LAB), str(LAB / "solution"), "--workers", "1", "--json"])
    secret = runner.invoke(app, ["grade", str(LAB), str(LAB / "solution"), "--workers", "1", "--json",
                                 "--seed", "424242"])
    assert own.exit_code == secret.exit_code == 0, own.output + secret.output
    own_seeds, secret_seeds = (json.loads(r.stdout)["seeds"] for r in (own, secret))
    assert own_seeds == replication_seeds(7, 3) and secret_seeds == replication_seeds(424242, 3)
    schedules = {seed: [f["at"] for f in lab.run.incidents.draw(seed)] for seed in own_seeds + secret_seeds}
    assert len({tuple(v) for v in schedules.values()}) == 6  # every graded run its own incidents
    bad = runner.invoke(app, ["grade", str(LAB), str(LAB / "solution"), "--seed", "-1"])
    assert bad.exit_code == 2


# ----------------------------------------------------------------------------- fixed settings


def test_a_design_that_changes_a_fixed_setting_is_refused_where_it_does(lab, tmp_path):
    text = SOLUTION.replace("monitoring:\n", "monitoring:\n  evaluation_interval: 5s\n")
    report = grade(lab, submit(tmp_path, text), workers=1)
    assert report.malformed
    assert any("design.yaml:13:3:" in p and "the lab fixes monitoring.evaluation_interval at '15s' (yours: 5s)" in p
               for p in report.problems), report.problems


def test_a_setting_left_out_takes_the_labs_value(lab, tmp_path):
    design = load_scenario(LAB / "solution" / "design.yaml")
    assert not {"evaluation_interval", "detection_grace"} & design.monitoring.model_fields_set
    assert design.monitoring.detection_grace == 300.0  # Monitoring's default, not the lab's 1 min
    graded, _ = imposed_scenario(lab, design)
    assert graded.monitoring.evaluation_interval == 15.0 and graded.monitoring.detection_grace == 60.0


def test_the_same_value_written_otherwise_is_no_change(lab, tmp_path):
    text = SOLUTION.replace("monitoring:\n", "monitoring:\n  evaluation_interval: 15000ms\n")
    report = grade(lab, submit(tmp_path, text), workers=1)
    assert not report.malformed, report.problems


@pytest.mark.parametrize("path, value, message", [
    ("monitoring.scrape_every", "15s", "monitoring has no field 'scrape_every' (its fields: scrape_interval"),
    ("workload", [], "workload is not fixed by path"),
    ("monitoring.evaluation_interval.x", 1, "is a value, not a section"),
    ("monitoring.evaluation_interval", "soon", "monitoring.evaluation_interval"),
])
def test_a_bad_fixed_setting_is_refused_when_the_lab_loads(tmp_path, path, value, message):
    data = yaml.safe_load((LAB / "lab.yaml").read_text())
    data["fixed"]["settings"] = {path: value}
    folder = tmp_path / "lab"
    folder.mkdir()
    (folder / "lab.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ScenarioError) as raised:
        load_lab(folder)
    assert message in str(raised.value.problems[0])


def test_a_section_the_design_lacks_is_not_created(lab):
    data = yaml.safe_load(SOLUTION)
    del data["monitoring"]
    graded, problems = imposed_scenario(lab, Scenario.model_validate(data))
    assert not problems and graded.monitoring is None


# ----------------------------------------------------------------------------- alert scores as objectives


def _scenario(slos, rules=True):
    data = yaml.safe_load(SOLUTION)
    data.update(duration="10m", slos=slos,
                faults=[{"kind": "errors", "target": "web", "probability": 0.01, "at": 0, "for": "10m",
                         "incident": False},
                        {"kind": "errors", "target": "web", "probability": 0.5, "at": "3m", "for": "1m"}])
    data["workload"][0]["arrivals"]["rate"] = "20/s"
    if not rules:
        del data["monitoring"]
    return data


def test_an_slo_reads_an_alert_score():
    scenario = Scenario.model_validate(_scenario([{"name": "paged", "metric": "alerts.page.recall", "min": 1},
                                                  {"name": "fast", "metric": "alerts.all.time_to_detect_max",
                                                   "max": "1m"},
                                                  {"name": "quiet", "metric": "alerts.ErrorsHigh.false_alerts",
                                                   "max": 0}]))
    assert scenario.slos[1].max == 60.0
    result = simulate(scenario, 3)
    verdicts = {s["name"]: s for s in result.summary()["slos"]}
    scores = result.alert_scores().set_index("alert")
    assert verdicts["paged"]["value"] == scores.loc["all", "recall"] == 1.0
    assert verdicts["fast"]["value"] == scores.loc["all", "time_to_detect_max"] <= 60.0
    assert verdicts["quiet"]["value"] == 0 and all(v["passed"] for v in verdicts.values())


@pytest.mark.parametrize("slo, message", [
    ({"metric": "alerts.page.recal", "min": 1}, "did you mean 'recall'"),
    ({"metric": "alerts.page", "min": 1}, "alerts.SELECTOR.METRIC"),
    ({"metric": "alerts.page.recall", "min": 1, "operation": "buy"}, "over the whole run"),
    ({"metric": "alerts.page.recall", "min": 1, "during": 1}, "over the whole run"),
])
def test_a_bad_alert_slo_is_refused(slo, message):
    with pytest.raises(ValueError, match=message):
        Scenario.model_validate(_scenario([{"name": "x", **slo}]))


def test_an_alert_slo_without_rules_is_located(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(_scenario([{"name": "x", "metric": "alerts.page.recall", "min": 1}], rules=False)))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 3 and "scores alert rules: the scenario has none (monitoring.rules)" in result.output


def test_an_alert_slo_naming_no_rule_is_located(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(_scenario([{"name": "x", "metric": "alerts.pages.recall", "min": 1}])))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 3 and "unknown alert selector 'pages' (did you mean 'page'?" in result.output


def test_a_lab_alert_check_on_a_design_without_such_rules_fails_saying_why(lab, tmp_path):
    report = grade(lab, submit(tmp_path, SOLUTION.replace("severity: page", "severity: ticket")), workers=1)
    checks = by_id(report)
    assert not checks["recall"].passed and not checks["quiet"].passed
    assert "unknown alert selector 'page'" in checks["recall"].feedback[0]
    assert "none of your alert rules is named 'page' or has the label severity: page" in checks["recall"].feedback


# ----------------------------------------------------------------------------- lock-down rules


LOCKED = """
name: locked
duration: 10s
workload: [{name: users, entry: gateway, operation: get, arrivals: {kind: poisson, rate: 5/s}}]
components:
  gateway: {kind: service, operations: {get: {steps: [{call: api.get}]}}}
  api: {kind: service, operations: {get: {steps: [{call: db.read}]}, admin: {work: 1ms}}}
  db: {kind: database, operations: {read: {work: 1ms}, write: {work: 1ms}}}
security:
  mtls: {mode: strict}
  components: {gateway: {mtls: permissive}}
  policies:
    - {target: gateway, action: DENY, rules: [{from: ["*"]}]}
    - {target: api, action: ALLOW, rules: [{from: [gateway], operations: [get]}]}
    - {target: db, action: ALLOW, rules: [{from: [api], operations: [read]}]}
"""


def test_least_privilege_and_strict_mtls_pass_a_locked_design():
    scenario = Scenario.model_validate(yaml.safe_load(LOCKED))
    assert RULES["mtls_strict"](scenario, ["gateway"]) == []
    assert RULES["least_privilege"](scenario, None) == []


@pytest.mark.parametrize("old, new, rule, message", [
    ("operations: [get]}", "operations: ['*']}", "least_privilege", "'gateway' may call 1 operation(s) it never calls: api.admin"),
    ("operations: [read]}", "}", "least_privilege", "'api' may call 1 operation(s) it never calls: db.write"),
    ("    - {target: gateway, action: DENY, rules: [{from: [\"*\"]}]}\n", "", "least_privilege",
     "'api' may call 1 operation(s) it never calls: gateway.get"),
    ("components: {gateway: {mtls: permissive}}", "components: {db: {mtls: permissive}}", "mtls_strict",
     "'db' has mTLS mode permissive (expected strict)"),
    ("mtls: {mode: strict}", "mtls: {mode: permissive}", "mtls_strict", "'api' has mTLS mode permissive (expected strict)"),
    ("components: {gateway: {mtls: permissive}}", "components: {gateway: {mtls: disable}}", "mtls_strict",
     "'gateway' has mTLS mode disable (expected strict or permissive)"),
])
def test_each_lock_down_rule_names_what_is_too_open(old, new, rule, message):
    assert old in LOCKED
    scenario = Scenario.model_validate(yaml.safe_load(LOCKED.replace(old, new)))
    assert message in RULES[rule](scenario, ["gateway"])


def test_without_security_both_rules_say_what_to_add():
    data = yaml.safe_load(LOCKED)
    del data["security"]
    scenario = Scenario.model_validate(data)
    assert "add security.mtls.mode: strict" in RULES["mtls_strict"](scenario, [])[0]
    assert "add authorization policies" in RULES["least_privilege"](scenario, None)[0]


def test_the_shipped_locked_down_platform_is_strict_but_allows_by_caller_not_by_operation():
    """scenarios/security/locked-down.yaml allows each caller every operation of its callee: strict mTLS
    holds, least privilege per operation does not (Trading may browse the characters it never browses)."""
    scenario = load_scenario(ROOT / "scenarios" / "security" / "locked-down.yaml")
    assert RULES["mtls_strict"](scenario, ["gateway"]) == []
    problems = RULES["least_privilege"](scenario, None)
    assert any(p.startswith("'trading' may call") and "character.browse_characters" in p for p in problems)

