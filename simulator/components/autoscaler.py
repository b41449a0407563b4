"""Horizontal autoscaling with Kubernetes HPA v2 semantics.

:class:`HpaController` is the decision rule alone (pure, deterministic, no SimPy): given
the time, the current replica count and the measured metric it returns the replicas to
run. :class:`Autoscaler` is the process that measures a service every ``interval`` and
applies the controller's answer: new replicas boot for ``provisioning_delay`` before
service discovery lists them, retired replicas stop receiving traffic at once and finish
what they hold.

The rule (Kubernetes documentation, "Horizontal Pod Autoscaling"):

1. ``recommendation = ceil(ready × measured / target)``, or ``current`` when
   ``|measured / target − 1| ≤ tolerance``; clamped to ``[min_replicas, max_replicas]``
   (``current`` counts booting replicas, ``ready`` only the measured ones);
2. stabilization: scaling up takes the *smallest* recommendation of the last
   ``scale_up_stabilization`` seconds, scaling down the *largest* of the last
   ``scale_down_stabilization`` seconds (the cooldown that stops flapping); the history
   starts with the initial count, so nothing scales down in the first window;
3. the default scale-up policy: at most max(2 × current, current + 4) per period; scale
   down is not rate limited (the default −100 % per period).

The measured utilization is busy workers / workers of the ready replicas over the last
interval (a replica that became ready during it counts for the time it was ready). For
``io: blocking`` services a worker is busy while it waits for downstream calls too: it
measures the thread pool, not the CPU.
"""

from __future__ import annotations

import math
from collections import deque

from ..core.sampling import sampler


class HpaController:
    """The HPA decision rule for one target, fed one measurement per sync period."""

    def __init__(self, spec):
        self.spec = spec
        self.history: deque[tuple[float, int]] = deque()

    def recommend(self, current: int, measured: float, ready: float | None = None) -> int:
        """Step 1: the raw recommendation, tolerance and bounds applied.

        *current* is every replica the service runs (booting ones included), *ready* how
        many the metric was measured on (default: all of them; fractional when some
        became ready during the measurement window). As in Kubernetes the
        recommendation is ``ceil(ready × measured / target)``: replicas still booting
        have no measurement, so they must not multiply it. A booting replica does not
        turn a scale-up into a scale-down either: an overloaded service whose new
        replicas are not ready yet keeps them (Kubernetes returns the current count
        when the replicas not yet ready would reverse the direction).
        """
        spec = self.spec
        ready = current if ready is None else ready
        ratio = measured / spec.target
        if ready == 0 or abs(ratio - 1.0) <= spec.tolerance:  # nothing measured, or close enough
            wanted = current
        else:
            wanted = math.ceil(ready * ratio - 1e-9)
            if ratio > 1.0 and wanted < current:
                wanted = current
        return min(spec.max_replicas, max(spec.min_replicas, wanted))

    def desired(self, now: float, current: int, measured: float, ready: float | None = None) -> int:
        """Replicas to run from *now* on: *current* replicas run, *ready* of them were measured."""
        spec = self.spec
        recommendation = self.recommend(current, measured, ready)
        if not self.history:
            # Kubernetes seeds a new HPA's history with the current count
            # (recordInitialRecommendation): no scale-down before one full window has passed
            self.history.append((now, current))
        self.history.append((now, recommendation))
        keep = max(spec.scale_up_stabilization, spec.scale_down_stabilization)
        while self.history and self.history[0][0] <= now - keep - 1e-9:
            self.history.popleft()
        up = min(r for t, r in self.history if t > now - spec.scale_up_stabilization + 1e-9) \
            if spec.scale_up_stabilization > 0 else recommendation
        down = max(r for t, r in self.history if t > now - spec.scale_down_stabilization + 1e-9) \
            if spec.scale_down_stabilization > 0 else recommendation
        if up > current:
            desired = min(up, max(2 * current, current + 4))
        elif down < current:
            desired = down
        else:
            desired = current
        return min(spec.max_replicas, max(spec.min_replicas, desired))


class Autoscaler:
    """Measures a :class:`~simulator.components.station.Station` every ``interval`` and adds or retires
    replicas as the controller says."""

    def __init__(self, station, spec):
        self.station = station
        self.spec = spec
        self.controller = HpaController(spec)
        self.boot = sampler(spec.provisioning_delay, station.world.rng(f"{station.name}/autoscaler/boot"))
        self.booting: list = []
        self.ready_since: dict[int, float] = {}  # replica index -> when a replica added at run time became ready
        station.metered = True

    def _ready(self) -> list:
        return [r for r in self.station.replicas.replicas if r.registered]

    def _capacity_changed(self) -> None:
        self.station.log.capacity_changed(self.station.env.now, len(self._ready()) * self.station.replicas.workers)

    def ready_time(self, window: float) -> float:
        """Replica-seconds the ready replicas were ready during the last *window* seconds."""
        now, since = self.station.env.now, self.ready_since
        return sum(min(window, now - since.get(r.index, -math.inf)) for r in self._ready())

    def measure(self, window: float, last: dict) -> float:
        """The metric over the last *window* seconds across ready replicas.

        Both metrics are per unit of ready capacity: a replica that became ready during
        the window counts only for the part of it it was ready (it had no workers to be
        busy with, nor an address to receive requests at, before).
        """
        now = self.station.env.now
        ready = self._ready()
        ready_time = self.ready_time(window)
        if ready_time <= 0:
            return 0.0
        if self.spec.metric == "utilization":
            busy = sum(r.busy_until(now) - last.get(("busy", r.index), 0.0) for r in ready)
            value = busy / (ready_time * self.station.replicas.workers)
        else:
            arrivals = sum(r.arrivals - last.get(("arrivals", r.index), 0) for r in ready)
            value = arrivals / ready_time
        return value

    def run(self):
        station, spec = self.station, self.spec
        env = station.env
        last: dict = {}
        self._snapshot(last)
        while True:
            yield env.timeout(spec.interval)
            measured = self.measure(spec.interval, last)
            self._snapshot(last)
            ready = self.ready_time(spec.interval) / spec.interval  # replicas measured (fractional if new)
            current = len(self._ready()) + len(self.booting)
            desired = self.controller.desired(env.now, current, measured, ready)
            if desired != current:
                station.world.recorder.scaled(env.now, station.name, current, desired, measured)
            for _ in range(desired - current):
                replica = station.replicas.add()
                self.booting.append(replica)
                env.process(self._start(replica))
            for _ in range(current - desired):
                self._retire_one()

    def _snapshot(self, last: dict) -> None:
        now = self.station.env.now
        for r in self.station.replicas.replicas:
            last[("busy", r.index)] = r.busy_until(now)
            last[("arrivals", r.index)] = r.arrivals

    def _start(self, replica):
        yield self.station.env.timeout(self.boot())
        if replica in self.booting:  # not cancelled by a scale-down while it booted
            self.booting.remove(replica)
            self.ready_since[replica.index] = self.station.env.now
            self.station.replicas.register(replica)
            self._capacity_changed()

    def _retire_one(self) -> None:
        """Cancel the newest booting replica, else retire the newest ready one."""
        if self.booting:
            self.booting.pop()
            return
        ready = self._ready()
        if ready:
            self.station.replicas.retire(ready[-1])
            self._capacity_changed()
