"""Is one key's history linearizable? The Wing & Gong / Lowe (WGL) search for a read/write register.

A history is *linearizable* when every op can be given one instant between its invoke and
its completion such that, in the order of those instants, each read returns the value of
the latest write before it (``None``, the initial value, when there is none). This module
decides it for the ops of ONE key (a register; keys are independent, so a store is checked
key by key):

* ``ok`` ops must be linearized;
* ``fail`` ops certainly did not take effect and are dropped (so a read of a failed write's
  value cannot be placed);
* ``info`` writes (timed out) may be linearized at any instant after their invoke, or
  never (one whose value no read returned is left out: it can never be needed); ``info``
  reads returned nothing anyone saw and are dropped;
* an op that completes at the same instant another is invoked counts as concurrent with it
  (simulated clocks tie; the checker never flags an order it cannot be sure of).

The search (Wing & Gong 1993, with Lowe's 2017 memoisation, as in Knossos and Porcupine)
walks the invoke and completion events in time order, tries to linearize each op that has
been invoked while no pending op has completed yet, and backtracks when an op completes
before it could be placed. Every state (the set of linearized ops as a bitset, the
register's value) is explored at most once. ``budget`` bounds the states explored (by
default 100 000 plus 10 per op): over it the verdict is *unknown* (``ok is None``), never a
guess.

On a violation the verdict carries a **minimal example**: the shortest prefix of the
history (by completion time; ops still pending at its end become optional) that already
fails, then shrunk by dropping ops while it still fails (delta debugging: halves, quarters,
..., single ops) (never a write whose
value a remaining read returned, so the example stays self-explanatory), in words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Iterable

from .history import Op

DEFAULT_BUDGET = 100_000
STATES_PER_OP = 10  # the default budget grows with the history: a sequential one needs one state per op
SHRINK_CHECKS = 200  # searches spent on dropping ops (in halves, quarters, ... one at a time) after the prefix search


@dataclass(frozen=True)
class Verdict:
    """The answer for one key: ``ok`` True (linearizable), False (a violation, with
    ``example`` and ``explanation``) or None (the search ran out of ``budget``)."""

    ok: bool | None
    key: int | None
    ops: int  # ops the search had to place (ok ops and info writes)
    states: int  # states explored by the (first, whole-history) search
    example: tuple[Op, ...] = ()
    explanation: str = ""

    @property
    def text(self) -> str:
        """The verdict in words, the minimal example included."""
        where = "" if self.key is None else f"key {self.key}: "
        if self.ok:
            return f"{where}linearizable ({self.ops} ops)"
        if self.ok is None:
            return f"{where}unknown (budget exhausted after {self.states} states)"
        if not self.example:  # checked with explain=False
            return f"{where}not linearizable"
        return f"{where}not linearizable: {self.explanation} (ops: {'; '.join(op.describe() for op in self.example)})"


def check_register(ops: Iterable[Op], *, budget: int | None = None, explain: bool = True) -> Verdict:
    """Check the ops of one key against a read/write register (initial value ``None``).

    Args:
        ops: The key's ops, in any order (all must name the same key).
        budget: Most states the search may explore before it answers unknown (>= 1); None:
            ``DEFAULT_BUDGET + STATES_PER_OP × ops`` (100 000 + 10 per op).
        explain: On a violation, search for a minimal example (a few more searches).
    """
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int) or budget < 1):
        raise ValueError(f"budget must be an integer >= 1 or None, got {budget!r}")
    everything = list(ops)
    keys = {op.key for op in everything}
    if len(keys) > 1:
        raise ValueError(f"check_register checks one key at a time, got keys {sorted(keys)}")
    key = next(iter(keys), None)
    placed = _placeable(everything)
    if budget is None:
        budget = DEFAULT_BUDGET + STATES_PER_OP * len(placed)
    ok, states = search(placed, budget)
    if ok is not False or not explain:
        return Verdict(ok, key, len(placed), states)
    example = minimal_example(placed, budget)
    return Verdict(False, key, len(placed), states, tuple(example), explain_violation(example, everything))


def _placeable(ops: list[Op]) -> list[Op]:
    """The ops the search must (ok) or may (info writes) place.

    An info write whose value no ok read returned is left out: placing it can never help
    (no read needs it), and leaving it out is always allowed, so the verdict is the same,
    and a partition's many timed-out writes do not multiply the search."""
    seen = {op.value for op in ops if op.kind == "read" and op.outcome == "ok"}
    return [op for op in ops if op.outcome == "ok" or (op.outcome == "info" and op.kind == "write" and op.value in seen)]


