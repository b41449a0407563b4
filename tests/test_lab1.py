"""Lab 1 (lab1-decomposition): the One Piece monolith-to-microservices lab grades what it claims.

The lab (``simulator/labs/catalog/lab1-decomposition``) imposes 100 req/s with a 12 s
market-open burst (the usual mix at 600 req/s plus 320 trades/s on the new character),
a 2 s client timeout and a 60 s crash of every `character` instance, on its fixed
platform (2 vCPUs per instance, shared by the work of the busy workers). It checks
availability, two p99s, a $1.70/h budget, database-per-service, operation ownership, a
minimum size and the measured capacity of the monolith (410 req/s). The reference
solution lives in ``labs/lab1-decomposition/solution`` (instructors only). The tests pin
down that:

* the starter (the monolith) fails: it cannot even host the lab's crash, has no service
  boundaries and no answer yet, so it scores only the budget and database checks (20/100);
* the reference solution passes every check with margin (100/100);
* each check can fail on its own: a copy of the solution with ONE realistic mistake (a
  structure, a replica count, a fallback, an answer) fails exactly that check;
* the budget binds both ways: one instance fewer than the reference fails an SLO, and
  buying a way out (one more instance, twice the Trading tier, an extra tier) fails the
  budget;
* tampering with the workload, faults, duration or SLOs in a submission changes nothing;
* a half-done decomposition earns partial credit with feedback naming what is missing;
* malformed submissions score zero with located problems, never a traceback.

Grading one design takes 8-25 s of CPU (5 replications of a 120 s run), so the designs
that need simulation are graded once per module, in a pool of two processes, each
grading with ``workers=1`` (its replications in-process), and the tests that read them
are marked ``slow``. Within one grading job the simulation runs are memoised by
(imposed scenario, seed): designs whose imposed scenario is identical (the solution, a
wrong answer, a tampered copy) share their runs, and a tampered copy that leaked into the
imposed scenario would miss the memo and be re-run.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labkit import grade_in_pool, by_id, edit, failed, grade_text, load_text, memoise_grader_runs

from simulator import check_scenario, simulate
from simulator.cli import app
from simulator.labs import CATALOG, grade, load_lab
from simulator.labs.grader import GradeReport, imposed_scenario
from simulator.labs.rules import hourly_cost
from simulator.labs.spec import LabSpec

ROOT = Path(__file__).resolve().parents[1]
LAB = CATALOG / "lab1-decomposition"                         # what ships: lab.yaml, README, starter
STARTER_DIR = LAB / "starter"
SOLUTION_DIR = ROOT / "labs" / "lab1-decomposition" / "solution"  # instructors only
STARTER = (STARTER_DIR / "design.yaml").read_text()
SOLUTION = (SOLUTION_DIR / "design.yaml").read_text()
ANSWERS = (SOLUTION_DIR / "answers.yaml").read_text()
CHECK_IDS = {"availability", "buy-p99", "browse-p99", "budget", "own-databases", "boundaries", "decomposed",
             "monolith-capacity"}
PRICE = {"service": 0.1008, "database": 0.159, "cache": 0.149, "load_balancer": 0.0225, "broker": 0.1008,
         "projection": 0.1008, "event_store": 0.1008,
         "registry": 0.1008, "kv_store": 0.1008, "gateway": 0.1008,
         "regional_database": 0.159}
BUDGET = 1.70


# ----------------------------------------------------------------------------- variants
# One realistic mistake each, made on the reference solution; none changes the lab's
# physics (work, workers, vCPUs, connections), which the grader would refuse.

TRADING_FALLBACK = re.compile(r"\n +fallback: \[\{call: trading-db\.read_last_price\}\][^\n]*")
GATEWAY_REPLICAS = ('one instance is 7 % busy in the burst"\n    replicas: 1',
                    'one instance is 7 % busy in the burst"\n    replicas: 2')

VARIANTS: dict[str, str] = {
    # Trading calls Character for the price with a timeout but nothing to fall back on.
    "no-trading-fallback": TRADING_FALLBACK.sub("", SOLUTION),
    # A "trending now" box on every catalogue page, computed live from the analytics
    # store: an OLAP query (ClickHouse, 8 concurrent queries) on the request path.
    "trending-widget": edit(SOLUTION, ("        steps: [{call: character-db.list_characters}]",
                                       "        steps: [{call: character-db.list_characters}, {call: analytics.query}]")),
    # One Trading instance: the drop's trades need more than its 2 vCPUs (also the
    # "one instance fewer than the reference" direction of the budget).
    "one-trading-instance": edit(SOLUTION, ("trading_replicas: {default: 2,", "trading_replicas: {default: 1,")),
    # A second gateway "for redundancy": nothing in this lab needs it, and it is $0.10/h.
    "two-gateways": edit(SOLUTION, GATEWAY_REPLICAS),
    # Trading reads the price straight from Character's database.
    "shared-database": edit(SOLUTION, ("call: character.get_price", "call: character-db.read_character")),
    # Accounts live in a service named `accounts`, not the `user` service the lab asks for.
    # On this platform a new name is a Node.js-like service, so the Django values go (kept,
    # they would be refused as a physics change: workers 5, 8 ms of work).
    "renamed-user": edit(SOLUTION, ("call: user.login", "call: accounts.login"),
                         ("call: user.get_profile", "call: accounts.get_profile"),
                         ('\n  user:\n    kind: service\n    zone: app\n'
                          '    description: "Django + gunicorn sync, 5 workers (Typical numbers §5.1, §10.3)"\n'
                          '    replicas: 1\n    workers: 5\n    vcpus: 2\n    queue: 2048\n    io: blocking\n',
                          '\n  accounts:\n    kind: service\n    zone: app\n    replicas: 1\n    queue: 2048\n'
                          '    io: async\n'),
                         ('      login:\n        work: "lognormal(median=8ms, p99=40ms)"\n', '      login:\n'),
                         ('      get_profile:\n        work: "lognormal(median=8ms, p99=40ms)"\n', '      get_profile:\n')),
}

# Character extracted (own service and database); trading, users, notifications, prices
# and analytics still inside `web`, which still fronts every request on one PostgreSQL.
HALF_DONE = edit(
    STARTER,
    ("        steps: [{call: postgres.list_characters}]", "        steps: [{call: character.browse_characters}]"),
    ("          - {call: postgres.read_character}\n          - {call: postgres.insert_event}          # analytics: a page-view row, written inline",
     "          - {call: character.get_character}"),
    ("          - {call: postgres.read_character}        # current price",
     "          - {call: character.get_character}        # current price"),
    ("          - {call: postgres.read_character}\n          - {call: postgres.write_trade}",
     "          - {call: character.get_character}\n          - {call: postgres.write_trade}"),
    ("  postgres:\n", """\
  character:
    kind: service
    zone: app
    replicas: 2
    workers: 2
    io: async
    operations:
      browse_characters:
        work: "lognormal(median=1ms, p99=6ms)"
        steps: [{call: character-db.list_characters}]
      get_character:
        work: "lognormal(median=1ms, p99=6ms)"
        steps: [{call: character-db.read_character}]
  character-db:
    kind: database
    zone: data
    connections: 10
    operations:
      read_character: {work: "lognormal(median=0.15ms, p99=1ms)"}
      list_characters: {work: "lognormal(median=1ms, p99=8ms)"}
  postgres:
