"""Where the command line prints: results on :data:`out`, diagnostics and progress on :data:`err`.

Text prints as written: no emoji codes (FILE:100:COL must not become FILE💯COL) and no
markup in strings (a file named ``[x].yaml`` stays ``[x].yaml``); styles are given as
``Text``/``style=``, never as ``"[red]"``.

Commands read the two consoles as attributes of this module at the moment they print
(``console.err.print(...)``), so a test may swap one for a console of its own.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import Callable, Iterator

from rich.console import Console

__all__ = ["count_progress", "err", "out", "sim_progress"]

out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160,  # piped tables are not truncated
              emoji=False, markup=False)
err = Console(stderr=True, soft_wrap=True, emoji=False, markup=False)


@contextmanager
def sim_progress(name: str) -> Iterator[Callable[[float, float, int], None] | None]:
    """A progress bar on stderr (simulated time, events/s), or nothing when stderr is not a terminal."""
    if not err.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    started = time.perf_counter()
    with Progress(TextColumn("{task.description}", style="bold", markup=False), BarColumn(),
                  TextColumn("{task.fields[clock]}", markup=False), TextColumn("{task.fields[rate]}", markup=False),
                  TimeElapsedColumn(), console=err, transient=True) as bar:
        task = bar.add_task(name, total=1.0, clock="", rate="")

        def update(now: float, duration: float, events: int) -> None:
            wall = max(time.perf_counter() - started, 1e-9)
            bar.update(task, completed=min(now / duration, 1.0), clock=f"sim {now:,.0f}/{duration:,.0f}s",
                       rate=f"{events / wall:,.0f} events/s")

        yield update


@contextmanager
def count_progress(label: str, total: int) -> Iterator[Callable[[int, int], None] | None]:
    """A bar of finished runs out of *total* on stderr (the caller may revise the total as it
    learns: ``advance(done, total)``), or nothing when stderr is not a terminal."""
    if not err.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}", markup=False), BarColumn(), TaskProgressColumn(),
                  TimeRemainingColumn(), console=err, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done, total: bar.update(task, completed=done, total=max(total, done))
