"""One line per cause across a report's failed objectives (:func:`diagnose`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ...metrics.result import Result
from .broken import _merge, find_broken
from .causes import Cause, _render, cause_lines

if TYPE_CHECKING:
    from ..report import GradeReport
    from ..spec import LabSpec


def diagnose(report: "GradeReport", lab: "LabSpec", runs: list[Result]) -> list[str]:
    """Each distinct cause of the failed objectives once, in ``report.diagnosis`` (also returned).

    A cause shared by several failed checks (the same components saturated, starting in the
    same fault or in none; the same crash; no component saturated; the same whole-window
    reading) is one line, read over the union of their buckets and naming the checks; each
    check's own cause lines become one short pointer. Lines are in the order the causes began.
    """
    report.diagnosis = []
    if not runs:
        return report.diagnosis
    result = runs[0]
    slos = {c.id: c.slo.as_slo(c.id) for c in lab.checks if c.slo is not None}
    summary: dict[str, Any] | None = None
    cache: dict = {}
    groups: dict[tuple, list[tuple[str, Cause]]] = {}
    for check in report.checks:
        slo = slos.get(check.id)
        if slo is None or check.passed or check.bound is None:
            continue
        if summary is None:
            summary = result.summary()
        causes, lines, pointer = cause_lines(slo, result, summary, find_broken(slo, result), cache)
        if not lines or not all(line in check.feedback for line in lines):
            continue  # not this module's explanation (cannot be measured, nothing measured…)
        check.feedback = [line for line in check.feedback if line not in lines] + [pointer]
        for cause in causes:
            groups.setdefault(cause.key, []).append((check.id, cause))
    merged = []
    for key, members in groups.items():
        first = members[0][1]
        starts = np.unique(np.concatenate([c.starts for _, c in members]))
        stretches = _merge([s for _, c in members for s in c.stretches])
        merged.append((Cause(key, starts, stretches, first.width, first.detail), ", ".join(i for i, _ in members)))
    merged.sort(key=lambda m: m[0].begins)
    report.diagnosis = [_render(c, result, summary, ids, cache) for c, ids in merged]
    return report.diagnosis
