"""Digests: the summary rule of a record table whose rows are too many to keep in summary records.

A table declared with ``summary=Digest(...)`` (:mod:`.tables`) keeps every row with full
records, like a ``"count"`` table, and in both records modes a **digest** of the rows whose
``when`` field lies in the measurement ``window`` ``[lo, hi)``: per group of rows (the
values of the ``by`` fields, integer codes) it keeps

* ``count`` — how many rows;
* ``sums`` — the sum of each ``sums`` field;
* ``counts`` — how many rows have each value of each ``counts`` field (integer codes);
* ``spread`` — the distribution of the ``spread`` field: mean, p50 … p999 and max.

With full records the digest is computed once from every row when the run ends: exact.
With summary records the rows are folded in every :data:`~.digesting.CHUNK_ROWS` rows and dropped:
counts are exact, sums exact up to float summation order, and the spread goes into a
:class:`~.sketch.LogSketch` (quantiles within :data:`~.aggregates.LATENCY_ACCURACY`
relative error, mean and max exact), so memory grows with the number of groups, not rows.
The two modes therefore agree as the request summary does.

``present(groups)`` turns the groups into the entries the table adds to its owner's
summary (``summary()["components"][name]`` for a component's table): whoever declares the
table says what its numbers mean; this module never does.

This module is the pure declaration (standard library only, like :mod:`.descriptors`), so a
step kind can declare a digest; :mod:`.digesting` computes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

__all__ = ["Digest", "Group"]


@dataclass(frozen=True)
class Group:
    """The digest of the rows sharing one ``key`` (the values of the ``by`` fields)."""

    key: tuple[int, ...]
    count: int
    sums: dict[str, float]
    counts: dict[str, dict[int, int]]
    spread: dict[str, float | None]


@dataclass(frozen=True)
class Digest:
    """What a table keeps of its rows in both records modes (see the module docstring).

    *present* maps the list of :class:`Group` (sorted by key) to summary entries; it must be
    picklable (a module-level function or an instance of a module-level class), since
    results travel between processes.
    """

    by: tuple[str, ...]
    sums: tuple[str, ...] = ()
    counts: tuple[str, ...] = ()
    spread: str | None = None
    when: str | None = None
    window: tuple[float, float] = (float("-inf"), float("inf"))
    present: Callable[[list[Group]], dict[str, Any]] | None = None

    def check(self, table: str, fields: Sequence[str]) -> None:
        """ValueError when a field the digest names is not one of the table's *fields*."""
        named = (*self.by, *self.sums, *self.counts, *((self.spread,) if self.spread else ()),
                 *((self.when,) if self.when else ()))
        unknown = [name for name in named if name not in fields]
        if unknown:
            raise ValueError(f"record table {table!r}: its digest names {', '.join(unknown)}, "
                             f"which are not fields ({', '.join(fields)})")
        if not self.by:
            raise ValueError(f"record table {table!r}: a digest groups rows by at least one field")
