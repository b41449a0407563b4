"""Lab 2 (lab2-load-balancing): the One Piece load-balancing lab grades what it claims.

The lab (``simulator/labs/catalog/lab2-load-balancing``) imposes shoppers at 300 req/s
(character pages and the live price ticker), 20 s of trading at 400 trades/s, then a 20 s
new-character drop at 850 trades/s, an app server running 8 x slower for 10 s during
trading and an app server crash of 25 s after it, with a 2 s client timeout, on its
fixed platform (2 vCPUs per app server, shared by the work of its busy workers). It
checks the ticker's p99 (the slow server), the ticker's availability (the crash), the
character pages' p90 (the cache), the trades' availability (sharding), a $0.95/h budget,
that the app servers sit behind a load balancer, that cached pages are at most 60 s old,
and the single server's measured capacity in req/s (430) and in users (3,300). The
reference solution lives in ``labs/lab2-load-balancing/solution`` (instructors only).
The tests pin down that:

* the starter (one Flask server, one PostgreSQL) fails: it breaks under the load and has
  no balancer, so it scores only the budget and freshness checks (15/100), and its
  feedback names the app server as the bottleneck;
* the reference solution passes every check with margin (100/100);
* each check can fail on its own: a copy of the solution with ONE realistic mistake fails
  exactly that check;
* the budget binds both ways: one app server fewer than the reference fails SLOs, and
  buying a way out (a fourth app server, twice the app tier, a read replica per shard)
  fails the budget;
* tampering with the workload, faults, duration or SLOs in a submission changes nothing;
* a half-done scale-out earns partial credit with feedback naming what is missing;
* malformed submissions score zero with located problems, never a traceback;
* the two structural rules the lab added (``balanced``, ``max_cache_ttl``) say what they
  should on small designs, and the measured hit ratio is the one theory predicts.

Grading one design takes 15-30 s of CPU (5 replications of a 100 s run), so the designs
that need simulation are graded once per module, in a pool of two processes, each
grading with ``workers=1`` (its replications in-process), and the tests that read them
are marked ``slow``. Within one grading job the simulation runs are
memoised by (imposed scenario, seed): designs whose imposed scenario is identical (the
solution, wrong answers, a tampered copy) share their runs, and a tampered copy that
leaked into the imposed scenario would miss the memo and be re-run.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from labkit import grade_in_pool, by_id, edit, failed, grade_text, load_text, memoise_grader_runs

from simulator import check_scenario
from simulator.cli import app
from simulator.labs import CATALOG, grade, list_labs, load_lab
from simulator.labs import grader as grader_module
from simulator.labs.grader import GradeReport, imposed_scenario
from simulator.labs.rules import RULES, hourly_cost, instances
from simulator.labs.spec import LabSpec

ROOT = Path(__file__).resolve().parents[1]
LAB = CATALOG / "lab2-load-balancing"                         # what ships: lab.yaml, README, starter
STARTER_DIR = LAB / "starter"
SOLUTION_DIR = ROOT / "labs" / "lab2-load-balancing" / "solution"  # instructors only
STARTER = (STARTER_DIR / "design.yaml").read_text()
SOLUTION = (SOLUTION_DIR / "design.yaml").read_text()
ANSWERS = (SOLUTION_DIR / "answers.yaml").read_text()
PRICE = {"service": 0.1008, "cache": 0.149, "database": 0.159, "load_balancer": 0.0225, "broker": 0.1008,
         "projection": 0.1008, "event_store": 0.1008,
         "registry": 0.1008, "kv_store": 0.1008, "gateway": 0.1008,
         "regional_database": 0.159}
BUDGET = 0.95
CHECK_IDS = {"ticker-p99", "ticker-availability", "page-p90", "buy-availability", "budget", "balanced",
             "page-freshness", "single-server-rps", "single-server-users"}
ANSWER_IDS = {"single-server-rps", "single-server-users"}


# ----------------------------------------------------------------------------- variants
# One realistic mistake each, made on the reference solution; none changes the lab's
# physics (work, workers, vCPUs, connections), which the grader would refuse.

VARIANTS: dict[str, str] = {
    # Power of two choices (Envoy's least request): the slow server still wins whenever
    # both draws land on it, 1 in 9 with three servers, and those polls share its 2 vCPUs
    # with trades that are 8 x slower.
    "least-request": edit(SOLUTION, ("policy: {default: least_connections,", "policy: {default: least_request,")),
    # nginx's default policy: the slow server keeps its third of the requests, far more
    # than its 2 vCPUs can do at 8 x the work; its queue times out polls and trades.
    "round-robin": edit(SOLUTION, ("policy: {default: least_connections,", "policy: {default: round_robin,")),
    # No outlier ejection (and no health check): the dead server keeps getting requests,
    # and least request even prefers it, since it fails them instantly.
    "no-ejection": edit(SOLUTION, ("    outlier_detection: {consecutive_errors: 5, base_ejection_time: 30s}"
                                   "   # Envoy's defaults\n", "")),
    # A cautious 10 s page TTL: only about 76 % of page views hit the cache.
    "short-ttl": edit(SOLUTION, ("page_ttl: {default: 60s,", "page_ttl: {default: 10s,")),
    # Forgot to shard: one primary for the drop.
    "one-shard": edit(SOLUTION, ("shards: {default: 2,", "shards: {default: 1,")),
    # The trading routes get an upstream block of their own, left on nginx's defaults
    # (round robin): the slow server keeps its third of the trades and times them out.
    "trades-round-robin": edit(
        SOLUTION,
        ("      buy_character: {work: 0.03ms, steps: [{call: lb.buy_character}]}\n"
         "      sell_character: {work: 0.03ms, steps: [{call: lb.sell_character}]}",
         "      buy_character: {work: 0.03ms, steps: [{call: lb-trades.buy_character}]}\n"
         "      sell_character: {work: 0.03ms, steps: [{call: lb-trades.sell_character}]}"),
        ("  app:\n    kind: service", "  lb-trades:\n    kind: load_balancer\n    zone: edge\n    backend: app\n"
                                     "    outlier_detection: {consecutive_errors: 5, base_ejection_time: 30s}\n"
                                     "  app:\n    kind: service")),
    # gunicorn's sync workers on the three servers: a worker waits out every database call.
    "sync-workers": edit(SOLUTION, ("    io: async                   # gevent", "    io: blocking                # sync   ")),
    # Brute force: a fourth app server. It passes every SLO, and costs $0.99/h.
    "four-app-servers": edit(SOLUTION, ("app_replicas: {default: 3,", "app_replicas: {default: 4,")),
    # One app server fewer than the reference: the cheaper direction of the budget.
    "two-app-servers": edit(SOLUTION, ("app_replicas: {default: 3,", "app_replicas: {default: 2,")),
    # The page cache loads its misses from the app servers directly, not through the balancer.
    "cache-bypasses-lb": edit(SOLUTION, ("    origin: lb   ", "    origin: app  ")),
    # A 10-minute page TTL: more hits, but a page may show a 10-minute-old price.
    "stale-pages": edit(SOLUTION, ("page_ttl: {default: 60s,", "page_ttl: {default: 600s,")),
}

# Task 2 only: four copies of the single server behind nginx's defaults (round robin, no
# health checking); no cache, no sharding, still sync workers.
HALF_DONE = edit(
    STARTER,
    ("    entry: app\n", "    entry: lb\n"),
    ("  app:\n    kind: service\n", "  lb:\n    kind: load_balancer\n    zone: edge\n    backend: app\n"
                                   "  app:\n    kind: service\n"),
    ("    replicas: 1\n", "    replicas: 4\n"),
)

# The same design with everything the grader ignores changed: a trickle of load, no
# faults, a short run, other seeds and SLOs that anything meets.
TAMPERED = edit(
    SOLUTION,
    ("arrivals: {kind: poisson, rate: 300/s}", "arrivals: {kind: poisson, rate: 1/s}"),
    ("duration: 100s\nwarmup: 10s\n", "duration: 10s\nwarmup: 0s\n"),
    ("seed: 42\n", "seed: 7\n"),
    ("faults:\n  - {kind: slowdown, target: app, replicas: 1, factor: 8, at: 25s, for: 10s}\n"
     "  - {kind: crash, target: app, replicas: 1, at: 65s, for: 25s}\n", "faults: []\n"),
)
TAMPERED = TAMPERED[:TAMPERED.index("\nslos:")] + "\nslos:\n  - {name: anything, metric: availability, min: 0}\n"

SOLUTION_ANSWERS = yaml.safe_load(ANSWERS)


def answers_with(**changes: float) -> str:
    return yaml.safe_dump({**SOLUTION_ANSWERS, **changes})


# ----------------------------------------------------------------------------- grading jobs


def _run_job(job: list[tuple[str, str, str | None]]) -> dict[str, tuple[GradeReport, dict[str, float]]]:
    """Grade (name, design, answers) items in this process, sharing runs; also a few measured facts."""
    memo = memoise_grader_runs()
    lab = load_lab(LAB)
    out = {}
    for name, design, answers in job:
        report = grade_text(lab, design, answers)
        graded, _ = imposed_scenario(lab, load_text(design)[0])
        runs = [memo[(graded.model_dump_json(), seed)] for seed in report.seeds] if (
            graded is not None and (graded.model_dump_json(), report.seeds[0]) in memo) else []
        out[name] = (report, _facts(runs))
    return out


def _facts(runs) -> dict[str, float]:
    """Means over the replications of the numbers the theory tests compare against."""
    facts: dict[str, float] = {}
    for result in runs:
        components = result.summary()["components"]
        for name, c in components.items():
            values = {"utilization": c.get("utilization")}
            if c.get("hit_ratio") is not None:
                values["hit_ratio"] = c["hit_ratio"]
            counts = c.get("counts", {})
            for prefix in ("sent:", "shard:"):
                keys = sorted(k for k in counts if k.startswith(prefix))
                total = sum(counts[k] for k in keys)
                values.update({k: counts[k] / total for k in keys if total})
            for key, value in values.items():
                if value is not None:
                    facts.setdefault(f"{name}.{key}", []).append(value)
    return {key: float(np.mean(values)) for key, values in facts.items()}


def _jobs() -> list[list[tuple[str, str, str | None]]]:
    starter_answers = (LAB / "starter" / "answers.yaml").read_text()
    jobs = [[("one-shard", VARIANTS["one-shard"], ANSWERS)],  # the longest first: two workers finish together
            [("half-done", HALF_DONE, ANSWERS)],
            [("solution", SOLUTION, ANSWERS),
             ("wrong-rps", SOLUTION, answers_with(single_server_rps=143)),
             ("wrong-users", SOLUTION, answers_with(single_server_users=1000)),
             ("old-answers", SOLUTION, answers_with(single_server_rps=740, single_server_users=5780)),
             ("tampered", TAMPERED, ANSWERS)]]
    jobs += [[(name, text, ANSWERS)] for name, text in VARIANTS.items() if name != "one-shard"]
    jobs.append([("starter", STARTER, starter_answers)])
    return jobs


@pytest.fixture(scope="module")
def graded() -> dict[str, tuple[GradeReport, dict[str, float]]]:
    """Every graded design of this module, by name, with measured facts (15 designs simulated: about 250 s on two cores)."""
    return grade_in_pool(_run_job, _jobs())


@pytest.fixture(scope="module")
def reports(graded) -> dict[str, GradeReport]:
    return {name: report for name, (report, _) in graded.items()}


@pytest.fixture(scope="module")
def lab() -> LabSpec:
    return load_lab(LAB)


# ----------------------------------------------------------------------------- the lab itself


def test_lab_spec_is_what_the_instructor_guide_describes(lab):
    """100 points; the graded shoppers, trading, drop, timeout, slowdown and crash; the sheet's prices."""
    assert lab.name == "lab2-load-balancing" and lab.submission == "design.yaml" and lab.answers == "answers.yaml"
    assert lab.total_points == 100 and {c.id for c in lab.checks} == CHECK_IDS
    assert {c.id for c in lab.checks if c.required} == CHECK_IDS - ANSWER_IDS
    assert lab.replications == 5 and lab.prices == PRICE
    assert {c.id: c.budget.max_per_hour for c in lab.checks if c.budget} == {"budget": BUDGET}
    answers = {c.answer.key: (c.answer.expected, c.answer.tolerance) for c in lab.checks if c.answer}
    assert answers == {"single_server_rps": (430, 0.25), "single_server_users": (3300, 0.25)}
    shoppers, traders = lab.run.workload
    assert shoppers["arrivals"] == {"kind": "poisson", "rate": "300/s"} and shoppers["timeout"] == "2s"
    assert shoppers["mix"] == {"get_character": 0.75, "poll_prices": 0.25}
    assert traders["arrivals"]["rate"] == "0/s" and traders["timeout"] == "2s"
    assert traders["profile"] == [{"at": "20s", "rate": "400/s", "for": "20s"},
                                  {"at": "40s", "rate": "850/s", "for": "20s"}]
    assert shoppers["keys"] == traders["keys"] == "zipf(s=0.8, n=1000)"
    assert lab.run.faults == [{"kind": "slowdown", "target": "app", "replicas": 1, "factor": 8, "at": "25s", "for": "10s"},
                              {"kind": "crash", "target": "app", "replicas": 1, "at": "65s", "for": "25s"}]


