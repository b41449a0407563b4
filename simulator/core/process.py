"""How the simulated work composes: a step is a generator function that returns a status.

A *step* is ``step(request) -> generator`` run inside a SimPy process: it yields SimPy
events and returns a :class:`~simulator.core.request.Status`. Components run their
operations' steps with :func:`run_sequence`; work started in a process of its own (a
publish, a fan-out branch, a client request) is wrapped in :func:`guarded` so that a crash
interrupting it ends that process with ``ERROR`` instead of an exception.
"""

from __future__ import annotations

from typing import Any, Callable, Generator

import simpy

from .request import ERROR, OK

StepFn = Callable[[Any], Generator[Any, Any, int]]


def guarded(gen: Generator[Any, Any, int]) -> Generator[Any, Any, int]:
    """Root of a detached process: an interrupt that reaches it means the work failed."""
    try:
        return (yield from gen)
    except simpy.Interrupt:
        return ERROR


def run_sequence(steps: list[StepFn], request: Any) -> Generator[Any, Any, int]:
    """Run *steps* in order; the first that fails ends the sequence with ``ERROR``."""
    for step in steps:
        if (yield from step(request)):
            return ERROR
    return OK
