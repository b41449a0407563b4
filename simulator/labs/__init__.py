"""Labs: graded exercises on top of the simulator.

A lab is a folder with ``lab.yaml`` (what the grader imposes and checks, see
:mod:`simulator.labs.spec`), ``README.md`` (the student's tasks) and ``starter/`` (what
``sdsim labs start`` copies: :func:`start_lab`); :mod:`simulator.labs.grader` grades a submission.

Where a lab spec may come from, and nowhere else (never from the submission's folder,
never from the current directory):

1. a lab folder path given explicitly (an instructor's own lab), when it names one;
2. the folders in ``$SDSIM_LABS`` (``os.pathsep``-separated: an instructor's own labs);
3. the labs shipped inside this package (``simulator/labs/catalog``), found the same way
   from any folder after any kind of install.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import ValidationError

from ..errors import Problem, ScenarioError
from ..scenario.files import UnreadableFile, read_text
from ..scenario.source import read_yaml
from .grader import grade
from .report import CheckResult, GradeReport
from .spec import LabSpec
from .start import start_lab

__all__ = ["CATALOG", "CheckResult", "GradeReport", "LabSpec", "find_lab", "grade", "grade_submission", "lab_dirs",
           "list_labs", "load_lab", "reference_sheets", "start_lab"]

CATALOG = Path(__file__).resolve().parent / "catalog"
"""The labs that ship with sdsim."""


def reference_sheets() -> list[Path]:
    """The reference sheets that ship with sdsim (``simulator/docs/*.md``), copied into a started lab."""
    docs = Path(__file__).resolve().parents[1] / "docs"
    return sorted(docs.glob("*.md")) if docs.is_dir() else []


def lab_dirs() -> list[Path]:
    """Folders searched for labs by name, in order: ``$SDSIM_LABS``, then the shipped catalog."""
    dirs = [Path(d) for d in os.environ.get("SDSIM_LABS", "").split(os.pathsep) if d]
    dirs.append(CATALOG)
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
    """The folder of lab *name_or_path*: a lab name (or folder name) searched in :func:`lab_dirs`,
    or an explicit path to a lab folder (one holding ``lab.yaml``)."""
    for base in lab_dirs():
        candidate = base / name_or_path
        if "/" not in name_or_path and os.sep not in name_or_path and (candidate / "lab.yaml").is_file():
            return candidate
    for base in lab_dirs():
        for spec_file in sorted(base.glob("*/lab.yaml")):
            if spec_file.parent.name.startswith(name_or_path) or _lab_name(spec_file) == name_or_path:
                return spec_file.parent
    direct = Path(name_or_path)
    if (direct / "lab.yaml").is_file():
        return direct
    known = ", ".join(lab.name for _, lab in list_labs()) or "none found"
    raise ScenarioError([Problem(name_or_path, None, None, "", f"no such lab (known labs: {known}; "
                                 "or give the path of a folder holding a lab.yaml)")])


def _lab_name(spec_file: Path) -> str | None:
    try:
        return load_lab(spec_file.parent).name
    except ScenarioError:
        return None


def load_lab(folder: Path) -> LabSpec:
    path = Path(folder) / "lab.yaml"
    try:
        text = read_text(path)
    except UnreadableFile as exc:
        raise ScenarioError([Problem(str(path), None, None, "", str(exc))]) from None
    source = read_yaml(text, str(path))
    if source.problems:
        raise ScenarioError(source.problems)
    try:
        return LabSpec.model_validate(source.data)
    except ValidationError as exc:
        raise ScenarioError([source.problem(source.resolve(tuple(e["loc"])), e["msg"]) for e in exc.errors()]) from None


def grade_submission(lab: str, submission: Path | str = ".", *, workers: int | None = None,
                     scheduler: str | None = None, seed: int | None = None) -> GradeReport:
    """Find lab *lab* and grade the submission folder (the API behind ``sdsim grade``); *seed*
    replaces the lab's (an instructor's secret grading seed).

    A lab folder inside the submission is refused: a student cannot bring their own spec.
    """
    folder = find_lab(lab)
    submission = Path(submission)
    if submission.is_dir() and (folder.resolve() == submission.resolve()
                                or folder.resolve().is_relative_to(submission.resolve())):
        raise ScenarioError([Problem(str(folder / "lab.yaml"), None, None, "",
                                     "the lab spec is inside the submission folder: a lab is taken from the "
                                     "installed labs or an instructor's folder, never from the submission")])
    return grade(load_lab(folder), submission, workers=workers, scheduler=scheduler, seed=seed)
