"""``kind: registry`` — service discovery: what the registry lists, and the callers' stale views of it.

The registry holds one :class:`Instance` per registered replica of every service with
``discovery: <name>``. The mode (:mod:`.consul`: ``ttl``, ``health_check``, ``dns``;
:mod:`.eureka`) decides when an instance stops being listed; :mod:`.views` holds the
callers' caches and gives each discovered service's replica set its ``pick()``.

* **Registration**: every registered replica at the start (each at a uniformly random phase of
  its heartbeat, renewal or probe period: it was running before), a replica again when it restarts
  after a crash or stop, a replica an autoscaler made ready (``ReplicaSet.register``).
* **Graceful deregistration**: a ``stop`` fault or a scale-down (``ReplicaSet.retire``) removes
  the instance at once (Consul deregister, Eureka cancel). A crash removes nothing.
* **Delays**: for a crash of a listed replica, *detection* = crash → no longer listed, and
  *propagation* = crash → gone from the last client view that held it; a restart before
  either ends it uncounted.

Every change is a row of the record table ``registry_events``: ``time``, ``service`` (its index
in :attr:`Registry.services`, in the scenario's order; −1 for the registry itself), ``replica``
(−1 likewise) and ``event``, a code into :data:`EVENTS`.
"""

from __future__ import annotations

from array import array
from functools import partial
from typing import Any, Generator

from ...core.request import OK
from ..base import Component
from ..replica import ReplicaSet
from .consul import DnsRecords, HealthChecks, TtlChecks
from .eureka import EurekaLeases
from .spec import EVENTS, OPERATION
from .views import ClientViews

EVENT_FIELDS = ("time", "service", "replica", "event")
MODES = {"ttl": TtlChecks, "health_check": HealthChecks, "eureka": EurekaLeases, "dns": DnsRecords}


class Instance:
    """One registered replica: ``listed`` (passing, or an unexpired Eureka lease not yet evicted) and
    what its mode keeps (the last pass ``stamp``, critical ``since``, probe streaks, the lease's last update)."""

    __slots__ = ("service", "replica", "zone", "listed", "generation", "stamp", "since", "failures", "successes",
                 "last_update")

    def __init__(self, service: int, replica, zone: str | None):
        self.service = service
        self.replica = replica
        self.zone = zone
        self.listed = True
        self.generation = 0
        self.stamp = self.since = self.last_update = 0.0
        self.failures = self.successes = 0


