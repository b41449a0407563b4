"""What the lab test modules share: editing a reference design, reading a report, grading
a design given as text, and memoising the grader's simulation runs inside a worker.

Grading is the slow part of a lab's tests, so each module grades every design it needs
once, in a pool of worker processes, each grading with ``workers=1`` (the grader's
replications run in that process, through ``grader.simulate``); inside one worker the
runs are memoised by
(imposed scenario, seed), so designs whose imposed scenario is identical (the solution,
a wrong answer, a tampered copy) share them, while a tampered copy that leaked into the
imposed scenario would miss the memo and be re-run.
"""

from __future__ import annotations

import os
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Callable

from simulator import check_scenario, simulate
from simulator.labs import grade
from simulator.labs import grader as grader_module
from simulator.labs.grader import GradeReport
from simulator.labs.spec import LabSpec


def edit(text: str, *pairs: tuple[str, str]) -> str:
    """*text* with each ``old`` replaced by ``new``; every ``old`` must occur (a stale edit fails loudly)."""
    for old, new in pairs:
        assert old in text, f"the edit no longer applies: {old!r}"
        text = text.replace(old, new)
    return text


def failed(report: GradeReport) -> set[str]:
    return {c.id for c in report.checks if not c.passed}


def by_id(report: GradeReport) -> dict[str, Any]:
    return {c.id: c for c in report.checks}


def load_text(text: str):
    """:func:`check_scenario` of a design given as text: ``(scenario, warnings)``."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "design.yaml")
        path.write_text(text)
        return check_scenario(path)


def grade_text(lab: LabSpec, design: str, answers: str | None) -> GradeReport:
    """Grade a submission made of *design* (and *answers*, if any) written to a fresh folder.

    With ``workers=1``: the replications run in this process (a test module's pool worker),
    so :func:`memoise_grader_runs` sees them and no second pool is started inside it.
    """
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "design.yaml").write_text(design)
        if answers is not None:
            Path(folder, "answers.yaml").write_text(answers)
        return grade(lab, Path(folder), workers=1)


def grade_job(lab_dir: Path, job: list[tuple[str, str, str | None]]) -> dict[str, GradeReport]:
    """Grade each ``(name, design, answers)`` of *job* against the lab in *lab_dir*, runs memoised:
    ``grade_in_pool(functools.partial(grade_job, LAB), jobs)``."""
    from simulator.labs import load_lab

    memoise_grader_runs()
    lab = load_lab(lab_dir)
    return {name: grade_text(lab, design, answers) for name, design, answers in job}


def reference_jobs(solution: str, answers: str, wrong_answers: str, tampered: str, starter: str,
                   starter_answers: str, variants: dict[str, tuple[str, Any]]) -> list[list[tuple]]:
    """The designs a lab's test module grades: the solution with its answers, with wrong answers and
    tampered (one job: they share their runs), the starter, and each one-mistake variant (a job each)."""
    jobs = [[("solution", solution, answers), ("wrong-answer", solution, wrong_answers),
             ("tampered", tampered, answers)],
            [("starter", starter, starter_answers)]]
    jobs += [[(name, text, answers)] for name, (text, _) in variants.items()]
    return jobs


def grade_in_pool(run_job: Callable[[list], dict[str, Any]], jobs: list[list]) -> dict[str, Any]:
    """Run each job (a list of designs to grade) with *run_job* in a pool of at most two processes;
    every job's results merged, by name. The longest jobs should come first: the two workers finish together."""
    results: dict[str, Any] = {}
    with ProcessPoolExecutor(max(1, min(2, os.cpu_count() or 1))) as pool:
        for part in pool.map(run_job, jobs):
            results.update(part)
    return results


def memoise_grader_runs() -> dict[tuple[str, int], Any]:
    """Make the grader's runs in this (worker) process memoised; return the memo to read runs back."""
    memo: dict[tuple[str, int], Any] = {}

    def memo_simulate(scenario, seed):
        key = (scenario.model_dump_json(), seed)
        if key not in memo:
            memo[key] = simulate(scenario, seed)
        return memo[key]

    # only ever called in a worker of a test module's own pool; with workers=1,
    # grader.run_replications calls this module-level name in-process
    grader_module.simulate = memo_simulate
    return memo
