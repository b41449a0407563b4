"""Eureka mode: leases with the 2 × duration quirk, the evictor, self-preservation and the response cache.

Netflix Eureka's server, as its code behaves (golden G9.2, G9.3):

* an instance's lease starts at its registration (``lastUpdateTimestamp`` = now) and each
  renewal, every ``lease_renewal_interval`` from the registration (for an instance running when
  the run starts, from a uniformly random phase), sets it to now +
  ``lease_expiration_duration`` (``Lease.renew()``); a lease is expired when now > last update +
  duration, so a dead instance expires 2 × duration after its last renewal;
* a renewal that finds no lease (the instance was evicted) is answered 404 and the instance
  registers again at once;
* renewals are counted in one-minute buckets from the server's start (``MeasuredRate``); the
  threshold is ``int(expected × 60 / lease_renewal_interval × renewal_percent_threshold)`` with
  *expected* the instances registered (a registration adds one; a cancel or an eviction,
  both ``internalCancel``, removes one); the evictor runs every ``eviction_interval`` and evicts only when
  self-preservation is off or the last full minute counted more renewals than the threshold
  (``isLeaseExpirationEnabled``), at most size − int(size × renewal_percent_threshold) leases per
  run, drawn at random among the expired ones when there are more;
* clients read the response cache, which copies the registry every ``response_cache_update_interval``.

The server's timers run from its start (t = 0): the response cache every
``response_cache_update_interval``, the minute buckets every 60 s and the evictor every
``eviction_interval``; at an instant where several are due the evictor runs last, so an
eviction is published at the next refresh of the cache, up to a whole interval later: the
worst case a client keeps a dead instance is 2 × duration + ``eviction_interval`` +
``response_cache_update_interval`` + the client's fetch interval (300 s with the defaults:
golden G9.2).

``preserving`` (self-preservation holds evictions back) is judged from the first full minute
on: before it no minute was counted and Eureka does not evict either, which is not counted.
"""

from __future__ import annotations


class EurekaLeases:
    """The Eureka server side of a :class:`~.runtime.Registry` (its ``mode``)."""

    publishes_at_once = False  # the response cache publishes, on its own timer

    def __init__(self, registry):
        self.registry = registry
        self.spec = spec = registry.spec
        self.env = env = registry.env
        self.expected = 0
        self.threshold = 0
        self.current = 0  # renewals in the minute under way
        self.last_minute = 0  # renewals in the last full minute
        self.minutes = 0
        self.preserving_since: float | None = None
        self.preserved = 0.0
        self.draw = registry.world.rng(f"{registry.name}/evict")
        self.duration = spec.lease_expiration_duration
        env.process(self._response_cache())
        env.process(self._minutes())
        env.process(self._evicting())

    # -- instances --------------------------------------------------------------------------------
    def start(self, instance, new: bool, phase: float | None = None) -> None:
        instance.last_update = self.env.now
        if new:
            self.expected += 1
            self._update_threshold()
        instance.generation += 1
        self.env.process(self._renewing(instance, instance.generation, phase))

    def crashed(self, instance) -> None:
        """A crash cancels nothing: the lease stays until it expires and is evicted."""

    def cancelled(self, instance) -> None:
        """A cancel or an eviction: one instance fewer expected to renew."""
        self.expected = max(self.expected - 1, 0)
        self._update_threshold()

    def _renewing(self, instance, generation: int, phase: float | None):
        registry, replica, interval = self.registry, instance.replica, self.spec.lease_renewal_interval
        wait = interval if phase is None else phase * interval
        while True:
            yield self.env.timeout(wait)
            wait = interval
            if instance.generation != generation:
                return  # it registered again (another loop renews)
            if not replica.up or not registry.reaches(instance.zone):
                continue  # dead, or lost on the way: not counted
            current = registry.instances.get(replica)
            if current is not instance:
                if current is None and replica.registered:  # evicted: 404, so register again
                    registry.register(instance.service, replica)
                return  # (or a retired replica, which cancelled; or registered again meanwhile)
            instance.last_update = self.env.now + self.duration  # Lease.renew(): the 2 × duration quirk
            self.current += 1

    # -- the server's timers ----------------------------------------------------------------------
    def _update_threshold(self) -> None:
        spec = self.spec
        self.threshold = int(self.expected * (60.0 / spec.lease_renewal_interval) * spec.renewal_percent_threshold)
        self._judge()

    def expiration_enabled(self) -> bool:
        if not self.spec.self_preservation:
            return True
        return self.threshold > 0 and self.last_minute > self.threshold

    def _judge(self) -> None:
        """Start or end a self-preservation period (recorded; its seconds summed)."""
        preserving = self.spec.self_preservation and self.minutes > 0 and not self.expiration_enabled()
        now = self.env.now
        if preserving and self.preserving_since is None:
            self.preserving_since = now
            self.registry.event(-1, -1, "self_preservation_on")
        elif not preserving and self.preserving_since is not None:
            self.preserved += now - self.preserving_since
            self.preserving_since = None
            self.registry.event(-1, -1, "self_preservation_off")

    def _minutes(self):
        while True:
            yield self.env.timeout(60.0)
            self.last_minute, self.current = self.current, 0
            self.minutes += 1
            self._judge()

    def _evicting(self):
        registry, env, duration = self.registry, self.env, self.duration
        while True:
            yield env.timeout(self.spec.eviction_interval)
            yield env.timeout(0)  # after everything else due now: a response-cache refresh due now misses it
            if not self.expiration_enabled():
                continue
            now = env.now
            expired = [i for i in registry.instances.values() if now > i.last_update + duration]
            if not expired:
                continue
            size = len(registry.instances)
            limit = size - int(size * self.spec.renewal_percent_threshold)
            count = min(len(expired), limit)
            for i in range(count if count < len(expired) else 0):  # Eureka's partial shuffle
                j = i + int(self.draw.integers(len(expired) - i))
                expired[i], expired[j] = expired[j], expired[i]
            for instance in expired[:count]:
                registry.evict(instance)

    def _response_cache(self):
        registry = self.registry
        while True:
            yield self.env.timeout(self.spec.response_cache_update_interval)
            for service in range(len(registry.services)):
                registry.publish(service, now=True)

    def finish(self, now: float) -> dict:
        preserved = self.preserved + (now - self.preserving_since if self.preserving_since is not None else 0.0)
        return {"self_preservation_seconds": preserved, "renewal_threshold": self.threshold,
                "renewals_last_minute": self.last_minute}
