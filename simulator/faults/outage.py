"""``kind: outage`` — a zone or a whole region goes dark: everything placed there is down, its links cut."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from ..scenario.kinds import FaultBase
from ..scenario.types import Name
from .base import Fault


class OutageFault(FaultBase):
    """``region`` (its zones, under ``network.regions``) or ``zones`` is lost for ``for``.

    Every replica placed in those zones crashes (its in-flight work fails) and restarts at
    the end: a component's whose ``zone`` is one of them, and the replicas of a kind spread
    over zones (a ``kv_store``'s, a ``regional_database``'s primary or standby) that are.
    Every link between those zones and the others is cut both ways, as a partition would:
    what crosses it is lost. Clients placed there keep sending (their calls are lost).
    """

    kind: Literal["outage"] = "outage"
    region: Name | None = None
    zones: Annotated[list[Name], Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _one_place(self):
        if (self.region is None) == (self.zones is None):
            raise ValueError("an outage names a region or zones (one of the two)")
        return self

    def lost_zones(self, network) -> list[str]:
        """The zones out, a region expanded."""
        return network.zones_of(self.region) if self.region is not None else list(self.zones)

    def cut_pairs(self, network) -> list[tuple[str, str]]:
        """Every (from zone, to zone) pair with one end out and the other not, both ways."""
        out = self.lost_zones(network)
        others = [z for z in network.zones if z not in out]
        return [pair for a in out for b in others for pair in ((a, b), (b, a))]

    def hit_components(self, network, components) -> list[str]:
        """The components with a replica in the lost zones."""
        out = set(self.lost_zones(network))
        return [name for name, spec in components.items()
                if spec.zone in out or any(z in out for _, z in getattr(spec, "placed_zones", list)())]


class Outage(Fault):
    """Crashes the replicas in the lost zones and cuts their links at ``at``; restarts and heals ``for`` later."""

    kind = "outage"

    def prepare(self, world) -> None:
        network = world.scenario.network
        self._zones = set(self.spec.lost_zones(network))
        self._pairs = self.spec.cut_pairs(network)
        world.cuttable_links.update(self._pairs)
        self._targets = self.spec.hit_components(network, world.scenario.components)
        world.crashable.update(self._targets)
        self._hit: dict[str, list] = {}
        self._lost_before = 0

    def apply(self, world) -> None:
        self._lost_before = world.links.lost[0]
        world.links.cut(self._pairs)
        for name in self._targets:
            component = world.components[name]
            zones = getattr(component, "zones", None)  # a kind spread over zones: one per replica
            replicas = component.crash_targets(None)
            if zones is None:
                hit = replicas if component.zone in self._zones else []
            else:
                hit = [r for r in replicas if zones[r.index] in self._zones]
            for replica in hit:
                replica.crash()
            self._hit[name] = hit
            component.on_crash(hit)

    def revert(self, world) -> None:
        world.links.heal(self._pairs)
        for name, hit in self._hit.items():
            for replica in hit:
                replica.restart()
            world.components[name].on_restart(hit)
        self.lost = world.links.lost[0] - self._lost_before

    def describe(self) -> tuple[str, str]:
        where = self.spec.region if self.spec.region is not None else ",".join(self.spec.zones)
        n = len(getattr(self, "_targets", ()))
        return where, f"{n} component{'' if n == 1 else 's'} hit"

    def outcome(self) -> str:
        return f"{self.lost:,} messages lost"


SPEC, RUNTIME = OutageFault, Outage
