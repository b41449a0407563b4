"""What a search (:func:`~simulator.experiments.planning.knee`, :func:`~simulator.experiments.planning.plan`)
will run and how long it should take, said before it starts.

A :class:`Forecast` counts the evaluations the search makes (an upper bound for a bisection
or a binary search; one pass for a coordinate descent), the replications each gets (2 to R
when adaptive: a configuration far from its target stops at its first stage) and so the
runs, and times them with a **pilot**: the most expensive configuration (the search's
first) simulated in this process for about a quarter of a second, scaled to the run's
simulated duration (:func:`seconds_per_run`). The wall time assumes the runs of a stage
share the workers evenly, stage after stage. It is an estimate printed for a person
(the search itself never reads it): the pilot's pace holds for a design whose cost per
simulated second is steady, which the warm-up of a cache or a growing backlog can bend.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

__all__ = ["Forecast", "parallelism", "seconds_per_run"]


class _Enough(Exception):
    """The pilot has seen enough."""


def seconds_per_run(scenario: Any, seed: int | None = None, budget_s: float = 0.25) -> float:
    """Wall seconds one run of *scenario* (a loaded ``Scenario``) takes on this machine: run it
    for about *budget_s* of wall time (the whole run if that is shorter) and scale the pace to
    its duration. Nothing of the pilot is kept."""
    from ..simulation import simulate

    started = time.perf_counter()
    reached = 0.0

    def tick(now: float, duration: float, _events: int) -> None:
        nonlocal reached
        reached = now
        if time.perf_counter() - started > budget_s and now < duration:
            raise _Enough

    try:
        simulate(scenario, seed, progress=tick, ticks=1000)
    except _Enough:
        return (time.perf_counter() - started) * scenario.duration / max(reached, 1e-9)
    return time.perf_counter() - started


@dataclass(frozen=True)
class Forecast:
    """The size of a search and its expected wall time.

    ``evaluations``: configurations judged (at most, or per pass); ``stages``: the replication
    counts a configuration may be judged at (``[2, 4, 5]`` adaptive with R = 5, ``[5]``
    otherwise); ``run_s``: one run's wall seconds (the pilot's); ``workers``: parallel runs.
    """

    what: str
    evaluations: int
    stages: tuple[int, ...]
    duration_s: float
    workers: int
    run_s: float

    def runs(self) -> tuple[int, int]:
        """(fewest, most) runs: every configuration settled at its first stage, or none."""
        return self.evaluations * self.stages[0], self.evaluations * self.stages[-1]

    def seconds(self) -> tuple[float, float]:
        """(shortest, longest) expected wall time, the runs of each stage spread over the workers."""
        waves, before = [], 0
        for count in self.stages:
            waves.append(math.ceil((count - before) / self.workers))
            before = count
        return (self.evaluations * waves[0] * self.run_s, self.evaluations * sum(waves) * self.run_s)

    def text(self) -> str:
        fewest, most = self.runs()
        short, long = self.seconds()
        per = (f"{self.stages[0]}–{self.stages[-1]} replications each (stopping at {', '.join(map(str, self.stages))} "
               "as soon as the 95 % bounds decide)" if len(self.stages) > 1 else
               f"{self.stages[0]} replication{'s' if self.stages[0] > 1 else ''} each")
        runs = f"{fewest}–{most} runs" if fewest != most else f"{most} runs"
        span = f"{_clock(short)}–{_clock(long)}" if round(short) != round(long) else _clock(long)
        return (f"{self.what}: {self.evaluations} configurations at most, {per}: {runs} of "
                f"{self.duration_s:g} s simulated on {self.workers} worker{'s' if self.workers > 1 else ''}; "
                f"about {_clock(self.run_s)} a run here, so ≈ {span}")


def _clock(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"


def parallelism(executor: Any) -> int:
    """How many runs *executor* runs at once: a local pool's workers, a cluster's threads, 1 in
    this process; the CPUs when it does not say."""
    import os

    from .executors import SerialExecutor

    if isinstance(executor, SerialExecutor):
        return 1
    workers = getattr(executor, "_max_workers", None)
    if isinstance(workers, int) and workers > 0:
        return workers
    client = getattr(executor, "client", None)
    if client is not None:
        try:
            return max(1, sum(client.nthreads().values()))
        except Exception:  # noqa: BLE001 - a cluster that cannot say: fall back to the CPUs
            pass
    return os.cpu_count() or 1
