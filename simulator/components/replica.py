"""One replica of a component: a pool of workers with a bounded FIFO queue.

This is the shared piece behind every queueing component (services, databases, balancers,
caches): ``workers`` concurrent executions, at most ``queue_limit`` waiting (``None`` =
unbounded), an up/down state and a slow-down factor that faults change.

The pool is hand-made rather than a ``simpy.Resource``: a request that finds a free
worker takes it without any event, and a worker that finishes hands itself to the first
waiter by succeeding that waiter's event (or goes idle). Per visit that is two scheduled
events fewer than ``Resource.request()`` + ``release()``, with the same FIFO semantics.
:meth:`Replica.acquire` / :meth:`Replica.release` are the whole protocol.

A waiter that nothing can interrupt may leave its start to the hand-over
(:meth:`Replica.acquire` with a visit number and its work): the worker handed over starts
that work on the spot, so the waiter's event succeeds once the work is done. One event per
queued visit instead of two (the hand-over, then the work's timeout), the same times and
draws; only the event ids that order simultaneous events differ (the work's timeout takes
its id at the hand-over, not when the waiter resumes).

While a crash fault could hit the replica, the processes inside it are remembered so
that a crash can interrupt them: in-flight work fails. A clean stop (:meth:`Replica.stop`)
takes the replica out of service the same way but interrupts nothing: work it holds finishes.

CPU: a replica with fewer ``vcpus`` than ``workers`` gets a
:class:`~simulator.components.cpu.Processor` (``cpu``): the work of its busy workers
shares the vCPUs by processor sharing. With ``vcpus`` unset, or at least as many as the
workers, no two workers can compete for a CPU, ``cpu`` is ``None`` and work takes exactly
its own time.
"""

from __future__ import annotations

from collections import deque

import simpy
from simpy.events import NORMAL

from .cpu import Processor


class Crash:
    """The cause attached to the interrupt a crashed replica sends to its in-flight work."""

    __slots__ = ("replica",)

    def __init__(self, replica: "Replica"):
        self.replica = replica


class Replica:
    """One replica: a worker pool, its up/down state and what faults and scaling set on it.

    ``up`` is whether the process is alive (a crash clears it); ``registered`` whether
    service discovery lists it (false while it boots and once it is retired by a
    scale-down). ``slowdown`` multiplies its work (a slow node, a slow-down fault).
    ``cpu`` is the processor its work shares (``None``: every worker has a CPU of its own).
    ``in_use`` workers are busy, ``waiting`` holds the events of queued visits (FIFO) and
    ``serving`` the (arrival, start) of every visit holding a worker, by visit number.
    """

    __slots__ = ("env", "index", "workers", "in_use", "waiting", "serving", "queue_limit", "up", "registered",
                 "slowdown", "error_probability", "inflight", "busy", "arrivals", "cpu", "watchers",
                 "graceful")

    def __init__(self, env: simpy.Environment, index: int, workers: int, queue_limit: int | None,
                 track_inflight: bool, speed: float = 1.0, vcpus: int | None = None):
        self.env = env
        self.index = index
        self.workers = workers
        self.in_use = 0
        self.waiting: deque[simpy.Event] = deque()
        self.serving: dict[int, tuple[float, float]] = {}
        self.queue_limit = queue_limit
        self.up = True
        self.registered = True
        self.slowdown = 1.0 / speed
        self.error_probability = 0.0
        self.inflight: dict[simpy.Process, int] | None = {} if track_inflight else None
        self.busy = 0.0  # worker-seconds of finished work (kept only when an autoscaler reads it)
        self.arrivals = 0
        self.cpu = Processor(env, vcpus) if vcpus is not None and vcpus < workers else None
        self.watchers: list = []  # called as watcher(replica) after a crash or a restart (see watch)
        self.graceful = False  # down by a clean stop, not a crash (what its watchers read)

    # -- the worker pool ---------------------------------------------------------------------
    def full(self) -> bool:
        """No free worker and no room to wait."""
        return (self.in_use >= self.workers and self.queue_limit is not None
                and len(self.waiting) >= self.queue_limit)

    def acquire(self, t_arrive: float, visit: int | None = None, work=None) -> simpy.Event | None:
        """Take a free worker (``None``: granted now) or join the queue (the event to wait for).

        The caller must check :meth:`full` first. The waiting event succeeds when a
        worker is handed over; a caller that stops waiting calls :meth:`abandon`.

        With *visit* (the visit's number; for a waiter nothing can interrupt, which never
        abandons) the hand-over starts the visit instead: it enters ``serving`` as *visit*,
        its *work* (a sampler; ``None``: none) starts at once on the replica's slow-down, and
        the event succeeds when that work is done. Its ``t_start`` is when the worker was
        handed over.
        """
        if self.in_use < self.workers:
            self.in_use += 1
            return None
        wait = self.env.event()
        wait.t_arrive = t_arrive  # read by the end-of-run bookkeeping
        wait.visit = visit
        wait.work = work
        self.waiting.append(wait)
        return wait

    def abandon(self, wait: simpy.Event) -> None:
        """A queued visit gives up; if a worker was handed to it meanwhile, pass that worker on."""
        if wait.triggered:
            self.release()
        else:
            self.waiting.remove(wait)

    def release(self) -> None:
        """A worker is done: hand it to the first waiter, or let it idle."""
        if self.waiting:
            self._hand_over(self.waiting.popleft())
        else:
            self.in_use -= 1

    def _hand_over(self, wait: simpy.Event) -> None:
        """Give the worker just freed to the visit waiting on *wait* (see :meth:`acquire`)."""
        if wait.visit is None:
            wait.succeed()  # the visit starts itself when it resumes
            return
        now = self.env._now
        wait.t_start = now
        self.serving[wait.visit] = (wait.t_arrive, now)
        if wait.work is None:
            wait.succeed()
        else:  # succeed when the work is done: Event.succeed has no delay, so schedule it as a timeout would be
            wait._ok = True
            wait._value = None
            self.env.schedule(wait, NORMAL, wait.work() * self.slowdown)

    def busy_until(self, now: float) -> float:
        """Worker-seconds of work done here up to *now*, work still in progress included."""
        return self.busy + sum(now - start for _, start in self.serving.values())

    # -- faults --------------------------------------------------------------------------------
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

    def watch(self, watcher) -> None:
        """Call ``watcher(replica)`` each time this replica crashes, stops or restarts (read ``up`` to
        tell a restart, ``graceful`` to tell a clean stop from a crash): what runs *on* a replica
        without being a visit to it (a broker's consumers)."""
        self.watchers.append(watcher)

    def crash(self) -> None:
        """Go down and fail everything in flight here."""
        self.up = False
        cause = Crash(self)
        for process in list(self.inflight or ()):
            if process.is_alive:
                process.interrupt(cause)
        for watcher in self.watchers:
            watcher(self)

    def stop(self) -> None:
        """Shut down cleanly: take no new work (as when down), let the work in flight here finish."""
        self.up = False
        self.graceful = True
        for watcher in self.watchers:
            watcher(self)

    def restart(self) -> None:
        self.up = True
        self.graceful = False
        for watcher in self.watchers:
            watcher(self)


