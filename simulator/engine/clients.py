"""Workload generators: the clients that send requests and measure their latency.

* **Open loop** (``poisson``): arrivals follow a Poisson process whose rate may follow a
  profile (non-homogeneous Poisson by thinning, exact); arrivals never wait for responses.
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
from ..core.profile import peak, rate_function
from ..core.process import guarded
from ..core.request import ERROR, TIMEOUT, Request
from ..core.sampling import Buffered, is_zero, key_sampler, sampler

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
        mix = spec.operations()
        self.calls = [world.caller(spec.zone, f"{spec.entry}.{op}") for op in mix]
        self.op_ids = [operation_ids[(spec.entry, op)] for op in mix]
        self.cumulative = list(accumulate(mix.values()))
        self.choose = world.uniform(f"workload/{spec.name}/mix") if len(mix) > 1 else None
        self.key = key_sampler(spec.keys, world.rng(f"workload/{spec.name}/keys")) if spec.keys else None
        self.pending = world.pending
        self.record = world.recorder.request_done

    def send(self):
        """Issue one request and wait for its outcome (a process body, or ``yield from`` it)."""
        env, world = self.env, self.world
        choice = 0 if self.choose is None else min(bisect_right(self.cumulative, self.choose()), len(self.calls) - 1)
        world.issued += 1
        request = Request(world.issued, env.now, self.index, self.op_ids[choice],
                          0 if self.key is None else self.key())
        call = self.calls[choice]
        self.pending[request.id] = request
        try:
            if self.timeout is None:
                status = yield from call(request)
            else:
                process = env.process(guarded(call(request)))
                yield process | env.timeout(self.timeout)
                status = process.value if process.triggered else TIMEOUT
        except simpy.Interrupt:
            status = ERROR  # defensive: a crash interrupt that no component claimed
        del self.pending[request.id]
        self.record(request.t_issue, env.now, status, self.index, request.operation)
        if not self.pending and env.now >= self.stop:
            self.world.drained()


class OpenLoop(Client):
    def start(self) -> None:
        arrivals = self.spec.arrivals
        top = peak(arrivals.rate, self.spec.profile)
        if top > 0:
            self.env.process(self.arrive(top))

    def arrive(self, top: float):
        env, send, stop = self.env, self.send, self.stop
        name = self.spec.name
        gap = Buffered(lambda r, n: r.exponential(1.0 / top, n), self.world.rng(f"workload/{name}/arrivals"))
        thin = None
        if self.spec.profile:
            rate_at = rate_function(self.spec.arrivals.rate, self.spec.profile)
            accept = self.world.uniform(f"workload/{name}/thinning")
            thin = lambda t: accept() * top >= rate_at(t)
        while True:
            yield env.timeout(gap())
            if env.now >= stop:
                return
            if thin is not None and thin(env.now):
                continue
            env.process(send())


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
            if env.now >= stop:
                return
            yield from self.send()


def make_clients(world: "World") -> list[Client]:
    ids: dict[tuple[str, str], int] = {}
    for w in world.scenario.workload:
        for op in w.operations():
            ids.setdefault((w.entry, op), len(ids))
    world.operation_keys = list(ids)
    clients = []
    for i, spec in enumerate(world.scenario.workload):
        cls = ClosedLoop if isinstance(spec.arrivals, Closed) else OpenLoop
        client = cls(world, i, spec, ids)
        client.start()
        clients.append(client)
    return clients
