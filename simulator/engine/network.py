"""The network between zones: links, and the hop pipeline every call crosses.

A call from zone A to a component in zone B pays one one-way delay on the way there and
one on the way back, each drawn from the A–B link's distribution (``local`` inside a zone
or when either side has no zone). Latency faults add extra delay to a link for a while.
A link that is always zero costs nothing: the engine skips it.

**The hop pipeline.** Every network hop (a step's call or publish, a workload's request,
a load balancer's forward) goes through the :class:`Hop` of its (from-zone, to-zone),
compiled once by :class:`Hops`: a list of stages, outermost first, each wrapping the
visit of the target. A stage (:class:`HopStage`) sees the request on its way there and
the status on its way back; :data:`STAGES` lists the factories that make a hop's stages,
in order: :class:`Cut` (a link a partition may cut: messages lost), then :class:`LinkDelay`
(the link's delay both ways, latency faults included). What depends on the caller and the
callee rather than on the zones (trace spans, mTLS handshakes and authorization) wraps the
compiled hop in ``World.caller`` instead. A hop whose only stage is the delay compiles to one closure that yields the two
delays around the visit (no extra generator level, no extra event); a hop with no stage
is the visit itself.

**One-way messages** (:meth:`Hop.send`: a choreographed saga's events) cross each stage
on the way there only (:meth:`HopStage.one_way`): the link's delay once, then the visit;
no reply crosses back.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, Generator, Protocol

from ..scenario.model import Network
from ..core.request import TIMEOUT
from ..core.sampling import Sampler, is_zero, sampler


class Link:
    """The current one-way delay of one zone pair: a base sampler plus active extras.

    ``sample`` is what a hop calls for a delay: :meth:`delay` on a link a latency fault may
    degrade, the base sampler itself on one none can (one call fewer per crossing)."""

    __slots__ = ("base", "extra", "sample")

    def __init__(self, base: Sampler, degradable: bool = True):
        self.base = base
        self.extra: list[Sampler] = []
        self.sample = self.delay if degradable else base

    def delay(self) -> float:
        d = self.base()
        for extra in self.extra:
            d += extra()
        return d


class Links:
    """Creates one :class:`Link` per zone pair on first use, with its own random stream."""

    def __init__(self, network: Network, rng: Callable[[str], object], may_degrade: set[frozenset],
                 may_cut: set[tuple[str, str]] = frozenset()):
        self.network = network
        self.rng = rng
        self.may_degrade = may_degrade
        self.may_cut = may_cut
        self.cuts: dict[tuple[str, str], int] = {}  # (from zone, to zone) -> partitions cutting it now
        self.lost = [0]  # messages lost at cut links so far
        self._links: dict[frozenset, Link | None] = {}

    def reachable(self, a: str | None, b: str | None) -> bool:
        """Whether a message sent now from zone *a* to zone *b* arrives (no partition cuts *a* → *b*).

        Inside one zone, and to or from a component with no zone, always."""
        return not self.cuts or (a, b) not in self.cuts

    def cut(self, pairs: list[tuple[str, str]]) -> None:
        """Messages from each pair's first zone to its second are lost until :meth:`heal`."""
        for pair in pairs:
            self.cuts[pair] = self.cuts.get(pair, 0) + 1

    def heal(self, pairs: list[tuple[str, str]]) -> None:
        """Undo one :meth:`cut` of *pairs* (another partition may still cut some of them)."""
        for pair in pairs:
            left = self.cuts[pair] - 1
            if left:
                self.cuts[pair] = left
            else:
                del self.cuts[pair]

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
            link = Link(sampler(spec, self.rng("network/" + "|".join(sorted(z for z in pair if z)) or "local")),
                        pair in self.may_degrade)
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


Visit = Callable[..., Generator[Any, Any, int]]
"""``handle(op, request)`` (or ``handle(op, request, replica)``): a component's visit, a status generator."""


class HopStage(Protocol):
    """One stage of a hop: wraps the rest of the hop (*inner*, ``inner(request, *where)``)."""

    def wrap(self, inner: Visit) -> Visit:
        """*inner* with this stage around it; the same shape (``(request, *where) -> status generator``)."""

    def one_way(self, inner: Visit) -> Visit:
        """As :meth:`wrap`, for a one-way message: only the way there (optional; without it
        :meth:`Hop.send` uses :meth:`wrap`)."""


class LinkDelay:
    """The link's one-way delay on the way there and again on the way back (latency faults included)."""

    __slots__ = ("env", "link")

    def __init__(self, env, link: Link):
        self.env = env
        self.link = link

    def wrap(self, inner: Visit) -> Visit:
        env, delay = self.env, self.link.sample

        def across(request, *where):
            yield env.timeout(delay())
            status = yield from inner(request, *where)
            yield env.timeout(delay())
            return status

        return across

    def one_way(self, inner: Visit) -> Visit:
        """The link's one-way delay, then *inner*: a message that needs no reply."""
        env, delay = self.env, self.link.sample

        def there(request, *where):
            yield env.timeout(delay())
            return (yield from inner(request, *where))

        return there

    def around(self, handle: Visit, op) -> Callable:
        """The whole hop when this is its only stage: ``call(request)``, one generator level."""
        env, delay = self.env, self.link.sample

        def call(request):
            yield env.timeout(delay())
            status = yield from handle(op, request)
            yield env.timeout(delay())
            return status

        return call

    def around_pinned(self, handle: Visit, op) -> Callable:
        """As :meth:`around`, to a replica the caller picked: ``call(request, replica)``."""
        env, delay = self.env, self.link.sample

        def call(request, replica):
            yield env.timeout(delay())
            status = yield from handle(op, request, replica)
            yield env.timeout(delay())
            return status

        return call


