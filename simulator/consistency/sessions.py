"""Session guarantees, weaker than linearizability: read-your-writes and monotonic reads.

Both are checked per session (an op's ``process``) and per key, in the session's own order
(its ops never overlap). They need to know when one value of a key is *older* than
another; a store chooses how by what it records:

* by **version**, when any write of the key carries one (``Op.version``: the store's own
  total order of its writes, e.g. its last-writer-wins timestamp or a Raft log index): a
  lower version is older. Writes without a version are then left out of the order;
* otherwise by **acknowledgement**: value ``u`` is older than value ``v`` when the write
  of ``u`` was acknowledged (``ok``) before the write of ``v`` was invoked. Two writes
  that overlapped in time have no order (either may have taken effect last), so a read of
  either is never counted against the other: the check flags only what no correct store
  could have done, and any linearizable history passes it.

The initial value (``None``) is older than every written value. A read of a value whose
write the order does not know (never written, or unversioned) is skipped; linearizability
catches reads of values that were never written.

* **read-your-writes**: a session's read returns its own latest acknowledged write to the
  key or a value not older than it;
* **monotonic reads**: a session never reads a value older than one it already read from
  the key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable

from .history import Op


@dataclass
class SessionReport:
    """One key's session guarantees: reads checked, reads that broke each guarantee, and a
    few examples in words."""

    reads: int = 0
    ryw_violations: int = 0
    monotonic_read_violations: int = 0
    examples: list[str] = field(default_factory=list)


class WriteOrder:
    """When one value of a key is older than another (see the module docstring)."""

    def __init__(self, ops: Iterable[Op]) -> None:
        writes = [op for op in ops if op.kind == "write" and op.outcome != "fail"]
        self.by_version = any(op.version is not None for op in writes)
        if self.by_version:
            writes = [op for op in writes if op.version is not None]
        self.writes = {op.value: op for op in writes}

    def knows(self, value: int | None) -> bool:
        return value is None or value in self.writes

    def rank(self, value: int | None) -> float:
        """Versions: the value's version (-inf for the initial value)."""
        return -math.inf if value is None else self.writes[value].version

    def older(self, value: int | None, than: int | None) -> bool:
        """``value`` is certainly older than ``than`` (both known)."""
        if value == than or than is None:
            return False
        if value is None:
            return True
        if self.by_version:
            return self.rank(value) < self.rank(than)
        write = self.writes[value]
        return write.outcome == "ok" and write.complete < self.writes[than].invoke

    def since(self, value: int | None) -> float:
        """Acknowledgements: a value is older than ``value`` when its write was acknowledged
        before this; versions: its version is below this."""
        if value is None:
            return -math.inf
        return self.rank(value) if self.by_version else self.writes[value].invoke

    def before(self, value: int | None, since: float) -> bool:
        """``value`` is certainly older than any value whose :meth:`since` is ``since``."""
        if value is None:
            return since > -math.inf
        if self.by_version:
            return self.rank(value) < since
        write = self.writes[value]
        return write.outcome == "ok" and write.complete < since


def check_sessions(ops: Iterable[Op], *, max_examples: int = 3) -> SessionReport:
    """Read-your-writes and monotonic reads over the ops of ONE key.

    Args:
        ops: The key's ops, any order.
        max_examples: Most examples in words to keep for each guarantee.
    """
    ops = list(ops)
    order = WriteOrder(ops)
    report = SessionReport()
    ryw: list[str] = []
    monotonic: list[str] = []
    sessions: dict[int, list[Op]] = {}
    for op in ops:
        sessions.setdefault(op.process, []).append(op)
    for session_ops in sessions.values():
        session_ops.sort(key=lambda op: op.invoke)
        own: Op | None = None  # the session's latest acknowledged write the order knows
        newest: Op | None = None  # the read whose value is the newest seen so far
        for op in session_ops:
            if op.kind == "write":
                if op.outcome == "ok" and order.knows(op.value):
                    own = op
                continue
            if op.outcome != "ok" or not order.knows(op.value):
                continue
            report.reads += 1
            if own is not None and order.older(op.value, own.value):
                report.ryw_violations += 1
                if len(ryw) < max_examples:
                    ryw.append(f"read-your-writes: {op.describe()}, older than its own write of {own.value} "
                               f"at [{own.invoke:.3f} s, {own.complete:.3f} s]")
            if newest is not None and order.before(op.value, order.since(newest.value)):
                report.monotonic_read_violations += 1
                if len(monotonic) < max_examples:
                    monotonic.append(f"monotonic reads: {op.describe()}, older than the "
                                     f"{_value(newest.value)} it had read at "
                                     f"[{newest.invoke:.3f} s, {newest.complete:.3f} s]")
            if newest is None or order.since(op.value) > order.since(newest.value):
                newest = op
    report.examples = ryw + monotonic
    return report


def _value(value: int | None) -> str:
    return "initial value" if value is None else f"value {value}"
