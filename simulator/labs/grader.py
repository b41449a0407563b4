"""Grade a submission against a lab: impose the lab's run, replicate, judge on confidence bounds.

1. The submission's scenario is loaded as the student wrote it; a malformed file scores
   zero with the located problems (exit code 3 at the CLI).
2. The lab's workload, faults, duration, warm-up and seed replace the submission's: a
   student cannot pass by editing the load or deleting the fault. Only the entry
   component's name is taken from the submission. A lab's ``run.incidents`` add faults
   drawn afresh for every replication (:mod:`.incidents`); ``fixed.settings`` impose
   fields of the design's sections (:mod:`.settings`).
3. The graded design runs ``replications`` times with seeds derived from the lab's seed,
   so verdicts are deterministic. An SLO passes when its 95 % confidence bound (upper for
   a maximum, lower for a minimum) meets the target; the margin is reported.
4. Budget, structural and numeric-answer checks are evaluated on the design itself.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .. import present
from ..core.rng import replication_seeds
from ..simulation import simulate
from ..errors import Problem, ScenarioError
from ..metrics.result import Result
from ..objectives import judge, measure, objective_of
from ..scenario import topology
from ..scenario.files import UnreadableFile, read_text
from ..scenario.load import check_scenario
from ..scenario.model import Scenario
from ..scenario.source import read_yaml
from .feedback import diagnose, explain_alert_failure, explain_component_failure, explain_slo_failure
from .platform import impose, violations
from .report import CheckResult, GradeReport
from ..cost import hourly_cost, instances
from .incidents import Incidents
from .rules import RULES
from .settings import impose as impose_settings
from .spec import Check, LabSpec


def grade(lab: LabSpec, submission_dir: Path, *, workers: int | None = None,
          scheduler: str | None = None, seed: int | None = None) -> GradeReport:
    """Grade the submission in *submission_dir* against *lab*.

    Only files inside *submission_dir* are read (an ``extends:`` or a symlink that leaves
    it is refused), each a regular UTF-8 file of bounded size. A design that changes what
    the lab fixes (:mod:`simulator.labs.platform`) is not graded: every change is listed.
    The replications run on *workers* processes or a dask *scheduler* (see
    :func:`run_replications`); the verdicts do not depend on where. *seed* replaces the lab's
    (an instructor's secret grading seed: the runs, and the incidents drawn for them, change).
    """
    if seed is not None:
        lab = lab.model_copy(update={"seed": seed})
    submission_dir = Path(submission_dir)
    design_path = submission_dir / lab.submission
    seeds = replication_seeds(lab.seed, lab.replications)
    report = GradeReport(lab.name, lab.title, str(submission_dir), False, [], lab.replications, seeds)
    try:
        if not submission_dir.is_dir():
            raise ScenarioError([Problem(str(submission_dir), None, None, "", "the submission is not a folder")])
        design, _ = check_scenario(design_path, root=submission_dir)
        answers = _read_answers(lab, submission_dir)
        refused = violations(lab, design, read_yaml(read_text(design_path, root=submission_dir), str(design_path)))
        if refused:
            raise ScenarioError(refused)
    except ScenarioError as error:
        report.malformed = True
        report.problems = [str(p) for p in error.problems]
        report.checks = [_result(c, False, ["not graded: the submission could not be read or changes what the "
                                            "lab fixes (see the problems)"]) for c in lab.checks]
        return report

    graded, interface_problems = imposed_scenario(lab, design)
    runs: list[Result] = []
    autoscaled = any(getattr(spec, "autoscaling", None) for spec in design.components.values())
    needs_runs = any(c.slo is not None or (c.budget is not None and autoscaled) for c in lab.checks)
    if graded is not None and needs_runs:
        runs = run_replications(graded, seeds, workers, scheduler, incidents=lab.run.incidents)
    for check in lab.checks:
        if check.slo is not None:
            report.checks.append(_slo(check, runs, interface_problems))
        elif check.budget is not None:
            cost, unpriced = hourly_cost(graded or design, lab.prices, runs)
            ok = cost <= check.budget.max_per_hour
            counts = instances(graded or design, runs)
            notes = [f"costs {present.money(cost, 3)} ({', '.join(f'{n:g}×{name}' for name, n in counts.items())})"]
            if any(getattr(spec, "autoscaling", None) for spec in design.components.values()):
                notes.append("autoscaled services count their mean ready replicas under the lab's run")
            if unpriced:
                notes.append(f"no price for kind(s) {', '.join(unpriced)}: counted as free")
            if not ok:
                notes.append(f"over budget by {present.money(cost - check.budget.max_per_hour, 3)}: fewer or smaller "
                             "instances")
            report.checks.append(_result(check, ok, notes, value=cost, bound=cost, target=check.budget.max_per_hour,
                                         margin=check.budget.max_per_hour - cost, unit="USD/h"))
        elif check.structure is not None:
            rule = RULES.get(check.structure.rule)
            if rule is None:
                raise ValueError(f"lab {lab.name}: unknown structural rule {check.structure.rule!r}")
            problems = rule(graded or design, check.structure.value)  # under the lab's own workload
            report.checks.append(_result(check, not problems, problems or ["ok"]))
        else:
            report.checks.append(_answer(check, answers))
    explainable = [c for c in lab.checks if c.slo is None or explained(c.slo.as_slo(c.id))]
    diagnose(report, lab.model_copy(update={"checks": explainable}), runs)  # each distinct cause once
    return report



def imposed_scenario(lab: LabSpec, design: Scenario) -> tuple[Scenario | None, list[str]]:
    """The submission's architecture under the lab's workload, faults, run length and seed.

    Returns ``(None, problems)`` when the design does not fit the lab's interface (e.g. the
    fault schedule crashes a component the design does not have).
    """
    data = design.model_dump(by_alias=True, exclude={"slos", "workload", "faults"})
    impose(lab, data["components"])  # what the lab fixes and the design left out
    if lab.fixed is not None and lab.fixed.network is not None:
        data["network"] = dict(lab.fixed.network)
    entry = design.workload[0].entry
    data["workload"] = [{"entry": entry, **w} if "entry" not in w else dict(w) for w in lab.run.workload]
    if lab.fixed is not None:
        impose_settings(lab.fixed.settings, data, lab.fixed.component_kinds)
    data["faults"] = list(lab.run.faults)
    data.update(duration=lab.run.duration, warmup=lab.run.warmup, drain=lab.run.drain, seed=lab.seed, slos=[])
    if lab.run.incidents is not None:  # each pool entry once, to check the design can take it
        data["faults"] += lab.run.incidents.examples()
    try:
        graded = Scenario.model_validate(data)
    except ValidationError as exc:
        return None, [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    errors, _ = topology.check(graded)
    if errors:
        return None, [_interface_message(path, message) for path, message in errors]
    if lab.run.incidents is not None:
        graded = with_faults(graded, list(lab.run.faults))
    return graded, []


def with_faults(scenario: Scenario, faults: list[dict[str, Any]]) -> Scenario:
    """*scenario* with *faults* (raw fault mappings) instead of its own."""
    data = scenario.model_dump(by_alias=True)
    data["faults"] = faults
    return Scenario.model_validate(data)


class WithIncidents:
    """``run(scenario, seed)`` for :func:`run_replications`: the lab's faults plus the incidents drawn for
    *seed* (:mod:`simulator.labs.incidents`), appended after the scenario's own."""

    def __init__(self, incidents: Incidents):
        self.incidents = incidents

    def scenario(self, scenario: Scenario, seed: int) -> Scenario:
        own = [f.model_dump(by_alias=True) for f in scenario.faults]
        return with_faults(scenario, own + self.incidents.draw(seed))

    def __call__(self, scenario: Scenario, seed: int) -> Result:
        return simulate(self.scenario(scenario, seed), seed)


