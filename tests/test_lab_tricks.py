"""A cheating student's tricks against the grader: each leaves the grade unchanged or is refused.

Tried on a copy of Lab 1's reference solution (and Lab 2's where the trick is about its
platform). A refusal must name the file and what is wrong, exit 3 at the CLI, never
crash, never echo a file from outside the submission and never run a simulation. Tricks
that are not refused (leaving a fixed field out) must grade exactly as the honest design
would: the lab's value is imposed, so the graded scenario is identical.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labkit import edit

from simulator.cli import app
from simulator.errors import ScenarioError
from simulator.labs import CATALOG, find_lab, grade, grade_submission, load_lab
from simulator.labs import grader as grader_module
from simulator.labs.grader import answer_feedback, imposed_scenario
from simulator.scenario.load import check_scenario

ROOT = Path(__file__).resolve().parents[1]
LAB1 = load_lab(CATALOG / "lab1-decomposition")
LAB2 = load_lab(CATALOG / "lab2-load-balancing")
SOLUTION1 = ROOT / "labs" / "lab1-decomposition" / "solution"
SOLUTION2 = ROOT / "labs" / "lab2-load-balancing" / "solution"
DESIGN1 = (SOLUTION1 / "design.yaml").read_text()
DESIGN2 = (SOLUTION2 / "design.yaml").read_text()


@pytest.fixture(autouse=True)
def no_simulation(monkeypatch):
    """A refused submission must not cost a single run."""
    def refuse(*_args, **_kwargs):
        raise AssertionError("a refused submission was simulated")

    monkeypatch.setattr(grader_module, "run_replications", refuse)


def submission(tmp_path: Path, design: str = DESIGN1, answers: str | None = None) -> Path:
    folder = tmp_path / "my-lab"
    folder.mkdir()
    (folder / "design.yaml").write_text(design)
    (folder / "answers.yaml").write_text(answers if answers is not None else (SOLUTION1 / "answers.yaml").read_text())
    return folder


def refused(lab, folder: Path) -> str:
    report = grade(lab, folder, workers=1)
    assert report.malformed and report.score == 0 and not report.passed
    return "\n".join(report.problems)


# ----------------------------------------------------------------------------- files outside the submission


def test_extends_pointing_at_the_solution_is_refused(tmp_path):
    folder = submission(tmp_path, f"extends: {SOLUTION1 / 'design.yaml'}\nname: mine\n")
    problems = refused(LAB1, folder)
    assert "design.yaml" in problems and "outside" in problems


def test_extends_with_a_relative_path_out_of_the_folder_is_refused(tmp_path):
    (tmp_path / "elsewhere.yaml").write_text(DESIGN1)
    folder = submission(tmp_path, "extends: ../elsewhere.yaml\nname: mine\n")
    assert "outside" in refused(LAB1, folder)


def test_extends_inside_the_folder_is_allowed(tmp_path):
    folder = submission(tmp_path, "extends: base.yaml\nname: mine\n")
    (folder / "base.yaml").write_text(DESIGN1)
    design, _ = check_scenario(folder / "design.yaml", root=folder)
    assert "trading" in design.components


def test_extends_to_an_outside_file_does_not_echo_its_content(tmp_path):
    secret = tmp_path / "secret.yaml"
    secret.write_text("password: hunter2-do-not-print\n")
    folder = submission(tmp_path, f"extends: {secret}\nname: mine\n")
    problems = refused(LAB1, folder)
    assert "hunter2" not in problems and "outside" in problems


@pytest.mark.parametrize("name", ["design.yaml", "answers.yaml"])
def test_a_symlink_to_the_solution_is_refused(tmp_path, name):
    folder = submission(tmp_path)
    (folder / name).unlink()
    (folder / name).symlink_to(SOLUTION1 / name)
    problems = refused(LAB1, folder)
    assert name in problems and "outside" in problems


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_as_the_design_or_its_base_is_refused_before_reading(tmp_path, device):
    if not os.path.exists(device):
        pytest.skip(f"no {device} here")
    folder = submission(tmp_path)
    (folder / "design.yaml").unlink()
    os.symlink(device, folder / "design.yaml")
    assert "outside" in refused(LAB1, folder)  # the symlink leaves the folder: refused before reading
    # a device inside the folder (a FIFO) is refused for not being a regular file
    folder2 = tmp_path / "other"
    folder2.mkdir()
    os.mkfifo(folder2 / "design.yaml")
    assert "not a regular file" in refused(LAB1, folder2)
    folder3 = tmp_path / "third"
    folder3.mkdir()
    (folder3 / "design.yaml").write_text(f"extends: {device}\nname: x\n")
    assert "design.yaml" in refused(LAB1, folder3)


def test_an_oversized_design_is_refused_before_reading(tmp_path):
    folder = submission(tmp_path, DESIGN1 + "#" * (2 << 20) + "\n")
    assert "bytes" in refused(LAB1, folder)


def test_a_lab_spec_in_the_submission_is_never_used(tmp_path, monkeypatch):
    """A lab.yaml of the student's own (an easy copy of the lab) is ignored by name, refused by path."""
    folder = submission(tmp_path)
    own = folder / "lab1-decomposition"
    shutil.copytree(CATALOG / "lab1-decomposition", own)
    (own / "lab.yaml").write_text((own / "lab.yaml").read_text().replace("max_per_hour: 2.00", "max_per_hour: 200"))
    monkeypatch.chdir(folder)
    monkeypatch.setenv("SDSIM_LABS", str(tmp_path / "instructor-labs"))  # set, but not to the student's folder
    assert find_lab("lab1-decomposition") == CATALOG / "lab1-decomposition"
    with pytest.raises(ScenarioError, match="inside the submission"):
        grade_submission(str(own), folder)
    result = CliRunner().invoke(app, ["grade", str(own), str(folder)])
    assert result.exit_code == 3 and "inside the submission" in result.stderr and "Traceback" not in result.stderr


