"""``kind: latency`` — extra delay on the link between two zones for a while."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..scenario.distributions import Distribution
from ..scenario.kinds import FaultBase
from ..scenario.types import Name
from .base import Fault


class LatencyFault(FaultBase):
    """Extra one-way latency on the link between two zones (both directions)."""

    kind: Literal["latency"] = "latency"
    between: Annotated[list[Name], Field(min_length=2, max_length=2)]
    extra: Distribution


class LatencySpike(Fault):
    """Extra one-way delay on the link between two zones."""

    kind = "latency"

    def prepare(self, world) -> None:
        world.degradable_links.add(frozenset(self.spec.between))
        self._extra = None

    def apply(self, world) -> None:
        a, b = self.spec.between
        if self._extra is None:
            from ..core.sampling import sampler  # here, not at the top: the spec side stays free of numpy

            self._extra = sampler(self.spec.extra, world.rng(f"fault/latency/{a}|{b}/{self.spec.at}"))
        world.links.force(a, b).extra.append(self._extra)

    def revert(self, world) -> None:
        a, b = self.spec.between
        world.links.force(a, b).extra.remove(self._extra)

    def describe(self) -> tuple[str, str]:
        return "|".join(self.spec.between), ""


SPEC, RUNTIME = LatencyFault, LatencySpike