def _interface_message(path: tuple, message: str) -> str:
    if path[:1] == ("faults",) and "does not exist" in message:
        return f"the lab's fault schedule needs it: {message}"
    if path[:1] == ("workload",):
        return f"the lab's workload needs it: {message}"
    return message


def _result(check: Check, passed: bool, feedback: list[str], **values: Any) -> CheckResult:
    return CheckResult(check.id, check.kind, check.title or check.id, check.points, check.required, passed,
                       check.points if passed else 0.0, feedback=feedback, **values)


def _slo(check: Check, runs: list[Result], interface_problems: list[str]) -> CheckResult:
    slo = check.slo.as_slo(check.id)
    objective = objective_of(slo)
    unit = "" if objective.unit == "%" else objective.unit
    target = slo.target if slo.recovery is None else slo.recovery.within
    if not runs:
        return _result(check, False, ["cannot be measured: your design does not fit the lab"] + interface_problems,
                       target=target, unit=unit, metric=slo.metric)
    summaries = [r.summary() for r in runs]
    measured = [measure(objective, r, s) for r, s in zip(runs, summaries)]
    values = [v for v, _ in measured]
    if any(v is None for v in values):
        why = next((u for _, u in measured if u), None)
        nothing = ("not back within target by the end of the run" if slo.recovery is not None
                   else "nothing to score: no incident detected (a time to detect), no alert fired (a precision) "
                        "or no incident (a recall) in some run" if slo.alert_score
                   else f"{slo.component!r} reported no {slo.metric} in some run (nothing happened that "
                        "it measures, or not by the end of the run)" if slo.component is not None
                   else "nothing was measured (no successful request of this kind)")
        lines = [why or nothing] + (explain_alert_failure(slo, runs, values) if slo.alert_score else [])
        return _result(check, False, lines, target=target, unit=unit, metric=slo.metric)
    verdict = judge(objective, values)
    bound = verdict.confidence_bound
    if verdict.met:
        feedback = []
    elif slo.alert_score:
        feedback = explain_alert_failure(slo, runs, values)
    elif explained(slo):
        feedback = explain_slo_failure(slo, runs, summaries, bound)
    elif slo.component is not None:
        feedback = explain_component_failure(slo, runs, summaries, bound)
    else:
        feedback = [f"{objective.name}: the 95% confidence bound over {len(runs)} runs is "
                    f"{present.metric_value(slo.metric, bound)}, the target "
                    f"{present.metric_value(slo.metric, objective.target)}"]
    return _result(check, verdict.met, feedback, value=verdict.mean, bound=bound, target=target,
                   margin=verdict.margin, unit=unit, metric=slo.metric)


