"""Consul-style checks (``ttl``, ``health_check``) and DNS records (``dns``): how the registry learns.

Each class is the ``mode`` of a :class:`~.runtime.Registry`: ``start(instance, new, phase)``
when an instance registers (``new``: it was not in the registry; ``phase``: for an instance
already running when the run starts, where in its period it is, a uniform fraction),
``crashed(instance)`` when its replica crashes, ``cancelled(instance)`` when it deregisters
gracefully. The registry lists and unlists (``passing`` / ``critical``), and publishes each
change at once.

* :class:`TtlChecks` — the instance passes its TTL check at its registration and every
  ``heartbeat`` after (an instance running at the start: first after ``phase`` × heartbeat),
  if up and if the pass reaches the registry; ``ttl`` after the last pass the check goes
  critical. A crash at a uniformly random time after a pass is therefore detected
  ``Uniform[ttl − heartbeat, ttl]`` later (golden G9.1).
* :class:`HealthChecks` — the registry probes every instance every ``interval`` from its
  registration (at the start: from a uniformly random phase): an instance up and reachable
  passes at once; otherwise the probe fails ``timeout`` later. ``failures_before_critical``
  failures in a row: critical; ``success_before_passing`` passes in a row: passing again.
* :class:`DnsRecords` — the record of a crashed instance is removed at once (detection 0 s).

With ``deregister_critical_service_after`` a check critical that long deregisters its instance
(Consul runs its reaper every 30 s; the removal here is exactly that long after).
"""

from __future__ import annotations

from functools import partial


class _Consul:
    publishes_at_once = True

    def __init__(self, registry):
        self.registry = registry
        self.spec = registry.spec
        self.env = registry.env

    def crashed(self, instance) -> None:
        """A crash deregisters nothing: the checks find out."""

    def cancelled(self, instance) -> None:
        """A graceful deregistration: nothing more to do."""

    def go_critical(self, instance) -> None:
        self.registry.critical(instance)
        after = self.spec.deregister_critical_service_after
        if after is not None:
            since = self.env.now
            self.env.timeout(after).callbacks.append(partial(self._reap, instance, since))

    def _reap(self, instance, since: float, _event) -> None:
        registry = self.registry
        if registry.instances.get(instance.replica) is instance and not instance.listed and instance.since == since:
            registry.deregister_critical(instance)

    def finish(self, now: float) -> dict:
        return {}


class TtlChecks(_Consul):
    """Consul TTL checks: passes every ``heartbeat``; ``ttl`` without one makes the check critical."""

    def start(self, instance, new: bool, phase: float | None = None) -> None:
        instance.generation += 1
        self._pass(instance)
        self.env.process(self._beating(instance, instance.generation, phase))

    def _beating(self, instance, generation: int, phase: float | None):
        registry, replica, heartbeat = self.registry, instance.replica, self.spec.heartbeat
        wait = heartbeat if phase is None else phase * heartbeat
        while True:
            yield self.env.timeout(wait)
            wait = heartbeat
            if instance.generation != generation or registry.instances.get(replica) is not instance:
                return  # deregistered or registered again (another loop passes)
            if replica.up and registry.reaches(instance.zone):  # a dead replica passes nothing
                self._pass(instance)

    def _pass(self, instance) -> None:
        now = self.env.now
        instance.stamp = now
        if not instance.listed:
            self.registry.passing(instance)
        self.env.timeout(self.spec.ttl).callbacks.append(partial(self._expire, instance, now))

    def _expire(self, instance, stamp: float, _event) -> None:
        if instance.stamp == stamp and instance.listed and self.registry.instances.get(instance.replica) is instance:
            self.go_critical(instance)


class HealthChecks(_Consul):
    """Consul HTTP/TCP checks: a probe every ``interval``; failures and passes in a row change the status."""

    def start(self, instance, new: bool, phase: float | None = None) -> None:
        if new:
            instance.failures = instance.successes = 0
            self.env.process(self._probing(instance, phase))

    def _probing(self, instance, phase: float | None):
        registry, replica, spec = self.registry, instance.replica, self.spec
        links, zone = registry.world.links, registry.zone
        wait = spec.interval if phase is None else phase * spec.interval
        while True:
            yield self.env.timeout(wait)
            wait = spec.interval
            if registry.instances.get(replica) is not instance:
                return  # deregistered; a new registration probes on its own
            if not registry.server.up:
                continue  # no one probes while the registry is down
            if replica.up and links.reachable(zone, instance.zone) and links.reachable(instance.zone, zone):
                self._result(instance, True, None)
            else:
                self.env.timeout(spec.timeout).callbacks.append(partial(self._result, instance, False))

    def _result(self, instance, passed: bool, _event) -> None:
        if self.registry.instances.get(instance.replica) is not instance:
            return
        if passed:
            instance.successes += 1
            instance.failures = 0
            if not instance.listed and instance.successes >= self.spec.success_before_passing:
                self.registry.passing(instance)
        else:
            instance.failures += 1
            instance.successes = 0
            if instance.listed and instance.failures >= self.spec.failures_before_critical:
                self.go_critical(instance)


class DnsRecords(_Consul):
    """Records follow the instances at once: a crash removes its record (and a restart adds it back)."""

    def start(self, instance, new: bool, phase: float | None = None) -> None:
        """Nothing to check: the record is there while the instance is."""

    def crashed(self, instance) -> None:
        self.registry.deregister(instance)
