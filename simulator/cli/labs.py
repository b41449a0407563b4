"""Commands of the course: ``labs list``, ``labs start``, ``grade``."""

# No postponed annotations here: typer reads every command's signature at each start, and would
# evaluate string annotations twice (10 ms of `sdsim --help`; simulator/cli/startup.py).

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..jsonsafe import json_safe
from . import console
from .edge import Exit
from .options import JsonOpt, writable

__all__ = ["grade", "labs_list", "labs_start"]


def labs_list() -> None:
    """List the labs that can be started and graded."""
    from ..labs import list_labs

    labs = list_labs()
    if not labs:
        console.err.print("no labs found (this sdsim ships none? set SDSIM_LABS to a folder of labs)", markup=False)
        return
    for _folder, lab in labs:
        console.out.print(f"{lab.name:28} {lab.title}  ({lab.total_points:g} points)", markup=False, highlight=False)


def labs_start(
    lab: Annotated[str, typer.Argument(help="Lab name, e.g. lab1-decomposition.")],
    directory: Annotated[Path, typer.Argument(help="Where to put your copy of the starter (must be new or empty).")],
) -> None:
    """Copy a lab's starter files, its README and the reference sheets into DIRECTORY."""
    from ..artifacts.folders import FolderNotEmpty
    from ..labs import start_lab

    try:
        folder = start_lab(lab, directory)
    except FolderNotEmpty:  # a usage slip (exit 2); a file or an unwritable place is the edge's (exit 3)
        raise typer.BadParameter(f"{directory} is not an empty folder", param_hint="DIRECTORY") from None
    console.out.print(f"started {folder.name} in {directory}: read {directory / 'README.md'}, edit the files there, "
                      "then run", markup=False, highlight=False)
    console.out.print(f"  sdsim grade {folder.name} {directory}", markup=False, highlight=False)


def grade(
    lab: Annotated[str, typer.Argument(help="Lab name (or an instructor's lab folder).")],
    submission: Annotated[Path, typer.Argument(help="Folder with your files (default: here).", file_okay=False)] = Path("."),
    as_json: JsonOpt = False,
    junit: Annotated[Optional[Path], typer.Option("--junit", help="Also write a JUnit XML report here.",
                                                  metavar="<file>")] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", min=1,
                                                   help="Processes for the replications (default: one per run, at most 4 per core).")] = None,
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", metavar="ADDRESS", help="Run the replications on "
                                                     "a dask cluster: tcp://HOST:PORT.")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", min=0, help="Grade with this seed instead of the "
                                                "lab's (an instructor's secret seed: other runs, other incidents).")
                    ] = None,
) -> None:
    """Grade a lab submission: exit 0 when every required check passes, 1 otherwise, 3 if it cannot be graded."""
    from ..labs import grade_submission

    writable(junit, folder=False)
    if console.err.is_terminal:
        console.err.print(f"grading {submission} against {lab}…", markup=False, highlight=False)
    report = grade_submission(lab, submission, workers=workers, scheduler=scheduler, seed=seed)
    if as_json:
        sys.stdout.write(json.dumps(json_safe(report.to_dict()), indent=2) + "\n")
    else:
        from ..report import grade_renderable

        console.out.print(grade_renderable(report))
    if junit is not None:
        from ..artifacts.files import atomic
        from ..labs.junit import write_junit

        junit.parent.mkdir(parents=True, exist_ok=True)
        atomic(junit, lambda tmp: write_junit(report, tmp))
    if report.malformed:
        for problem in report.problems:
            console.err.print(problem, markup=False, highlight=False)
        raise typer.Exit(Exit.INVALID)
    if not report.passed:
        raise typer.Exit(Exit.CHECK_FAILED)
