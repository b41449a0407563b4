"""The spec of ``kind: registry``: service discovery, Consul-, Eureka- or DNS-style (pure data).

The semantics are on :class:`RegistrySpec`; how a run plays them is in :mod:`.runtime`
(the registry's side) and :mod:`.views` (what the callers see). Knob names are Consul's
and Eureka's (golden §9.1).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Mapping

from pydantic import Field, model_validator

from ...metrics.descriptors import Counter, Fact, Metric
from ...scenario.kinds import ComponentBase, Problems
from ...scenario.types import Duration, PositiveDuration, Strict

MODES = ("ttl", "health_check", "eureka", "dns")
OPERATION = "register"
"""The one operation of a registry: the instances' registration and heartbeat endpoint. A service with
``discovery:`` names it as an implicit asynchronous call (the diagram's edge); a call to it answers at once."""
CONSUL_KNOBS = ("deregister_critical_service_after",)
MODE_KNOBS = {
    "ttl": ("ttl", "heartbeat", *CONSUL_KNOBS),
    "health_check": ("interval", "timeout", "failures_before_critical", "success_before_passing", *CONSUL_KNOBS),
    "eureka": ("lease_renewal_interval", "lease_expiration_duration", "eviction_interval",
               "response_cache_update_interval", "self_preservation", "renewal_percent_threshold"),
    "dns": (),
}
"""The knobs each mode reads; giving another mode's knob is an error (it would silently do nothing)."""
DELAY_FACTS = ("detection_delay_mean", "detection_delay_max", "propagation_delay_mean", "propagation_delay_max")
"""Per crash of a registered replica: crash → no longer listed by the registry (detection) and crash → gone
from the last client view (propagation), in seconds, over the crashes whose delay ended in the run."""
EVENTS = ("registered", "passing", "critical", "deregistered", "evicted", "crashed", "propagated",
          "self_preservation_on", "self_preservation_off")
"""The events of the record table ``registry_events``: an instance registered, listed again, gone
critical, deregistered (gracefully, by ``deregister_critical_service_after``, or a DNS record
removed), evicted (Eureka); its replica crashed; the crash gone from the last client view;
self-preservation on or off."""
MIN_DEREGISTER_AFTER = 60.0
"""Consul's floor for ``deregister_critical_service_after`` (1 minute; golden §9.1)."""


def _eureka(spec: Any, scenario: Any) -> bool:
    return spec.mode == "eureka"


class Client(Strict):
    """How the callers of the discovered services see the registry: ``caches`` independent client caches.

    Each cache holds a copy of the registry's answer (its *view*) and refreshes it every
    ``fetch_interval`` (a polling client: Eureka's ``registry-fetch-interval-seconds``, a
    Consul catalog poll) or every ``ttl`` (a DNS resolver keeping an answer for the record's
    TTL), at a phase of its own drawn uniformly at random in the first period. ``fetch_interval:
    0`` is a watch (Consul blocking queries): every change the registry publishes reaches every
    cache at once. A request picks one cache uniformly at random and round-robins over the
    replicas in that cache's view.
    """

    fetch_interval: Duration | None = None
    ttl: PositiveDuration | None = None
    caches: Annotated[int, Field(ge=1, le=100_000)] = 1

    @model_validator(mode="after")
    def _one_period(self):
        if self.fetch_interval is not None and self.ttl is not None:
            raise ValueError("give fetch_interval (a polling client) or ttl (a DNS resolver), not both")
        return self

    @property
    def period(self) -> float:
        """Seconds between two refreshes of one cache (0: a watch); 30 s (Eureka's default) when not given."""
        if self.ttl is not None:
            return self.ttl
        return 30.0 if self.fetch_interval is None else self.fetch_interval


class RegistrySpec(ComponentBase):
    """A service registry: the replicas of every service with ``discovery: <this registry>`` register
    when they start; the registry lists those it believes healthy; callers route by their cached view.

    **Modes** (how the registry learns that an instance is gone):

    * ``ttl`` — Consul TTL checks: each instance passes its check every ``heartbeat`` (from its
      registration on); a check not passed for ``ttl`` goes **critical** and the instance is no
      longer listed. A crash at a random time is detected ``Uniform[ttl − heartbeat, ttl]`` later
      (golden G9.1). The next pass lists it again.
    * ``health_check`` — Consul HTTP/TCP checks: the registry probes each instance every
      ``interval``; a probe of an instance that is down fails after ``timeout``;
      ``failures_before_critical`` failures in a row make it critical, ``success_before_passing``
      passes in a row list it again.
    * ``eureka`` — Netflix Eureka: instances renew their lease every ``lease_renewal_interval``;
      ``renew()`` sets the last update to now + ``lease_expiration_duration`` and a lease
      expires when now > last update + duration, so a dead instance expires after 2 × duration
      (180 s, not 90 s: golden G9.2). The evictor runs every ``eviction_interval`` and evicts
      expired leases, at most the registry's size − ⌊size × ``renewal_percent_threshold``⌋ per run
      (drawn at random, as Eureka). **Self-preservation** (``self_preservation: true``): the
      expected renewals per minute are the registered instances × 60 / ``lease_renewal_interval``
      and the threshold is ⌊expected × ``renewal_percent_threshold``⌋ (170 for 100 instances:
      golden G9.3); the evictor evicts only when the renewals counted in the last full minute exceed the
      threshold (Eureka's ``isLeaseExpirationEnabled``), so in the first minute nothing is evicted.
      A cancel or an eviction lowers the expected count (Eureka's ``internalCancel``). Clients
      read the server's response cache, refreshed every ``response_cache_update_interval``: worst case a dead
      instance is in a client's view 180 + 60 + 30 + 30 = 300 s (golden G9.2).
    * ``dns`` — DNS records that follow the instances at once (an orchestrator updates them):
      detection takes 0 s; the staleness is the resolvers' cache, ``client.ttl`` (golden G9.4).

    Renewals, passes and probes cross the network between the instance's zone and the registry's:
    a partition between them loses them (so a partition can trigger Eureka's self-preservation).
    A **graceful stop** (a ``stop`` fault, an autoscaler's scale-down) deregisters the instance at
    once (Consul deregister, Eureka cancel); a **crash** does not: it is listed until detected.
    With ``deregister_critical_service_after`` (Consul, at least 1 minute) an instance critical that
    long is deregistered (its agent forgets it: it comes back when its replica restarts). A replica that restarts registers again (and passes at once in ``ttl``).

    **Callers** follow a cached view (:class:`Client`): a direct call into a discovered service
    goes to a replica of its cache's view; when that replica is down (or retired) the call is
    **misdirected**: it fails at once as ``ERROR`` (connection refused), counted ``misdirected``
    on this registry. A load balancer in front keeps its own health checks.

    A crash of the registry itself: while it is down nothing reaches it (registrations, renewals,
    passes and probes are lost) and clients keep their cached views; its own timers keep running.
    """

    kind: Literal["registry"] = "registry"
    metrics: ClassVar[tuple[Metric, ...]] = (
        *(Counter(n) for n in ("registrations", "deregistrations", "criticals", "misdirected")),
        Counter("evictions", when=_eureka),
        *(Fact(n, record=True) for n in (*DELAY_FACTS, "failures_detected", "failures_propagated")),
        *(Fact(n, record=True, when=_eureka) for n in ("self_preservation_seconds", "renewal_threshold",
                                                       "renewals_last_minute")),
        Fact("mode", in_words=True),
    )
    """Counters (window): instances registered (at the start, on restart, on scale-up), deregistered
    (gracefully, or by ``deregister_critical_service_after``), gone critical (ttl, health_check),
    evicted (eureka), and misdirected calls (sent by a stale view to a replica that is down, summed over
    the services this registry serves). Facts (whole run): the detection and propagation delays of
    crashes (mean, max; how many ended), and in Eureka mode the seconds self-preservation held
    evictions back, the renewal threshold and the renewals of the last full minute at the end."""
    mode: Literal["ttl", "health_check", "eureka", "dns"] = "ttl"
    ttl: PositiveDuration | None = Field(None, description="ttl mode: a check not passed for this long goes critical")
    heartbeat: PositiveDuration | None = Field(None, description="ttl mode: how often each instance passes its check")
    interval: PositiveDuration | None = Field(None, description="health_check mode: probe period per instance")
    timeout: PositiveDuration = Field(10.0, description="health_check mode: a probe of a dead instance fails after it")
    failures_before_critical: Annotated[int, Field(ge=1)] = 1
    success_before_passing: Annotated[int, Field(ge=1)] = 1
    deregister_critical_service_after: PositiveDuration | None = None
    lease_renewal_interval: PositiveDuration = 30.0
    lease_expiration_duration: PositiveDuration = 90.0
    eviction_interval: PositiveDuration = 60.0
    response_cache_update_interval: PositiveDuration = 30.0
    self_preservation: bool = True
    renewal_percent_threshold: Annotated[float, Field(gt=0, le=1)] = 0.85
    client: Client = Client()

    @model_validator(mode="after")
    def _knobs(self):
        mine, given = MODE_KNOBS[self.mode], self.model_fields_set
        stray: dict[str, list[str]] = {}  # owning modes -> the knobs given, in field order
        for knob in type(self).model_fields:
            owners = [mode for mode, knobs in MODE_KNOBS.items() if knob in knobs]
            if knob in given and owners and knob not in mine:
                stray.setdefault(" or ".join(owners), []).append(knob)
        if stray:
            raise ValueError("; ".join(f"{', '.join(knobs)} {'applies' if len(knobs) == 1 else 'apply'} only with "
                                       f"mode: {owners}" for owners, knobs in stray.items())
                             + f" (this registry's mode is {self.mode})")
        if self.mode == "ttl":
            if self.ttl is None or self.heartbeat is None:
                raise ValueError("mode: ttl needs ttl (when a check not passed goes critical) and heartbeat "
                                 "(how often instances pass it), e.g. ttl: 15s, heartbeat: 10s")
            if self.heartbeat >= self.ttl:
                raise ValueError(f"heartbeat ({self.heartbeat:g} s) must be shorter than ttl ({self.ttl:g} s), or "
                                 "every instance would go critical between two passes")
        if self.mode == "health_check" and self.interval is None:
            raise ValueError("mode: health_check needs interval (how often the registry probes each instance)")
        if self.mode == "eureka" and self.client.ttl is not None:
            raise ValueError("a Eureka client fetches the registry (client.fetch_interval), it does not resolve DNS "
                             "(client.ttl)")
        if self.mode == "dns" and self.client.ttl is None:
            raise ValueError("mode: dns needs client.ttl: how long a resolver keeps an answer (the record's TTL)")
        after = self.deregister_critical_service_after
        if after is not None and after < MIN_DEREGISTER_AFTER:
            raise ValueError(f"deregister_critical_service_after ({after:g} s) is below Consul's minimum of 1 minute")
        return self

    def operation_names(self, components) -> list[str]:
        return [OPERATION]

    def served(self, name: str, components: Mapping[str, ComponentBase]) -> list[str]:
        """The services whose replicas register with this registry (named *name*)."""
        return [n for n, c in components.items() if getattr(c, "discovery", None) == name]

    def fault_units(self) -> tuple[int, str]:
        return 1, "registry"

    def instances(self, measured=()) -> float:
        return 1

    def timers(self, components: Mapping[str, ComponentBase]) -> list[tuple[tuple, float, float]]:
        """Every instance's heartbeat (or probe) and every client cache's refresh."""
        name = next((n for n, c in components.items() if c is self), None)
        hosts = sum(components[s].fault_units()[0] for s in self.served(name, components)) if name else 0
        own = {"ttl": ("heartbeat", self.heartbeat), "health_check": ("interval", self.interval),
               "eureka": ("lease_renewal_interval", self.lease_renewal_interval)}.get(self.mode)
        timers = [((own[0],), own[1], max(hosts, 1))] if own else []
        if self.mode == "eureka":
            timers += [(("eviction_interval",), self.eviction_interval, 1),
                       (("response_cache_update_interval",), self.response_cache_update_interval, 1)]
        if self.client.period > 0:
            field = "ttl" if self.client.ttl is not None else "fetch_interval"
            timers.append((("client", field), self.client.period, self.client.caches))
        return timers

    def describe(self) -> str:
        if self.mode == "ttl":
            how = f"TTL {self.ttl:g}s, heartbeat {self.heartbeat:g}s"
        elif self.mode == "health_check":
            how = f"checks every {self.interval:g}s"
        elif self.mode == "eureka":
            how = f"Eureka lease {self.lease_expiration_duration:g}s"
        else:
            how = "DNS"
        period = self.client.period
        return f"{how} · clients {'watch' if period == 0 else f'refresh every {period:g}s'}"


def discovery_problems(path: tuple, registry: str, components: Mapping[str, ComponentBase]) -> Problems:
    """A service's ``discovery:`` (at *path*) names a registry of the scenario."""
    target = components.get(registry)
    registries = [n for n, c in components.items() if c.kind == "registry"]
    expected = ", ".join(registries) or "none in this scenario"
    if target is None:
        return [(path, f"registry {registry!r} does not exist (expected one of: {expected})")]
    if target.kind != "registry":
        return [(path, f"{registry!r} is a {target.kind}, not a registry: discovery names the registry the "
                       f"service's replicas register with (expected one of: {expected})")]
    return []


SPEC = RegistrySpec