def link_delay(env, links: Links, a: str | None, b: str | None) -> LinkDelay | None:
    """The delay stage of a hop from *a* to *b*, or ``None`` when the link is always instant."""
    link = links.between(a, b)
    return None if link is None else LinkDelay(env, link)


class Cut:
    """A link a partition may cut: what crosses it while cut is **lost**, not delayed.

    A request lost on the way there never reaches the callee; a reply lost on the way back
    leaves the callee's work done (and its effects) and the caller without an answer. Either
    way the caller hears nothing: the call ends as a ``TIMEOUT`` ``network.unreachable_timeout``
    after the request was sent (a caller's own shorter ``timeout`` gives up first). The cut is
    looked at when the request leaves and when the reply arrives (this stage is outermost).
    """

    __slots__ = ("env", "links", "there", "back", "lost")

    def __init__(self, env, links: Links, a: str, b: str, lost: list[int]):
        self.env = env
        self.links = links
        self.there, self.back = (a, b), (b, a)
        self.lost = lost  # [messages lost], shared by every cut stage of the run

    def _unanswered(self, sent: float):
        self.lost[0] += 1
        yield self.env.timeout(max(0.0, sent + self.links.network.unreachable_timeout - self.env.now))
        return TIMEOUT

    def wrap(self, inner: Visit) -> Visit:
        env, cuts, there, back = self.env, self.links.cuts, self.there, self.back

        def across(request, *where):
            sent = env.now
            if cuts and there in cuts:
                return (yield from self._unanswered(sent))
            status = yield from inner(request, *where)
            if cuts and back in cuts:
                return (yield from self._unanswered(sent))
            return status

        return across

    def one_way(self, inner: Visit) -> Visit:
        """A one-way message across a cut is lost: the visit never happens (the sender does not wait)."""
        cuts, there = self.links.cuts, self.there

        def there_only(request, *where):
            if cuts and there in cuts:
                self.lost[0] += 1
                return TIMEOUT
            return (yield from inner(request, *where))

        return there_only


def cut(env, links: Links, a: str | None, b: str | None) -> Cut | None:
    """The partition stage of a hop from *a* to *b*, or ``None`` when no partition may cut it."""
    if a is None or b is None or a == b or ((a, b) not in links.may_cut and (b, a) not in links.may_cut):
        return None
    return Cut(env, links, a, b, links.lost)


STAGES: list[Callable[..., HopStage | None]] = [cut, link_delay]
"""The stage factories of every hop, outermost first: ``factory(env, links, from_zone, to_zone)``."""


class Hop:
    """The compiled path from one zone to another: its ``stages``, outermost first."""

    __slots__ = ("stages",)

    def __init__(self, stages: list[HopStage]):
        self.stages = stages

    def call(self, handle: Visit, op) -> Callable:
        """``call(request)``: visit *op* through *handle* (``handle(op, request)``) across this hop."""
        stages = self.stages
        if not stages:
            return partial(handle, op)  # a C-level call: no frame of its own
        if len(stages) == 1 and type(stages[0]) is LinkDelay:
            return stages[0].around(handle, op)
        return self._compose(lambda request: handle(op, request))

    def pinned(self, handle: Visit, op) -> Callable:
        """``call(request, replica)``: as :meth:`call`, to the replica the caller picked (a balancer)."""
        stages = self.stages
        if not stages:
            return partial(handle, op)
        if len(stages) == 1 and type(stages[0]) is LinkDelay:
            return stages[0].around_pinned(handle, op)
        return self._compose(lambda request, replica: handle(op, request, replica))

    def send(self, handle: Visit, op) -> Callable:
        """``send(request)``: a one-way message to *op*: each stage's way there (its ``one_way``,
        else its ``wrap``), then the visit; its status is the visit's, and nothing crosses back."""
        visit = lambda request: handle(op, request)  # noqa: E731
        for stage in reversed(self.stages):
            visit = getattr(stage, "one_way", stage.wrap)(visit)
        return visit

    def _compose(self, visit: Visit) -> Visit:
        for stage in reversed(self.stages):
            visit = stage.wrap(visit)
        return visit


class Hops:
    """Compiles and keeps one :class:`Hop` per (from-zone, to-zone), each from :data:`STAGES`."""

    def __init__(self, env, links: Links, stages: list | None = None):
        self.env = env
        self.links = links
        self.stages = STAGES if stages is None else stages
        self._hops: dict[tuple, Hop] = {}

    def between(self, a: str | None, b: str | None) -> Hop:
        """The hop a call from zone *a* to a component in zone *b* crosses."""
        hop = self._hops.get((a, b))
        if hop is None:
            made = (factory(self.env, self.links, a, b) for factory in self.stages)
            hop = self._hops[(a, b)] = Hop([stage for stage in made if stage is not None])
        return hop