def search(ops: list[Op], budget: int) -> tuple[bool | None, int]:
    """The WGL search over ops already filtered by :func:`_placeable`.

    Returns (linearizable or None when over budget, states explored)."""
    events = sorted([(op.invoke, 0, i) for i, op in enumerate(ops)] + [(op.end, 1, i) for i, op in enumerate(ops)])
    size = len(events)
    head = size
    # A doubly linked list of events, head first: linearizing an op unlinks its two events.
    after = list(range(1, size + 1)) + [0 if size else -1]
    after[size - 1 if size else head] = -1
    before = [head] + list(range(size - 1)) + [-1]
    is_call = [kind == 0 for _, kind, _ in events]
    op_of = [i for _, _, i in events]
    partner = [0] * size
    call_at = {}
    for node, (_, kind, i) in enumerate(events):
        if kind == 0:
            call_at[i] = node
        else:
            partner[call_at[i]] = node

    def unlink(node: int) -> None:
        after[before[node]] = after[node]
        if after[node] != -1:
            before[after[node]] = before[node]

    def relink(node: int) -> None:
        if after[node] != -1:
            before[after[node]] = node
        after[before[node]] = node

    # The linearized set, kept small: ok ops are numbered in invoke order, and the search
    # linearizes them roughly in that order, so it is "every ok op below `low`, plus the
    # bits of `window` above it" (a window as wide as the concurrency, not the history);
    # info writes, which may stay unlinearized for ever, get a bitset of their own.
    ok_rank: dict[int, int] = {}
    info_rank: dict[int, int] = {}
    for i in sorted(range(len(ops)), key=lambda i: (ops[i].invoke, i)):
        if ops[i].outcome == "info":
            info_rank[i] = len(info_rank)
        else:
            ok_rank[i] = len(ok_rank)
    seen: set[tuple[int, int, int, int | None]] = set()
    stack: list[tuple[int, int | None, int, int, int]] = []
    value: int | None = None
    low = window = info = 0
    states = 0
    node = after[head]
    while node != -1:
        i = op_of[node]
        op = ops[i]
        if is_call[node]:
            if op.kind == "write" or op.value == value:
                new_value = op.value if op.kind == "write" else value
                new_low, new_window, new_info = low, window, info
                if i in info_rank:
                    new_info |= 1 << info_rank[i]
                else:
                    new_window |= 1 << (ok_rank[i] - low)
                    while new_window & 1:
                        new_window >>= 1
                        new_low += 1
                state = (new_low, new_window, new_info, new_value)
                if state not in seen:
                    seen.add(state)
                    states += 1
                    if states > budget:
                        return None, states
                    stack.append((node, value, low, window, info))
                    low, window, info, value = new_low, new_window, new_info, new_value
                    unlink(node)
                    unlink(partner[node])
                    node = after[head]
                    continue
            node = after[node]
        else:
            if op.end == math.inf:  # only ops that may never take effect are left
                return True, states
            if not stack:  # this op completed before any order could place it
                return False, states
            node, value, low, window, info = stack.pop()
            relink(partner[node])
            relink(node)
            node = after[node]
    return True, states


