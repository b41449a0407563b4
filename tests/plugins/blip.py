"""``kind: blip`` — a plug-in fault kind: the target answers errors for a while, as ``errors`` with p = 1.

One module holds the spec and the runtime side by side, as a built-in fault kind does.
Register it with ``register_fault("blip", "plugins.blip")`` or the entry point
``[sdsim.faults] blip = plugins.blip``.
"""

from __future__ import annotations

from typing import Literal

from simulator.faults.base import Fault
from simulator.scenario.kinds import TargetFault


class BlipFault(TargetFault):
    """Every operation at ``target`` fails while the fault lasts."""

    kind: Literal["blip"] = "blip"


class Blip(Fault):
    kind = "blip"

    def prepare(self, world) -> None:
        world.erratic.add(self.spec.target)

    def apply(self, world) -> None:
        for replica in world.components[self.spec.target].replicas.replicas:
            replica.error_probability = 1.0

    def revert(self, world) -> None:
        for replica in world.components[self.spec.target].replicas.replicas:
            replica.error_probability = 0.0


SPEC, RUNTIME = BlipFault, Blip
