"""What a kind measures, declared: small descriptors every consumer reads instead of naming kinds.

A kind's spec lists them (``components/<kind>/spec.py``)::

    class CacheSpec(ComponentBase):
        metrics: ClassVar[tuple[Metric, ...]] = (
            Counter("hits"), Counter("misses"),
            Ratio("hit_ratio", "hits", ("hits", "misses"), headline=True),
        )

**The declarations decide what a component reports.** Its summary entry
(``summary()["components"][name]``) holds every metric its spec declares that applies to it
(:func:`reported`: a declaration with ``when`` applies only where ``when(spec, scenario)``
is true, e.g. a balancer's ``retries`` counter only with ``retries`` set): a counter that
never fired is 0, a ratio with nothing to divide is ``None``, a fact not given is ``None``.
The runtime only emits values (``log.counter(name)``, ``log.facts[name]``:
:mod:`simulator.metrics.recorder`); emitting a name the declarations do not report is an
error (:func:`undeclared`), so what a kind says it measures and what it measures never drift
apart. The report, the HTML report, ``compare``, sweep records, sweep tables and charts read
the declarations to know what a number is, how to label it and whether to compare it
(:mod:`simulator.declared` looks them up by kind). Nothing outside the kind's folder names
its metrics.

* :class:`Counter` — a tallied event (``summary()["components"][c]["counts"][name]``);
* :class:`Ratio` — numerator / sum of denominators over the window (``summary()[..][name]``):
  compared between designs and recorded in sweeps; an objective may read it over any
  window, since its counters are timestamped (:mod:`simulator.objectives`);
* :class:`Share` — tallies ``<name>:<i>`` split over replicas or shards (how evenly load spread);
* :class:`Fact` — a static number or text about the component (``summary()[..][name]``).

This module is pure (no third-party import, nothing else of sdsim): specs import it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Iterable, Mapping

__all__ = ["Counter", "Fact", "Metric", "Ratio", "Share", "of_kind", "reported", "undeclared"]


@dataclass(frozen=True)
class Metric:
    """A named number a component reports. *label* is how people read it (default: the name, spaced).

    *when*: ``when(spec, scenario)`` says whether a component of this spec, in that
    scenario, reports it (default: always), for a metric that exists only with some setting.
    """

    name: str
    label: str = field(default="", kw_only=True)
    when: Callable[[Any, Any], Any] | None = field(default=None, kw_only=True, compare=False, repr=False)
    timed: ClassVar[bool] = False
    """One number made of timestamped events: an objective can read it over any window and
    measure a recovery time on it, bucket by bucket."""

    @property
    def text(self) -> str:
        return self.label or self.name.replace("_", " ")

    @property
    def readable(self) -> bool:
        """Whether an objective (an SLO) can read it: one number of the summary entry, by its name."""
        return self.timed

    def applies(self, spec: Any, scenario: Any) -> bool:
        """Whether a component of *spec* in *scenario* reports this metric."""
        return self.when is None or bool(self.when(spec, scenario))


@dataclass(frozen=True)
class Counter(Metric):
    """A tallied event (``log.counter(name)``): its count in the window is ``counts[name]``."""

    timed = True


@dataclass(frozen=True)
class Ratio(Metric):
    """``numerator / (sum of denominator)`` counts over the window (``None`` when the denominator is 0).

    *headline*: a column of its own in sweep tables. Ratios are compared between designs
    and recorded in sweep records (``component.<name>.<ratio>``).
    """

    numerator: str = ""
    denominator: tuple[str, ...] = ()
    headline: bool = field(default=False, kw_only=True)
    timed = True

    def of(self, counts: Mapping[str, int]) -> float | None:
        total = sum(counts.get(n, 0) for n in self.denominator)
        return counts.get(self.numerator, 0) / total if total else None


@dataclass(frozen=True)
class Share(Metric):
    """Tallies ``<name>:0``, ``<name>:1``, … : how a component split its work *over* replicas or shards."""

    over: str = "replica"

    @property
    def prefix(self) -> str:
        return f"{self.name}:"

    def items(self, counts: Mapping[str, int]) -> list[tuple[int, int]]:
        """``(i, count of <name>:<i>)`` in index order."""
        return sorted((int(k[len(self.prefix):]), v) for k, v in counts.items() if k.startswith(self.prefix))

    def split(self, counts: Mapping[str, int]) -> list[int]:
        """The counts of ``<name>:<i>`` in index order."""
        return [v for _, v in self.items(counts)]

    def owns(self, tally: str) -> bool:
        return tally.startswith(self.prefix)


@dataclass(frozen=True)
class Fact(Metric):
    """A static number or text about a component (``log.facts[name]``); *record*: a numeric fact
    recorded in sweep records (``component.<name>.<fact>``); *in_words*: a fact written in words (a
    cache's policy), so no objective reads it."""

    record: bool = field(default=False, kw_only=True)
    in_words: bool = field(default=False, kw_only=True)

    @property
    def readable(self) -> bool:
        return not self.in_words


def of_kind(spec: Any) -> tuple[Metric, ...]:
    """The metrics a spec class (or instance) declares: its ``metrics`` class attribute, else none."""
    return tuple(getattr(spec, "metrics", ())) + tuple(getattr(spec, "shared_metrics", ()))


def reported(spec: Any, scenario: Any) -> tuple[Metric, ...]:
    """The declared metrics a component of *spec* reports in *scenario*, in declaration order."""
    return tuple(m for m in of_kind(spec) if m.applies(spec, scenario))


def undeclared(metrics: Iterable[Metric], tallies: Iterable[str], facts: Iterable[str]) -> list[str]:
    """The emitted tally and fact names that *metrics* (what a component reports) do not declare:
    a tally is a :class:`Counter`'s name or ``<share>:<i>``, a fact a :class:`Fact`'s name."""
    metrics = tuple(metrics)
    counters = {m.name for m in metrics if isinstance(m, Counter)}
    shares = [m for m in metrics if isinstance(m, Share)]
    known_facts = {m.name for m in metrics if isinstance(m, Fact)}
    wrong = [t for t in tallies if t not in counters and not any(s.owns(t) for s in shares)]
    return wrong + [f for f in facts if f not in known_facts]