def explained(slo: Any) -> bool:
    """Whether :mod:`.feedback` can explain this objective's failure (request-level, whole window)."""
    return slo.component is None and not slo.windowed and not slo.alert_score


def _answer(check: Check, answers: dict[str, Any]) -> CheckResult:
    """An answer within the tolerance passes; a wrong one is told its direction and a band, never the target."""
    spec = check.answer
    given = answers.get(spec.key)
    if given is None:
        return _result(check, False, [f"no answer: add `{spec.key}: <number>` to your answers file"])
    try:
        value = float(given)
    except (TypeError, ValueError):
        return _result(check, False, [f"`{spec.key}` must be a number (got {given!r})"])
    if not math.isfinite(value):
        return _result(check, False, [f"`{spec.key}` must be a finite number (got {given!r})"])
    passed = relative_error(value, spec.expected) <= spec.tolerance
    return _result(check, passed, [answer_feedback(value, spec.expected, spec.tolerance)], value=value)


def relative_error(value: float, expected: float) -> float:
    """|value − expected| / |expected| (the absolute error when *expected* is 0)."""
    return abs(value - expected) / abs(expected) if expected else abs(value)


def answer_feedback(value: float, expected: float, tolerance: float) -> str:
    """How far off and in which direction, in bands of the tolerance, without the expected value.

    A student learns whether to look up or down and roughly how far (within the accepted
    band; outside it; more than twice or four times the band away), not the number itself.
    """
    error = relative_error(value, expected)
    band = present.percent(tolerance, 0)
    if error <= tolerance:
        return f"within the accepted band (±{band})"
    direction = "too high" if value > expected else "too low"
    if error <= 2 * tolerance:
        return f"{direction}: outside the accepted band (±{band}), but less than twice that far off"
    if error <= 4 * tolerance:
        return f"{direction}: between two and four times the accepted band (±{band}) off; recheck your method"
    return f"{direction}: far off (more than four times the accepted band of ±{band}); recheck what is measured"


def _read_answers(lab: LabSpec, submission_dir: Path) -> dict[str, Any]:
    if not lab.answers:
        return {}
    path = submission_dir / lab.answers
    if not path.exists() and not path.is_symlink():
        return {}
    try:
        text = read_text(path, root=submission_dir)
    except UnreadableFile as exc:
        raise ScenarioError([Problem(str(path), None, None, "", str(exc))]) from None
    source = read_yaml(text, str(path))
    if source.problems:
        raise ScenarioError(source.problems)
    if not isinstance(source.data, dict):
        raise ScenarioError([Problem(str(path), 1, 1, "", "expected a mapping of answer keys to numbers")])
    return source.data


def _simulate_one(scenario: Scenario, seed: int) -> Result:
    return simulate(scenario, seed)


def run_replications(scenario: Scenario, seeds: list[int], workers: int | None = None,
                     scheduler: str | None = None, incidents: Incidents | None = None) -> list[Result]:
    """``simulate(scenario, seed)`` for every seed, in seed order, on *workers* local processes
    or a dask *scheduler* (:func:`simulator.experiments.executors.replicate`; by default a
    process per run when there are at most 4 per core). The results do not depend on where
    they ran; ``workers=1`` runs them here, one after the other. With *incidents*, each run
    adds the incidents drawn for its seed to the scenario's faults (:class:`WithIncidents`)."""
    from ..experiments.executors import replicate

    run = _simulate_one if incidents is None else WithIncidents(incidents)
    return replicate(scenario, seeds, workers=workers, scheduler=scheduler, run=run)
