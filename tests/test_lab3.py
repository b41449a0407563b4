"""Lab 3 (lab3-event-driven): the One Piece event-driven lab grades what it claims.

The lab (``simulator/labs/catalog/lab3-event-driven``) imposes 10 trades/s (a saga over
Character and User whose completed trades are events on ``bus.trades``, read by
Notification and the ``portfolio`` read model), 100 order-book requests/s split 60/40
over the zones east and west, 5 % and 1 % errors on User and Character (compensations
included), a 20 s Notification crash and a 40 s partition between the zones. It checks no
notification lost, none pushed twice, the notification lag, the trade's p99, the
portfolio's own-write freshness, no half-done saga, a linearizable order book, a $2.50/h
budget and the measured CP availability during the partition (0.6, golden G10.1). The
reference solution lives in ``labs/lab3-event-driven/solution`` (instructors only). The
tests pin down that:

* the starter scores low (30/100) and its feedback names the cause from the run's
  records (the crash with at-most-once delivery, the missing consistency token, the
  failed compensations, an AP book's minimal non-linearizable example);
* the reference solution passes every check (100/100);
* each check can fail on its own: a copy of the solution with ONE realistic mistake fails
  exactly that check;
* tampering with the workload, faults, duration or SLOs in a submission changes nothing,
  and a design that skips the broker for notifications is refused, not graded;
* the measured CP availability is golden G10.1's 60 %.

Designs are graded once per module in a pool of two processes (``labkit``); the runs of
designs with the same imposed scenario are shared.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from labkit import by_id, edit, failed, grade_in_pool, grade_job, load_text, reference_jobs

from simulator import check_scenario
from simulator.cli import app
from simulator.labs import CATALOG, grade, list_labs, load_lab
from simulator.labs.grader import GradeReport, imposed_scenario
from simulator.labs.rules import RULES, hourly_cost
from simulator.labs.spec import LabSpec

ROOT = Path(__file__).resolve().parents[1]
LAB = CATALOG / "lab3-event-driven"
STARTER_DIR = LAB / "starter"
SOLUTION_DIR = ROOT / "labs" / "lab3-event-driven" / "solution"
STARTER = (STARTER_DIR / "design.yaml").read_text()
SOLUTION = (SOLUTION_DIR / "design.yaml").read_text()
ANSWERS = (SOLUTION_DIR / "answers.yaml").read_text()
BUDGET = 2.5
CHECK_IDS = {"notifications-kept", "notifications-once", "notifications-on-time", "trade-p99", "portfolio-fresh",
             "no-partial-trades", "book-linearizable", "budget", "book-availability"}

NOTIFICATION_GROUP = ("            delivery: at_least_once          # push first, then commit\n"
                      "            idempotency: {ttl: 1h}           # a replayed trade is pushed once\n")
RETRY = "retry: {max_attempts: 6, backoff: 100ms, multiplier: 2}"

# One realistic mistake each, made on the reference solution; none changes the lab's physics.
VARIANTS: dict[str, tuple[str, set[str]]] = {
    # Auto-commit before the push: what the consumer holds when it crashes is gone.
    "at-most-once": (edit(SOLUTION, (NOTIFICATION_GROUP, "            delivery: at_most_once\n")),
                     {"notifications-kept"}),
    # At least once without a dedupe table: the replay after the crash pushes trades twice.
    "no-dedupe": (edit(SOLUTION, ("            idempotency: {ttl: 1h}           # a replayed trade is pushed once\n",
                                  "")), {"notifications-once"}),
    # One consumer: ~9.6 pushes/s against ~9.2 trades/s, the outage's backlog never drains.
    "one-consumer": (edit(SOLUTION, ("            consumers: 3\n", "")), {"notifications-on-time"}),
    # The trader's request also waits for a push: the provider's 400 ms tail is on its path.
    "push-on-the-path": (edit(SOLUTION, ("          - call: portfolio.read             # the trader's app shows the new "
                                         "portfolio\n",
                                         "          - call: portfolio.read             # the trader's app shows the new "
                                         "portfolio\n          - call: push-provider.send\n")), {"trade-p99"}),
    # No consistency token: the read right after the trade nearly always misses it.
    "no-token": (edit(SOLUTION, (", consistency_token: true, max_wait: 1s}", "}")), {"portfolio-fresh"}),
    # Compensations tried once: 5 % of refunds fail and leave the trade half done.
    "no-compensation-retry": (edit(SOLUTION, (RETRY, "retry: {max_attempts: 1}")), {"no-partial-trades"}),
    # An AP order book: both sides of the partition take writes; LWW merges them.
    "ap-book": (edit(SOLUTION, ("    mode: cp\n", "    mode: ap\n")), {"book-linearizable"}),
    # Buying a way out of the notification lag: three more Notification instances.
    "over-budget": (edit(SOLUTION, ("  notification:\n    kind: service\n    zone: east\n    replicas: 1\n",
                                    "  notification:\n    kind: service\n    zone: east\n    replicas: 5\n")),
                    {"budget"}),
}

# The same design with everything the grader ignores changed: a trickle of trades, no
# faults, a short run, another seed and an SLO that anything meets.
TAMPERED = edit(
    SOLUTION,
    ("arrivals: {kind: poisson, rate: 10/s}", "arrivals: {kind: poisson, rate: 1/s}"),
    ("duration: 120s\nwarmup: 10s\n", "duration: 10s\nwarmup: 0s\n"),
    ("seed: 1\n", "seed: 7\n"),
    ("faults:\n  - {kind: crash, target: notification, at: 30s, for: 20s}\n", "faults: []\n"),
    ("  - {name: no trade event lost, component: bus, metric: messages_lost, max: 0}\n",
     "  - {name: anything, metric: availability, min: 0}\n"),
)


def answers_with(value: float) -> str:
    return yaml.safe_dump({"book_availability_during_partition": value})


@pytest.fixture(scope="module")
def reports() -> dict[str, GradeReport]:
    """Every graded design of this module, by name (11 designs: about a minute on two cores)."""
    jobs = reference_jobs(SOLUTION, ANSWERS, answers_with(1.0), TAMPERED, STARTER,
                          (STARTER_DIR / "answers.yaml").read_text(), VARIANTS)
    return grade_in_pool(functools.partial(grade_job, LAB), jobs)


@pytest.fixture(scope="module")
def lab() -> LabSpec:
    return load_lab(LAB)


# ----------------------------------------------------------------------------- the lab itself


def test_lab_spec_is_what_the_readme_describes(lab):
    assert lab.name == "lab3-event-driven" and lab.submission == "design.yaml" and lab.answers == "answers.yaml"
    assert lab.total_points == 100 and {c.id for c in lab.checks} == CHECK_IDS
    assert {c.id for c in lab.checks if c.required} == CHECK_IDS - {"book-availability"}
    assert {c.id: c.budget.max_per_hour for c in lab.checks if c.budget} == {"budget": BUDGET}
    assert [(c.answer.key, c.answer.expected, c.answer.tolerance) for c in lab.checks if c.answer] == [
        ("book_availability_during_partition", 0.6, 0.1)]
    traders, east, west = lab.run.workload
    assert traders["arrivals"]["rate"] == "10/s" and (east["zone"], west["zone"]) == ("east", "west")
    assert (east["arrivals"]["rate"], west["arrivals"]["rate"]) == ("60/s", "40/s")  # golden G10.1's 60/40
    kinds = [(f["kind"], f.get("target")) for f in lab.run.faults]
    assert kinds == [("errors", "character"), ("errors", "user"), ("crash", "notification"), ("partition", None)]
    for name in ("lab3-event-driven",):
        assert name in {spec.name for _, spec in list_labs()}


def test_the_lab_spec_ships_no_calibration_numbers():
    comments = "\n".join(line.split("#", 1)[1] for line in (LAB / "lab.yaml").read_text().splitlines() if "#" in line)
    for leak in ("0.607", "0.6 ", "consistency_token", "at_least_once", "idempotency", "max_attempts", "mode: cp"):
        assert leak not in comments, leak
    assert "INSTRUCTOR.md" in comments


def test_starter_and_solution_are_valid_scenarios(lab):
    for folder in (STARTER_DIR, SOLUTION_DIR):
        design, warnings = check_scenario(folder / "design.yaml")
        assert warnings == [] and design.extends is None
        graded, problems = imposed_scenario(lab, design)
        assert problems == [] and graded is not None
    assert yaml.safe_load((STARTER_DIR / "answers.yaml").read_text()) == {"book_availability_during_partition": 0}


def test_the_solution_fits_the_budget(lab):
    cost, unpriced = hourly_cost(load_text(SOLUTION)[0], lab.prices)
    assert unpriced == [] and cost < BUDGET
    assert hourly_cost(load_text(VARIANTS["over-budget"][0])[0], lab.prices)[0] > BUDGET


def test_labs_start_copies_the_starter(tmp_path):
    target = tmp_path / "my-lab3"
    result = CliRunner().invoke(app, ["labs", "start", "lab3-event-driven", str(target)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in target.iterdir()) == ["README.md", "answers.yaml", "design.yaml", "reference"]
    assert (target / "design.yaml").read_text() == STARTER


# ----------------------------------------------------------------------------- grades


def test_the_solution_scores_100(reports):
    report = reports["solution"]
    assert report.score == 100 and report.passed and not report.malformed, [
        (c.id, c.feedback) for c in report.checks if not c.passed]


def test_the_starter_scores_low_and_says_why(reports):
    report = reports["starter"]
    assert failed(report) == CHECK_IDS - {"notifications-once", "trade-p99", "budget"}
    assert report.score == 30 and not report.passed
    checks = by_id(report)
    kept = " ".join(checks["notifications-kept"].feedback)
    assert "at most once" in kept and "the crash of notification at 30 s" in kept
    fresh = " ".join(checks["portfolio-fresh"].feedback)
    assert "consistency_token" in fresh and "missed the reader's own write" in fresh
    partial = " ".join(checks["no-partial-trades"].feedback)
    assert "left half done" in partial and "a compensation failed every attempt" in partial
    book = " ".join(checks["book-linearizable"].feedback)
    assert "not linearizable" in book and "mode ap answers on both sides" in book


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_each_check_fails_on_its_own(reports, name):
    """A copy of the solution with one realistic mistake fails exactly the check for that mistake."""
    assert failed(reports[name]) == VARIANTS[name][1]


def test_a_wrong_answer_fails_only_the_answer(reports):
    report = reports["wrong-answer"]
    assert failed(report) == {"book-availability"} and report.passed  # the answer is not required
    assert "too high" in by_id(report)["book-availability"].feedback[0]


def test_tampering_changes_nothing(lab, reports):
    tampered, _ = load_text(TAMPERED)
    assert tampered.duration == 10 and tampered.faults == [] and tampered.seed == 7
    honest, _ = load_text(SOLUTION)
    assert imposed_scenario(lab, tampered)[0] == imposed_scenario(lab, honest)[0]
    assert [(c.id, c.passed, c.value) for c in reports["tampered"].checks] == [
        (c.id, c.passed, c.value) for c in reports["solution"].checks]


def test_notifications_on_the_request_path_are_refused(lab, tmp_path):
    """Without a consumer group feeding Notification the design is not graded: the lab's rule names what is missing."""
    sync = edit(SOLUTION, ("          notification:\n            consumer: notification.notify_trade\n"
                           "            consumers: 3\n" + NOTIFICATION_GROUP, ""),
                ("          - call: bus.trades                 # the trade event\n",
                 "          - call: bus.trades                 # the trade event\n"
                 "          - call: notification.notify_trade\n"))
    (tmp_path / "design.yaml").write_text(sync)
    report = grade(lab, tmp_path, workers=1)
    assert report.malformed and report.score == 0
    assert any("no consumer group of bus.trades delivers to 'notification.notify_trade'" in p for p in report.problems)