def test_the_lab_spec_ships_no_reference_cost_and_no_calibration_numbers():
    """lab.yaml ships to students: its comments point at the instructor guide, they state no answer."""
    comments = "\n".join(line.split("#", 1)[1] for line in (LAB / "lab.yaml").read_text().splitlines() if "#" in line)
    for leak in ("740", "770", "5780", "5,780", "430", "3300", "3,300", "651", "1.3 x", "$0.89", "0.8927",
                 "reference solution", "90 % of page views"):
        assert leak not in comments, leak
    assert "INSTRUCTOR.md" in comments


def test_starter_and_solution_are_valid_scenarios_with_the_schema_comment():
    """Students copy only the starter: design.yaml stands alone (users.yaml builds on it), no warnings."""
    for folder, entry in ((STARTER_DIR, "app"), (SOLUTION_DIR, "edge")):
        path = folder / "design.yaml"
        design, warnings = check_scenario(path)
        assert warnings == [] and design.extends is None and design.workload[0].entry == entry
        assert path.read_text().startswith("# yaml-language-server: $schema=")
    assert (SOLUTION_DIR / "design.yaml").read_text().startswith(
        "# yaml-language-server: $schema=../../../scenarios/scenario.schema.json\n")
    users, warnings = check_scenario(STARTER_DIR / "users.yaml")
    assert warnings == [] and users.workload[0].arrivals.kind == "closed" and users.workload[0].arrivals.users == 1000
    starter_answers = yaml.safe_load((STARTER_DIR / "answers.yaml").read_text())
    assert starter_answers == {"single_server_rps": 0, "single_server_users": 0}


