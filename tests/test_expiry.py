"""Client time-outs with one event per client (simulator.engine.expiry.Expiry) give the run a
timeout event per request gives, request for request.

The reference is the plain way, written here: every open-loop request starts a timeout event
whose callback records TIMEOUT if the request is still waiting. Both runs must agree on every
request's issue time, end time and status, in order — including where an answer lands
exactly on the deadline (constant work equal to the time-out), where only the order of the
two events decides, and in overload, where most requests time out.
"""

from __future__ import annotations


import numpy as np
import pytest
import simpy

from simulator.core.request import TIMEOUT
from simulator.engine.clients import OpenLoop
from simulator.engine.expiry import Expiry

from helpers import simulate_yaml


def _per_request_fire(self):
    request, call = self.issue()
    if self.timeout is not None:
        self.env.timeout(self.timeout).callbacks.append(lambda _: self.done(request, TIMEOUT))
    status = yield from call(request)
    self.done(request, status)


SCENARIO = """
name: expiry
seed: {seed}
duration: 300s
warmup: 0s
records: full
workload:
  - name: users
    entry: api
    operation: get
    timeout: {timeout}
    arrivals: {{kind: poisson, rate: {rate}}}
  - name: batch
    entry: api
    operation: put
    timeout: 1s
    arrivals: {{kind: poisson, rate: 0.5}}
components:
  api:
    kind: service
    workers: {workers}
    operations:
      get: {{work: "{work}"}}
      put: {{work: "const(1s)"}}
"""


def _requests(monkeypatch, text: str, tmp_path, plain: bool):
    result = simulate_yaml(tmp_path, text, monkeypatch, ((OpenLoop, "fire", _per_request_fire),) if plain else ())
    return np.column_stack([result.t_issue, result.t_end, result.status, result.workload]), result.summary()


@pytest.mark.parametrize("seed, rate, workers, work, timeout", [
    (1, 9.0, 10, "exp(rate=1)", "2s"),         # M/M/10 at ρ = 0.9: a tail of time-outs
    (2, 1.5, 1, "exp(rate=1)", "3s"),          # overloaded: most requests time out
    (3, 0.8, 1, "const(1s)", "1s"),            # every answer that waited not at all lands on its deadline
    (4, 3.0, 2, "const(500ms)", "1500ms"),     # constant work, waits that are multiples of it: ties again
])
def test_one_expiry_event_per_client_gives_the_run_of_one_timeout_per_request(monkeypatch, tmp_path, seed, rate,
                                                                                workers, work, timeout):
    text = SCENARIO.format(seed=seed, rate=rate, workers=workers, work=work, timeout=timeout)
    expiry, expiry_summary = _requests(monkeypatch, text, tmp_path, plain=False)
    plain, plain_summary = _requests(monkeypatch, text, tmp_path, plain=True)
    assert (plain[:, 2] == TIMEOUT).sum() > 0  # the case is exercised
    np.testing.assert_array_equal(expiry, plain)
    assert expiry_summary == plain_summary


def test_ties_on_the_deadline_are_time_outs_as_with_an_event_per_request(monkeypatch, tmp_path):
    """const(1s) work with a 1 s time-out: an answer that did not wait ends exactly at its deadline,
    and the deadline (made first) wins, as before."""
    text = SCENARIO.format(seed=3, rate=0.8, workers=1, work="const(1s)", timeout="1s")
    rows, _ = _requests(monkeypatch, text, tmp_path, plain=False)
    users = rows[rows[:, 3] == 0]
    on_time = np.isclose(users[:, 1] - users[:, 0], 1.0, rtol=0, atol=1e-9)
    assert on_time.sum() > 50 and (users[on_time, 2] == TIMEOUT).all()


def test_expiry_keeps_one_event_in_the_queue_and_skips_the_answered():
    env = simpy.Environment()
    pending: dict[int, object] = {}
    expired: list[tuple[int, float]] = []

    class Req:
        def __init__(self, id):
            self.id = id

    expiry = Expiry(env, 10.0, lambda r: (pending.pop(r.id), expired.append((r.id, env.now))), pending)

    def client():
        for i in range(6):
            pending[i] = Req(i)
            expiry.watch(pending[i])
            queued = sum(1 for *_, e in env._queue if e.callbacks and expiry._fire in e.callbacks)
            assert queued == 1
            yield env.timeout(1.0)
        for i in (0, 2, 3):  # answered before their deadlines
            del pending[i]

    env.process(client())
    env.run()
    assert expired == [(1, 11.0), (4, 14.0), (5, 15.0)]
    assert not expiry.waiting and not expiry.armed


def test_each_watched_request_takes_the_event_id_of_its_own_timeout():
    """The other events get the ids (and so the places among equal times) they get in a run
    with an event per request."""
    def keys(watch):
        env = simpy.Environment()
        seen = []

        def client():
            for i in range(3):
                watch(env, i)
                other = env.timeout(0.5)
                seen.append(next(k for k in env._queue if k[3] is other)[:3])
                yield env.timeout(1.0)

        env.process(client())
        env.run()
        return seen

    expiries: dict[int, Expiry] = {}

    def by_expiry(env, i):
        expiry = expiries.setdefault(id(env), Expiry(env, 5.0, lambda r: None, {i: None for i in range(3)}))
        expiry.watch(type("R", (), {"id": i})())

    def by_timeout(env, i):
        env.timeout(5.0)

    assert keys(by_expiry) == keys(by_timeout)
