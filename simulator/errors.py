"""The faults of the input that sdsim reports (never as a traceback), and the shape of a reported problem.

A bad scenario never produces a traceback. Every check (YAML syntax, types, units,
references, topology) collects :class:`Problem` records; the loader raises a single
:class:`ScenarioError` carrying all of them. The CLI catches it at its edge
(:mod:`simulator.cli.edge`), prints one line per problem in the compiler-style form
``FILE:LINE:COL: dotted.path: message`` and exits with code 3, as it does for a run that
cannot advance its clock (:class:`SimulationStalled`) and for an output path that cannot
be written (:class:`OutputPathError`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, located as precisely as we can."""

    file: str
    line: int | None
    column: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ScenarioError(Exception):
    """A scenario (or submission) could not be loaded; holds every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self):  # survive pickling across process boundaries (sweeps, executors)
        return (ScenarioError, (self.problems,))


def unknown_name(what: str, given: object, valid: Iterable[str], plural: str | None = None) -> str:
    """``unknown kind 'databse' (did you mean 'database'? valid kinds: service, database, …)``:
    the typo echoed, the closest valid name (:func:`difflib.get_close_matches`) when one is close."""
    names = [str(v) for v in valid]
    close = difflib.get_close_matches(str(given), names, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown {what} {given!r} ({hint}valid {plural or what + 's'}: {', '.join(names)})"


class SimulationStalled(Exception):
    """Simulated time stopped advancing during a run: the scenario loops without delay.

    A fault of the input, not of sdsim: the command line reports it like an invalid
    scenario (exit 3).
    """


class OutputPathError(Exception):
    """An output path sdsim cannot write: a file where a folder is wanted (or the reverse), a
    parent that is a file, a read-only or unwritable place, a name too long.

    A fault of the input, found before anything runs (:func:`simulator.artifacts.check_output`)
    or when the place fails while writing (a full disk): the command line prints its one
    line, ``cannot write PATH: REASON``, and exits with code 3.
    """

    def __init__(self, path: object, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot write {self.path}: {reason}")

    def __reduce__(self):
        return (type(self), (self.path, self.reason))
