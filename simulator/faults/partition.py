"""``kind: partition`` — a network partition: messages between groups of zones are lost for a while."""

from __future__ import annotations

from itertools import permutations
from typing import Annotated, Literal

from pydantic import Field, model_validator

from ..scenario.kinds import FaultBase
from ..scenario.types import Name
from .base import Fault

Side = Annotated[list[Name], Field(min_length=1, description="zones or regions (network.regions) on one side")]


class PartitionFault(FaultBase):
    """The network between ``sides`` is cut: what crosses from one side to another is lost, not delayed.

    Each side is a list of zones or regions (a region stands for its zones). Every pair of
    sides is cut (``[[a], [b], [c]]`` isolates three zones from each other); zones on one
    side still talk. ``one_way: true`` cuts only what the first side sends to the others:
    their messages still reach it, but its replies to them are lost. A caller whose request
    or reply is lost sees a timeout (``network.unreachable_timeout``, or its own shorter
    ``timeout``); a component spread over zones (a replicated store) sees its own messages
    across the cut lost. Inside one zone, and to or from a component with no zone, nothing
    is ever cut.
    """

    kind: Literal["partition"] = "partition"
    sides: Annotated[list[Side], Field(min_length=2)]
    one_way: bool = False

    @model_validator(mode="after")
    def _one_way_two_sides(self):
        if self.one_way and len(self.sides) != 2:
            raise ValueError(f"a one-way partition has exactly two sides (got {len(self.sides)})")
        return self

    def cut_pairs(self, network) -> list[tuple[str, str]]:
        """The (from zone, to zone) pairs this partition cuts, regions expanded."""
        sides = [[z for name in side for z in network.zones_of(name)] for side in self.sides]
        if self.one_way:
            return [(a, b) for a in sides[0] for b in sides[1] if a != b]
        return [(a, b) for x, y in permutations(sides, 2) for a in x for b in y if a != b]


class Partition(Fault):
    """Cuts the links between the sides at ``at``, heals them ``for`` later; says how many messages were lost
    at cut links while it lasted (calls and replies, and a store's own messages across zones)."""

    kind = "partition"

    def prepare(self, world) -> None:
        self._pairs = self.spec.cut_pairs(world.scenario.network)
        world.cuttable_links.update(self._pairs)
        self._lost_before = 0

    def apply(self, world) -> None:
        self._lost_before = world.links.lost[0]
        world.links.cut(self._pairs)

    def revert(self, world) -> None:
        world.links.heal(self._pairs)
        self.lost = world.links.lost[0] - self._lost_before

    def describe(self) -> tuple[str, str]:
        arrow = " -/-> " if self.spec.one_way else " | "
        return arrow.join(",".join(side) for side in self.spec.sides), ("one way" if self.spec.one_way else "")

    def outcome(self) -> str:
        return f"{self.lost:,} messages lost"


SPEC, RUNTIME = PartitionFault, Partition
