"""Named record tables: rows a kind (or the engine) adds beside requests, spans and tallies.

A table is declared where it is filled, once, before the run::

    add = recorder.table("messages", ("sent", "delivered", "partition"), summary="count")
    add(now, now + delay, 3.0)          # one value per field, numbers only (codes for names)

``log.table(...)`` gives a component its own table the same way (``ComponentRecords.table``).
Rows go into one flat ``array('d')`` (the cheapest append Python offers, as for spans).

Each table carries its rule for ``records: summary`` (:data:`SUMMARY_RULES`), so memory
stays bounded where it must:

* ``"keep"`` — every row is kept in both modes (tables that stay small: alerts, a
  resharding's moves);
* ``"count"`` — full records keep every row; summary records keep only how many rows
  were added (``RecordTable.count``), and asking for the rows raises
  :class:`~.grid.FullRecordsRequired`.

After the run each table is a :class:`RecordTable` on the result: ``Result.table(name)``
and ``ComponentRecords.table(name)`` give it as a DataFrame.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SUMMARY_RULES", "RecordTable", "Tables"]

SUMMARY_RULES = ("keep", "count")
"""What ``records: summary`` keeps of a table: every row, or only the number of rows."""


@dataclass
class RecordTable:
    """One table after the run: its fields, its rule, how many rows were added, and the rows
    (an ``(n, fields)`` float matrix; ``None`` when summary records kept only the count)."""

    name: str
    fields: tuple[str, ...]
    summary: str
    count: int
    rows: np.ndarray | None

    def frame(self) -> "pd.DataFrame":
        """The rows as a DataFrame, one column per field (the caller checked that rows were kept)."""
        import pandas as pd

        return pd.DataFrame(self.rows, columns=list(self.fields))


class _Live:
    __slots__ = ("name", "fields", "summary", "rows", "counted", "add")

    def __init__(self, name: str, fields: tuple[str, ...], summary: str, keep_rows: bool):
        self.name, self.fields, self.summary = name, fields, summary
        self.counted = [0]
        if keep_rows:
            self.rows = array("d")
            extend = self.rows.extend

            def add(*row: float) -> None:
                extend(row)
        else:
            self.rows = None
            counted = self.counted

            def add(*row: float) -> None:
                counted[0] += 1

        self.add = add

    def finish(self) -> RecordTable:
        if self.rows is None:
            return RecordTable(self.name, self.fields, self.summary, self.counted[0], None)
        width = len(self.fields)
        if len(self.rows) % width:
            raise ValueError(f"record table {self.name!r}: a row did not have one value per field "
                             f"({', '.join(self.fields)})")
        rows = np.frombuffer(self.rows, dtype=float).reshape(-1, width).copy() if len(self.rows) \
            else np.zeros((0, width))
        return RecordTable(self.name, self.fields, self.summary, rows.shape[0], rows)


class Tables:
    """The named tables of one recorder (or one component's log). *full*: ``records: full``."""

    __slots__ = ("full", "live")

    def __init__(self, full: bool):
        self.full = full
        self.live: dict[str, _Live] = {}

    def table(self, name: str, fields: tuple[str, ...] | list[str], summary: str = "count") -> Callable[..., None]:
        """Declare table *name* with *fields* and its *summary* rule; return its ``add(*row)``."""
        if name in self.live:
            raise ValueError(f"record table {name!r} is declared twice")
        if summary not in SUMMARY_RULES:
            raise ValueError(f"record table {name!r}: summary must be one of {', '.join(SUMMARY_RULES)}, "
                             f"not {summary!r}")
        fields = tuple(fields)
        if not fields:
            raise ValueError(f"record table {name!r} needs at least one field")
        table = self.live[name] = _Live(name, fields, summary, self.full or summary == "keep")
        return table.add

    def finish(self) -> dict[str, RecordTable]:
        return {name: table.finish() for name, table in self.live.items()}


def lookup(tables: dict[str, RecordTable], name: str, where: str) -> RecordTable:
    """Table *name* of *tables*, or a KeyError listing the tables *where* has."""
    if name not in tables:
        raise KeyError(f"{where} has no record table {name!r} (tables: {', '.join(tables) or 'none'})")
    return tables[name]
