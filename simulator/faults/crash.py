"""``kind: crash`` — a component (or some of its replicas) goes down for a while."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from ..scenario.kinds import TargetFault
from .base import Fault


class CrashFault(TargetFault):
    """``target`` (or ``replicas`` of its replicas) is down; in-flight work there fails."""

    kind: Literal["crash"] = "crash"
    replicas: Annotated[int, Field(ge=1)] | None = None

    action: ClassVar[str] = "crash"


class Crash(Fault):
    """``target`` (or ``replicas`` of its replicas; a database's primaries first) goes down; in-flight work there fails."""

    kind = "crash"

    def prepare(self, world) -> None:
        world.crashable.add(self.spec.target)

    def apply(self, world) -> None:
        component = world.components[self.spec.target]
        self._hit = component.crash_targets(self.spec.replicas)
        for replica in self._hit:
            self.take_down(replica)
        component.on_crash(self._hit)

    def take_down(self, replica) -> None:
        """What happens to each replica hit: it crashes (in-flight work there fails)."""
        replica.crash()

    def revert(self, world) -> None:
        for replica in self._hit:
            replica.restart()
        world.components[self.spec.target].on_restart(self._hit)

    def describe(self) -> tuple[str, str]:
        return self.spec.target, f"{self.spec.replicas} replicas" if self.spec.replicas else "all replicas"


SPEC, RUNTIME = CrashFault, Crash
