"""Detached processes (simulator.core.process.Detached): what a plain SimPy process does, with
fewer scheduler events — no end event when nothing waits, and (``now=True``) no Initialize.

Each test runs the same model with ``env.process`` and with ``Detached`` and compares what
the processes saw, so the expectation is SimPy's own behaviour, not the code under test.
"""

from __future__ import annotations

import pytest
import simpy

from simulator.core.process import Detached


def _events(env: simpy.Environment) -> int:
    return next(env._eid)


def _worker(env, log, name, delay, result):
    log.append((name, "start", env.now))
    yield env.timeout(delay)
    log.append((name, "end", env.now))
    return result


def _run(start):
    """Three workers started at t = 0, 1, 1 by a source; a watcher waits for the second."""
    env = simpy.Environment()
    log: list = []

    def source():
        start(env, _worker(env, log, "a", 2.0, "A"))
        yield env.timeout(1.0)
        b = start(env, _worker(env, log, "b", 1.5, "B"))
        start(env, _worker(env, log, "c", 0.5, "C"))
        log.append(("source", "after", env.now, env.active_process is not None))
        value = yield b
        log.append(("source", "got", value, env.now))

    env.process(source())
    env.run()
    return log, _events(env)


def test_a_detached_process_behaves_as_a_simpy_process_with_one_event_fewer_per_unwatched_end():
    plain, plain_events = _run(lambda env, gen: env.process(gen))
    detached, detached_events = _run(lambda env, gen: Detached(env, gen))
    assert detached == plain
    assert plain_events - detached_events == 2  # a and c end unwatched; b's end is waited for


def test_started_now_it_runs_in_its_creators_turn_and_gives_the_turn_back():
    """now=True: the first step runs inside the call (before the creator's next line), the
    creator is still the active process afterwards, and no Initialize event is made."""
    env = simpy.Environment()
    log: list = []

    def source():
        me = env.active_process
        Detached(env, _worker(env, log, "x", 1.0, None), now=True)
        log.append(("source", env.active_process is me))
        yield env.timeout(5)

    env.process(source())
    env.run()
    assert log == [("x", "start", 0.0), ("source", True), ("x", "end", 1.0)]
    assert _events(env) == 4  # the source's Initialize, x's timeout, the source's timeout and end: no Initialize of x


def test_a_finished_detached_process_can_still_be_waited_for():
    env = simpy.Environment()
    seen = []

    def quick():
        return "done"
        yield

    def waiter():
        process = Detached(env, quick(), now=True)
        assert process.processed and not process.is_alive and process.value == "done"
        seen.append((yield process))
        seen.append((yield process | env.timeout(1)))

    env.process(waiter())
    env.run()
    assert seen[0] == "done" and list(seen[1].values()) == ["done"]


def test_an_interrupt_reaches_a_detached_process_and_a_failure_surfaces_as_simpys():
    env = simpy.Environment()
    caught = []

    def victim():
        try:
            yield env.timeout(10)
        except simpy.Interrupt as interrupt:
            caught.append((interrupt.cause, env.now))

    def attacker(target):
        yield env.timeout(2)
        target.interrupt("crash")

    target = Detached(env, victim())
    env.process(attacker(target))
    env.run()
    assert caught == [("crash", 2)]

    def broken():
        yield env.timeout(1)
        raise KeyError("boom")

    Detached(env, broken(), now=True)
    with pytest.raises(KeyError, match="boom"):
        env.run()


def test_a_yield_of_something_not_an_event_is_an_error():
    env = simpy.Environment()

    def bad():
        yield 42

    with pytest.raises(RuntimeError, match="invalid yield value 42"):
        Detached(env, bad(), now=True)
