"""The engine's environment (simulator.engine.clock.environment): its timeouts are SimPy's,
scheduled by their own constructor."""

from __future__ import annotations

import pytest
import simpy

from simulator.engine.clock import Timeout, environment, run_until


def _log(env: simpy.Environment) -> list[tuple]:
    """A few processes with ties, values and a zero delay; what each sees, when, in order."""
    seen = []

    def proc(name, delays):
        for d in delays:
            value = yield env.timeout(d, value=(name, d))
            seen.append((env.now, name, value))

    for name, delays in (("a", [1, 0, 2.5]), ("b", [1, 1, 1.5]), ("c", [0, 3])):
        env.process(proc(name, delays))
    return seen


def test_timeouts_are_simpys_with_the_same_order_ids_and_values():
    plain, ours = simpy.Environment(), environment()
    seen_plain, seen_ours = _log(plain), _log(ours)
    queued_plain, queued_ours = list(plain._queue), list(ours._queue)
    assert [(t, p, i) for t, p, i, _ in queued_ours] == [(t, p, i) for t, p, i, _ in queued_plain]
    plain.run()
    run_until(ours, 100.0)
    assert seen_ours == seen_plain and len(seen_ours) == 8
    assert type(ours.timeout(1)) is Timeout and isinstance(ours.timeout(1), simpy.Timeout)


def test_a_negative_delay_is_refused_as_simpy_refuses_it():
    with pytest.raises(ValueError, match="Negative delay -1"):
        environment().timeout(-1)
