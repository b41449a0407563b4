"""A queued visit on the plain path has its work started by the worker handed to it
(simulator.components.replica.Replica.acquire with a visit number): one event for the wait
and the work together.

The reference is the general visit (``Station.visit``), where the waiter resumes at the
hand-over and starts its own work: both must give every request and every span the same
times, statuses and operations, in order, and the plain run exactly one event fewer per
queued visit. Times and draws are the same; only the event ids that order simultaneous
events differ, so the scenarios here have continuous distributions.
"""

from __future__ import annotations

import numpy as np
import pytest
import simpy

from simulator.components.replica import LifoReplica, Replica
from simulator.components.station import Station

from helpers import simulate_yaml

SCENARIO = """
name: handover
seed: {seed}
duration: 400s
warmup: 0s
records: full
workload:
  - name: users
    entry: api
    mix: {{get: 0.6, put: 0.3, ping: 0.1}}
    arrivals: {{kind: poisson, rate: {rate}}}
components:
  api:
    kind: service
    workers: {workers}
    io: {io}
    queue_order: {order}
    operations:
      get: {{work: "exp(rate=1)", steps: [{{call: db.read}}]}}
      put: {{work: "lognormal(median=1.5s, p99=6s)"}}
      ping: {{work: "const(0s)"}}
  db:
    kind: service
    workers: 2
    operations:
      read: {{work: "exp(rate=8)"}}
"""


def _run(tmp_path, text: str, monkeypatch, general: bool):
    general_visits = ((Station, "_plain", lambda self, world, spec: False),)
    return simulate_yaml(tmp_path, text, monkeypatch, general_visits if general else ())


def _spans(result, name: str) -> np.ndarray:
    c = result.components[name]
    return np.column_stack([c.arrival, c.start, c.done, c.release, c.end, c.status, c.op])


@pytest.mark.parametrize("seed, rate, workers, io, order", [
    (1, 2.5, 3, "blocking", "fifo"),   # ρ ≈ 0.9 at api, the db call held inside the worker
    (2, 2.5, 3, "async", "fifo"),      # the db call after the worker is freed
    (3, 1.2, 1, "blocking", "lifo"),   # one worker, the newest waiter served first
    (4, 3.2, 3, "async", "fifo"),      # overloaded: the queue grows to the end of the run
])
def test_the_hand_over_gives_the_general_visits_run_with_one_event_fewer_per_queued_visit(
        monkeypatch, tmp_path, seed, rate, workers, io, order):
    text = SCENARIO.format(seed=seed, rate=rate, workers=workers, io=io, order=order)
    plain = _run(tmp_path, text, monkeypatch, general=False)
    general = _run(tmp_path, text, monkeypatch, general=True)

    for column in ("t_issue", "t_end", "status", "operation"):
        np.testing.assert_array_equal(getattr(plain, column), getattr(general, column), err_msg=column)
    for name in ("api", "db"):
        np.testing.assert_array_equal(_spans(plain, name), _spans(general, name), err_msg=name)

    def queued_with_work(name: str, without: set[int]) -> int:
        c = plain.components[name]
        return int(np.count_nonzero((c.start > c.arrival) & ~np.isin(c.op, list(without))))

    api = plain.components["api"]
    assert np.count_nonzero((api.start > api.arrival) & (api.op == api.operations.index("ping"))) > 10
    queued = queued_with_work("api", {api.operations.index("ping")}) + queued_with_work("db", set())
    assert queued > 100  # the test is about waiting: there must be plenty of it
    # a queued ping (no work) resumes at its hand-over on both paths: one event each
    assert general.events - plain.events == queued


def _replica(cls=Replica, workers=1):
    env = simpy.Environment()
    return env, cls(env, 0, workers, None, track_inflight=False)


def test_a_hand_over_starts_the_waiters_work_and_succeeds_when_it_is_done():
    env, replica = _replica()
    replica.slowdown = 2.0
    assert replica.acquire(0.0, visit=1, work=lambda: 3.0) is None  # a free worker: no event
    env.run(until=1.0)
    wait = replica.acquire(1.0, visit=2, work=lambda: 3.0)
    env.run(until=4.0)
    replica.release()  # the worker freed at t = 4 starts visit 2's work: 3 s × slow-down 2
    assert wait.t_start == 4.0 and replica.serving == {2: (1.0, 4.0)}
    assert wait.triggered and not wait.processed
    env.run(until=9.999)
    assert not wait.processed
    env.run(until=10.001)
    assert wait.processed and replica.in_use == 1  # the worker stays with visit 2 until it releases


def test_a_hand_over_without_work_or_without_a_visit_number_succeeds_at_once():
    env, replica = _replica(workers=1)
    replica.acquire(0.0)
    no_work = replica.acquire(0.0, visit=7, work=None)
    itself = replica.acquire(0.0)  # the general visit: starts itself when it resumes
    env.run(until=2.0)
    replica.release()
    assert no_work.t_start == 2.0 and replica.serving == {7: (0.0, 2.0)}
    replica.release()
    assert not hasattr(itself, "t_start") and 7 in replica.serving  # nothing registered for it
    env.run(until=2.5)
    assert no_work.processed and itself.processed


def test_a_lifo_replica_hands_the_worker_to_the_newest_waiter():
    env, replica = _replica(LifoReplica)
    replica.acquire(0.0)
    older = replica.acquire(1.0, visit=1, work=lambda: 1.0)
    newer = replica.acquire(2.0, visit=2, work=lambda: 1.0)
    env.run(until=3.0)
    replica.release()
    assert newer.triggered and not older.triggered and list(replica.serving) == [2]