def test_the_book_cannot_be_moved_into_one_zone(lab, tmp_path):
    """The replicas' placement is the lab's: a book with all five replicas in east is refused."""
    (tmp_path / "design.yaml").write_text(edit(SOLUTION, ("    replicas: [east, east, east, west, west]\n",
                                                          "    replicas: [east, east, east, east, east]\n")))
    report = grade(lab, tmp_path, workers=1)
    assert report.malformed and any("replicas" in p for p in report.problems)


def test_the_consumes_rule():
    consumes = RULES["consumes"]
    design, _ = load_text(SOLUTION)
    assert consumes(design, {"notification.notify_trade": "bus.trades", "portfolio.apply": "bus.trades"}) == []
    assert consumes(design, {"notification.notify_trade": "bus.orders"}) == [
        "there is no broker topic 'bus.orders' (a broker 'bus' with a topic 'orders')"]
    assert consumes(design, {"user.debit": "bus.trades"}) == [
        "no consumer group of bus.trades delivers to 'user.debit': add one (groups: {<name>: {consumer: user.debit}})"]


def test_classroom_templates_grade_lab3():
    import json

    folder = ROOT / "labs" / "classroom" / "lab3-event-driven"
    autograding = json.loads((folder / "autograding.json").read_text())
    assert [t["run"] for t in autograding["tests"]] == ["sdsim grade lab3-event-driven ."]
    workflow = yaml.safe_load((folder / "grade.yml").read_text())
    runs = [step.get("run", "") for step in workflow["jobs"]["grade"]["steps"]]
    assert "sdsim grade lab3-event-driven . --junit grade.xml" in runs
