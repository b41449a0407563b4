"""The built-in fault kinds: crash, slowdown and extra link latency."""

from __future__ import annotations

from ..core.sampling import sampler
from .base import Fault, register


@register
class Crash(Fault):
    """``target`` (or ``replicas`` of its replicas; a database's primaries first) goes down; in-flight work there fails."""

    kind = "crash"

    def prepare(self, world) -> None:
        world.crashable.add(self.spec.target)

    def apply(self, world) -> None:
        component = world.components[self.spec.target]
        self._hit = component.crash_targets(self.spec.replicas)
        for replica in self._hit:
            replica.crash()
        component.on_crash(self._hit)

    def revert(self, world) -> None:
        for replica in self._hit:
            replica.restart()
        world.components[self.spec.target].on_restart(self._hit)

    def describe(self) -> tuple[str, str]:
        return self.spec.target, f"{self.spec.replicas} replicas" if self.spec.replicas else "all replicas"


@register
class Slowdown(Fault):
    """Work at ``target`` (or its first ``replicas`` replicas) takes ``factor`` times longer while the fault lasts."""

    kind = "slowdown"

    def apply(self, world) -> None:
        self._hit = world.components[self.spec.target].crash_targets(self.spec.replicas)
        for replica in self._hit:
            replica.slowdown *= self.spec.factor

    def revert(self, world) -> None:
        for replica in self._hit:
            replica.slowdown /= self.spec.factor

    def describe(self) -> tuple[str, str]:
        where = f", {self.spec.replicas} replicas" if self.spec.replicas else ""
        return self.spec.target, f"x{self.spec.factor:g}{where}"


@register
class LatencySpike(Fault):
    """Extra one-way delay on the link between two zones."""

    kind = "latency"

    def prepare(self, world) -> None:
        world.degradable_links.add(frozenset(self.spec.between))
        self._extra = None

    def apply(self, world) -> None:
        a, b = self.spec.between
        if self._extra is None:
            self._extra = sampler(self.spec.extra, world.rng(f"fault/latency/{a}|{b}/{self.spec.at}"))
        world.links.force(a, b).extra.append(self._extra)

    def revert(self, world) -> None:
        a, b = self.spec.between
        world.links.force(a, b).extra.remove(self._extra)

    def describe(self) -> tuple[str, str]:
        return "|".join(self.spec.between), ""


@register
class Errors(Fault):
    """Operations at ``target`` fail with ``probability`` (after their work) while the fault lasts."""

    kind = "errors"

    def prepare(self, world) -> None:
        world.erratic.add(self.spec.target)

    def apply(self, world) -> None:
        for replica in world.components[self.spec.target].replicas.replicas:
            replica.error_probability = self.spec.probability

    def revert(self, world) -> None:
        for replica in world.components[self.spec.target].replicas.replicas:
            replica.error_probability = 0.0

    def describe(self) -> tuple[str, str]:
        return self.spec.target, f"{self.spec.probability:.0%} errors"
