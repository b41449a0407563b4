"""What a kind measures, declared: small descriptors every consumer reads instead of naming kinds.

A kind's spec lists them (``components/<kind>/spec.py``)::

    class CacheSpec(ComponentBase):
        metrics: ClassVar[tuple[Metric, ...]] = (
            Counter("hits"), Counter("misses"),
            Ratio("hit_ratio", "hits", ("hits", "misses"), headline=True),
        )

The runtime emits the numbers (``log.counter(name)``, ``log.ratios``, ``log.facts``:
:mod:`simulator.metrics.recorder`); the summary carries them under the declared names;
the report, the HTML report, ``compare``, sweep records, sweep tables and charts read the
declarations to know what a number is, how to label it and whether to compare it
(:mod:`simulator.declared` looks them up by kind). Nothing outside the kind's folder names
its metrics.

* :class:`Counter` — a tallied event (``summary()["components"][c]["counts"][name]``);
* :class:`Ratio` — numerator / sum of denominators over the window (``summary()[..][name]``):
  compared between designs and recorded in sweeps;
* :class:`Share` — tallies ``<name>:<i>`` split over replicas or shards (how evenly load spread);
* :class:`Fact` — a static number or text about the component (``summary()[..][name]``).

This module is pure (no third-party import, nothing else of sdsim): specs import it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

__all__ = ["Counter", "Fact", "Metric", "Ratio", "Share", "of_kind"]


@dataclass(frozen=True)
class Metric:
    """A named number a component reports. *label* is how people read it (default: the name, spaced)."""

    name: str
    label: str = field(default="", kw_only=True)

    @property
    def text(self) -> str:
        return self.label or self.name.replace("_", " ")


@dataclass(frozen=True)
class Counter(Metric):
    """A tallied event (``log.counter(name)``): its count in the window is ``counts[name]``."""


@dataclass(frozen=True)
class Ratio(Metric):
    """``numerator / (sum of denominator)`` counts over the window (``None`` when the denominator is 0).

    *headline*: a column of its own in sweep tables. Ratios are compared between designs
    and recorded in sweep records (``component.<name>.<ratio>``).
    """

    numerator: str = ""
    denominator: tuple[str, ...] = ()
    headline: bool = field(default=False, kw_only=True)

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
    recorded in sweep records (``component.<name>.<fact>``)."""

    record: bool = field(default=False, kw_only=True)


def of_kind(spec: Any) -> tuple[Metric, ...]:
    """The metrics a spec class (or instance) declares: its ``metrics`` class attribute, else none."""
    return tuple(getattr(spec, "metrics", ()))