def test_labs_are_not_looked_up_in_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "labs" / "fake").mkdir(parents=True)
    shutil.copy(CATALOG / "lab1-decomposition" / "lab.yaml", tmp_path / "labs" / "fake" / "lab.yaml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SDSIM_LABS", raising=False)
    with pytest.raises(ScenarioError, match="no such lab"):
        find_lab("fake")


# ----------------------------------------------------------------------------- the platform's physics


@pytest.mark.parametrize("change, expected", [
    (("work: \"lognormal(median=4ms, p99=25ms)\"", "work: const(0)"), "the lab fixes the work of 'trading'"),
    (("replicas: \"${trading_replicas}\"\n    workers: 5", "replicas: \"${trading_replicas}\"\n    workers: 250"),
     "the lab fixes workers of 'trading' at 5 (yours: 250)"),
    (("replicas: \"${trading_replicas}\"\n    workers: 5", "replicas: 2\n    speeds: [10, 10]\n    workers: 5"),
     "the lab fixes speeds of 'trading'"),
    (("replicas: \"${trading_replicas}\"\n    workers: 5", "replicas: \"${trading_replicas}\"\n    vcpus: 64\n    workers: 5"),
     "the lab fixes vcpus of 'trading' at 2 (yours: 64)"),
    (("replicas: \"${trading_replicas}\"\n    workers: 5",
      "replicas: \"${trading_replicas}\"\n    instance: fast.xlarge\n    workers: 5"), "the lab fixes instance of 'trading'"),
    (("connections: 10", "connections: 500"), "the lab fixes connections of every database at 10 (yours: 500)"),
    (("buy_character:\n        work: \"lognormal(median=4ms, p99=25ms)\"",
      "buy_fast: {work: \"lognormal(median=4ms, p99=25ms)\"}\n      buy_character:\n        work: \"lognormal(median=4ms, p99=25ms)\""),
     "'buy_fast' is not an operation 'trading' offers in this lab"),
])
def test_changing_the_platforms_physics_is_refused_with_the_field_named(tmp_path, change, expected):
    problems = refused(LAB1, submission(tmp_path, edit(DESIGN1, change)))
    assert expected in problems, problems
    assert "design.yaml:" in problems  # located in the student's file


def test_a_new_service_costs_the_labs_work_not_zero(tmp_path):
    """A shortcut service that takes the trades with no work of its own: its operations cost the
    lab's work for any new service, and it breaks the ownership rule (trades skip Trading)."""
    shortcut = edit(DESIGN1, ("buy_character: {work: \"lognormal(median=0.13ms, p99=0.53ms)\", "
                              "steps: [{call: trading.buy_character}]}",
                              "buy_character: {work: \"lognormal(median=0.13ms, p99=0.53ms)\", steps: [{call: fast.buy}]}"),
                    ("  character:\n    kind: service", "  fast:\n    kind: service\n    zone: app\n    operations:\n"
                                                         "      buy: {}\n  character:\n    kind: service"))
    design, _ = check_scenario(submission(tmp_path, shortcut) / "design.yaml")
    graded, _ = imposed_scenario(LAB1, design)
    work = graded.components["fast"].operations["buy"].work
    assert work.dist == "lognormal" and work.median == pytest.approx(0.001)  # the lab's generic service
    assert graded.components["fast"].vcpus == 2
    from simulator.labs.rules import served_on_every_path

    assert "not every 'buy_character' request reaches 'trading'" in served_on_every_path(
        design, {"buy_character": "trading"})[0]


