"""Computing a record table's :class:`~.digest.Digest`: exact from every row, or folded chunk by chunk."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .aggregates import LATENCY_ACCURACY
from .digest import Digest, Group
from .sketch import LogSketch
from .window import latency_stats, sketch_stats

__all__ = ["CHUNK_ROWS", "Digesting", "digest_rows"]

CHUNK_ROWS = 4096
"""Rows a summary-records digest buffers before folding them in."""


class _Accumulator:
    __slots__ = ("count", "sums", "counts", "values", "sketch")

    def __init__(self, digest: Digest, exact: bool):
        self.count = 0
        self.sums = {name: 0.0 for name in digest.sums}
        self.counts: dict[str, dict[int, int]] = {name: {} for name in digest.counts}
        self.values: list[np.ndarray] = []
        self.sketch = None if exact or digest.spread is None else LogSketch(LATENCY_ACCURACY)


class Digesting:
    """A digest being built from rows of a table with *fields*: :meth:`fold` chunks, then :meth:`groups`.

    *exact*: keep the spread's values and compute its statistics exactly (full records);
    otherwise sketch them.
    """

    def __init__(self, digest: Digest, fields: Sequence[str], exact: bool):
        self.digest = digest
        self.exact = exact
        index = {name: i for i, name in enumerate(fields)}
        self._by = [index[name] for name in digest.by]
        self._sums = [(name, index[name]) for name in digest.sums]
        self._counts = [(name, index[name]) for name in digest.counts]
        self._spread = index[digest.spread] if digest.spread else None
        self._when = index[digest.when] if digest.when else None
        self._groups: dict[tuple[int, ...], _Accumulator] = {}

    def fold(self, rows: np.ndarray) -> None:
        """Add the rows (an ``(n, fields)`` matrix) whose ``when`` lies in the window."""
        if self._when is not None:
            lo, hi = self.digest.window
            when = rows[:, self._when]
            rows = rows[(when >= lo) & (when < hi)]
        if rows.shape[0] == 0:
            return
        keys = rows[:, self._by].astype(np.int64)
        unique, inverse = np.unique(keys, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        for g, key in enumerate(map(tuple, unique.tolist())):
            chosen = rows[inverse == g]
            acc = self._groups.get(key)
            if acc is None:
                acc = self._groups[key] = _Accumulator(self.digest, self.exact)
            acc.count += chosen.shape[0]
            for name, i in self._sums:
                acc.sums[name] += float(chosen[:, i].sum())
            for name, i in self._counts:
                values, counts = np.unique(chosen[:, i].astype(np.int64), return_counts=True)
                tally = acc.counts[name]
                for value, n in zip(values.tolist(), counts.tolist()):
                    tally[value] = tally.get(value, 0) + n
            if self._spread is not None:
                spread = chosen[:, self._spread]
                if acc.sketch is None:
                    acc.values.append(spread.copy())
                else:
                    acc.sketch.add(spread)

    def groups(self) -> list[Group]:
        """Every group seen, sorted by key."""
        out = []
        for key in sorted(self._groups):
            acc = self._groups[key]
            if self._spread is None:
                spread: dict[str, float | None] = {}
            elif acc.sketch is not None:
                spread = sketch_stats(acc.sketch)
            else:
                spread = latency_stats(np.concatenate(acc.values) if acc.values else np.zeros(0))
            out.append(Group(key=key, count=acc.count, sums=dict(acc.sums),
                             counts={name: dict(sorted(tally.items())) for name, tally in acc.counts.items()},
                             spread=spread))
        return out


def digest_rows(digest: Digest, fields: Sequence[str], rows: np.ndarray) -> list[Group]:
    """The exact digest of every row of a table (full records)."""
    digesting = Digesting(digest, fields, exact=True)
    digesting.fold(rows)
    return digesting.groups()

