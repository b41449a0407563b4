"""Workload generators: the clients that send requests and measure their latency.

* **Open loop** (``poisson``): arrivals follow a Poisson process whose rate may follow a
  profile (non-homogeneous Poisson, exact: inversion over the profile's pieces, thinning on ramps); arrivals never wait for responses.
* **Closed loop** (``closed``): ``users`` each think, send, wait for the response, repeat.
  Each user starts with a think time, so starts are staggered.

Each request picks its operation from the workload's ``mix`` and a key from ``keys``. With
a ``timeout`` the client stops waiting and records ``TIMEOUT``; the work downstream goes
on. Clients stop sending at ``duration``. Latency is measured here: end − issue.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate
from typing import TYPE_CHECKING

import simpy

from ..scenario.model import Closed, Workload
from ..core.profile import pieces, rate_function
from ..core.process import Detached, guarded
from ..core.request import ERROR, TIMEOUT, Deadlined, Request
from ..core.sampling import buffered, is_zero, key_sampler, sampler
from .expiry import Expiry

if TYPE_CHECKING:
    from .world import World


class Client:
    """What open- and closed-loop workloads share: building, sending and recording a request."""

    def __init__(self, world: "World", index: int, spec: Workload, operation_ids: dict[tuple[str, str], int]):
        self.world = world
        self.env = world.env
        self.index = index
        self.spec = spec
        self.stop = world.scenario.duration
        self.timeout = spec.timeout
        # deadline propagation: requests carry the client's deadline only where a component reads it
        self.deadlines = spec.timeout is not None and reads_deadlines(world.scenario)
        mix = spec.operations()
        self.calls = [world.caller(spec.zone, f"{spec.entry}.{op}") for op in mix]
        self.op_ids = [operation_ids[(spec.entry, op)] for op in mix]
        self.cumulative = list(accumulate(mix.values()))
        self.choose = world.uniform(f"workload/{spec.name}/mix") if len(mix) > 1 else None
        self.key = key_sampler(spec.keys, world.rng(f"workload/{spec.name}/keys")) if spec.keys else None
        self.pending = world.pending
        self.record = world.recorder.request_done

    def issue(self):
        """A new request (its operation and key drawn) and the call that serves it."""
        choice = 0 if self.choose is None else min(bisect_right(self.cumulative, self.choose()), len(self.calls) - 1)
        world = self.world
        world.issued += 1
        if self.deadlines:
            request = Deadlined(world.issued, self.env._now, self.index, self.op_ids[choice],
                                0 if self.key is None else self.key(), self.env._now + self.timeout)
        else:
            request = Request(world.issued, self.env._now, self.index, self.op_ids[choice],
                              0 if self.key is None else self.key())
        if world.tracer is not None:
            request = world.tracer.begin(request)
        self.pending[request.id] = request
        return request, self.calls[choice]

    def done(self, request: Request, status: int) -> None:
        """Record *request*'s outcome, once: a later outcome (after a time-out) is dropped."""
        if self.pending.pop(request.id, None) is None:
            return
        now = self.env._now
        self.record(request.t_issue, now, status, self.index, request.operation)
        if request.span is not None:
            self.world.tracer.root(request, now, status)
        if not self.pending and now >= self.stop:
            self.world.drained()

    def send(self):
        """Issue one request and wait for its outcome or the time-out (a process body, or ``yield from`` it)."""
        env = self.env
        request, call = self.issue()
        try:
            if self.timeout is None:
                status = yield from call(request)
            else:
                process = env.process(guarded(call(request)))
                yield process | env.timeout(self.timeout)
                status = process.value if process.triggered else TIMEOUT
        except simpy.Interrupt:
            status = ERROR  # defensive: a crash interrupt that no component claimed
        self.done(request, status)


def reads_deadlines(scenario) -> bool:
    """Whether a component drops expired work (``drop_expired``): only then do requests carry deadlines."""
    return any(getattr(spec, "drop_expired", False) for spec in scenario.components.values())


