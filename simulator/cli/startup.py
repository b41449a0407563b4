"""Starting fast: Python's cyclic garbage collector paused while ``sdsim`` starts.

Start-up builds about 80,000 objects that last as long as the process (typer and rich, the
scenario's pydantic models, built on first use) and little garbage, yet their allocation
triggers about a hundred collections in ``sdsim validate`` (a tenth of its time) that find
almost nothing to free. So the console script (:func:`~.edge.main`) pauses the collector
until a command starts (:func:`resume`; ``sdsim --help`` ends before that), and ``sdsim validate`` pauses it while it loads the scenario layer and its
first file (:func:`paused`). At the end of each pause, in the command's own process only,
what exists is frozen (:func:`gc.freeze`), so no later collection walks it. A command's own
work (a run, a sweep, the next files) collects as usual, and a process that merely imports
the package (a test's ``CliRunner``, a notebook) keeps its collector as it was.

The rest of the start-up budget is kept by importing only what a path uses, and by the
command modules' annotations being objects, not strings (no ``from __future__ import
annotations``): typer reads every command's signature at each start and would evaluate each
string twice. See ``tests/test_startup.py`` and ``benchmarks/bench_startup.py``.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator

__all__ = ["pause", "paused", "resume"]

_state = {"command": False, "paused": False}
# command: this process is the sdsim command (main() paused the collector), not a host that
# imported the package (a test's CliRunner, a notebook); paused: paused by pause(), not resumed yet


def pause() -> None:
    """Pause the collector for start-up, if it runs (a caller that turned it off keeps it off).

    Only the command's own process calls this (:func:`~.edge.main`)."""
    _state["command"] = True
    if gc.isenabled():
        gc.disable()
        _state["paused"] = True


def resume() -> None:
    """Start-up is over: the collector runs again if :func:`pause` stopped it, past what start-up
    built (:func:`_settle`)."""
    if _state["paused"]:
        _state["paused"] = False
        _settle()
        gc.enable()


@contextmanager
def paused() -> Iterator[None]:
    """The collector paused inside the block (loading a scenario: bounded work, little garbage)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            _settle()
            gc.enable()


def _settle() -> None:
    """In the command's own process, what exists now stays for good (modules, models, the click
    commands): :func:`gc.freeze` moves it out of the collector's generations, so the next
    collection does not walk the tens of thousands of objects the pause let pile up (20 ms
    for ``validate``). A host process keeps its collector as it was."""
    if _state["command"]:
        gc.freeze()
