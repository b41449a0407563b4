"""A store's history: every operation on a key, with when it was invoked, when it completed and what it saw.

One :class:`Op` per client operation, in Jepsen's vocabulary. A store records them while
it runs (a :class:`History` is the list it appends to) and hands them to
:func:`simulator.consistency.check` when the run ends.

* ``process``: the client session that issued the op (a client or request id). The ops of
  one process never overlap in time: a session issues its next op after the previous
  one completed (or timed out).
* ``key``: the register the op touched; each key is checked on its own.
* ``kind``: ``"read"`` or ``"write"``.
* ``value``: for a write, the value written; for a read, the value returned. ``None`` is
  the initial value (the key was never written). Written values are unique per key, so a
  read's value names the one write it read from.
* ``invoke`` and ``complete``: seconds of simulated time; ``complete`` is ``None`` when the
  client never heard back.
* ``outcome``: ``"ok"`` (took effect and returned), ``"fail"`` (certainly did *not* take
  effect, e.g. refused by the minority side of a partition) or ``"info"`` (unknown: a
  timeout; a write may or may not have taken effect, at any time after its invoke).
* ``version`` (writes only, optional): an order the store itself gives its writes (its
  last-writer-wins timestamp, a Raft index). The session checks use it, when the writes
  of a key carry one, to tell which of two values is newer
  (:mod:`simulator.consistency.sessions`).
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

KINDS = ("read", "write")
OUTCOMES = ("ok", "fail", "info")
COLUMNS = ("process", "key", "kind", "value", "invoke", "complete", "outcome", "version")


@dataclass(frozen=True, slots=True)
class Op:
    """One client operation on one key (see the module docstring for each field)."""

    process: int
    key: int
    kind: str
    value: int | None
    invoke: float
    complete: float | None = None
    outcome: str = "ok"
    version: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"an op's kind is 'read' or 'write', not {self.kind!r}")
        if self.outcome not in OUTCOMES:
            raise ValueError(f"an op's outcome is 'ok', 'fail' or 'info', not {self.outcome!r}")
        if not math.isfinite(self.invoke):
            raise ValueError(f"an op's invoke time must be a finite number of seconds, not {self.invoke!r}")
        if self.complete is None:
            if self.outcome == "ok":
                raise ValueError("an 'ok' op has a completion time (use outcome 'info' for an op never answered)")
        elif not (math.isfinite(self.complete) and self.complete >= self.invoke):
            raise ValueError(f"an op completes at or after its invoke ({self.invoke!r}), not at {self.complete!r}")
        if self.kind == "write" and self.value is None:
            raise ValueError("a write writes a value (None is the initial value, never written)")
        if self.version is not None and self.kind != "write":
            raise ValueError("only a write carries a version")

    @property
    def end(self) -> float:
        """When the op certainly stopped having an effect: its completion, or +infinity when
        its outcome is unknown (an ``info`` op may still take effect at any later time)."""
        return math.inf if self.outcome == "info" or self.complete is None else self.complete

    def describe(self) -> str:
        """The op in words: ``session 12 read key 7 → 41 at [3.200 s, 3.210 s]``."""
        what = f"read key {self.key} → {_value(self.value)}" if self.kind == "read" \
            else f"wrote {_value(self.value)} to key {self.key}"
        end = "never answered" if self.complete is None else f"{self.complete:.3f} s"
        fate = {"ok": "", "fail": " (failed: did not take effect)", "info": " (timed out: unknown)"}[self.outcome]
        return f"session {self.process} {what} at [{self.invoke:.3f} s, {end}]{fate}"


def _value(value: int | None) -> str:
    return "the initial value" if value is None else str(value)


class History:
    """The ops of a run, in the order they were recorded; grouped by key for the checkers."""

    def __init__(self, ops: Iterable[Op] = ()) -> None:
        self.ops: list[Op] = list(ops)

    def append(self, op: Op) -> None:
        self.ops.append(op)

    def __iter__(self) -> Iterator[Op]:
        return iter(self.ops)

    def __len__(self) -> int:
        return len(self.ops)

    def by_key(self) -> dict[int, list[Op]]:
        """The ops of each key, each list in invoke order (ties in recording order)."""
        return group_by_key(self.ops)

    def rows(self) -> dict[str, list[Any]]:
        """The ops as a table of columns (:data:`COLUMNS`), the inverse of :meth:`from_rows`."""
        return {name: [getattr(op, name) for op in self.ops] for name in COLUMNS}

    @classmethod
    def from_rows(cls, table: Any) -> "History":
        """A history from a table of columns: a mapping (or a pandas DataFrame) with the
        columns ``process``, ``key``, ``kind``, ``value``, ``invoke`` and ``complete``, and
        optionally ``outcome`` (default ``"ok"``) and ``version``. A missing value, a NaN
        (how pandas stores ``None`` in a number column) or ``None`` mean none."""
        names = list(table.keys())
        missing = [name for name in COLUMNS[:6] if name not in names]
        if missing:
            raise ValueError(f"a history table needs the columns {', '.join(COLUMNS[:6])}; "
                             f"missing: {', '.join(missing)}")
        columns = {name: list(table[name]) for name in COLUMNS if name in names}
        size = len(columns["process"])
        if any(len(column) != size for column in columns.values()):
            raise ValueError("every column of a history table has one entry per op")
        ops = []
        for i in range(size):
            ops.append(Op(process=int(columns["process"][i]), key=int(columns["key"][i]),
                          kind=str(columns["kind"][i]), value=_integer(columns["value"][i]),
                          invoke=float(columns["invoke"][i]), complete=_number(columns["complete"][i]),
                          outcome=str(columns["outcome"][i]) if "outcome" in columns else "ok",
                          version=_number(columns["version"][i]) if "version" in columns else None))
        return cls(ops)


def group_by_key(ops: Iterable[Op]) -> dict[int, list[Op]]:
    """The ops of each key, each list sorted by invoke time (stable)."""
    keys: dict[int, list[Op]] = {}
    for op in ops:
        keys.setdefault(op.key, []).append(op)
    for key_ops in keys.values():
        key_ops.sort(key=lambda op: op.invoke)
    return keys


def _number(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def _integer(value: Any) -> int | None:
    if hasattr(value, "__index__") and not isinstance(value, bool):
        return operator.index(value)  # an int or a NumPy integer, exactly
    number = _number(value)
    if number is None:
        return None
    if number != int(number):
        raise ValueError(f"a register value is an integer, not {value!r}")
    return int(number)