class OpenLoop(Client):
    def start(self) -> None:
        self.expiry = None if self.timeout is None else Expiry(self.env, self.timeout, self.timed_out, self.pending)
        arrivals = self.spec.arrivals
        if self.spec.profile:
            self.env.process(self.arrive_profiled())
        elif arrivals.rate > 0:
            self.arrive(arrivals.rate)

    def fire(self):
        """Issue one request and serve it in this process; nobody waits for it (a
        :class:`~simulator.core.process.Detached` process, started in the source's turn).

        A time-out records ``TIMEOUT`` at the deadline (:class:`~simulator.engine.expiry.Expiry`:
        one event for the client's oldest unanswered request, not one per request); the call
        goes on and its own outcome is then dropped (same outcome as :meth:`send`).
        """
        request, call = self.issue()
        if self.expiry is not None:
            self.expiry.watch(request)
        try:
            status = yield from call(request)
        except simpy.Interrupt:
            status = ERROR  # defensive: a crash interrupt that no component claimed
        self.done(request, status)

    def timed_out(self, request: Request) -> None:
        self.done(request, TIMEOUT)

    def arrive(self, rate: float) -> None:
        """A homogeneous Poisson process: exponential gaps of mean 1/rate.

        Each arrival is a timeout whose callback starts the request and sets the next
        timeout (no process of its own: an arrival costs one event and no generator)."""
        env, fire, stop = self.env, self.fire, self.stop
        gap = buffered(lambda r, n: r.exponential(1.0 / rate, n), self.world.rng(f"workload/{self.spec.name}/arrivals"))

        def arrived(_event) -> None:
            if env._now >= stop:
                return
            Detached(env, fire(), now=True)  # next: wait a gap, so starting the request at once reorders nothing
            env.timeout(gap()).callbacks.append(arrived)

        env.timeout(gap()).callbacks.append(arrived)

    def arrive_profiled(self):
        """A non-homogeneous Poisson process, exact, by inversion and thinning.

        Unit-rate exponential "mass" is spent at each piece's highest rate, carried over
        piece boundaries (time rescaling); where the rate is constant every candidate is an
        arrival, where it ramps a candidate at t is kept with probability rate(t)/top.
        """
        env, fire = self.env, self.fire
        name = self.spec.name
        unit = buffered(lambda r, n: r.exponential(1.0, n), self.world.rng(f"workload/{name}/arrivals"))
        base, profile = self.spec.arrivals.rate, self.spec.profile
        plan = pieces(base, profile, self.stop)
        rate_at = rate_function(base, profile)
        accept = self.world.uniform(f"workload/{name}/thinning")
        mass, t = unit(), 0.0
        for _, end, top, constant in plan:
            while top > 0 and t + mass / top < end:
                t += mass / top
                yield env.timeout(t - env._now)
                if constant or accept() * top < rate_at(t):
                    Detached(env, fire(), now=True)
                mass = unit()
            if top > 0:
                mass = max(mass - (end - t) * top, 0.0)
            t = end


class ClosedLoop(Client):
    def start(self) -> None:
        think = self.spec.arrivals.think
        self.think = None if is_zero(think) else sampler(think, self.world.rng(f"workload/{self.spec.name}/think"))
        for _ in range(self.spec.arrivals.users):
            self.env.process(self.user())

    def user(self):
        env, think, stop = self.env, self.think, self.stop
        while True:
            if think is not None:
                yield env.timeout(think())
            if env._now >= stop:
                return
            sent = env._now
            yield from self.send()
            if think is None and env._now == sent:
                # no think time and an answer in no time: without an event here this loop would
                # never give the clock back; with it, the stall detector (engine/clock.py) sees it
                yield env.timeout(0)


def make_clients(world: "World") -> list[Client]:
    ids: dict[tuple[str, str], int] = {}
    for w in world.scenario.workload:
        for op in w.operations():
            ids.setdefault((w.entry, op), len(ids))
    world.operation_keys = list(ids)
    if world.tracer is not None:
        world.tracer.entry_codes = [world.tracer.code(f"{c}.{op}") for c, op in ids]
    clients = []
    for i, spec in enumerate(world.scenario.workload):
        cls = ClosedLoop if isinstance(spec.arrivals, Closed) else OpenLoop
        client = cls(world, i, spec, ids)
        client.start()
        clients.append(client)
    return clients