class Registry(Component):
    kind = "registry"

    def __init__(self, name, spec, world):
        super().__init__(name, spec, world)
        self.env = world.env
        self.replicas = ReplicaSet(world.env, 1, 1, None, False)  # the registry server: a crash cuts it off
        self.server = self.replicas.replicas[0]
        self.log = log = world.recorder.span_log(name, spec.kind, 1, [OPERATION])
        self.count = {n: log.counter(n) for n in ("registrations", "deregistrations", "criticals", "misdirected")}
        if spec.mode == "eureka":
            self.count["evictions"] = log.counter("evictions")
        self.add_event = log.table("registry_events", EVENT_FIELDS, summary="count")
        self.instances: dict[Any, Instance] = {}
        self.services: list = []
        self.service_of: dict[int, int] = {}  # id(replica set) -> service index
        self.crashed_at: dict[Any, float] = {}  # listed replicas crashed, not yet unlisted
        self.unseen_at: dict[Any, float] = {}  # crashed replicas still in some client view
        self.down: set = set()  # replicas seen going down and not seen restarting
        self.detection, self.propagation = array("d"), array("d")
        self.service_by_replica: dict[Any, int] = {}  # every replica ever registered (watched from then on)
        self.views: ClientViews | None = None
        self.mode = None

    # -- wiring -----------------------------------------------------------------------------------
    def wire(self) -> None:
        world, spec = self.world, self.spec
        served = spec.served(self.name, world.scenario.components)
        self.services = [world.components[s] for s in served]
        self.views = ClientViews(self.env, len(served), spec.client.caches, spec.client.period,
                                 world.uniform(f"{self.name}/pick"), world.uniform(f"{self.name}/client_phases"),
                                 self._gone)
        self.mode = MODES[spec.mode](self)
        misdirected = self.count["misdirected"]
        phases = world.uniform(f"{self.name}/heartbeat_phases")
        for index, service in enumerate(self.services):
            replica_set = service.replicas
            self.service_of[id(replica_set)] = index
            replica_set.discovery = self
            replica_set.pick = self.views.picker(index, misdirected)
            for replica in replica_set.replicas:
                if replica.registered:  # running before the run: somewhere in its heartbeat period
                    self.register(index, replica, phase=phases())
            self.publish(index, now=True)
        self.views.start()

    def operation(self, name: str) -> str:
        return name

    def handle(self, operation: str, request: Any) -> Generator[Any, Any, int]:
        """A call to ``register`` answers at once (the instances' own registrations are not calls)."""
        now = self.env.now
        self.log.add(now, now, now, now, OK, 0)
        return OK
        yield  # a generator that never waits

    # -- what the replica sets and replicas tell -----------------------------------------------------
    def registered(self, replica_set: ReplicaSet, replica) -> None:
        """``ReplicaSet.register``: a replica is ready (an autoscaler's new one)."""
        self.register(self.service_of[id(replica_set)], replica)

    def retired(self, replica_set: ReplicaSet, replica) -> None:
        """``ReplicaSet.retire``: a scale-down deregisters it gracefully."""
        instance = self.instances.get(replica)
        if instance is not None:
            self.deregister(instance, graceful=True)

    def _changed(self, service: int, replica) -> None:
        """A watched replica crashed, stopped or restarted."""
        if replica.up:
            self.down.discard(replica)
            self.crashed_at.pop(replica, None)
            self.unseen_at.pop(replica, None)
            if replica.registered:
                self.register(service, replica)
            return
        if replica in self.down:
            return  # still down: a restart held back (an event-sourced replica replaying)
        self.down.add(replica)
        instance = self.instances.get(replica)
        if replica.graceful:
            if instance is not None:
                self.deregister(instance, graceful=True)
            return
        now = self.env.now
        self.event(service, replica.index, "crashed")
        if instance is not None and instance.listed:
            self.crashed_at[replica] = now
            if self.views.holding.get(replica):
                self.unseen_at[replica] = now
            self.mode.crashed(instance)

    def _gone(self, replica) -> None:
        """The last client view holding *replica* dropped it."""
        crashed = self.unseen_at.pop(replica, None)
        if crashed is not None:
            self.propagation.append(self.env.now - crashed)
            self.event(self.service_by_replica[replica], replica.index, "propagated")

    # -- the registry's state ------------------------------------------------------------------------
    def reaches(self, zone: str | None) -> bool:
        """Whether a message from an instance in *zone* reaches the registry now."""
        return self.server.up and self.world.links.reachable(zone, self.zone)

    def register(self, service: int, replica, phase: float | None = None) -> None:
        instance = self.instances.get(replica)
        new = instance is None
        if new:
            instance = self.instances[replica] = Instance(service, replica, self.services[service].zone)
            if replica not in self.service_by_replica:
                self.service_by_replica[replica] = service
                replica.watch(partial(self._changed, service))
        self.count["registrations"](self.env.now)
        self.event(service, replica.index, "registered")
        self.mode.start(instance, new, phase)
        if new:
            self.publish(service)

    def passing(self, instance: Instance) -> None:
        instance.listed = True
        self.event(instance.service, instance.replica.index, "passing")
        self.publish(instance.service)

    def critical(self, instance: Instance) -> None:
        self.count["criticals"](self.env.now)
        instance.since = self.env.now
        self._unlist(instance, "critical")

    def deregister(self, instance: Instance, graceful: bool = False) -> None:
        """Remove *instance*: a graceful stop or scale-down, or a DNS record of a crashed replica."""
        self.count["deregistrations"](self.env.now)
        self._remove(instance, "deregistered")
        if graceful:
            self.mode.cancelled(instance)

    def deregister_critical(self, instance: Instance) -> None:
        self.count["deregistrations"](self.env.now)
        self._remove(instance, "deregistered")

    def evict(self, instance: Instance) -> None:
        self.count["evictions"](self.env.now)
        self._remove(instance, "evicted")
        self.mode.cancelled(instance)  # Eureka's evict() goes through internalCancel

    def _remove(self, instance: Instance, event: str) -> None:
        del self.instances[instance.replica]
        self._unlist(instance, event)

    def _unlist(self, instance: Instance, event: str) -> None:
        replica, now = instance.replica, self.env.now
        instance.listed = False
        self.event(instance.service, replica.index, event)
        crashed = self.crashed_at.pop(replica, None)
        if crashed is not None:
            self.detection.append(now - crashed)
        self.publish(instance.service)

    def publish(self, service: int, now: bool = False) -> None:
        """Publish *service*'s listed replicas to the clients: at each change, or (Eureka) when *now* (its cache)."""
        if not (now or self.mode.publishes_at_once):
            return
        instances = self.instances
        answer = tuple(r for r in self.services[service].replicas.replicas
                       if (i := instances.get(r)) is not None and i.listed)
        if answer != self.views.published[service]:
            self.views.publish(service, answer)

    def event(self, service: int, replica: int, name: str) -> None:
        self.add_event(self.env.now, service, replica, EVENTS.index(name))

    # -- faults on the registry itself ---------------------------------------------------------------
    def on_crash(self, replicas: list) -> None:
        self.views.reachable = False

    def on_restart(self, replicas: list) -> None:
        self.views.reachable = True

    def finish(self, now: float) -> None:
        facts = self.log.facts
        for name, values in (("detection_delay", self.detection), ("propagation_delay", self.propagation)):
            facts[f"{name}_mean"] = sum(values) / len(values) if values else None
            facts[f"{name}_max"] = max(values) if values else None
        facts["failures_detected"] = len(self.detection)
        facts["failures_propagated"] = len(self.propagation)
        facts["mode"] = self.spec.mode
        facts.update(self.mode.finish(now))


RUNTIME = Registry
