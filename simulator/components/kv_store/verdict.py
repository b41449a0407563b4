"""The consistency verdict on a store's history, worked out when its run ends.

The store records one row per operation of its first ``history_keys`` keys (see
:mod:`.runtime`); :func:`verdict` turns them into the checker's
:class:`~simulator.consistency.Op` (Jepsen's ok / fail / info; a read that returned
nothing read the initial value; a write that took effect carries its version, the
store's own order of writes) and checks every key recorded
(:func:`simulator.consistency.check`: single-register linearizability, WGL search per
key, and the session guarantees read-your-writes and monotonic reads, per request).
"""

from __future__ import annotations

import math
from typing import Any, Iterable

from ...consistency import Op, check

OUTCOMES = ("ok", "fail", "info")
FACTS = ("linearizable", "linearizability_violations", "ryw_violations", "monotonic_read_violations",
         "consistency_keys_checked", "consistency_examples")
"""What the verdict adds to the store's summary (the facts its spec declares)."""


def _known(x: float) -> bool:
    return x is not None and not math.isnan(x)


def ops_of(rows: Iterable[tuple]) -> list[Op]:
    """The checker's ops from the store's history rows
    ``(process, key, kind, value, invoke, complete, outcome code, version)``."""
    ops = []
    for process, key, kind, value, invoke, complete, outcome, version in rows:
        write = kind == "write"
        ops.append(Op(process=int(process), key=int(key), kind=kind,
                      value=int(value) if _known(value) else None, invoke=invoke, complete=complete,
                      outcome=OUTCOMES[outcome], version=version if write and _known(version) else None))
    return ops


def verdict(rows: Iterable[tuple]) -> dict[str, Any]:
    """The facts of the check: ``linearizable`` 1 / 0 (None: some key's search ran out of its
    budget and none failed), keys that violate linearizability, reads that broke
    read-your-writes or monotonic reads, keys checked, and up to a few minimal examples in words."""
    report = check(ops_of(rows))
    linearizable = None if report.linearizable is None else int(report.linearizable)
    return dict(zip(FACTS, (linearizable, report.linearizability_violations, report.ryw_violations,
                            report.monotonic_read_violations, report.keys_checked,
                            " | ".join(report.examples) or "none")))
