"""``kind: errors`` — a component answers errors with some probability for a while (a bad deploy)."""

from __future__ import annotations

from typing import Literal

from ..scenario.kinds import TargetFault
from ..scenario.types import Probability
from .base import Fault


class ErrorsFault(TargetFault):
    """Each operation at ``target`` fails with ``probability`` after doing its work (a bad deploy)."""

    kind: Literal["errors"] = "errors"
    probability: Probability


class Errors(Fault):
    """Operations at ``target`` fail with ``probability`` (after their work) while the fault lasts.

    Faults that overlap on one target are independent causes: while several are active an
    operation fails with ``1 − Π(1 − pᵢ)``, and when one ends the others' remain (a bad deploy
    on top of a background error rate ends and leaves the background).
    """

    kind = "errors"

    def prepare(self, world) -> None:
        world.erratic.add(self.spec.target)

    def _set(self, world, active: list[float]) -> None:
        survive = 1.0
        for p in active:
            survive *= 1.0 - p
        combined = active[0] if len(active) == 1 else 1.0 - survive if active else 0.0  # one: exactly its own
        for replica in world.components[self.spec.target].replicas.replicas:
            replica.error_probability = combined

    def apply(self, world) -> None:
        active = world.fault_state.setdefault(self.kind, {}).setdefault(self.spec.target, [])
        active.append(self.spec.probability)
        self._set(world, active)

    def revert(self, world) -> None:
        active = world.fault_state[self.kind][self.spec.target]
        active.remove(self.spec.probability)
        self._set(world, active)

    def describe(self) -> tuple[str, str]:
        from ..present import percent  # formatting, loaded when a fault is described

        return self.spec.target, f"{percent(self.spec.probability, 0)} errors"


SPEC, RUNTIME = ErrorsFault, Errors
