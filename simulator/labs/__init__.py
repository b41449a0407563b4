"""Labs: graded exercises on top of the simulator.

A lab is a folder (``README.md``, ``starter/``, ``solution/``, ``lab.yaml``); see
:mod:`simulator.labs.spec` for ``lab.yaml`` and :mod:`simulator.labs.grader` for how a
submission is graded. Labs are found, in order: a path given directly, ``$SDSIM_LABS``,
``./labs``, then the ``labs/`` folder of the sdsim checkout this package runs from.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import ValidationError

from ..errors import Problem, ScenarioError
from ..scenario.source import read_yaml
from .grader import CheckResult, GradeReport, grade
from .spec import LabSpec

__all__ = ["CheckResult", "GradeReport", "LabSpec", "find_lab", "grade", "grade_submission", "lab_dirs", "list_labs",
           "load_lab"]


def lab_dirs() -> list[Path]:
    """Folders searched for labs, in order."""
    dirs = []
    if os.environ.get("SDSIM_LABS"):
        dirs.append(Path(os.environ["SDSIM_LABS"]))
    dirs.append(Path.cwd() / "labs")
    dirs.append(Path(__file__).resolve().parents[2] / "labs")
    unique: list[Path] = []
    for d in dirs:
        if d.is_dir() and d.resolve() not in [u.resolve() for u in unique]:
            unique.append(d)
    return unique


def list_labs() -> list[tuple[Path, LabSpec]]:
    found: dict[str, tuple[Path, LabSpec]] = {}
    for base in lab_dirs():
        for spec_file in sorted(base.glob("*/lab.yaml")):
            lab = load_lab(spec_file.parent)
            found.setdefault(lab.name, (spec_file.parent, lab))
    return sorted(found.values(), key=lambda item: item[1].name)


def find_lab(name_or_path: str) -> Path:
    """The folder of lab *name_or_path* (a folder path, or a lab name / folder name)."""
    direct = Path(name_or_path)
    if (direct / "lab.yaml").is_file():
        return direct
    for base in lab_dirs():
        for candidate in (base / name_or_path, *base.glob(f"*{name_or_path}*")):
            if (candidate / "lab.yaml").is_file():
                return candidate
    known = ", ".join(lab.name for _, lab in list_labs()) or "none found"
    raise ScenarioError([Problem(name_or_path, None, None, "", f"no such lab (known labs: {known})")])


def load_lab(folder: Path) -> LabSpec:
    path = folder / "lab.yaml"
    source = read_yaml(path.read_text(encoding="utf-8"), str(path))
    if source.problems:
        raise ScenarioError(source.problems)
    try:
        return LabSpec.model_validate(source.data)
    except ValidationError as exc:
        raise ScenarioError([source.problem(source.resolve(tuple(e["loc"])), e["msg"]) for e in exc.errors()]) from None


def grade_submission(lab: str, submission: Path | str = ".") -> GradeReport:
    """Find lab *lab* and grade the submission folder (the API behind ``sdsim grade``)."""
    folder = find_lab(lab)
    return grade(load_lab(folder), Path(submission))