class LifoReplica(Replica):
    """A replica whose free worker takes the *newest* waiting request (``queue_order: lifo``):
    under overload the newest is the one whose caller is still waiting."""

    __slots__ = ()

    def release(self) -> None:
        if self.waiting:
            self._hand_over(self.waiting.pop())
        else:
            self.in_use -= 1


class ReplicaSet:
    """The replicas of one component and how a direct call picks one (round robin over those up).

    Service discovery is ideal for direct calls: a replica that is down or not registered
    gets nothing; unless a registry serves the set (``discovery``, a service's ``discovery:``):
    then the registry replaces ``pick`` with its clients' views and hears of every
    :meth:`register` and :meth:`retire`. A load balancer in front does its own picking with its own view of health.
    Replicas can be added (registered once ready) and retired at run time; ``version``
    changes whenever the registered set does, so pickers can cache what they derive from it.
    Every replica, those added later too, has ``vcpus`` CPUs (``None``: one per worker), and is
    a :class:`LifoReplica` with *lifo*.
    """

    def __init__(self, env: simpy.Environment, count: int, workers: int, queue_limit: int | None,
                 track_inflight: bool, speeds: list[float] | None = None, speed: float = 1.0,
                 vcpus: int | None = None, lifo: bool = False):
        self.env = env
        self.workers = workers
        self.vcpus = vcpus
        self.queue_limit = queue_limit
        self.track_inflight = track_inflight
        self.speed = speed
        self.make = make = LifoReplica if lifo else Replica
        self.replicas = [make(env, i, workers, queue_limit, track_inflight, speed if speeds is None else speeds[i],
                                 vcpus) for i in range(count)]
        self.version = 0
        self._next = 0
        self.discovery = None  # the registry (components.registry) that replaced pick, if any
        if count == 1:
            self.pick = self._only  # the common case needs no rotation

    def _only(self) -> Replica | None:
        replica = self.replicas[0]
        return replica if replica.up and replica.registered else None

    @property
    def capacity(self) -> int:
        return len(self.replicas) * self.workers

    def registered(self) -> list[Replica]:
        return [r for r in self.replicas if r.registered]

    def add(self) -> Replica:
        """A new replica, not yet registered (it is booting); call :meth:`register` when it is ready."""
        replica = self.make(self.env, len(self.replicas), self.workers, self.queue_limit, self.track_inflight,
                          self.speed, self.vcpus)
        replica.registered = False
        self.replicas.append(replica)
        if self.discovery is None:
            self.pick = ReplicaSet.pick.__get__(self)
        return replica

    def register(self, replica: Replica) -> None:
        replica.registered = True
        self.version += 1
        if self.discovery is not None:
            self.discovery.registered(self, replica)

    def retire(self, replica: Replica) -> None:
        """Take *replica* out of discovery; work it holds finishes."""
        replica.registered = False
        self.version += 1
        if self.discovery is not None:
            self.discovery.retired(self, replica)

    def pick(self) -> Replica | None:
        replicas = self.replicas
        n = len(replicas)
        for _ in range(n):
            replica = replicas[self._next % n]
            self._next = (self._next + 1) % n
            if replica.up and replica.registered:
                return replica
        return None
