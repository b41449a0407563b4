"""One replica of a component: a pool of workers with a bounded FIFO queue.

This is the shared piece behind every queueing component (services, databases, and later
gateways and caches): ``workers`` concurrent executions, at most ``queue_limit`` waiting
(``None`` = unbounded), an up/down state and a slow-down factor that faults change.

While a crash fault could hit the replica, the processes inside it are remembered so
that a crash can interrupt them: in-flight work fails.
"""

from __future__ import annotations

import simpy


class Crash:
    """The cause attached to the interrupt a crashed replica sends to its in-flight work."""

    __slots__ = ("replica",)

    def __init__(self, replica: "Replica"):
        self.replica = replica


class Replica:
    __slots__ = ("index", "resource", "queue_limit", "up", "slowdown", "error_probability", "inflight")

    def __init__(self, env: simpy.Environment, index: int, workers: int, queue_limit: int | None,
                 track_inflight: bool):
        self.index = index
        self.resource = simpy.Resource(env, capacity=workers)
        self.queue_limit = queue_limit
        self.up = True
        self.slowdown = 1.0
        self.error_probability = 0.0
        self.inflight: dict[simpy.Process, int] | None = {} if track_inflight else None

    def full(self) -> bool:
        """No free worker and no room to wait."""
        res = self.resource
        return self.queue_limit is not None and res.count >= res.capacity and len(res.queue) >= self.queue_limit

    def enter(self, process: simpy.Process) -> None:
        if self.inflight is not None:
            self.inflight[process] = self.inflight.get(process, 0) + 1

    def leave(self, process: simpy.Process) -> None:
        if self.inflight is not None:
            left = self.inflight[process] - 1
            if left:
                self.inflight[process] = left
            else:
                del self.inflight[process]

    def crash(self) -> None:
        """Go down and fail everything in flight here."""
        self.up = False
        cause = Crash(self)
        for process in list(self.inflight or ()):
            if process.is_alive:
                process.interrupt(cause)

    def restart(self) -> None:
        self.up = True


class ReplicaSet:
    """The replicas of one component and how a request picks one (round robin over those up).

    Load-balancing policies replace :meth:`pick`.
    """

    def __init__(self, env: simpy.Environment, count: int, workers: int, queue_limit: int | None,
                 track_inflight: bool):
        self.replicas = [Replica(env, i, workers, queue_limit, track_inflight) for i in range(count)]
        self.workers = workers
        self._next = 0
        if count == 1:
            self.pick = self._only  # the common case needs no rotation

    def _only(self) -> Replica | None:
        replica = self.replicas[0]
        return replica if replica.up else None

    @property
    def capacity(self) -> int:
        return len(self.replicas) * self.workers

    def pick(self) -> Replica | None:
        replicas = self.replicas
        n = len(replicas)
        for _ in range(n):
            replica = replicas[self._next]
            self._next = (self._next + 1) % n
            if replica.up:
                return replica
        return None
