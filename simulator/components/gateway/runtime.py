"""``kind: gateway`` — an API gateway: routes operations, authenticates callers, rate-limits them.

The gateway is a small service: ``replicas`` × ``workers`` doing ``work`` per request (plus
the JWT verification's CPU, when ``auth: jwt``) behind a ``queue``, held by a
:class:`~simulator.components.station.Station`. The worker is freed after its work (an
event loop, as Envoy and nginx), and the request then goes through, in order:

1. **introspection** (``auth: introspection``): a client's cached decision younger than
   ``cache_ttl`` is a hit (``auth_cache_hits``); otherwise the gateway calls the auth
   service (``auth_cache_misses``) and caches an OK answer; a failed call fails the
   request (``auth_failures``, ERROR);
2. **limits**: the gateway's ``limit`` list, then the route's, each asked for the key of
   its ``key`` (client, workload or global). A ``shared`` limit first calls its ``store``
   (``limit_store_calls``; a failure lets the request through: ``limit_store_errors``)
   and then decides on the one counter of all replicas; a ``local`` one decides on this
   replica's own counter. A refused request is REJECTED at once (``throttled``); a
   delayed one (nginx ``burst`` without ``nodelay``, resilience4j waiting) waits the
   delay (``delayed``) and goes on; one passing all limits is ``admitted``;
3. **forward**: the route's ``to``, across the network hop; its status is the answer.

A client is ``(workload, request key)``: the workload's ``keys:`` name its clients (a
workload without keys is one client). The limiter algorithms are :mod:`simulator.ratelimit`.
"""

from __future__ import annotations

from typing import Any, Generator

from ...core.request import ERROR, OK, REJECTED
from ...core.sampling import is_zero, sampler
from ...ratelimit import GCRA, FixedWindow, LeakyBucket, Limiter, SlidingWindow, TokenBucket
from ..base import Component
from ..station import Operation, event_loop
from .spec import IntrospectionAuth, JwtAuth


def make_limiter(limit) -> Limiter:
    """A fresh limiter (one key's state) for the limit spec *limit*."""
    algorithm = limit.algorithm
    if algorithm == "token_bucket":
        return TokenBucket(limit.burst, limit.rate, limit.fill_interval)
    if algorithm == "gcra":
        return GCRA(limit.burst, limit.rate, 1.0)
    if algorithm == "nginx":
        return LeakyBucket(limit.rate, limit.burst, limit.delay, limit.nodelay)
    if algorithm == "fixed_window":
        return FixedWindow(limit.limit_for_period, limit.limit_refresh_period, limit.timeout_duration)
    return SlidingWindow(limit.limit, limit.window)


class Limits:
    """One limit's counters: a limiter per key, for one replica (local) or the whole gateway (shared)."""

    def __init__(self, spec):
        self.spec = spec
        self.by_key: dict[Any, Limiter] = {}

    def decide(self, key, now: float) -> float | None:
        limiter = self.by_key.get(key)
        if limiter is None:
            limiter = self.by_key[key] = make_limiter(self.spec)
        return limiter.decide(now)


def key_of(kind: str, request) -> Any:
    if kind == "client":
        return request.workload, request.key
    if kind == "workload":
        return request.workload
    return None


class Gateway(Component):
    kind = "gateway"

    def __init__(self, name, spec, world):
        super().__init__(name, spec, world)
        self.env = world.env
        event_loop(self, spec, world)
        if isinstance(spec.auth, JwtAuth) and not is_zero(spec.auth.work):
            verify = sampler(spec.auth.work, world.rng(f"{name}/auth/work"))
            for op in self.ops.values():  # the verification is CPU on the worker, after the gateway's own work
                op.work = verify if op.work is None else (lambda own=op.work: own() + verify())
        self.log.facts["auth"] = "none" if spec.auth is None else spec.auth.kind
        counter = self.log.counter
        self.count_throttled, self.count_admitted = counter("throttled"), counter("admitted")
        self.count_delayed = counter("delayed") if spec.may_delay else None
        shared = any(limit.scope == "shared" for limit in spec.limits.values())
        self.count_store = counter("limit_store_calls") if shared else None
        self.count_store_errors = counter("limit_store_errors") if shared else None
        self.introspecting = isinstance(spec.auth, IntrospectionAuth)
        if self.introspecting:
            self.count_hit, self.count_miss = counter("auth_cache_hits"), counter("auth_cache_misses")
            self.count_auth_failure = counter("auth_failures")
        self.decisions: dict[Any, float] = {}  # client -> when its cached introspection expires
        # a limit's counters: one for all replicas (shared), or one per replica (local)
        self.shared = {n: Limits(l) for n, l in spec.limits.items() if l.scope == "shared"}
        self.local = [{n: Limits(l) for n, l in spec.limits.items() if l.scope == "local"}
                      for _ in self.replicas.replicas]

    def operation(self, name: str) -> list[Operation]:
        return self.per_replica[name]

    def handle(self, ops: list[Operation], request) -> Generator[Any, Any, int]:
        replica = self.replicas.pick()
        if replica is None:  # none up: the station records the failed visit
            return (yield from self.station.visit(ops[0], request))
        return (yield from self.station.visit(ops[replica.index], request, replica))

    def finish(self, now: float) -> None:
        self.station.finish(now)

    def wire(self) -> None:
        spec, world = self.spec, self.world
        stores = {l.store: world.caller(self.zone, l.store) for l in spec.limits.values() if l.store is not None}
        self.introspect = world.caller(self.zone, spec.auth.call) if self.introspecting else None
        self.per_replica: dict[str, list[Operation]] = {}
        for op_name, route in spec.routes.items():
            forward = world.caller(self.zone, route.to)
            op = self.ops[op_name]
            self.per_replica[op_name] = [
                Operation(op_name, op.index, op.work, self._body(
                    [(spec.limits[n], self.shared.get(n) or counters[n], stores.get(spec.limits[n].store))
                     for n in spec.limits_of(op_name)], forward))
                for counters in self.local]

    def _body(self, limits, forward):
        env = self.env
        introspect = self.introspect

        def body(request) -> Generator[Any, Any, int]:
            if introspect is not None:
                status = yield from self._authenticate(request)
                if status != OK:
                    return status
            for limit, counters, store in limits:
                if store is not None:
                    self.count_store(env.now)
                    if (yield from store(request)) != OK:
                        self.count_store_errors(env.now)
                        continue  # fail open: the request is not limited by a store it cannot reach
                delay = counters.decide(key_of(limit.key, request), env.now)
                if delay is None:
                    self.count_throttled(env.now)
                    return REJECTED
                if delay > 0:
                    self.count_delayed(env.now)
                    yield env.timeout(delay)
            self.count_admitted(env.now)
            return (yield from forward(request))

        return body

    def _authenticate(self, request) -> Generator[Any, Any, int]:
        env = self.env
        client = (request.workload, request.key)
        ttl = self.spec.auth.cache_ttl
        if ttl is not None and self.decisions.get(client, -1.0) > env.now:
            self.count_hit(env.now)
            return OK
        self.count_miss(env.now)
        status = yield from self.introspect(request)
        if status != OK:
            self.count_auth_failure(env.now)
            return ERROR
        if ttl is not None:
            self.decisions[client] = env.now + ttl
        return OK


RUNTIME = Gateway
