"""``kind: load_balancer`` — spreads a service's traffic over its replicas (nginx, Envoy, an ALB).

The balancer is itself a small service: ``replicas`` × ``workers`` doing ``work`` per
request (its own CPU; an event loop, so the worker is freed while the request is
upstream) behind a ``queue``. Then it forwards the request to the backend replica its
policy picks (:mod:`simulator.balancing.policies`), across the network hop to the
backend's zone (:mod:`simulator.engine.network`), and returns the backend's answer.

Its view of the backend (what Envoy calls host health):

* **registered** — hosts service discovery lists (ready replicas; an autoscaler adds and
  retires them);
* **active health checks** (``health_check``) — every ``interval`` each host is probed; a
  probe fails when the host is down or the round trip exceeds ``timeout``;
  ``unhealthy_threshold`` consecutive failures take it out, ``healthy_threshold``
  consecutive successes bring it back;
* **outlier ejection** (``outlier_detection``) — ``consecutive_errors`` failed answers
  (errors and rejections) in a row eject a host for ``base_ejection_time`` × the times it
  was ejected, at most ``max_ejection_percent`` of the hosts at once (at least one);
* **panic** — when fewer than ``panic_threshold`` of the registered hosts are usable, the
  balancer ignores health and uses them all (Envoy's ``healthy_panic_threshold``); with
  threshold 0 and nothing usable it answers an error ("no healthy upstream").

Without health checking a crashed replica keeps getting its share, and those requests
fail at once (connection refused) — unless ``retries`` lets the balancer try another host
after a *gateway failure* (a refused connection or a 503), as nginx's
``proxy_next_upstream`` and Envoy's ``retry_on: connect-failure,gateway-error`` do. Each
retry goes to a host not tried yet for that request.

Tallies: ``sent:<replica>`` per forwarded attempt, ``retries``, ``ejections``,
``marked_unhealthy``, ``marked_healthy``, ``panic`` (requests routed in panic mode),
``no_healthy_upstream``, ``over_max_connections``.
"""

from __future__ import annotations

from typing import Any, Generator

from ...balancing import make_policy
from ...core.request import ERROR, OK, REJECTED
from ..base import Component
from ..station import Operation, event_loop


