"""``kind: slowdown`` — work at a component (or some of its replicas) takes longer for a while."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..scenario.kinds import TargetFault
from .base import Fault


class SlowdownFault(TargetFault):
    """Work at ``target`` (or at ``replicas`` of its replicas) takes ``factor`` times longer (a noisy neighbour, GC)."""

    kind: Literal["slowdown"] = "slowdown"
    factor: Annotated[float, Field(gt=0)]
    replicas: Annotated[int, Field(ge=1)] | None = None


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


SPEC, RUNTIME = SlowdownFault, Slowdown
