"""``kind: failures`` — replicas that fail and are repaired at random (an alternating renewal process).

From ``at`` for ``for``, each replica of ``target`` (the first ``replicas`` of them) runs on
its own: up for an Exp(``mtbf``) time, then down (crashed: its in-flight work fails) for an
Exp(``mttr``) repair, then up again, independently of the others. Each down period is one
fault record (``detail``: the replica). A failure may start only inside the window; a repair
under way at its end finishes on time.

Its steady-state availability is ``mtbf / (mtbf + mttr)`` per replica (golden G18.1); two
replicas a request may use either of are down together ``(1 − A)²`` of the time, a chain of
two is up ``A²`` of the time (golden G18.3: 0.990099, 0.999902 and 0.980296 for 1000 h and
10 h). With a long window, ``Result.faults`` and the requests' availability measure them.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from ..scenario.kinds import TargetFault
from ..scenario.types import PositiveDuration
from .base import Fault


class FailuresFault(TargetFault):
    """Each replica of ``target`` (the first ``replicas``) fails after Exp(``mtbf``) up and is back after
    Exp(``mttr``) down, independently, from ``at`` for ``for``."""

    kind: Literal["failures"] = "failures"
    mtbf: PositiveDuration = Field(description="mean time between failures: the mean up-time of a replica")
    mttr: PositiveDuration = Field(description="mean time to repair: the mean down-time of a replica")
    replicas: Annotated[int, Field(ge=1)] | None = None

    action: ClassVar[str] = "fail"


class Failures(Fault):
    """One process per replica: up Exp(mtbf), crash, down Exp(mttr), restart; each down period recorded."""

    kind = "failures"

    def prepare(self, world) -> None:
        world.crashable.add(self.spec.target)

    def schedule(self, world):
        env = world.env
        if self.spec.at > env.now:
            yield env.timeout(self.spec.at - env.now)
        component = world.components[self.spec.target]
        end = self.spec.at + self.spec.for_
        for index, replica in enumerate(component.crash_targets(self.spec.replicas)):
            rng = world.rng(f"fault.failures.{self.spec.target}.{index}")
            env.process(self._alternate(world, component, replica, index, rng, end))

    def _alternate(self, world, component, replica, index, rng, end):
        env = world.env
        detail = f"replica {index}"
        while True:
            up = float(rng.exponential(self.spec.mtbf))
            down = float(rng.exponential(self.spec.mttr))  # drawn together: the stream does not depend on end
            if env.now + up >= end:
                return
            yield env.timeout(up)
            world.recorder.fault(env.now, "start", self.kind, self.spec.target, detail)
            replica.crash()
            component.on_crash([replica])
            yield env.timeout(down)
            replica.restart()
            component.on_restart([replica])
            world.recorder.fault(env.now, "end", self.kind, self.spec.target, detail)

    def describe(self) -> tuple[str, str]:
        return self.spec.target, f"mtbf {self.spec.mtbf:g} s, mttr {self.spec.mttr:g} s"


SPEC, RUNTIME = FailuresFault, Failures
