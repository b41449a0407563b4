"""Named record tables: rows a kind (or the engine) adds beside requests, spans and tallies.

A table is declared where it is filled, once, before the run::

    add = recorder.table("messages", ("sent", "delivered", "partition"), summary="count")
    add(now, now + delay, 3.0)          # one value per field, numbers only (codes for names)

``log.table(...)`` gives a component its own table the same way (``ComponentRecords.table``).
Rows go into one flat ``array('d')`` (8 bytes a value; ``extend`` with the row, which
leaves a row of the wrong length to be caught when the table is read, with its name).

Each table carries its rule for ``records: summary`` (:data:`SUMMARY_RULES`), so memory
stays bounded where it must:

* ``"keep"`` — every row is kept in both modes (tables that stay small: alerts, a
  resharding's moves);
* ``"count"`` — full records keep every row; summary records keep only how many rows
  were added (``RecordTable.count``), and asking for the rows raises
  :class:`~.grid.FullRecordsRequired`;
* a :class:`~.digest.Digest` — as ``"count"``, plus, in both modes, per group of rows
  their count, sums, value counts and one field's distribution (exact from the rows with
  full records, folded as the run goes with summary records): ``RecordTable.groups``.
  Its ``present`` turns the groups into ``RecordTable.entries``, which a component's
  table adds to the component's summary entry (how a saga's outcomes reach the summary).

After the run each table is a :class:`RecordTable` on the result: ``Result.table(name)``
and ``ComponentRecords.table(name)`` give it as a DataFrame.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from .digest import Digest, Group
from .digesting import CHUNK_ROWS, Digesting, digest_rows

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SUMMARY_RULES", "RecordTable", "Tables"]

SUMMARY_RULES = ("keep", "count")
"""What ``records: summary`` keeps of a table: every row, or only the number of rows (or a
:class:`~.digest.Digest` of them: see the module docstring)."""


@dataclass
class RecordTable:
    """One table after the run: its fields, its rule (``"digest"`` for a digest), how many rows
    were added, and the rows (an ``(n, fields)`` float matrix; ``None`` when summary records
    kept only the count); for a digest its ``groups`` and the summary ``entries`` made of them."""

    name: str
    fields: tuple[str, ...]
    summary: str
    count: int
    rows: np.ndarray | None
    groups: list[Group] | None = None
    entries: dict[str, Any] = field(default_factory=dict)

    def frame(self) -> "pd.DataFrame":
        """The rows as a DataFrame, one column per field (the caller checked that rows were kept)."""
        import pandas as pd

        return pd.DataFrame(self.rows, columns=list(self.fields))


class _Live:
    __slots__ = ("name", "fields", "summary", "rows", "counted", "add", "rule", "digesting", "fold")

    def __init__(self, name: str, fields: tuple[str, ...], summary: str | Digest, keep_rows: bool):
        self.name, self.fields, self.rule = name, fields, summary
        self.summary = "digest" if isinstance(summary, Digest) else summary
        self.counted = [0]
        self.digesting = None
        if keep_rows:
            self.rows = array("d")
            extend = self.rows.extend

            def add(*row: float) -> None:
                extend(row)
        elif isinstance(summary, Digest):  # summary records: fold the rows into the digest every chunk
            self.rows = None
            self.digesting = Digesting(summary, fields, exact=False)
            buffer, counted, limit = array("d"), self.counted, CHUNK_ROWS * len(fields)
            extend = buffer.extend
            fold = self.fold = self._folder(buffer)

            def add(*row: float) -> None:
                extend(row)
                counted[0] += 1
                if len(buffer) >= limit:
                    fold()
        else:
            self.rows = None
            counted = self.counted

            def add(*row: float) -> None:
                counted[0] += 1

        self.add = add

    def _folder(self, buffer: array) -> Callable[[], None]:
        width = len(self.fields)

        def fold() -> None:
            if len(buffer) % width:
                raise ValueError(f"record table {self.name!r}: a row did not have one value per field "
                                 f"({', '.join(self.fields)})")
            if len(buffer):
                self.digesting.fold(np.frombuffer(buffer, dtype=float).reshape(-1, width).copy())
                del buffer[:]

        return fold

    def finish(self) -> RecordTable:
        if self.rows is None:
            table = RecordTable(self.name, self.fields, self.summary, self.counted[0], None)
            if self.digesting is not None:
                self.fold()
                self._digested(table, self.digesting.groups())
            return table
        width = len(self.fields)
        if len(self.rows) % width:
            raise ValueError(f"record table {self.name!r}: a row did not have one value per field "
                             f"({', '.join(self.fields)})")
        rows = np.frombuffer(self.rows, dtype=float).reshape(-1, width).copy() if len(self.rows) \
            else np.zeros((0, width))
        table = RecordTable(self.name, self.fields, self.summary, rows.shape[0], rows)
        if isinstance(self.rule, Digest):
            self._digested(table, digest_rows(self.rule, self.fields, rows))
        return table

    def _digested(self, table: RecordTable, groups: list[Group]) -> None:
        table.groups = groups
        present = self.rule.present
        table.entries = dict(present(groups)) if present is not None else {}


class Tables:
    """The named tables of one recorder (or one component's log). *full*: ``records: full``."""

    __slots__ = ("full", "live")

    def __init__(self, full: bool):
        self.full = full
        self.live: dict[str, _Live] = {}

    def table(self, name: str, fields: tuple[str, ...] | list[str], summary: str | Digest = "count"
              ) -> Callable[..., None]:
        """Declare table *name* with *fields* and its *summary* rule; return its ``add(*row)``."""
        if name in self.live:
            raise ValueError(f"record table {name!r} is declared twice")
        fields = tuple(fields)
        self._check(name, fields, summary)
        table = self.live[name] = _Live(name, fields, summary, self.full or summary == "keep")
        return table.add

    def shared(self, name: str, fields: tuple[str, ...] | list[str], summary: str | Digest = "count"
               ) -> Callable[..., None]:
        """Table *name*: declared by the first caller, the same ``add`` for each later one that
        declares it alike (several steps of one component filling one table); a different
        declaration is an error."""
        table = self.live.get(name)
        if table is None:
            return self.table(name, fields, summary)
        if table.fields != tuple(fields) or table.rule != summary:
            raise ValueError(f"record table {name!r} is declared twice, differently")
        return table.add

    @staticmethod
    def _check(name: str, fields: tuple[str, ...], summary: str | Digest) -> None:
        if isinstance(summary, Digest):
            summary.check(name, fields)
        elif summary not in SUMMARY_RULES:
            raise ValueError(f"record table {name!r}: summary must be one of {', '.join(SUMMARY_RULES)} "
                             f"or a Digest, not {summary!r}")
        if not fields:
            raise ValueError(f"record table {name!r} needs at least one field")

    def finish(self) -> dict[str, RecordTable]:
        return {name: table.finish() for name, table in self.live.items()}


def lookup(tables: dict[str, RecordTable], name: str, where: str) -> RecordTable:
    """Table *name* of *tables*, or a KeyError listing the tables *where* has."""
    if name not in tables:
        raise KeyError(f"{where} has no record table {name!r} (tables: {', '.join(tables) or 'none'})")
    return tables[name]
