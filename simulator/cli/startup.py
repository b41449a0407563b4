"""Starting fast: Python's cyclic garbage collector paused while ``sdsim`` starts.

Start-up allocates a few hundred thousand objects (typer and rich, the scenario's pydantic
models, built on first use) and frees almost none of them, so the collections those
allocations trigger — about a hundred for ``sdsim validate``, a tenth of its time — find
nothing to free. The collector is paused from :func:`~.edge.main` until a command starts
(:func:`resume`: ``sdsim --help`` ends before that), and around loading each file that
``sdsim validate`` checks (:func:`paused`). A command's own work (a run, a sweep) collects
as usual; the heavy modules every command needs are imported inside the commands, so
nothing else changes.

The rest of the start-up budget is kept by importing only what a path uses: see
``tests/test_startup.py`` and ``benchmarks/bench_startup.py``.
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

    Only the command's own process calls this (:func:`simulator.cli.main`)."""
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
    collection does not walk the paused stretch's hundred thousand objects (20 ms), nor does
    the one at exit. A host process keeps its collector as it was."""
    if _state["command"]:
        gc.freeze()
