"""Network latency between zones.

A call from zone A to a component in zone B pays one one-way delay on the way there and
one on the way back, each drawn from the A–B link's distribution (``local`` inside a zone
or when either side has no zone). Latency faults add extra delay to a link for a while.
A link that is always zero costs nothing: the engine skips it.
"""

from __future__ import annotations

from typing import Callable

from ..scenario.model import Network
from ..core.sampling import Sampler, is_zero, sampler


class Link:
    """The current one-way delay of one zone pair: a base sampler plus active extras."""

    __slots__ = ("base", "extra")

    def __init__(self, base: Sampler):
        self.base = base
        self.extra: list[Sampler] = []

    def delay(self) -> float:
        d = self.base()
        for extra in self.extra:
            d += extra()
        return d


class Links:
    """Creates one :class:`Link` per zone pair on first use, with its own random stream."""

    def __init__(self, network: Network, rng: Callable[[str], object], may_degrade: set[frozenset]):
        self.network = network
        self.rng = rng
        self.may_degrade = may_degrade
        self._links: dict[frozenset, Link | None] = {}

    def between(self, a: str | None, b: str | None) -> Link | None:
        """The link a call from zone *a* to zone *b* uses, or ``None`` if it is always instant."""
        local = a is None or b is None or a == b
        pair = frozenset(("",)) if local and (a is None or b is None) else frozenset((a, b))
        if pair in self._links:
            return self._links[pair]
        spec = self.network.local if local else self._spec(a, b)
        if is_zero(spec) and pair not in self.may_degrade:
            link = None
        else:
            link = Link(sampler(spec, self.rng("network/" + "|".join(sorted(z for z in pair if z)) or "local")))
        self._links[pair] = link
        return link

    def force(self, a: str, b: str) -> Link:
        """The link between *a* and *b*, created even when it is normally instant (for faults)."""
        link = self.between(a, b)
        assert link is not None, "faults must declare the links they degrade before the build"
        return link

    def _spec(self, a: str, b: str):
        for link in self.network.links:
            if set(link.between) == {a, b}:
                return link.latency
        return self.network.default if self.network.default is not None else self.network.local
