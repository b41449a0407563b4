"""One report for a whole history: linearizability and the session guarantees, key by key.

:func:`check` is what a store calls when its run ends. Each key is checked on its own
(:func:`~simulator.consistency.linearizability.check_register`,
:func:`~simulator.consistency.sessions.check_sessions`). A long run keeps the work bounded:
with more than ``max_keys`` keys, a deterministic sample (by ``seed``) is checked and the
report says how many keys were checked of how many; each key's search has a ``budget`` of
states, over which that key is *unknown*.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from .history import Op, group_by_key
from .linearizability import check_register
from .sessions import check_sessions

MAX_EXAMPLES = 3  # minimal examples worked out (each costs a few more searches) and kept per guarantee


@dataclass
class Report:
    """What the checkers found. ``linearizable`` is True when every checked key is, False
    when one is not, None when none failed but some key was unknown (budget exhausted).
    ``*_violations`` count keys (linearizability) or reads (session guarantees)."""

    keys_checked: int = 0
    keys_total: int = 0
    ops_checked: int = 0
    linearizable: bool | None = True
    linearizability_violations: int = 0
    unknown: int = 0
    ryw_violations: int = 0
    monotonic_read_violations: int = 0
    examples: list[str] = field(default_factory=list)
    violating_keys: list[int] = field(default_factory=list)

    @property
    def sampled(self) -> bool:
        return self.keys_checked < self.keys_total

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (JSON-serialisable)."""
        return asdict(self)

    def describe(self) -> str:
        """One line: the verdict and the share of keys checked."""
        verdict = {True: "linearizable", False: "NOT linearizable", None: "linearizability unknown"}[self.linearizable]
        keys = f"{self.keys_checked} of {self.keys_total} keys checked (a sample)" if self.sampled \
            else f"{self.keys_checked} keys checked"
        return (f"{verdict}: {keys}, {self.linearizability_violations} keys violate, {self.unknown} unknown; "
                f"read-your-writes violations {self.ryw_violations}, "
                f"monotonic-read violations {self.monotonic_read_violations}")


def check(history_ops: Iterable[Op], *, max_keys: int | None = None, seed: int = 0,
          budget: int | None = None) -> Report:
    """Check a history, key by key.

    Args:
        history_ops: Every op of the run (a :class:`~simulator.consistency.history.History`
            or any iterable of :class:`~simulator.consistency.history.Op`).
        max_keys: Check at most this many keys, a sample drawn with ``seed`` (None: all).
        seed: Seed of the key sample (the same history, seed and ``max_keys`` give the same keys).
        budget: States each key's linearizability search may explore before it is unknown
            (None: 100 000 plus 10 per op of the key, :func:`check_register`).
    """
    if max_keys is not None and (isinstance(max_keys, bool) or not isinstance(max_keys, int) or max_keys < 1):
        raise ValueError(f"max_keys must be an integer >= 1 or None, got {max_keys!r}")
    keys = group_by_key(history_ops)
    chosen = sorted(keys)
    if max_keys is not None and len(chosen) > max_keys:
        chosen = sorted(random.Random(seed).sample(chosen, max_keys))
    report = Report(keys_checked=len(chosen), keys_total=len(keys))
    session_examples: list[str] = []
    for key in chosen:
        ops = keys[key]
        report.ops_checked += len(ops)
        explain = report.linearizability_violations < MAX_EXAMPLES
        verdict = check_register(ops, budget=budget, explain=explain)
        if verdict.ok is None:
            report.unknown += 1
        elif not verdict.ok:
            report.linearizability_violations += 1
            report.violating_keys.append(key)
            if explain:
                report.examples.append(verdict.text)
        sessions = check_sessions(ops, max_examples=MAX_EXAMPLES)
        report.ryw_violations += sessions.ryw_violations
        report.monotonic_read_violations += sessions.monotonic_read_violations
        session_examples.extend(sessions.examples)
    ryw = [text for text in session_examples if text.startswith("read-your-writes")][:MAX_EXAMPLES]
    monotonic = [text for text in session_examples if text.startswith("monotonic")][:MAX_EXAMPLES]
    report.examples += ryw + monotonic
    report.linearizable = False if report.linearizability_violations else (None if report.unknown else True)
    return report