"""),
)

# The same design with everything the grader ignores changed: a trickle of load, no
# faults, a short run, other seeds and SLOs that anything meets.
TAMPERED = edit(SOLUTION, ('arrivals: {kind: poisson, rate: "${rate}"}', 'arrivals: {kind: poisson, rate: 1/s}'),
                ("duration: 5m\nwarmup: 1m\n", "duration: 10s\nwarmup: 0s\n"), ("seed: 42\n", "seed: 7\n")).replace(
    "slos:                                               # the capacity criterion of Task 1\n"
    '  - {name: "p99 < 1 s", metric: latency_p99, max: 1s}\n'
    '  - {name: "availability >= 99 %", metric: availability, min: 0.99}\n',
    "faults: []\nslos:\n  - {name: anything, metric: availability, min: 0}\n")


def strict_size(lab: LabSpec, value: int) -> LabSpec:
    """*lab* with the `decomposed` check asking for at least *value* components."""
    data = lab.model_dump(by_alias=True, exclude_none=True)
    for check in data["checks"]:
        if check["id"] == "decomposed":
            check["structure"]["value"] = value
    return LabSpec.model_validate(data)


def cost_of(lab: LabSpec, design: str) -> float:
    cost, unpriced = hourly_cost(load_text(design)[0], lab.prices)
    assert unpriced == []
    return cost


# ----------------------------------------------------------------------------- grading jobs


def _run_job(job: list[tuple[str, str, str | None, int | None]]) -> dict[str, GradeReport]:
    """Grade (name, design, answers, min_components override) items in this process, sharing runs."""
    memoise_grader_runs()
    lab = load_lab(LAB)
    return {name: grade_text(strict_size(lab, size) if size else lab, design, answers)
            for name, design, answers, size in job}


def _jobs() -> list[list[tuple[str, str, str | None, int | None]]]:
    wrong = "monolith_capacity_rps: 143   # 1000 users x 1 request / 7 s of think time\n"
    old = "monolith_capacity_rps: 710   # 5 workers computing at once on 2 vCPUs\n"
    jobs = [[("trending-widget", VARIANTS["trending-widget"], ANSWERS, None)],  # the slowest first
            [("solution", SOLUTION, ANSWERS, None), ("wrong-answer", SOLUTION, wrong, None),
             ("old-answer", SOLUTION, old, None), ("tampered", TAMPERED, ANSWERS, None),
             ("strict-size", SOLUTION, ANSWERS, 14)],
            [("half-done", HALF_DONE, ANSWERS, None)]]
    jobs += [[(name, text, ANSWERS, None)] for name, text in VARIANTS.items() if name != "trending-widget"]
    return jobs


@pytest.fixture(scope="module")
def reports() -> dict[str, GradeReport]:
    """Every graded design of this module, by name (8 designs simulated: about 70 s on two cores)."""
    return grade_in_pool(_run_job, _jobs())


@pytest.fixture(scope="module")
def lab() -> LabSpec:
    return load_lab(LAB)


# ----------------------------------------------------------------------------- the lab itself


def test_lab_spec_is_what_the_instructor_guide_describes(lab):
    """100 points; the graded load, burst, drop, timeout and crash; prices of the course's sheet."""
    assert lab.name == "lab1-decomposition" and lab.submission == "design.yaml" and lab.answers == "answers.yaml"
    assert lab.total_points == 100 and {c.id for c in lab.checks} == CHECK_IDS
    assert {c.id for c in lab.checks if c.required} == CHECK_IDS - {"decomposed", "monolith-capacity"}
    assert lab.replications == 5 and lab.prices == PRICE
    traders, hunters, admins = lab.run.workload
    assert traders["arrivals"]["rate"] == "100/s" and traders["profile"] == [{"at": "30s", "rate": "600/s", "for": "12s"}]
    assert traders["timeout"] == "2s" and abs(sum(traders["mix"].values()) - 1) < 1e-9
    assert hunters["arrivals"]["rate"] == "0/s" and hunters["profile"] == [{"at": "30s", "rate": "320/s", "for": "12s"}]
    assert hunters["mix"] == {"buy_character": 0.6, "sell_character": 0.4} and hunters["timeout"] == "2s"
    assert admins["operation"] == "admin_dashboard" and admins["timeout"] == "10s"
    assert lab.run.faults == [{"kind": "crash", "target": "character", "at": "55s", "for": "60s"}]
    assert {c.id: c.budget.max_per_hour for c in lab.checks if c.budget} == {"budget": BUDGET}
    answer = next(c.answer for c in lab.checks if c.answer)
    assert (answer.key, answer.expected, answer.tolerance) == ("monolith_capacity_rps", 410, 0.25)