def minimal_example(ops: list[Op], budget: int) -> list[Op]:
    """A small failing subset of the failing history *ops* (placeable ops), sorted by invoke.

    First the shortest prefix by completion that fails (binary search; an op invoked before
    the prefix ends but completed after it is kept as optional, a pending read dropped: if
    the whole history were linearizable, so would that prefix be); then ops are dropped one
    at a time while the rest still fails, keeping every write whose value a kept read
    returned. An unknown answer counts as "does not fail", so the example always fails."""
    done = sorted((op for op in ops if op.outcome == "ok"), key=lambda op: (op.complete, op.invoke))

    def prefix(count: int) -> list[tuple[Op, Op]]:
        """(op as checked, op as recorded) of the first *count* completions."""
        end = done[count - 1].complete
        kept = {id(op) for op in done[:count]}
        chosen = []
        for op in ops:
            if id(op) in kept or (op.outcome == "info" and op.invoke <= end):
                chosen.append((op, op))
            elif op.invoke <= end and op.kind == "write":
                chosen.append((replace(op, outcome="info"), op))  # still pending: optional
        return chosen

    def fails(pairs: list[tuple[Op, Op]]) -> bool:
        return search([checked for checked, _ in pairs], budget)[0] is False

    passing, failing = 0, len(done)
    while failing - passing > 1:
        middle = (passing + failing) // 2
        if fails(prefix(middle)):
            failing = middle
        else:
            passing = middle
    chosen = prefix(failing) if done else [(op, op) for op in ops]
    checks = SHRINK_CHECKS
    chunk = max(1, len(chosen) // 2)
    while checks > 0:
        removed_any = False
        start = 0
        while start < len(chosen) and checks > 0:
            part = chosen[start:start + chunk]
            rest = chosen[:start] + chosen[start + chunk:]
            still_read = {o.value for _, o in rest if o.kind == "read"}
            drop = [p for p in part if not (p[1].kind == "write" and p[1].value in still_read)]
            if drop:
                kept = [p for p in chosen if not any(p is d for d in drop)]
                checks -= 1
                if fails(kept):
                    chosen, removed_any = kept, True
                    continue  # the next part now starts where this one did
            start += chunk
        if chunk == 1 and not removed_any:
            break
        chunk = max(1, chunk // 2)
    return sorted((recorded for _, recorded in chosen), key=lambda op: (op.invoke, op.end))


def explain_violation(example: list[Op], history: list[Op]) -> str:
    """Why *example* (a failing set of one key's ops) cannot be linearized, in one sentence.

    Names the read that cannot be placed (the one completing last) and the op that rules
    out the value it returned: a write that overwrote it before the read began, a failed
    write, or an earlier read that had already seen a newer value. *history* is all of the
    key's ops (for the writes that failed)."""
    reads = [op for op in example if op.kind == "read" and op.complete is not None]
    if not reads:
        return "no order of these ops is a valid history of one register"
    read = max(reads, key=lambda op: (op.complete, op.invoke))
    writes = {op.value: op for op in example if op.kind == "write"}
    said = f"read of key {read.key} by session {read.process} at [{read.invoke:.3f} s, {read.complete:.3f} s] " \
           f"returned {_value(read.value)}"
    if read.value is not None and read.value not in writes:
        written = [op for op in history if op.kind == "write" and op.value == read.value]
        if not written:
            return f"{said}, which no write to key {read.key} ever wrote"
        if all(op.outcome == "fail" for op in written):
            return f"{said}, but the write of {read.value} failed (it did not take effect): {written[0].describe()}"
        first = min(op.invoke for op in written)
        return f"{said}, but the only write of {read.value} began at {first:.3f} s, after the read had completed"
    source = writes.get(read.value)
    # A write certainly after the read's source (or any write, when the read saw the initial value).
    since = -math.inf if source is None else source.end
    over = [op for op in example if op.kind == "write" and op is not source and op.outcome == "ok"
            and op.complete < read.invoke and op.invoke > since]
    if over:
        last = max(over, key=lambda op: op.complete)
        origin = "the initial value" if source is None else \
            f"written at [{source.invoke:.3f} s, {source.complete:.3f} s]"
        return f"{said}, but write {last.value} completed at {last.complete:.3f} s and overwrote " \
               f"{_value(read.value)} ({origin})"
    for earlier in reads:
        newer = writes.get(earlier.value)
        # The earlier read saw another value after the source was certainly in place: the
        # source had been overwritten before that read, so it cannot come back later.
        if earlier.complete < read.invoke and earlier.value != read.value and \
                (source is None or earlier.invoke > since or (newer is not None and newer.invoke > since)):
            return f"{said}, but session {earlier.process} had already read {_value(earlier.value)} at " \
                   f"[{earlier.invoke:.3f} s, {earlier.complete:.3f} s], after {_value(read.value)} had been " \
                   f"overwritten (new, then old)"
    return f"{said}, and no order of these {len(example)} ops is a valid history of one register"


def _value(value: int | None) -> str:
    return "the initial value" if value is None else str(value)
