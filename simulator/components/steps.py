"""Compile an operation's ``steps`` into generator functions the engine can run fast.

Each compiled step is ``step(request) -> generator returning a status``:

* ``call``: go to the target (paying network latency both ways) and wait for its status,
  at most ``timeout``; on failure run the ``fallback`` steps if there are any;
* ``publish``: start the target's work in its own process and carry on at once;
* ``parallel``: run every branch concurrently, wait for all; fails if any fails;
* ``branch``: draw once, run the chosen option's steps.

A sequence stops at the first failed step and reports ``ERROR``: the operation failed
because a dependency did.
"""

from __future__ import annotations

from itertools import accumulate
from typing import TYPE_CHECKING, Any, Callable, Generator

import simpy

from ..core.process import StepFn, guarded, run_sequence
from ..core.request import ERROR, OK, TIMEOUT
from ..scenario.model import BranchStep, CallStep, ParallelStep, PublishStep

if TYPE_CHECKING:
    from ..core.context import Context

def _with_timeout(env, call: StepFn, limit: float) -> StepFn:
    """Stop waiting for *call* after *limit*: a late answer is a failure (the callee still works)."""

    def timed(request):
        process = env.process(guarded(call(request)))
        yield process | env.timeout(limit)
        return process.value if process.triggered else TIMEOUT

    return timed


def _with_fallback(call: StepFn, fallback: list[StepFn]) -> StepFn:
    """Run *fallback* instead of failing when *call* fails."""

    def degraded(request):
        status = yield from call(request)
        if status:
            return (yield from run_sequence(fallback, request))
        return status

    return degraded


def compile_steps(steps: list, world: "Context", caller_zone: str | None, stream: str) -> list[StepFn]:
    """Turn step specs into step functions; *stream* names the random stream for branches."""
    return [_compile(step, world, caller_zone, f"{stream}/{i}") for i, step in enumerate(steps)]


def _compile(step, world: "Context", zone: str | None, stream: str) -> StepFn:
    env = world.env
    if isinstance(step, CallStep):
        call = world.caller(zone, step.call)
        if step.timeout is not None:
            call = _with_timeout(env, call, step.timeout)
        if step.fallback is not None:
            call = _with_fallback(call, compile_steps(step.fallback, world, zone, f"{stream}/fallback"))
        return call
    if isinstance(step, PublishStep):
        call = world.caller(zone, step.publish)

        def publish(request):
            env.process(guarded(call(request)))
            return OK
            yield  # a generator that never waits

        return publish
    if isinstance(step, ParallelStep):
        branches = [[_compile(s, world, zone, f"{stream}/parallel/{j}")] for j, s in enumerate(step.parallel)]

        def parallel(request):
            processes = [env.process(guarded(run_sequence(b, request))) for b in branches]
            yield env.all_of(processes)
            return ERROR if any(p.value for p in processes) else OK

        return parallel
    if isinstance(step, BranchStep):
        cumulative = list(accumulate(o.p for o in step.branch))
        options = [compile_steps(o.steps, world, zone, f"{stream}/branch/{j}") for j, o in enumerate(step.branch)]
        uniform = world.uniform(stream)

        def branch(request):
            u = uniform()
            for edge, option in zip(cumulative, options):
                if u < edge:
                    return (yield from run_sequence(option, request))
            return (yield from run_sequence(options[-1], request))  # rounding: u ≥ last edge

        return branch
    raise TypeError(f"unknown step {step!r}")