def test_the_lab_spec_ships_no_reference_cost_and_no_calibration_numbers():
    """lab.yaml ships to students: its comments point at the instructor guide, they state no answer."""
    comments = "\n".join(line.split("#", 1)[1] for line in (LAB / "lab.yaml").read_text().splitlines() if "#" in line)
    for leak in ("710", "705", "410", "418", "$1.64", "1.644", "$1.85", "reference solution", "97.7", "83 %"):
        assert leak not in comments, leak
    assert "INSTRUCTOR.md" in comments


def test_starter_and_solution_are_self_contained_valid_scenarios():
    """Students copy only the starter: no `extends`, no warnings, the schema comment, the entry names."""
    for folder, entry in ((STARTER_DIR, "web"), (SOLUTION_DIR, "gateway")):
        design, warnings = check_scenario(folder / "design.yaml")
        assert warnings == [] and design.extends is None and design.workload[0].entry == entry
        assert (folder / "design.yaml").read_text().startswith("# yaml-language-server: $schema=")
    assert (SOLUTION_DIR / "design.yaml").read_text().startswith(
        "# yaml-language-server: $schema=../../../scenarios/scenario.schema.json\n")
    assert "monolith_capacity_rps: 0" in (STARTER_DIR / "answers.yaml").read_text()


