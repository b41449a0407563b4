"""A consistency checker for a store's history: linearizability per key and session guarantees.

Pure Python (stdlib only), no SimPy: a store records one
:class:`~simulator.consistency.history.Op` per client operation into a
:class:`~simulator.consistency.history.History` and calls :func:`check` when the run ends::

    from simulator.consistency import History, Op, check
    history = History()
    history.append(Op(process=3, key=7, kind="write", value=41, invoke=2.0, complete=2.01))
    history.append(Op(process=12, key=7, kind="read", value=41, invoke=3.2, complete=3.21))
    report = check(history, max_keys=1000)
    report.linearizable, report.examples, report.to_dict()

One concept per module:

* :mod:`~simulator.consistency.history` — :class:`Op` (Jepsen's ok / fail / info),
  :class:`History` (grouped by key, from a table of columns);
* :mod:`~simulator.consistency.linearizability` — :func:`check_register`, the WGL search
  for one key with a state budget, and the minimal example of a violation;
* :mod:`~simulator.consistency.sessions` — read-your-writes and monotonic reads
  (:func:`check_sessions`; "newer" by store version or by acknowledgement order);
* :mod:`~simulator.consistency.report` — :func:`check` and its :class:`Report`, key by key,
  on a deterministic sample of keys when there are many.
"""

from __future__ import annotations

from .history import History, Op, group_by_key
from .linearizability import DEFAULT_BUDGET, Verdict, check_register
from .report import Report, check
from .sessions import SessionReport, WriteOrder, check_sessions

__all__ = ["Op", "History", "group_by_key", "check_register", "Verdict", "DEFAULT_BUDGET",
           "check_sessions", "SessionReport", "WriteOrder", "check", "Report"]
