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


NESTED_LIMIT = 64  # calls around a feedback loop nested in one process before a fresh one takes over


def unnested(env, call: StepFn, limit: int = NESTED_LIMIT) -> StepFn:
    """*call*, for a call site on a feedback loop: any number of visits, no Python stack per visit.

    A synchronous call runs inside its caller's generator (``yield from``), so a request
    that goes round a loop 250 times would nest 250 calls deep and exhaust Python's stack.
    Up to *limit* calls nested in one process run as before (same events, same results);
    the next one runs as a process of its own, which starts a fresh stack, and the caller
    waits for it (two events more, once every *limit* visits).
    """

    def call_round_the_loop(request):
        process = env.active_process
        depth = getattr(process, "sdsim_nested", 0)
        if depth < limit:
            process.sdsim_nested = depth + 1
            try:
                return (yield from call(request))
            finally:
                process.sdsim_nested = depth
        return (yield env.process(guarded(call(request))))

    return call_round_the_loop