def test_leaving_fixed_fields_out_grades_exactly_as_the_honest_design(tmp_path):
    """No `work`, `workers` or `vcpus` written: the lab's values are imposed, the graded run is identical."""
    lazy = edit(DESIGN1,
                ("    replicas: \"${trading_replicas}\"\n    workers: 5", "    replicas: \"${trading_replicas}\""),
                ("      buy_character:\n        work: \"lognormal(median=4ms, p99=25ms)\"\n", "      buy_character:\n"))
    honest, _ = check_scenario(SOLUTION1 / "design.yaml")
    lazy_design, _ = check_scenario(submission(tmp_path, lazy) / "design.yaml")
    assert imposed_scenario(LAB1, lazy_design)[0] == imposed_scenario(LAB1, honest)[0]


def test_the_network_is_the_labs(tmp_path):
    fast = edit(DESIGN1, ('local: "lognormal(median=0.15ms, p99=0.5ms)"', "local: const(0)"))
    design, _ = check_scenario(submission(tmp_path, fast) / "design.yaml")
    honest, _ = check_scenario(SOLUTION1 / "design.yaml")
    assert imposed_scenario(LAB1, design)[0].network == imposed_scenario(LAB1, honest)[0].network


def test_a_kind_the_lab_does_not_offer_cannot_be_added(tmp_path):
    design = edit(DESIGN2, ("  postgres:\n    kind: database", "  extra-db:\n    kind: database\n    zone: data\n"
                                                                  "    operations: {read_character: {}}\n"
                                                                  "  postgres:\n    kind: database"))
    problems = refused(LAB2, submission(tmp_path, design, (SOLUTION2 / "answers.yaml").read_text()))
    assert "this lab offers no new component of kind 'database'" in problems


def test_lab2_a_page_answered_from_nowhere_is_refused(tmp_path):
    """The edge answers character pages itself (no cache, no app): refused by the lab's ownership rule."""
    design = edit(DESIGN2, ("get_character: {work: 0.03ms, steps: [{call: page-cache.read}]}",
                            "get_character: {work: 0.03ms}"))
    problems = refused(LAB2, submission(tmp_path, design, (SOLUTION2 / "answers.yaml").read_text()))
    assert "not every 'get_character' request reaches 'app', 'postgres'" in problems


def test_a_branch_that_skips_the_owner_is_not_every_path():
    from simulator.labs.rules import served_on_every_path

    design, _ = check_scenario(SOLUTION2 / "design.yaml")
    assert served_on_every_path(design, {"get_character": ["app", "postgres"]}) == []


# ----------------------------------------------------------------------------- budgets and answers


def test_every_kind_is_priced_in_both_labs():
    from simulator.components import BUILTIN

    for lab in (LAB1, LAB2):  # every built-in kind, whether or not the lab lets a design add it
        assert set(BUILTIN) <= set(lab.prices), sorted(set(BUILTIN) - set(lab.prices))


def test_a_lab_with_a_budget_and_an_unpriced_kind_is_invalid(tmp_path):
    text = (CATALOG / "lab1-decomposition" / "lab.yaml").read_text().replace("  cache: 0.149", "")
    (tmp_path / "lab.yaml").write_text(text)
    with pytest.raises(ScenarioError, match="missing: cache"):
        load_lab(tmp_path)


@pytest.mark.parametrize("value, words", [
    (710 * 1.1, "within the accepted band"),
    (710 * 1.4, "too high: outside the accepted band"),
    (710 * 0.6, "too low: outside the accepted band"),
    (710 * 0.3, "too low: between two and four times"),
    (710 * 3.0, "too high: far off"),
    (710 * 2.0, "too high: between two and four times"),
])
def test_answer_feedback_gives_direction_and_band_never_the_target(value, words):
    text = answer_feedback(value, 710, 0.25)
    assert words in text
    assert "710" not in text


def test_the_report_never_carries_an_answers_expected_value(tmp_path):
    folder = submission(tmp_path, DESIGN1, "monolith_capacity_rps: 12345\n")
    lab = LAB1.model_copy(update={"checks": [c for c in LAB1.checks if c.answer is not None]})
    report = grade(lab, folder, workers=1)
    text = repr(report.to_dict())
    expected = next(c.answer.expected for c in LAB1.checks if c.answer is not None)
    assert f"{expected:g}" not in text.replace("12345", "")
    assert report.checks[0].target is None and report.checks[0].margin is None