def test_the_solution_file_runs_the_lab_as_graded(lab):
    """`sdsim run solution/design.yaml` is one graded run: its own workload, faults and length are the lab's."""
    design, _ = check_scenario(SOLUTION_DIR / "design.yaml")
    graded, problems = imposed_scenario(lab, design)
    assert problems == []
    own = design.model_dump(exclude={"seed", "slos"})
    assert own == graded.model_dump(exclude={"seed", "slos"})
    slos = {(s.metric, s.operation, s.target) for s in design.slos}
    assert slos == {(c.slo.metric, c.slo.operation, c.slo.as_slo(c.id).target) for c in lab.checks if c.slo}


def test_the_solution_fits_the_budget_and_one_more_server_does_not(lab):
    """nginx + 3 app servers, 1 Redis, 1 balancer, 2 PostgreSQL shards: $0.89/h against the $0.95/h cap."""
    design, _ = check_scenario(SOLUTION_DIR / "design.yaml")
    assert instances(design) == {"edge": 1, "page-cache": 1, "lb": 1, "app": 3, "postgres": 2}
    assert design.components["lb"].policy == "least_connections"
    cost, unpriced = hourly_cost(design, lab.prices)
    assert unpriced == [] and cost == pytest.approx(4 * 0.1008 + 0.149 + 0.0225 + 2 * 0.159)
    assert BUDGET - 0.08 <= cost <= BUDGET - 0.05
    assert cost + PRICE["service"] > BUDGET


