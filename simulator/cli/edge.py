"""The edge of the command line: every error becomes a message and an exit code that keeps its meaning.

=====  ===========================================================================
0      ok
1      an SLO (or a graded check) failed: a verdict
2      usage error (click's own, and a command's ``typer.BadParameter``)
3      invalid input: a scenario or lab submission (:class:`~simulator.errors.ScenarioError`,
       one line per problem), a run that cannot advance its clock
       (:class:`~simulator.errors.SimulationStalled`), an output path that cannot be
       written (:class:`~simulator.errors.OutputPathError`)
4      an internal error: a bug in sdsim, one line saying what to report (the traceback
       with ``--debug`` or ``SDSIM_DEBUG=1``)
130    interrupted (Ctrl-C)
=====  ===========================================================================

Input errors and Ctrl-C are mapped by :class:`Edge`, the root command group, around every
command (so they hold under typer's ``CliRunner`` too); :func:`main`, the console script,
adds the last resort: anything else is a bug (exit 4), and output that the terminal's
encoding cannot show is escaped (``\\xe9``) instead of raising ``UnicodeEncodeError``.
Commands raise these exceptions and never catch them to print.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from enum import IntEnum
from typing import Any, Iterator, NoReturn

import typer
from typer.core import TyperGroup

from ..errors import OutputPathError, ScenarioError, SimulationStalled
from . import console, startup

__all__ = ["Edge", "Exit", "fail_invalid", "input_errors", "main", "set_debug"]


class Exit(IntEnum):
    OK = 0
    CHECK_FAILED = 1
    USAGE = 2
    INVALID = 3
    BUG = 4  # an internal error: a bug in sdsim, never a verdict on the input
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)


_debug = {"on": bool(os.environ.get("SDSIM_DEBUG"))}  # set by --debug: show an internal error's traceback


def set_debug(on: bool) -> None:
    """``--debug``: an internal error shows its traceback (``SDSIM_DEBUG=1`` turns it on too)."""
    _debug["on"] = _debug["on"] or on


def fail_invalid(error: ScenarioError) -> NoReturn:
    """Print one line per problem and a count on stderr; exit 3."""
    for problem in error.problems:
        console.err.print(str(problem), markup=False, highlight=False)
    n = len(error.problems)
    console.err.print(f"{n} problem{'s' if n != 1 else ''} found", style="red")
    raise typer.Exit(Exit.INVALID)


@contextmanager
def input_errors() -> Iterator[None]:
    """Map the input's faults to their message and exit 3, and Ctrl-C to exit 130."""
    try:
        yield
    except ScenarioError as error:
        fail_invalid(error)
    except SimulationStalled as exc:  # the scenario's fault, found while running it
        console.err.print(f"invalid scenario: {exc}", markup=False, highlight=False)
        raise typer.Exit(Exit.INVALID) from None
    except OutputPathError as exc:
        console.err.print(str(exc), markup=False, highlight=False)
        raise typer.Exit(Exit.INVALID) from None
    except KeyboardInterrupt:
        console.err.print("interrupted", markup=False, highlight=False)
        raise typer.Exit(Exit.INTERRUPTED) from None


class Edge(TyperGroup):
    """The root command group: every command (``labs …`` included) runs inside :func:`input_errors`."""

    def invoke(self, ctx: Any) -> Any:
        startup.resume()  # a command runs: the collector paused by main() runs again
        with input_errors():
            return super().invoke(ctx)


def _escape_what_the_terminal_cannot_show() -> None:
    """Non-ASCII names on an ASCII terminal (``LANG=C``, ``PYTHONIOENCODING=ascii``) and lone
    surrogates anywhere print as ``\\xe9`` / ``\\udc80`` instead of raising (stderr does so already)."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # a stream that cannot change now: leave it
                pass


def main() -> None:
    """Console-script entry point: exit codes keep their meaning whatever goes wrong.

    An unexpected exception is a bug, not a verdict: one line on stderr saying so, with
    what to report, and exit 4 (the traceback with ``--debug`` or ``SDSIM_DEBUG=1``).
    Ctrl-C exits 130 without a traceback. The garbage collector is paused until a command
    starts (:mod:`.startup`).
    """
    startup.pause()
    from .app import app

    _escape_what_the_terminal_cannot_show()
    try:
        app()
    except KeyboardInterrupt:
        console.err.print("interrupted", markup=False, highlight=False)
        sys.exit(Exit.INTERRUPTED)
    except Exception as exc:  # noqa: BLE001 - the edge: anything not already a message is a bug
        if _debug["on"]:
            raise
        command = " ".join(["sdsim", *sys.argv[1:]])
        console.err.print(f"sdsim: internal error ({type(exc).__name__}: {one_line(exc)}). This is a bug in sdsim, "
                          "not a problem with your input: please report it with the command "
                          f"({command}), the scenario file(s) it names and their seed. Add --debug for the "
                          "traceback.", markup=False, highlight=False)
        sys.exit(Exit.BUG)


def one_line(exc: BaseException, limit: int = 200) -> str:
    """The exception's message on one line, cut at *limit* characters."""
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit] + "…"
