"""Lab 4 (lab4-production): the One Piece production lab grades what it claims.

The lab (``simulator/labs/catalog/lab4-production``) imposes 10 trades/s through the
gateway of a two-region platform (the stateless tier zone-less, the trades' ``orders``
database with its primary in use1-a), declined debits that are not an incident, two
incidents per graded run drawn from a pool of three (a bad deploy of Trading, Character
down, a slow ``user-db``) between minutes 2 and 10, a brownout of ``character-db`` at
minute 12 and the loss of region us-east at minute 15. It checks the
page alerts (recall 1, no false alert, every incident detected within 90 s), the RPO and
RTO of ``orders``, Character's database load during the brownout (the retry storm),
strict mTLS and least privilege, the trade's p99 before any incident, a $1.50/h budget
and the trades an async standby loses (golden G19.1). The reference solution lives in
``labs/lab4-production/solution`` (instructors only). The tests pin down that:

* the starter scores low (20/100) and says why;
* the reference solution passes every check (100/100);
* each check can fail on its own: a copy of the solution with ONE realistic mistake fails
  exactly that check;
* the incidents are drawn per replication (and per grading seed), so no two graded runs
  share a schedule, and a submission's own faults change nothing;
* what the lab fixes (the scrape and evaluation intervals, the cost of mTLS, the
  services' work) cannot be changed by a submission;
* promtool accepts the solution's rules.

Designs are graded once per module in a pool of two processes (``labkit``); the runs of
designs with the same imposed scenario are shared.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from labkit import by_id, edit, failed, grade_in_pool, grade_job, load_text, reference_jobs

from simulator import check_scenario, simulate
from simulator.cli import app
from simulator.labs import CATALOG, grade, list_labs, load_lab
from simulator.core.rng import replication_seeds
from simulator.labs.grader import GradeReport, WithIncidents, _slo, imposed_scenario
from simulator.labs.rules import RULES, hourly_cost
from simulator.labs.spec import LabSpec
from simulator.monitoring.rulefile import render as render_rules

ROOT = Path(__file__).resolve().parents[1]
LAB = CATALOG / "lab4-production"
STARTER_DIR = LAB / "starter"
SOLUTION_DIR = ROOT / "labs" / "lab4-production" / "solution"
STARTER = (STARTER_DIR / "design.yaml").read_text()
SOLUTION = (SOLUTION_DIR / "design.yaml").read_text()
ANSWERS = (SOLUTION_DIR / "answers.yaml").read_text()
BUDGET = 1.5
CHECK_IDS = {"pages-every-incident", "no-false-pages", "time-to-detect", "rpo", "rto", "no-retry-storm",
             "mtls-strict", "least-privilege", "trade-p99", "budget", "writes-lost"}
PROMTOOL = shutil.which("promtool")
NO_PROMTOOL = ("promtool is not on PATH: install Debian's `prometheus` package (apt-get install prometheus; "
               ".ci/run does) to check the rules file with real Prometheus tooling")

BURN_RULE = "      burn_rate: {objective: 99.9, workload: traders, long: 5m, short: 1m, factor: 14.4}\n"
LATENCY_RULE = SOLUTION[SOLUTION.index("    # A slow database fails nothing"):SOLUTION.index("security:\n")]
UNBOUNDED = ("            retry: {max_attempts: 3, retry_on: [timeout, error], "
             "backoff: {kind: exponential, base: 25ms, cap: 250ms, jitter: full}}\n")
BREAKER = SOLUTION[SOLUTION.index("            circuit_breaker:"):SOLUTION.index("  user:\n")]
STANDBY = '    standby: {zone: usw2-a, replication: async, lag: "const(1s)"}'
FAST_CHECKS = "failover: {request_interval: 10s,"

# One realistic mistake each, made on the reference solution; none changes the lab's physics.
VARIANTS: dict[str, tuple[str, set[str]]] = {
    # Errors only: a slow database fails nothing, so the drawn latency incidents go unpaged.
    "no-latency-rule": (edit(SOLUTION, (LATENCY_RULE, "")), {"pages-every-incident"}),
    # The first week's rule kept beside the good ones: the declined debits page at once.
    "pages-on-any-error": (edit(SOLUTION, ("  rules:\n", "  rules:\n    - alert: AnyError\n"
                                           "      expr: 'sum(rate(sdsim_requests_total{status!=\"ok\"}[1m])) > 0'\n"
                                           "      labels: {severity: page}\n")), {"no-false-pages"}),
    # Waiting 90 s before paging on the burn rate: every error incident is paged late.
    "slow-page": (edit(SOLUTION, (BURN_RULE, BURN_RULE + "      for: 90s\n")), {"time-to-detect"}),
    # Log shipping instead of streaming (archive_timeout 30 s): the last 30 s of trades are lost.
    "log-shipping": (edit(SOLUTION, (STANDBY, STANDBY.replace("const(1s)", "const(30s)"))), {"rpo"}),
    # Route 53's standard 30 s checks: 90 s to declare the primary down, 330 s in all.
    "slow-health-checks": (edit(SOLUTION, (FAST_CHECKS, "failover: {request_interval: 30s,")), {"rto"}),
    # Character retries its database three times, with neither a budget nor a breaker: the storm is back.
    "unbounded-retries": (edit(SOLUTION, ("            retry: *retry\n" + BREAKER, UNBOUNDED)), {"no-retry-storm"}),
    # Permissive mesh-wide: every service still takes plaintext.
    "permissive-mesh": (edit(SOLUTION, ("  mtls: {mode: strict,", "  mtls: {mode: permissive,")), {"mtls-strict"}),
    # orders open to any authenticated workload: Character's and User's identities may write trades.
    "orders-open": (edit(SOLUTION, ("    - {target: orders, action: ALLOW, rules: [{from: [trading]}]}",
                                    '    - {target: orders, action: ALLOW, rules: [{from: ["*"]}]}')),
                    {"least-privilege"}),
    # Synchronous replication to us-west: no trade lost, but every write waits for the 70 ms round trip.
    "sync-standby": (edit(SOLUTION, (STANDBY, STANDBY.replace("async", "sync"))), {"trade-p99"}),
    # Buying a way out: two more Trading instances.
    "over-budget": (edit(SOLUTION, ("  trading:\n    kind: service\n    replicas: 2\n",
                                    "  trading:\n    kind: service\n    replicas: 4\n")), {"budget"}),
}

# The same design with everything the grader ignores changed: a trickle of trades, no
# incidents at all, a short run, another seed and an SLO that anything meets.
TAMPERED = edit(
    SOLUTION,
    ("arrivals: {kind: poisson, rate: 10/s}", "arrivals: {kind: poisson, rate: 1/s}"),
    ("duration: 21m\nwarmup: 30s\n", "duration: 5m\nwarmup: 0s\n"),
    ("seed: 1\n", "seed: 7\n"),
    ("  - {kind: crash, target: character, at: 3m, for: 2m}                    # an incident to page for\n", ""),
) + "slos:\n  - {name: anything, metric: availability, min: 0}\n"


def answers_with(value: float) -> str:
    return yaml.safe_dump({"trades_lost_with_async_standby": value})


@pytest.fixture(scope="module")
def reports() -> dict[str, GradeReport]:
    """Every graded design of this module, by name (14 designs, 12 distinct runs of 5: under two minutes on two cores)."""
    jobs = reference_jobs(SOLUTION, ANSWERS, answers_with(60), TAMPERED, STARTER,
                          (STARTER_DIR / "answers.yaml").read_text(), VARIANTS)
    return grade_in_pool(functools.partial(grade_job, LAB), jobs)


@pytest.fixture(scope="module")
def lab() -> LabSpec:
    return load_lab(LAB)


# ----------------------------------------------------------------------------- the lab itself


def test_lab_spec_is_what_the_readme_describes(lab):
    assert lab.name == "lab4-production" and lab.submission == "design.yaml" and lab.answers == "answers.yaml"
    assert lab.total_points == 100 and {c.id for c in lab.checks} == CHECK_IDS
    assert {c.id for c in lab.checks if c.required} == CHECK_IDS - {"writes-lost"}
    assert {c.id: c.budget.max_per_hour for c in lab.checks if c.budget} == {"budget": BUDGET}
    assert [(c.answer.key, c.answer.expected, c.answer.tolerance) for c in lab.checks if c.answer] == [
        ("trades_lost_with_async_standby", 10, 0.3)]
    (traders,) = lab.run.workload
    assert traders["arrivals"]["rate"] == "10/s" and "zone" not in traders
    kinds = [(f["kind"], f.get("target") or f.get("region"), f.get("incident", True)) for f in lab.run.faults]
    assert kinds == [("errors", "user", False), ("slowdown", "character-db", True), ("outage", "us-east", True)]
    assert lab.run.incidents.count == 2 and len(lab.run.incidents.pool) == 3
    assert "lab4-production" in {spec.name for _, spec in list_labs()}


def test_the_lab_spec_ships_no_calibration_numbers():
    comments = "\n".join(line.split("#", 1)[1] for line in (LAB / "lab.yaml").read_text().splitlines() if "#" in line)
    for leak in ("burn_rate", "14.4", "standby: {", "replication: async", "request_interval: 10s", "circuit_breaker",
                 "budget: {kind", "mode: strict"):
        assert leak not in comments, leak
    assert "INSTRUCTOR.md" in comments


def test_starter_and_solution_are_valid_scenarios(lab):
    for folder in (STARTER_DIR, SOLUTION_DIR):
        design, warnings = check_scenario(folder / "design.yaml")
        assert warnings == [] and design.extends is None
        graded, problems = imposed_scenario(lab, design)
        assert problems == [] and graded is not None
    assert yaml.safe_load((STARTER_DIR / "answers.yaml").read_text()) == {"trades_lost_with_async_standby": 0}


def test_the_solution_fits_the_budget(lab):
    cost, unpriced = hourly_cost(load_text(SOLUTION)[0], lab.prices)
    assert unpriced == [] and cost < BUDGET
    assert hourly_cost(load_text(VARIANTS["over-budget"][0])[0], lab.prices)[0] > BUDGET


def test_labs_start_copies_the_starter(tmp_path):
    target = tmp_path / "my-lab4"
    result = CliRunner().invoke(app, ["labs", "start", "lab4-production", str(target)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in target.iterdir()) == ["README.md", "answers.yaml", "design.yaml", "reference"]
    assert (target / "design.yaml").read_text() == STARTER


@pytest.mark.skipif(PROMTOOL is None, reason=NO_PROMTOOL)
def test_promtool_accepts_the_solutions_rules(tmp_path):
    design, _ = check_scenario(SOLUTION_DIR / "design.yaml")
    path = tmp_path / "rules.yml"
    path.write_text(render_rules(design.monitoring, design.name))
    done = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 rules found" in done.stdout + done.stderr


def test_every_graded_run_draws_its_own_incidents(lab):
    """Each replication (and an instructor's seed) draws its own schedule; the lab's seed exercises every
    pool entry; an incident's page can never count for another (the gaps are the detection grace)."""
    graded, problems = imposed_scenario(lab, load_text(SOLUTION)[0])
    assert not problems and len(graded.faults) == 3  # the lab's own faults; the incidents come per run
    run = WithIncidents(lab.run.incidents)

    def schedules(seed):
        return [tuple((f.kind, f.target, f.at) for f in run.scenario(graded, s).faults[3:])
                for s in replication_seeds(seed, lab.replications)]

    graded_runs = schedules(lab.seed)
    assert len(set(graded_runs)) == lab.replications and set(graded_runs).isdisjoint(schedules(424242))
    assert {target for schedule in graded_runs for _, target, _ in schedule} == {"trading", "character", "user-db"}
    grace = 120.0
    brownout = graded.faults[1].at
    for schedule in graded_runs + schedules(424242):
        (_, _, a), (_, _, b) = schedule
        first_end = a + {"trading": 180, "character": 120, "user-db": 180}[schedule[0][1]]
        assert 120 <= a and b - first_end >= grace - 1e-6
    assert brownout - 600 >= grace  # the last incident ends by minute 10


# ----------------------------------------------------------------------------- grades


def test_the_solution_scores_100(reports):
    report = reports["solution"]
    assert report.score == 100 and report.passed and not report.malformed, [
        (c.id, c.feedback) for c in report.checks if not c.passed]


def test_the_starter_scores_low_and_says_why(reports):
    report = reports["starter"]
    assert failed(report) == CHECK_IDS - {"trade-p99", "budget"}
    assert report.score == 20 and not report.passed
    checks = by_id(report)
    # one page that starts with the declined debits and (nearly) never stops: it detects next to nothing
    assert checks["pages-every-incident"].value < 0.5 and checks["no-false-pages"].value >= 1
    assert "fired with no incident: AnyError at" in "\n".join(checks["no-false-pages"].feedback)
    assert checks["rpo"].value > 600  # hourly snapshots: every trade since the start is lost
    assert checks["rto"].value is None  # the restore, DNS and warm-up outlast the run
    assert checks["no-retry-storm"].value > 3
    assert "no `security:` section" in checks["mtls-strict"].feedback[0]


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_each_check_fails_on_its_own(reports, name):
    """A copy of the solution with one realistic mistake fails exactly the check for that mistake."""
    assert failed(reports[name]) == VARIANTS[name][1]


def test_a_wrong_answer_fails_only_the_answer(reports):
    report = reports["wrong-answer"]
    assert failed(report) == {"writes-lost"} and report.passed  # the answer is not required
    assert "too high" in by_id(report)["writes-lost"].feedback[0]


def test_tampering_changes_nothing(lab, reports):
    tampered, _ = load_text(TAMPERED)
    assert tampered.duration == 300 and len(tampered.faults) == 1 and tampered.seed == 7
    honest, _ = load_text(SOLUTION)
    assert imposed_scenario(lab, tampered)[0] == imposed_scenario(lab, honest)[0]
    assert [(c.id, c.passed, c.value) for c in reports["tampered"].checks] == [
        (c.id, c.passed, c.value) for c in reports["solution"].checks]


WITHOUT_PAGES = {
    "no rules": lambda text: text[:text.index("monitoring:\n")] + text[text.index("security:\n"):],
    "tickets only": lambda text: text.replace("labels: {severity: page}", "labels: {severity: ticket}"),
}


@pytest.mark.parametrize("case", sorted(WITHOUT_PAGES))
def test_a_design_without_page_rules_fails_the_alert_checks_with_a_reason(lab, case):
    """Deleting the noisy rule is a student's first move: the alert checks must then fail, saying why."""
    design, _ = load_text(WITHOUT_PAGES[case](SOLUTION))
    graded, _ = imposed_scenario(lab, design)
    short = graded.model_copy(update={"duration": 60.0})  # one minute is enough to have nothing to score
    result = simulate(short, lab.seed)
    for check in (c for c in lab.checks if c.slo is not None and c.slo.metric.startswith("alerts.")):
        verdict = _slo(check, [result], [])
        assert not verdict.passed and "page" in " ".join(verdict.feedback)


# ----------------------------------------------------------------------------- the lab's physics


@pytest.mark.parametrize("old, new, field", [
    ("  scrape_interval: 15s\n", "  scrape_interval: 5s\n", "scrape_interval"),
    ("  detection_grace: 2m\n", "  detection_grace: 10m\n", "detection_grace"),
    ("requests_per_connection: 100,", "requests_per_connection: 100000,", "requests_per_connection"),
    ('write_order: {type: write, work: "lognormal(median=1.5ms, p99=12ms)"}',
     'write_order: {type: write, work: "lognormal(median=0.5ms, p99=2ms)"}', "work"),
    ("promotion: 60s,", "promotion: 5s,", "components.orders.failover.promotion at '60s' (yours: 5s)"),
    ("warm_up: 2m}", "warm_up: 0s}", "components.orders.failover.warm_up at '2m' (yours: 0)"),
])
def test_the_lab_physics_cannot_be_changed(lab, tmp_path, old, new, field):
    """A design that changes what the lab fixes is refused (exit 3, score 0), the field named."""
    (tmp_path / "design.yaml").write_text(edit(SOLUTION, (old, new)))
    report = grade(lab, tmp_path, workers=1)
    assert report.malformed and report.score == 0
    assert any(field in p for p in report.problems), report.problems


def test_the_databases_physics_are_imposed_inside_its_sections(lab):
    """A field the design leaves out inside orders' failover takes the lab's value; the health checks stay
    the design's own (a path fixes one field, not the section)."""
    design, _ = load_text(edit(SOLUTION, ("promotion: 60s, ", ""), (", warm_up: 2m}", "}")))
    assert "promotion" not in design.components["orders"].failover.model_fields_set
    graded, problems = imposed_scenario(lab, design)
    assert not problems
    failover = graded.components["orders"].failover
    assert (failover.promotion, failover.warm_up, failover.request_interval) == (60.0, 120.0, 10.0)
    starter, _ = load_text(STARTER)
    assert imposed_scenario(lab, starter)[0].components["orders"].backup.restore_time == 240.0


def test_the_rules_of_the_lock_down():
    design, _ = load_text(SOLUTION)
    assert RULES["mtls_strict"](design, ["gateway"]) == []
    assert RULES["least_privilege"](design, None) == []
    starter, _ = load_text(STARTER)
    assert RULES["mtls_strict"](starter, ["gateway"]) and RULES["least_privilege"](starter, None)


def test_classroom_templates_grade_lab4():
    import json

    folder = ROOT / "labs" / "classroom" / "lab4-production"
    autograding = json.loads((folder / "autograding.json").read_text())
    assert [t["run"] for t in autograding["tests"]] == ["sdsim grade lab4-production ."]
    workflow = yaml.safe_load((folder / "grade.yml").read_text())
    runs = [step.get("run", "") for step in workflow["jobs"]["grade"]["steps"]]
    assert any(run.startswith("sdsim grade lab4-production . --junit grade.xml") for run in runs)
