"""Session guarantees, weaker than linearizability: read-your-writes and monotonic reads.

Both are checked per session (an op's ``process``) and per key, in the session's own order
(its ops never overlap). They need to know which of two values of a key is *newer*:

* by **version**, when the key's writes carry one (``Op.version``: the store's own order of
  its writes, e.g. its last-writer-wins timestamp): a higher version is newer;
* otherwise by **acknowledgement order**: a write whose ``ok`` completion came later is
  newer. A write never acknowledged (``info`` or ``fail``) then has no place in the order,
  and a read of its value is compared with nothing.

The initial value (``None``) is older than every write. A read that saw a value whose age
is unknown is skipped, never counted as a violation (linearizability catches reads of values
that were never written).

* **read-your-writes**: a session's read returns its own latest acknowledged write to that
  key, or a newer value;
* **monotonic reads**: a session never reads a value older than one it already read from
  that key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable

from .history import Op


@dataclass
class SessionReport:
    """Violations of one key's session guarantees: counts (reads that broke each) and a few
    examples in words."""

    reads: int = 0  # ok reads checked
    ryw_violations: int = 0
    monotonic_read_violations: int = 0
    examples: list[str] = field(default_factory=list)


def write_order(ops: Iterable[Op]) -> dict[int | None, float]:
    """How new each value of one key is: ``{value: rank}``, larger is newer; ``None`` (the
    initial value) ranks lowest. Versions when any write of the key carries one (writes
    without a version are then unranked), else acknowledgement times of ``ok`` writes."""
    writes = [op for op in ops if op.kind == "write"]
    rank: dict[int | None, float] = {None: -math.inf}
    if any(op.version is not None for op in writes):
        rank.update((op.value, op.version) for op in writes if op.version is not None)
    else:
        rank.update((op.value, op.complete) for op in writes if op.outcome == "ok")
    return rank


def check_sessions(ops: Iterable[Op], *, max_examples: int = 3) -> SessionReport:
    """Read-your-writes and monotonic reads over the ops of ONE key.

    Args:
        ops: The key's ops, any order.
        max_examples: Most examples in words to keep (per guarantee).
    """
    ops = list(ops)
    rank = write_order(ops)
    report = SessionReport()
    ryw_examples: list[str] = []
    monotonic_examples: list[str] = []
    sessions: dict[int, list[Op]] = {}
    for op in ops:
        sessions.setdefault(op.process, []).append(op)
    for session_ops in sessions.values():
        session_ops.sort(key=lambda op: op.invoke)
        own: Op | None = None  # the session's latest acknowledged write
        newest: Op | None = None  # the read that saw the newest value so far
        for op in session_ops:
            if op.kind == "write":
                if op.outcome == "ok":
                    own = op
                continue
            if op.outcome != "ok" or op.value not in rank:
                continue
            report.reads += 1
            seen = rank[op.value]
            if own is not None and own.value in rank and seen < rank[own.value]:
                report.ryw_violations += 1
                if len(ryw_examples) < max_examples:
                    ryw_examples.append(f"read-your-writes: {op.describe()}, but that session had written "
                                        f"{own.value} at [{own.invoke:.3f} s, {own.complete:.3f} s], which is newer")
            if newest is not None and seen < rank[newest.value]:
                report.monotonic_read_violations += 1
                if len(monotonic_examples) < max_examples:
                    monotonic_examples.append(f"monotonic reads: {op.describe()}, after it had read the newer "
                                              f"{newest.value} at [{newest.invoke:.3f} s, {newest.complete:.3f} s]")
            if newest is None or seen > rank[newest.value]:
                newest = op
    report.examples = ryw_examples + monotonic_examples
    return report