def test_the_solution_is_sized_for_the_burst_and_fits_the_budget(lab):
    """10 service instances (Trading twice) and 4 databases: $1.64/h against the $1.70/h cap."""
    design, _ = check_scenario(SOLUTION_DIR / "design.yaml")
    replicas = {name: spec.replicas for name, spec in design.components.items() if spec.kind == "service"}
    assert replicas == {"gateway": 1, "character": 1, "trading": 2, "user": 1, "notification": 1, "redis-queue": 1,
                        "analytics": 1, "price-update": 1, "admin": 1}
    cost, unpriced = hourly_cost(design, lab.prices)
    assert unpriced == [] and cost == pytest.approx(10 * PRICE["service"] + 4 * PRICE["database"])
    assert BUDGET - 0.08 <= cost <= BUDGET - 0.05


def test_buying_a_way_out_is_over_budget(lab):
    """One more instance of anything, twice the Trading tier or an extra tier (a Redis) cost more than $1.70/h."""
    assert cost_of(lab, VARIANTS["two-gateways"]) > BUDGET
    assert cost_of(lab, edit(SOLUTION, ("trading_replicas: {default: 2,", "trading_replicas: {default: 4,"))) > BUDGET
    with_cache = SOLUTION.replace("\n  character-db:\n", "\n  price-cache:\n    kind: cache\n    zone: data\n"
                                  "    origin: character-db\n    origin_read: read_character\n"
                                  "    origin_write: null\n    capacity: 1000\n  character-db:\n")
    assert cost_of(lab, with_cache) == pytest.approx(cost_of(lab, SOLUTION) + PRICE["cache"])
    assert cost_of(lab, with_cache) > BUDGET
    assert cost_of(lab, VARIANTS["one-trading-instance"]) < cost_of(lab, SOLUTION)


