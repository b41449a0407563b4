"""``kind: errors`` — a component answers errors with some probability for a while (a bad deploy)."""

from __future__ import annotations

from typing import Literal

from ..present import percent
from ..scenario.kinds import TargetFault
from ..scenario.types import Probability
from .base import Fault


class ErrorsFault(TargetFault):
    """Each operation at ``target`` fails with ``probability`` after doing its work (a bad deploy)."""

    kind: Literal["errors"] = "errors"
    probability: Probability


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
        return self.spec.target, f"{percent(self.spec.probability, 0)} errors"


SPEC, RUNTIME = ErrorsFault, Errors
