"""Starting a lab: the student's copy of its starter, its README and the reference sheets.

:func:`start_lab` is what ``sdsim labs start LAB DIRECTORY`` does. The copy is built
aside and appears whole (:func:`simulator.artifacts.staged`): a failure or Ctrl-C leaves
no half-copied lab behind.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

__all__ = ["start_lab"]


def start_lab(lab: str, directory: str | os.PathLike[str]) -> Path:
    """Copy lab *lab*'s ``starter/``, its ``README.md`` and the reference sheets
    (``reference/``) into *directory*, which must be new or empty; return the lab's folder.

    Raises :class:`~simulator.errors.ScenarioError` when there is no such lab,
    :class:`~simulator.artifacts.FolderNotEmpty` when *directory* holds something, and
    :class:`~simulator.errors.OutputPathError` when it cannot be written (a file, a
    read-only place); nothing is copied then.
    """
    from ..artifacts.folders import staged  # lazily: importing the labs stays light
    from . import find_lab, reference_sheets

    folder = find_lab(lab)
    with staged(directory, empty=True) as stage:
        shutil.copytree(folder / "starter", stage, dirs_exist_ok=True)
        if (folder / "README.md").is_file():
            shutil.copy(folder / "README.md", stage / "README.md")
        sheets = reference_sheets()
        if sheets:
            (stage / "reference").mkdir(exist_ok=True)
            for sheet in sheets:
                shutil.copy(sheet, stage / "reference" / sheet.name)
    return folder
