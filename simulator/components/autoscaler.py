"""Horizontal autoscaling with Kubernetes HPA v2 semantics.

:class:`HpaController` is the decision rule alone (pure, deterministic, no SimPy): given
the time, the current replica count and the measured metric it returns the replicas to
run. :class:`Autoscaler` is the process that measures a service every ``interval`` and
applies the controller's answer: new replicas boot for ``provisioning_delay`` before
service discovery lists them, retired replicas stop receiving traffic at once and finish
what they hold.

The rule (Kubernetes documentation, "Horizontal Pod Autoscaling"):

1. ``recommendation = ceil(current × measured / target)``, or ``current`` when
   ``|measured / target − 1| ≤ tolerance``; clamped to ``[min_replicas, max_replicas]``;
2. stabilization: scaling up takes the *smallest* recommendation of the last
   ``scale_up_stabilization`` seconds, scaling down the *largest* of the last
   ``scale_down_stabilization`` seconds (the cooldown that stops flapping);
3. the default scale-up policy: at most max(2 × current, current + 4) per period; scale
   down is not rate limited (the default −100 % per period).

The measured utilization is busy workers / workers of the ready replicas over the last
interval. For ``io: blocking`` services a worker is busy while it waits for downstream
calls too: it measures the thread pool, not the CPU.
"""

from __future__ import annotations

import math
from collections import deque

from ..engine.sampling import sampler


class HpaController:
    """The HPA decision rule for one target, fed one measurement per sync period."""

    def __init__(self, spec):
        self.spec = spec
        self.history: deque[tuple[float, int]] = deque()

    def recommend(self, current: int, measured: float) -> int:
        """Step 1: the raw recommendation, tolerance and bounds applied."""
        spec = self.spec
        ratio = measured / spec.target
        wanted = current if abs(ratio - 1.0) <= spec.tolerance else math.ceil(current * ratio - 1e-9)
        return min(spec.max_replicas, max(spec.min_replicas, wanted))

    def desired(self, now: float, current: int, measured: float) -> int:
        """Replicas to run from *now* on, given *current* replicas and the *measured* metric."""
        spec = self.spec
        recommendation = self.recommend(current, measured)
        self.history.append((now, recommendation))
        keep = max(spec.scale_up_stabilization, spec.scale_down_stabilization)
        while self.history and self.history[0][0] <= now - keep - 1e-9:
            self.history.popleft()
        up = min(r for t, r in self.history if t > now - spec.scale_up_stabilization - 1e-9) \
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
    """Measures a service every ``interval`` and adds or retires replicas as the controller says."""

    def __init__(self, service, spec):
        self.service = service
        self.spec = spec
        self.controller = HpaController(spec)
        self.boot = sampler(spec.provisioning_delay, service.world.rng(f"{service.name}/autoscaler/boot"))
        self.booting: list = []
        service.metered = True

    def _ready(self) -> list:
        return [r for r in self.service.replicas.replicas if r.registered]

    def _capacity_changed(self) -> None:
        self.service.log.capacity_changed(self.service.env.now, len(self._ready()) * self.service.replicas.workers)

    def measure(self, window: float, last: dict) -> float:
        """The metric over the last *window* seconds across ready replicas."""
        now = self.service.env.now
        ready = self._ready()
        if not ready:
            return 0.0
        if self.spec.metric == "utilization":
            # a replica that booted during the window has no snapshot yet: it started from zero
            busy = sum(r.busy_until(now) - last.get(("busy", r.index), 0.0) for r in ready)
            value = busy / (window * self.service.replicas.workers * len(ready))
        else:
            arrivals = sum(r.arrivals - last.get(("arrivals", r.index), 0) for r in ready)
            value = arrivals / window / len(ready)
        return value

    def run(self):
        service, spec = self.service, self.spec
        env = service.env
        last: dict = {}
        self._snapshot(last)
        while True:
            yield env.timeout(spec.interval)
            measured = self.measure(spec.interval, last)
            self._snapshot(last)
            current = len(self._ready()) + len(self.booting)
            desired = self.controller.desired(env.now, current, measured)
            if desired != current:
                service.world.recorder.scaled(env.now, service.name, current, desired, measured)
            for _ in range(desired - current):
                replica = service.replicas.add()
                self.booting.append(replica)
                env.process(self._start(replica))
            for _ in range(current - desired):
                self._retire_one()

    def _snapshot(self, last: dict) -> None:
        now = self.service.env.now
        for r in self.service.replicas.replicas:
            last[("busy", r.index)] = r.busy_until(now)
            last[("arrivals", r.index)] = r.arrivals

    def _start(self, replica):
        yield self.service.env.timeout(self.boot())
        if replica in self.booting:  # not cancelled by a scale-down while it booted
            self.booting.remove(replica)
            self.service.replicas.register(replica)
            self._capacity_changed()

    def _retire_one(self) -> None:
        """Cancel the newest booting replica, else retire the newest ready one."""
        if self.booting:
            self.booting.pop()
            return
        ready = self._ready()
        if ready:
            self.service.replicas.retire(ready[-1])
            self._capacity_changed()
