"""Zero trust during the run: the connection a caller opens and the sidecar in front of a callee.

A scenario with ``security:`` gets one :class:`Mesh` (``world.security``; ``None`` without
it, and nothing here runs). :meth:`World.caller <simulator.engine.world.World.caller>`
compiles each hop through it, once, knowing the caller (the component being wired, or
none: a workload's request from outside the mesh) and the callee:

* :meth:`Mesh.sidecar` — the callee's authorization, after the link and before its queue.
  What the policies decide for this caller and operation is decided at build time
  (:func:`~simulator.security.authz.verdict`); a hop they simply allow gets no wrapper. A
  denial is ``REJECTED`` (403). A CUSTOM policy asks its authorizer (:class:`ExtAuthz`).
* :meth:`Mesh.connection` — the pooled connection from caller to callee: a new one pays
  TCP's and, over mTLS, TLS's round trips (golden G20.3) and is refused per golden G20.2
  (``ERROR``); then it carries ``requests_per_connection`` requests.

Calls a kind compiles outside ``World.caller`` (a load balancer's forwards to its backend,
a broker's deliveries to its consumers) and the authorizer's own checks are not secured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ..core.request import ERROR, OK, REJECTED
from .authz import verdict
from .mtls import connects, handshake_rtts

if TYPE_CHECKING:
    from .spec import Policy, Security


class Mesh:
    """The security of one run: counters, the connections, expired certificates, the authorizers."""

    def __init__(self, world, spec: "Security"):
        self.world = world
        self.env = world.env
        self.spec = spec
        self.expired: dict[str, int] = {}  # component -> cert_expired faults on it now
        self.connections: dict[tuple[str, str], list[float]] = {}  # (caller, callee) -> [requests left]
        self._authorizers: dict[int, ExtAuthz] = {}

    def count(self, component: str, name: str) -> Callable[[float], None]:
        return self.world.recorder.spans[component].counter(name)

    # -- certificates -------------------------------------------------------------------
    def expire(self, component: str) -> None:
        """*component*'s certificate expires: its connections close, its new mTLS handshakes fail."""
        self.expired[component] = self.expired.get(component, 0) + 1
        for pair, left in self.connections.items():
            if component in pair:
                left[0] = 0

    def renew(self, component: str) -> None:
        left = self.expired[component] - 1
        if left:
            self.expired[component] = left
        else:
            del self.expired[component]

    # -- the callee's sidecar -----------------------------------------------------------
    def principal(self, source: str | None, callee: str) -> str:
        """The principal *callee* sees for requests from *source* (``""`` over plaintext)."""
        caller_mode = None if source is None else self.spec.mode(source)
        mtls, _ = connects(caller_mode, self.spec.mode(callee))
        return self.spec.principal(source) if mtls and source is not None else ""

    def sidecar(self, handle, source: str | None, callee: str, operation: str):
        """*handle* (the callee's visit) behind its authorization for requests from *source*."""
        principal = self.principal(source, callee)
        v = verdict(self.spec, callee, principal, operation)
        if v.custom is None and v.allowed and not v.audited:
            return handle  # nothing to check: no wrapper, no cost
        denied = self.count(callee, "authz_denied")
        audited = self.count(callee, "authz_audited") if v.audited else None
        check = self.authorizer(v.custom, callee).check if v.custom is not None else None
        allowed, env = v.allowed, self.env

        def guarded(op, request, *replica):
            if audited is not None:
                audited(env.now)
            if check is not None and not (yield from check(principal, operation, request)):
                denied(env.now)
                return REJECTED
            if not allowed:
                denied(env.now)
                return REJECTED
            return (yield from handle(op, request, *replica))

        return guarded

    def authorizer(self, policy: "Policy", callee: str) -> "ExtAuthz":
        key = id(policy)
        if key not in self._authorizers:
            self._authorizers[key] = ExtAuthz(self, policy, callee)
        return self._authorizers[key]

    # -- the caller's connection --------------------------------------------------------
    def connection(self, call, source: str | None, zone: str | None, callee) -> Callable[[Any], Any]:
        """*call* (the hop to *callee*) over the pooled connection from *source* (in *zone*)."""
        spec, env = self.spec, self.env
        caller_mode = None if source is None else spec.mode(source)
        mtls, accepted = connects(caller_mode, spec.mode(callee.name))
        rtts = handshake_rtts(mtls, spec.mtls.tls) if accepted or mtls else 1  # plaintext refused after TCP
        link = self.world.links.between(zone, callee.zone)
        cpu = spec.mtls.handshake_cpu if mtls else 0.0
        per = spec.mtls.requests_per_connection
        carries = float("inf") if per is None else per
        left = self.connections.setdefault((source or "", callee.name), [0])
        handshakes, refused = self.count(callee.name, "handshakes"), self.count(callee.name, "mtls_rejected")
        expired, ends = self.expired, (source, callee.name)

        def connect(request):
            if left[0] >= 1:
                left[0] -= 1
                return (yield from call(request))
            cost = cpu
            if link is not None:
                for _ in range(2 * rtts):
                    cost += link.delay()
            if cost > 0:
                yield env.timeout(cost)
            if not accepted or (mtls and expired and (ends[0] in expired or ends[1] in expired)):
                refused(env.now)
                return ERROR
            handshakes(env.now)
            left[0] = carries - 1
            return (yield from call(request))

        return connect


class ExtAuthz:
    """A CUSTOM policy's external authorizer (Envoy ``ext_authz``), with its decision cache.

    A check is one call to ``provider`` from the callee's zone (not itself secured); ``OK``
    allows, another status denies unless ``failure_mode_allow``. A decision is kept per
    (principal, operation) for ``cache_ttl`` after it was fetched (0: never kept)."""

    def __init__(self, mesh: Mesh, policy: "Policy", callee: str):
        world = mesh.world
        name, _, op = policy.provider.partition(".")
        provider = world.components[name]
        zone = world.components[callee].zone
        self.call = world.hops.between(zone, provider.zone).call(provider.handle, provider.operation_from(op, zone))
        self.env = mesh.env
        self.ttl = policy.cache_ttl
        self.fail_open = policy.failure_mode_allow
        self.cache: dict[tuple[str, str], tuple[float, bool]] = {}
        self.checks = mesh.count(callee, "ext_authz_checks")
        self.hits = mesh.count(callee, "ext_authz_cache_hits")

    def check(self, principal: str, operation: str, request):
        """Whether the authorizer allows (a generator: it may call the authorizer)."""
        now = self.env.now
        cached = self.cache.get((principal, operation))
        if cached is not None and now < cached[0]:
            self.hits(now)
            return cached[1]
        self.checks(now)
        status = yield from self.call(request)
        allowed = status == OK or (status != REJECTED and self.fail_open)  # a 403 denies; a failure per the knob
        if self.ttl > 0:
            self.cache[(principal, operation)] = (self.env.now + self.ttl, allowed)
        return allowed
