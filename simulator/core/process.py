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


class _Go:
    """What a process started at once resumes from: an event already succeeded with ``None``."""

    __slots__ = ()
    _ok = True
    _value = None


_GO = _Go()


class Detached(simpy.Process):
    """A process nobody waits for (a client's request, a published message): the same as
    ``env.process(generator)``, with fewer scheduler events.

    * Its end is an event only when something waits for it then (a callback on it): a
      process that ends unwatched is marked processed on the spot, with its value, instead of
      scheduling an end event nobody would hear. A process that fails still schedules its end,
      so the error surfaces as SimPy's would. Event ids only break ties among events in
      the queue, so leaving one out reorders nothing.
    * With ``now=True`` it starts in its creator's turn (its first step runs inside the
      call) instead of at an ``Initialize`` event. That moves it ahead of whatever its creator
      does next at the same instant, so it is only for a creator whose next action cannot meet
      it: the open-loop source, whose next action is to wait an exponential gap.
    """

    def __init__(self, env: simpy.Environment, generator: Generator, now: bool = False):
        if not now:
            super().__init__(env, generator)
            return
        self.env = env  # the attributes Process.__init__ sets, in its order (instances share one key table)
        self.callbacks = []
        self._generator = generator
        self._target = None
        creator = env._active_proc
        self._resume(_GO)
        env._active_proc = creator

    def _resume(self, event: Any) -> None:
        """:meth:`simpy.Process._resume`, but an unwatched end schedules no event."""
        env = self.env
        env._active_proc = self
        generator = self._generator
        while True:
            try:
                if event._ok:
                    event = generator.send(event._value)
                else:
                    event._defused = True  # the process handles the failure (or fails with it)
                    error = type(event._value)(*event._value.args)
                    error.__cause__ = event._value
                    event = generator.throw(error)
            except StopIteration as stop:
                event = None
                self._ok = True
                self._value = stop.args[0] if stop.args else None
                if self.callbacks:
                    env.schedule(self)
                else:
                    self.callbacks = None  # processed: nothing was waiting
                break
            except BaseException as error:
                event = None
                self._ok = False
                error.__traceback__ = error.__traceback__.tb_next
                self._value = error
                env.schedule(self)
                break
            try:
                callbacks = event.callbacks
            except AttributeError:
                raise RuntimeError(f"invalid yield value {event!r} in a detached process") from None
            if callbacks is not None:  # not yet processed: resume when it is
                callbacks.append(self._resume)
                break
        self._target = event
        env._active_proc = None