def test_labs_start_copies_the_starter_the_readme_and_the_sheets(tmp_path):
    target = tmp_path / "my-lab1"
    result = CliRunner().invoke(app, ["labs", "start", "lab1-decomposition", str(target)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in target.iterdir()) == ["README.md", "answers.yaml", "design.yaml", "reference"]
    assert (target / "design.yaml").read_text() == STARTER
    assert not (target / "solution").exists()


# ----------------------------------------------------------------------------- the starter


def test_starter_fails_and_scores_only_budget_and_databases(lab):
    """The monolith cannot host the Character crash, has no boundaries and no answer: 20/100."""
    report = grade(lab, STARTER_DIR, workers=1)
    assert not report.malformed and not report.passed
    assert report.score == 20 and failed(report) == CHECK_IDS - {"budget", "own-databases"}
    checks = by_id(report)
    assert any("fault schedule needs it" in line and "character" in line for line in checks["availability"].feedback)
    boundaries = "\n".join(checks["boundaries"].feedback)
    assert "not every 'buy_character' request reaches 'trading'" in boundaries
    assert "not every 'login' request reaches 'user'" in boundaries
    assert checks["decomposed"].feedback == ["2 components, at least 8 expected"]
    answer = checks["monolith-capacity"].feedback  # the placeholder 0 is an answer, a wrong one
    assert len(answer) == 1 and answer[0].startswith("too low:") and "no answer" not in answer[0]


def test_cli_grades_the_starter_with_exit_1():
    result = CliRunner().invoke(app, ["grade", "lab1-decomposition", str(STARTER_DIR), "--workers", "1"])
    assert result.exit_code == 1 and "FAIL" in result.stdout and "20/100" in result.stdout


# ----------------------------------------------------------------------------- malformed

NOT_GRADED = ["not graded: the submission could not be read or changes what the lab fixes (see the problems)"]


@pytest.mark.parametrize("design, where", [
    ("name: [\n", "invalid YAML"),
    (STARTER.replace("    replicas: 1\n", "    replicas: one\n"), "replicas"),
    (STARTER.replace("duration: 5m", "duration: 5 minutes"), "duration"),
], ids=["bad-yaml", "replicas-not-a-number", "duration-without-unit"])
def test_malformed_design_scores_zero_with_located_problems(lab, tmp_path, design, where):
    (tmp_path / "design.yaml").write_text(design)
    report = grade(lab, tmp_path, workers=1)
    assert report.malformed and report.score == 0 and not report.passed
    assert any("design.yaml:" in p and where in p for p in report.problems), report.problems
    assert all(not c.passed and c.feedback == NOT_GRADED for c in report.checks)


def test_malformed_answers_file_scores_zero(lab, tmp_path):
    (tmp_path / "design.yaml").write_text(STARTER)
    (tmp_path / "answers.yaml").write_text("monolith_capacity_rps: [410\n")
    report = grade(lab, tmp_path, workers=1)
    assert report.malformed and report.score == 0 and any("answers.yaml:" in p for p in report.problems)
    (tmp_path / "answers.yaml").write_text("- 410\n")
    assert grade(lab, tmp_path, workers=1).malformed


@pytest.mark.parametrize("answers, note", [
    ("monolith_capacity_rps:\n", "no answer: add `monolith_capacity_rps: <number>`"),
    ("capacity: 410\n", "no answer: add `monolith_capacity_rps: <number>`"),
    ("monolith_capacity_rps: about 400\n", "must be a number"),
], ids=["empty-value", "wrong-key", "not-a-number"])
def test_a_missing_or_non_numeric_answer_costs_only_its_points(lab, tmp_path, answers, note):
    """Not malformed: the answer check fails with a hint, the other checks are graded as usual."""
    (tmp_path / "design.yaml").write_text(STARTER)
    (tmp_path / "answers.yaml").write_text(answers)
    report = grade(lab, tmp_path, workers=1)
    assert not report.malformed and report.score == 20
    assert note in by_id(report)["monolith-capacity"].feedback[0]


def test_cli_reports_a_malformed_submission_with_exit_3_and_no_traceback(tmp_path):
    shutil.copytree(STARTER_DIR, tmp_path / "sub")
    (tmp_path / "sub" / "design.yaml").write_text(STARTER.replace("    workers: \"${web_workers}\"\n",
                                                                  "    workers: [5]\n"))
    result = CliRunner().invoke(app, ["grade", "lab1-decomposition", str(tmp_path / "sub")])
    assert result.exit_code == 3 and "design.yaml:" in result.stderr and "workers" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


# ----------------------------------------------------------------------------- tampering


def test_tampering_leaves_the_graded_scenario_unchanged(lab, tmp_path):
    """Rate, faults, duration, warm-up, seed and SLOs of a submission never reach the graded run."""
    (tmp_path / "design.yaml").write_text(TAMPERED)
    tampered, _ = check_scenario(tmp_path / "design.yaml")
    honest, _ = check_scenario(SOLUTION_DIR / "design.yaml")
    assert tampered.duration == 10 and tampered.slos[0].name == "anything"  # the edits did land in the file
    assert tampered.workload[0].arrivals.rate == 1 and tampered.seed == 7
    graded_tampered, problems = imposed_scenario(lab, tampered)
    graded_honest, _ = imposed_scenario(lab, honest)
    assert problems == []
    assert graded_tampered.model_dump() == graded_honest.model_dump()


@pytest.mark.slow
def test_tampering_changes_no_measured_value(reports):
    honest, tampered = reports["solution"], reports["tampered"]
    assert [(c.id, c.value, c.bound, c.passed) for c in tampered.checks] == \
           [(c.id, c.value, c.bound, c.passed) for c in honest.checks]


# ----------------------------------------------------------------------------- the solution


@pytest.mark.slow
def test_solution_passes_every_check_with_margin(reports):
    report = reports["solution"]
    assert report.passed and failed(report) == set() and report.score == report.total == 100
    checks = by_id(report)
    assert checks["availability"].bound >= 0.995  # the Character crash costs (almost) nothing
    assert checks["buy-p99"].bound <= 0.5 / 4 and checks["browse-p99"].bound <= 0.3 / 4
    assert checks["budget"].margin >= 0.05
    answer = checks["monolith-capacity"]
    assert answer.value == 410 and answer.target is None and answer.margin is None  # never the expected value
    assert answer.feedback == ["within the accepted band (±25%)"]


# ----------------------------------------------------------------------------- one mistake, one check


@pytest.mark.slow
@pytest.mark.parametrize("variant, check", [
    ("no-trading-fallback", "availability"),   # trades fail while Character is down: about 98.5 % < 99 %
    ("one-trading-instance", "buy-p99"),       # the drop's 368 trades/s need 2 vCPU-s/s of Flask and more
    ("trending-widget", "browse-p99"),         # every page waits for ClickHouse: p99 ~ 1 s (the gateway's timeout)
    ("two-gateways", "budget"),                # $1.745/h
    ("shared-database", "own-databases"),      # character-db called by character and trading
    ("renamed-user", "boundaries"),            # login and get_profile served by `accounts`
    ("strict-size", "decomposed"),             # the same solution against "at least 14 components"
    ("wrong-answer", "monolith-capacity"),     # 143 req/s: the seed's "1000 users" taken as the capacity
    ("old-answer", "monolith-capacity"),       # 710 req/s: 5 workers computing at once on 2 vCPUs
])
def test_each_check_fails_on_its_own(reports, variant, check):
    report = reports[variant]
    assert failed(report) == {check} and report.score == 100 - by_id(report)[check].points
    assert report.passed == (not by_id(report)[check].required)


@pytest.mark.slow
def test_one_instance_fewer_than_the_reference_fails_an_slo(reports, lab):
    """The reference is the cheapest of its shape: its second Trading instance is needed for the drop."""
    report = reports["one-trading-instance"]
    assert report.score < 100 and not report.passed
    buy = by_id(report)["buy-p99"]
    assert buy.kind == "slo" and buy.value > 0.5  # the mean itself is over, not only the bound
    assert any("bottleneck: trading" in line for line in buy.feedback), buy.feedback
    assert by_id(report)["budget"].passed  # it is cheaper


@pytest.mark.slow
def test_answers_are_told_direction_and_band_never_the_target(reports):
    for name, direction in (("wrong-answer", "too low"), ("old-answer", "too high")):
        check = by_id(reports[name])["monolith-capacity"]
        assert check.target is None and check.margin is None and check.bound is None
        assert len(check.feedback) == 1 and check.feedback[0].startswith(direction)
        assert "410" not in check.feedback[0]


@pytest.mark.slow
def test_feedback_of_a_missing_fallback_points_at_the_crash(reports):
    lines = "\n".join(by_id(reports["no-trading-fallback"])["availability"].feedback)
    assert "availability must be at least 99.00%" in lines and "crash of character" in lines


@pytest.mark.slow
def test_the_gateway_fallback_is_needed_too(lab):
    """Without the cached catalogue at the gateway, 60 % of requests fail while Character is down."""
    design, _ = load_text(edit(SOLUTION, ("timeout: 1s, fallback: []", "timeout: 1s")))
    graded, problems = imposed_scenario(lab, design)
    assert problems == []
    summary = simulate(graded, lab.seed).summary()  # one replication is plenty: it is far off
    assert summary["availability"] < 0.90
    assert summary["operations"]["browse_characters"]["availability"] < 0.85
    assert summary["operations"]["buy_character"]["availability"] == 1.0


# ----------------------------------------------------------------------------- partial credit


@pytest.mark.slow
def test_half_done_decomposition_earns_partial_credit_with_useful_feedback(reports):
    """Character split out, the rest still in `web`: budget, databases and the answer only (35/100)."""
    report = reports["half-done"]
    assert not report.passed and 0 < report.score < report.total
    assert failed(report) == {"availability", "buy-p99", "browse-p99", "boundaries", "decomposed"}
    assert report.score == 35
    checks = by_id(report)
    boundaries = "\n".join(checks["boundaries"].feedback)
    assert "not every 'buy_character' request reaches 'trading'" in boundaries
    assert "not every 'get_notifications' request reaches 'notification'" in boundaries
    assert "reaches 'character'" not in boundaries  # that part is done
    assert checks["decomposed"].feedback == ["4 components, at least 8 expected"]
    assert any("bottleneck: web" in line for line in checks["buy-p99"].feedback)
    assert checks["availability"].value < 0.9
