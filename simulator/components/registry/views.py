"""What the callers of discovered services see: client caches of the registry, and the picker over them.

The registry *publishes* one answer per service (a tuple of replicas): at each change in the
Consul and DNS modes, at each refresh of its response cache in Eureka mode. Each of the
``caches`` client caches copies the published answers every ``period`` seconds, at a phase
of its own drawn uniformly in the first period (a DNS resolver's TTL, a client's fetch
interval); ``period`` 0 is a watch: every publication reaches every cache at once.

A direct call into a discovered service picks a cache uniformly at random (a stream of its
own) and the next replica of that cache's view, round robin. A replica in the view that is
down, or retired, refuses the connection: the call is *misdirected* (counted) and the
station answers ``ERROR`` at once, exactly as when no replica is listed.

The views count, per replica, the caches whose view lists it; when the last one drops a
replica, :attr:`ClientViews.on_gone` is told (the propagation delay of a crash ends there).
"""

from __future__ import annotations

from typing import Callable


class ClientViews:
    """``caches`` copies of the registry's published answers for ``services`` services."""

    def __init__(self, env, services: int, caches: int, period: float, uniform: Callable[[], float],
                 phases: Callable[[], float], on_gone: Callable[[object], None]):
        self.env = env
        self.caches = caches
        self.period = period
        self.published: list[tuple] = [()] * services
        self.views: list[list[tuple]] = [[()] * services for _ in range(caches)]
        self.rotation: list[list[int]] = [[0] * services for _ in range(caches)]
        self.holding: dict[object, int] = {}
        self.uniform = uniform
        self.on_gone = on_gone
        self.reachable = True  # the registry answers fetches (False while it is down)
        if period > 0:
            for cache in range(caches):
                env.process(self._refreshing(cache, phases() * period))

    def publish(self, service: int, answer: tuple) -> None:
        """The registry's answer for *service* is now *answer*; a watch delivers it to every cache at once."""
        self.published[service] = answer
        if self.period == 0:
            for cache in range(self.caches):
                self._copy(cache, service)

    def start(self) -> None:
        """Every cache starts with the answers published so far (the clients fetched at boot)."""
        for cache in range(self.caches):
            for service in range(len(self.published)):
                self._copy(cache, service)

    def _refreshing(self, cache: int, phase: float):
        yield self.env.timeout(phase)
        while True:
            if self.reachable:
                for service in range(len(self.published)):
                    self._copy(cache, service)
            yield self.env.timeout(self.period)

    def _copy(self, cache: int, service: int) -> None:
        old, new = self.views[cache][service], self.published[service]
        if old is new:
            return
        self.views[cache][service] = new
        holding = self.holding
        for replica in new:
            if replica not in old:
                holding[replica] = holding.get(replica, 0) + 1
        for replica in old:
            if replica not in new:
                left = holding[replica] - 1
                holding[replica] = left
                if not left:
                    self.on_gone(replica)

    def picker(self, service: int, misdirected: Callable[[float], None]):
        """The ``pick()`` of a discovered service's replica set: a replica of a random cache's view, or ``None``."""
        env, views, rotation, caches, uniform = self.env, self.views, self.rotation, self.caches, self.uniform

        def pick():
            cache = int(uniform() * caches) if caches > 1 else 0
            view = views[cache][service]
            if not view:
                return None
            turn = rotation[cache]
            k = turn[service]
            turn[service] = k + 1
            replica = view[k % len(view)]
            if replica.up and replica.registered:
                return replica
            misdirected(env.now)  # a stale view: connection refused
            return None

        return pick