class LoadBalancer(Component):
    kind = "load_balancer"

    def __init__(self, name, spec, world):
        super().__init__(name, spec, world)
        self.env = world.env
        # an event loop: the worker is free while the request is upstream
        event_loop(self, spec, world)
        self.handle = self.station.visit  # a call is one visit: bound directly, no frame of our own

    def operation(self, name: str) -> Operation:
        return self.ops[name]

    def finish(self, now: float) -> None:
        self.station.finish(now)

    def wire(self) -> None:
        spec, world = self.spec, self.world
        self.backend = world.components[spec.backend]
        self.hosts = self.backend.replicas
        self.hop = world.hops.between(self.zone, self.backend.zone)
        self.link = world.links.between(self.zone, self.backend.zone)  # what a health probe's round trip pays
        self.policy = make_policy(spec.policy, spec.weights or [], world.uniform(f"{self.name}/policy"),
                                  **self._policy_knobs())
        n = len(self.hosts.replicas)
        self.active: list[int] = [0] * n
        self.healthy: list[bool] = [True] * n
        self.ejected_until: list[float] = [0.0] * n
        self.ejections_of: list[int] = [0] * n
        self.error_streak: list[int] = [0] * n
        self.outstanding = 0
        self.version = 0
        self._cache_key: tuple | None = None
        self._eligible: list[int] = []
        self._panic = False
        self._next_uneject = float("inf")
        self.sent = []
        self.count_panic = self.log.counter("panic")
        self.count_no_upstream = self.log.counter("no_healthy_upstream")
        self.count_over_max = self.log.counter("over_max_connections") if spec.max_connections else None
        self.count_retry = self.log.counter("retries") if spec.retries else None
        self.count_ejection = self.log.counter("ejections") if spec.outlier_detection else None
        for op_name, op in self.ops.items():  # a proxy answers with its upstream's own status (a 503 stays REJECTED)
            op.body = self._forwarder(self.backend.operation(op_name))
        if spec.health_check is not None:
            self.count_unhealthy = self.log.counter("marked_unhealthy")
            self.count_healthy = self.log.counter("marked_healthy")
            self.env.process(self._health_checks(spec.health_check))

    def _policy_knobs(self) -> dict[str, Any]:
        spec = self.spec
        return {"least_request": {"choice_count": spec.choice_count, "active_request_bias": spec.active_request_bias},
                "ring_hash": {"virtual_nodes": spec.virtual_nodes},
                "maglev": {"table_size": spec.table_size}}.get(spec.policy, {})

    # -- the hosts' state as this balancer sees it ------------------------------------------------
    def _grow(self) -> None:
        """Hosts added by an autoscaler since the last look: healthy, nothing outstanding."""
        n = len(self.hosts.replicas)
        for table, fill in ((self.active, 0), (self.healthy, True), (self.ejected_until, 0.0),
                            (self.ejections_of, 0), (self.error_streak, 0)):
            table.extend([fill] * (n - len(table)))

    def usable(self) -> tuple[list[int], bool]:
        """(hosts to pick from, panic?) — recomputed only when discovery, health or ejections change."""
        now = self.env.now
        if now >= self._next_uneject:
            self.version += 1
        key = (self.hosts.version, self.version)
        if key != self._cache_key:
            self._cache_key = key
            self._grow()
            registered = [r.index for r in self.hosts.replicas if r.registered]
            good = [h for h in registered if self.healthy[h] and self.ejected_until[h] <= now]
            later = [t for h, t in enumerate(self.ejected_until) if t > now]
            self._next_uneject = min(later) if later else float("inf")
            if len(good) < self.spec.panic_threshold * len(registered):
                self._eligible, self._panic = registered, True
            else:
                self._eligible, self._panic = good, False
        return self._eligible, self._panic

    def _counter_for(self, host: int):
        while len(self.sent) <= host:
            self.sent.append(self.log.counter(f"sent:{len(self.sent)}"))
        return self.sent[host]

    # -- forwarding ---------------------------------------------------------------------------------
    def _forwarder(self, backend_op):
        env = self.env
        upstream = self.hop.pinned(self.backend.handle, backend_op)  # across the network to the replica picked
        limit = self.spec.max_connections
        outlier = self.spec.outlier_detection
        retries = self.spec.retries

        def forward(request) -> Generator[Any, Any, int]:
            eligible, panic = self.usable()
            now = env.now
            if not eligible:
                self.count_no_upstream(now)
                return ERROR
            if limit is not None and self.outstanding >= limit:
                self.count_over_max(now)
                return REJECTED
            if panic:
                self.count_panic(now)
            tried: list[int] = []
            while True:
                hosts = [h for h in eligible if h not in tried] if tried else eligible
                host = self.policy.pick(hosts, self.active, request.key)
                self._counter_for(host)(env.now)
                replica = self.hosts.replicas[host]
                refused = not replica.up  # a dead host refuses the connection
                active = self.active
                active[host] += 1
                self.outstanding += 1
                try:
                    status = yield from upstream(request, replica)
                finally:
                    active[host] -= 1
                    self.outstanding -= 1
                gateway_failure = refused or status == REJECTED
                if outlier is not None:
                    self._observe(host, status, gateway_failure, outlier)
                tried.append(host)
                if not gateway_failure or len(tried) > retries or len(tried) >= len(eligible):
                    return status
                self.count_retry(env.now)

        return forward

    def _observe(self, host: int, status: int, gateway_failure: bool, outlier) -> None:
        """Passive health: count consecutive failed answers and eject a host that has too many.

        ``failures: any`` counts every error or rejection (Envoy ``consecutive_5xx``);
        ``failures: gateway`` only refused connections and 503s (``consecutive_gateway_failure``),
        so an application error does not eject a healthy host.
        """
        if status == OK:
            self.error_streak[host] = 0
            return
        if status not in (ERROR, REJECTED) or (outlier.failures == "gateway" and not gateway_failure):
            return
        self.error_streak[host] += 1
        now = self.env.now
        if self.error_streak[host] < outlier.consecutive_errors or self.ejected_until[host] > now:
            return
        hosts = sum(1 for r in self.hosts.replicas if r.registered)
        ejected = sum(1 for t in self.ejected_until if t > now)
        if ejected >= max(1, int(hosts * outlier.max_ejection_percent / 100.0)):
            return
        self.ejections_of[host] += 1
        self.ejected_until[host] = now + outlier.base_ejection_time * self.ejections_of[host]
        self.error_streak[host] = 0
        self.version += 1
        self.count_ejection(now)

    # -- active health checking ---------------------------------------------------------------------
    def _health_checks(self, check):
        env, link = self.env, self.link
        fails: list[int] = []
        passes: list[int] = []
        while True:
            yield env.timeout(check.interval)
            self._grow()
            now = env.now
            for replica in self.hosts.replicas:
                h = replica.index
                while len(fails) <= h:
                    fails.append(0)
                    passes.append(0)
                rtt = 0.0 if link is None else link.delay() + link.delay()
                ok = replica.up and rtt <= check.timeout
                if ok:
                    fails[h], passes[h] = 0, passes[h] + 1
                    if not self.healthy[h] and passes[h] >= check.healthy_threshold:
                        self.healthy[h] = True
                        self.version += 1
                        self.count_healthy(now)
                else:
                    fails[h], passes[h] = fails[h] + 1, 0
                    if self.healthy[h] and fails[h] >= check.unhealthy_threshold:
                        self.healthy[h] = False
                        self.version += 1
                        self.count_unhealthy(now)


RUNTIME = LoadBalancer