def test_buying_a_way_out_is_over_budget(lab):
    """A fourth app server, twice the app tier, a third shard or a read replica per shard cost more than $0.95/h."""
    def cost_of(text: str) -> float:
        cost, unpriced = hourly_cost(load_text(text)[0], lab.prices)
        assert unpriced == []
        return cost

    assert cost_of(VARIANTS["four-app-servers"]) > BUDGET
    assert cost_of(edit(SOLUTION, ("app_replicas: {default: 3,", "app_replicas: {default: 6,"))) > BUDGET
    assert cost_of(edit(SOLUTION, ("shards: {default: 2,", "shards: {default: 3,"))) > BUDGET
    replicas = edit(SOLUTION, ("    sharding: {shards:", "    read_replicas: 1\n    sharding: {shards:"))
    assert cost_of(replicas) == pytest.approx(cost_of(SOLUTION) + 2 * PRICE["database"])
    assert cost_of(replicas) > BUDGET
    assert cost_of(VARIANTS["two-app-servers"]) < cost_of(SOLUTION)


def test_labs_list_and_start(tmp_path):
    assert "lab2-load-balancing" in {lab.name for _, lab in list_labs()}
    listed = CliRunner().invoke(app, ["labs", "list"])
    assert listed.exit_code == 0 and "lab2-load-balancing" in listed.stdout
    target = tmp_path / "my-lab2"
    result = CliRunner().invoke(app, ["labs", "start", "lab2-load-balancing", str(target)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in target.iterdir()) == ["README.md", "answers.yaml", "design.yaml", "reference",
                                                        "users.yaml"]
    assert not (target / "solution").exists()
    assert (target / "design.yaml").read_text() == STARTER
    design, warnings = check_scenario(target / "users.yaml")  # still finds design.yaml next to it
    assert warnings == [] and design.components["app"].replicas == 1


def test_classroom_templates_grade_lab2():
    """labs/classroom/lab2-load-balancing: the autograding test and the workflow run `sdsim grade` on Lab 2."""
    folder = ROOT / "labs" / "classroom" / "lab2-load-balancing"
    autograding = json.loads((folder / "autograding.json").read_text())
    assert [t["run"] for t in autograding["tests"]] == ["sdsim grade lab2-load-balancing ."]
    workflow = yaml.safe_load((folder / "grade.yml").read_text())
    runs = [step.get("run", "") for step in workflow["jobs"]["grade"]["steps"]]
    assert "sdsim grade lab2-load-balancing . --junit grade.xml" in runs


# ----------------------------------------------------------------------------- the rules the lab added

ONE_SERVER = """
name: t
duration: 10s
workload: [{name: w, entry: ENTRY, arrivals: {kind: poisson, rate: 1}, operation: get}]
components:
  lb: {kind: load_balancer, backend: app}
  cache: {kind: cache, origin: ORIGIN, origin_read: get, origin_write: null, capacity: 10, TTL}
  front: {kind: service, operations: {get: {steps: [{call: cache.read}]}}}
  app: {kind: service, replicas: REPLICAS, operations: {get: {}}}
"""


def tiny(entry="front", origin="lb", replicas="2", ttl="expire_after_write: 60s"):
    text = (ONE_SERVER.replace("ENTRY", entry).replace("ORIGIN", origin).replace("REPLICAS", replicas)
            .replace("TTL", ttl))
    design, _ = load_text(text)  # warnings (an unreachable component) do not matter here
    return design


def test_balanced_rule():
    balanced = RULES["balanced"]
    assert balanced(tiny(), {"app": 2}) == [] and balanced(tiny(), "app") == [] and balanced(tiny(), ["app"]) == []
    assert balanced(tiny(replicas="1"), {"app": 2}) == ["'app' runs 1 replica(s), at least 2 expected behind the load balancer"]
    assert balanced(tiny(replicas="3"), {"app": 4}) != [] and balanced(tiny(replicas="1"), {"app": 1}) == []
    assert balanced(tiny(origin="app"), "app") == ["cache.read calls 'app' directly, bypassing the load balancer"]
    assert balanced(tiny(entry="app"), "app") == ["the clients (w) call 'app' directly, not through a load balancer"]
    assert balanced(tiny(), "front") == ["'front' is not behind a load balancer (no load_balancer has `backend: front`)",
                                         "the clients (w) call 'front' directly, not through a load balancer",
                                         "'front' runs 1 replica(s), at least 2 expected behind the load balancer"]
    assert balanced(tiny(), "nothing") == ["no component named 'nothing'"]
    scaled = tiny(replicas="2, autoscaling: {min_replicas: 1, max_replicas: 4, target: 0.6}")
    assert balanced(scaled, "app") == ["'app' runs 1 replica(s), at least 2 expected behind the load balancer"]


def test_max_cache_ttl_rule():
    ttl = RULES["max_cache_ttl"]
    assert ttl(tiny(), "60s") == [] and ttl(tiny(), 60) == [] and ttl(tiny(ttl="expire_after_write: 1m"), "60s") == []
    assert ttl(tiny(ttl="expire_after_write: 61s"), "60s") == [
        "cache 'cache' keeps entries 61 s (expire_after_write), at most 60 s allowed"]
    assert ttl(tiny(ttl="expire_after_access: 10s"), "1m") == [
        "cache 'cache' has no expire_after_write: its entries may be arbitrarily old (at most 60 s allowed)"]
    no_cache, _ = load_text(STARTER)
    assert ttl(no_cache, "60s") == []


# ----------------------------------------------------------------------------- malformed

NOT_GRADED = ["not graded: the submission could not be read or changes what the lab fixes (see the problems)"]


@pytest.mark.parametrize("design, where", [
    ("name: [\n", "invalid YAML"),
    (STARTER.replace("    replicas: 1\n", "    replicas: one\n"), "replicas"),
    (SOLUTION.replace("policy: \"${policy}\"", "policy: fastest"), "policy"),
    (SOLUTION.replace("expire_after_write: \"${page_ttl}\"", "expire_after_write: a minute"), "expire_after_write"),
], ids=["bad-yaml", "replicas-not-a-number", "unknown-policy", "ttl-without-unit"])
def test_malformed_design_scores_zero_with_located_problems(lab, tmp_path, design, where):
    (tmp_path / "design.yaml").write_text(design)
    report = grade(lab, tmp_path, workers=1)
    assert report.malformed and report.score == 0 and not report.passed
    assert any("design.yaml:" in p and where in p for p in report.problems), report.problems
    assert all(not c.passed and c.feedback == NOT_GRADED for c in report.checks)


def test_malformed_answers_file_scores_zero(lab, tmp_path):
    (tmp_path / "design.yaml").write_text(STARTER)
    (tmp_path / "answers.yaml").write_text("single_server_rps: [430\n")
    report = grade(lab, tmp_path, workers=1)
    assert report.malformed and report.score == 0 and any("answers.yaml:" in p for p in report.problems)


def test_cli_reports_a_malformed_submission_with_exit_3_and_no_traceback(tmp_path):
    shutil.copytree(STARTER_DIR, tmp_path / "sub")
    (tmp_path / "sub" / "design.yaml").write_text(STARTER.replace('    workers: "${web_workers}"\n', "    workers: [5]\n"))
    result = CliRunner().invoke(app, ["grade", "lab2-load-balancing", str(tmp_path / "sub")])
    assert result.exit_code == 3 and "design.yaml:" in result.stderr and "workers" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


# ----------------------------------------------------------------------------- tampering


def test_tampering_leaves_the_graded_scenario_unchanged(lab):
    """Rate, faults, duration, warm-up, seed and SLOs of a submission never reach the graded run."""
    tampered, _ = load_text(TAMPERED)
    honest, _ = check_scenario(SOLUTION_DIR / "design.yaml")
    assert tampered.duration == 10 and tampered.faults == [] and tampered.slos[0].name == "anything"
    assert tampered.workload[0].arrivals.rate == 1 and tampered.seed == 7 and len(tampered.slos) == 1
    graded_tampered, problems = imposed_scenario(lab, tampered)
    graded_honest, _ = imposed_scenario(lab, honest)
    assert problems == []
    assert graded_tampered.model_dump() == graded_honest.model_dump()


@pytest.mark.slow
def test_tampering_changes_no_measured_value(reports):
    honest, tampered = reports["solution"], reports["tampered"]
    assert [(c.id, c.value, c.bound, c.passed) for c in tampered.checks] == \
           [(c.id, c.value, c.bound, c.passed) for c in honest.checks]


# ----------------------------------------------------------------------------- the starter


@pytest.mark.slow
def test_starter_fails_and_scores_only_budget_and_freshness(reports):
    """One server, one database, no balancer, no answers yet: 15/100, with feedback that says why."""
    report = reports["starter"]
    assert not report.malformed and not report.passed
    assert report.score == 15 and failed(report) == CHECK_IDS - {"budget", "page-freshness"}
    checks = by_id(report)
    assert checks["buy-availability"].value < 0.5 and checks["ticker-availability"].value < 0.5
    assert checks["page-p90"].value > 10 * 0.002  # ten times the 2 ms target: failed by far, not by noise
    assert "'app' is not behind a load balancer (no load_balancer has `backend: app`)" in checks["balanced"].feedback
    assert "'app' runs 1 replica(s), at least 2 expected behind the load balancer" in checks["balanced"].feedback
    assert any("bottleneck: app" in line for line in checks["buy-availability"].feedback)
    assert not any("bottleneck: postgres" in line for line in checks["ticker-p99"].feedback)
    for key in ANSWER_IDS:  # the placeholder 0 is an answer, a wrong one
        assert checks[key].feedback[0].startswith("too low:") and checks[key].target is None


def test_cli_grades_the_starter_with_exit_1(monkeypatch):
    """The CLI path end to end, on one replication (the verdict does not need five)."""
    monkeypatch.setattr(grader_module, "replication_seeds", lambda seed, n: [seed])
    result = CliRunner().invoke(app, ["grade", "lab2-load-balancing", str(STARTER_DIR)])
    assert result.exit_code == 1 and "FAIL" in result.stdout and "15/100" in result.stdout


# ----------------------------------------------------------------------------- the solution


@pytest.mark.slow
def test_solution_passes_every_check_with_margin(reports, lab):
    report = reports["solution"]
    assert report.passed and failed(report) == set() and report.score == report.total == 100
    checks = by_id(report)
    assert checks["ticker-p99"].bound <= 0.015              # 12.8 ms: the slow server costs the ticker little
    assert checks["ticker-availability"].bound >= 0.995     # 99.94 %: the crash costs a handful of polls
    assert checks["page-p90"].bound <= 0.002 / 2
    assert checks["buy-availability"].bound == 1.0          # not one trade lost in the drop
    assert checks["budget"].margin >= 0.05
    expected = {c.answer.key: c.answer.expected for c in lab.checks if c.answer}
    assert {key: SOLUTION_ANSWERS[key] for key in expected} == expected
    for key in ANSWER_IDS:  # an answer's check never carries the expected value
        assert checks[key].target is None and checks[key].margin is None
        assert checks[key].feedback == ["within the accepted band (±25%)"]


@pytest.mark.slow
def test_the_page_cache_hits_as_often_as_theory_says(graded):
    """TTL cache, Poisson requests per page: hit = sum_i p_i * l_i T / (1 + l_i T) (golden 6.2)."""
    _, facts = graded["solution"]
    p = 1 / np.arange(1, 1001) ** 0.8
    p /= p.sum()
    rate = 300 * 0.75 * p * 60  # requests per page per TTL
    assert facts["page-cache.hit_ratio"] == pytest.approx(float((p * rate / (1 + rate)).sum()), abs=0.01)
    _, short = graded["short-ttl"]
    rate = 300 * 0.75 * p * 10
    assert short["page-cache.hit_ratio"] == pytest.approx(float((p * rate / (1 + rate)).sum()), abs=0.01)
    assert short["page-cache.hit_ratio"] < 0.9 < facts["page-cache.hit_ratio"]


@pytest.mark.slow
def test_hash_sharding_splits_the_trades_evenly(graded):
    _, facts = graded["solution"]
    assert facts["postgres.shard:0"] == pytest.approx(0.5, abs=0.05)


# ----------------------------------------------------------------------------- one mistake, one check


@pytest.mark.slow
@pytest.mark.parametrize("variant, check", [
    ("least-request", "ticker-p99"),          # 1 poll in 9 of the slowdown lands on the slow server
    ("no-ejection", "ticker-availability"),   # the dead server keeps getting polls for 25 s
    ("sync-workers", "ticker-p99"),           # polls queue behind workers that wait on the database
    ("short-ttl", "page-p90"),                # 10 s pages: 76 % hits, so the p90 is an app-server page
    ("trades-round-robin", "buy-availability"),  # the slow server's third of the trades times out
    ("four-app-servers", "budget"),           # $0.99/h
    ("cache-bypasses-lb", "balanced"),        # page-cache loads from app directly
    ("stale-pages", "page-freshness"),        # 600 s pages
    ("wrong-rps", "single-server-rps"),       # 143 req/s: "1000 users" taken as 1000 users x 1 request / 7 s
    ("wrong-users", "single-server-users"),   # the seed's 1000 users
])
def test_each_check_fails_on_its_own(reports, variant, check):
    report = reports[variant]
    assert failed(report) == {check} and report.score == 100 - by_id(report)[check].points
    assert report.passed == (not by_id(report)[check].required)


@pytest.mark.slow
def test_one_shard_loses_the_drop_and_skews_the_balancer(reports):
    """One primary for 850 trades/s (1.3 x what it commits): most trades of the drop are lost.

    The ticker goes over too, by a little: trades waiting on the database count as
    connections in flight, so least connections no longer sees which server's CPU is busy.
    """
    report = reports["one-shard"]
    assert failed(report) == {"buy-availability", "ticker-p99"}
    checks = by_id(report)
    assert checks["buy-availability"].value < 0.5 and checks["ticker-p99"].value < 0.025
    assert any("bottleneck: postgres" in line for line in checks["buy-availability"].feedback), \
        checks["buy-availability"].feedback


@pytest.mark.slow
def test_the_pre_cpu_model_answers_are_too_high(reports):
    """740 req/s and 5,780 users assumed 5 workers computing at once on 2 vCPUs: told "too high", not the target."""
    report = reports["old-answers"]
    assert failed(report) == ANSWER_IDS and report.passed
    for key in ANSWER_IDS:
        check = by_id(report)[key]
        assert check.target is None and check.margin is None and check.feedback[0].startswith("too high:")
        assert "430" not in check.feedback[0] and "3300" not in check.feedback[0]


@pytest.mark.slow
def test_one_app_server_fewer_than_the_reference_fails_slos(reports):
    """Two app servers (4 vCPUs) are cheaper, and cannot carry the drop nor absorb the slow server."""
    report = reports["two-app-servers"]
    assert {"ticker-p99", "buy-availability"} <= failed(report) and not report.passed
    assert by_id(report)["budget"].passed
    assert any("bottleneck: app" in line for line in by_id(report)["buy-availability"].feedback)


@pytest.mark.slow
def test_round_robin_feeds_the_slow_server_and_least_connections_starves_it(graded):
    """Both send host 0 its share outside the slowdown; only least connections backs off while it is slow."""
    _, rr = graded["round-robin"]
    _, lc = graded["solution"]
    assert rr["lb.sent:0"] > lc["lb.sent:0"]
    checks = by_id(graded["round-robin"][0])
    assert checks["ticker-p99"].feedback[0].startswith("latency_p99 of poll_prices must be at most 20ms")
    # on 2 vCPUs at 8 x the work the slow server's third is far more than it can do:
    # its queue times out polls and trades too, so round robin costs three checks
    assert failed(graded["round-robin"][0]) == {"ticker-p99", "ticker-availability", "buy-availability"}


@pytest.mark.slow
def test_feedback_of_a_missing_ejection_points_at_the_crash(reports):
    lines = "\n".join(by_id(reports["no-ejection"])["ticker-availability"].feedback)
    assert "availability of poll_prices must be at least 99.00%" in lines and "crash of app" in lines


# ----------------------------------------------------------------------------- partial credit


@pytest.mark.slow
def test_half_done_scale_out_earns_partial_credit_with_useful_feedback(reports):
    """Balanced, but nginx's defaults, no cache, one database: budget, structure and answers only."""
    report = reports["half-done"]
    assert not report.passed and 0 < report.score < report.total
    assert failed(report) == {"ticker-p99", "ticker-availability", "page-p90", "buy-availability"}
    assert report.score == 40
    checks = by_id(report)
    assert checks["page-p90"].value > 0.004   # every page is an app-server page
    assert checks["buy-availability"].value < 0.9
    assert checks["balanced"].feedback == ["ok"] and checks["page-freshness"].feedback == ["ok"]
    for check in ("ticker-p99", "ticker-availability", "page-p90", "buy-availability"):
        assert checks[check].feedback[0].startswith(("latency_p", "availability of")), checks[check].feedback
        assert "the 95% confidence bound over 5 runs" in checks[check].feedback[0]
