"""The consistency checker (:mod:`simulator.consistency`) against golden G10.2 and by construction.

golden G10.2 (simulator/docs/golden.md §10): a read that returns a value older than a
completed write, injected into a recorded history, must be flagged; histories a correct
(atomic) store produces must never be. Expectations are worked out by hand from the
definition of linearizability (each op takes effect at one instant inside its interval;
a read returns the latest write before it), never from the checker's output, and the
property tests generate histories from a sequential register whose linearization points
are known, so the right verdict is known before the checker runs.
"""

from __future__ import annotations

import dataclasses
import json
import random
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.consistency import History, Op, check, check_register, check_sessions

PROPERTY = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def w(process, value, invoke, complete, outcome="ok", key=7, version=None):
    return Op(process, key, "write", value, invoke, complete, outcome, version)


def r(process, value, invoke, complete, outcome="ok", key=7):
    return Op(process, key, "read", value, invoke, complete, outcome)


# --------------------------------------------------------------------------- golden G10.2

SEQUENTIAL = [w(1, 40, 0.0, 0.5), r(2, 40, 1.0, 1.1), w(1, 41, 2.0, 2.1), r(3, 41, 2.5, 2.6),
              w(4, 42, 3.0, 3.1), r(2, 42, 3.5, 3.6), r(5, 42, 4.0, 4.1)]


def test_a_correct_sequential_history_passes_golden_g10_2():
    verdict = check_register(SEQUENTIAL)
    assert verdict.ok is True and verdict.example == ()
    report = check(SEQUENTIAL)
    assert report.linearizable is True and report.linearizability_violations == 0
    assert report.ryw_violations == report.monotonic_read_violations == 0


def test_one_injected_stale_read_is_flagged_and_the_example_names_it_golden_g10_2():
    """The read at [3.5, 3.6] returns 41 although write 42 completed at 3.1: stale."""
    stale = r(12, 41, 3.5, 3.6)
    history = SEQUENTIAL[:5] + [stale] + SEQUENTIAL[6:]
    verdict = check_register(history)
    assert verdict.ok is False
    assert stale in verdict.example and len(verdict.example) <= 4
    assert w(4, 42, 3.0, 3.1) in verdict.example and w(1, 41, 2.0, 2.1) in verdict.example
    assert "session 12 at [3.500 s, 3.600 s] returned 41" in verdict.explanation
    assert "write 42 completed at 3.100 s and overwrote 41" in verdict.explanation
    assert check_register(verdict.example).ok is False  # the example fails on its own
    assert check_register(history, explain=False).text == "key 7: not linearizable"
    report = check(history)
    assert report.linearizable is False and report.linearizability_violations == 1
    assert report.violating_keys == [7] and "session 12" in report.examples[0]


def test_the_minimal_example_is_small_in_a_long_history():
    """A stale read in the middle of 400 sequential ops shrinks to the read, the write it
    read and the write that overwrote it."""
    ops, t = [], 0.0
    for i in range(200):
        ops += [w(i % 5, i + 1, t, t + 0.1), r(5 + i % 3, i + 1, t + 0.2, t + 0.3)]
        t += 1.0
    ops[201] = r(99, 50, ops[201].invoke, ops[201].complete)  # the read after write 101 returns 50
    verdict = check_register(ops)
    assert verdict.ok is False
    assert set(verdict.example) == {ops[201], ops[98], ops[200]}  # read, write 50, write 101
    assert "session 99" in verdict.explanation and "write 101" in verdict.explanation


# --------------------------------------------------------------------------- concurrency

@pytest.mark.parametrize("seen", [None, 1])
def test_a_read_overlapping_a_write_may_return_old_or_new(seen):
    assert check_register([w(1, 1, 0.0, 2.0), r(2, seen, 1.0, 3.0)]).ok is True


def test_concurrent_writes_may_take_effect_in_either_order():
    writes = [w(1, 1, 0.0, 2.0), w(2, 2, 0.5, 2.5)]
    assert check_register(writes + [r(3, 1, 3.0, 3.1)]).ok is True
    assert check_register(writes + [r(3, 2, 3.0, 3.1)]).ok is True
    # Both reads after both writes: they must agree.
    assert check_register(writes + [r(3, 1, 3.0, 3.1), r(4, 1, 3.2, 3.3)]).ok is True
    assert check_register(writes + [r(3, 1, 3.0, 3.1), r(4, 2, 3.2, 3.3)]).ok is False
    assert check_register(writes + [r(3, 2, 3.0, 3.1), r(4, 1, 3.2, 3.3), r(5, 2, 3.4, 3.5)]).ok is False


def test_new_then_old_reads_by_two_sessions_overlapping_one_write_are_not_linearizable():
    """Both reads overlap write 1; the first sees the new value, the second (which starts
    after the first completed) the old: no single instant for the write explains both."""
    history = [w(1, 1, 0.0, 10.0), r(2, 1, 1.0, 2.0), r(3, None, 3.0, 4.0)]
    verdict = check_register(history)
    assert verdict.ok is False and set(verdict.example) == set(history)
    assert "session 3" in verdict.explanation and "new, then old" in verdict.explanation
    # Old-then-new is fine.
    assert check_register([w(1, 1, 0.0, 10.0), r(2, None, 1.0, 2.0), r(3, 1, 3.0, 4.0)]).ok is True


def test_ops_touching_at_one_instant_count_as_concurrent():
    assert check_register([w(1, 1, 0.0, 1.0), r(2, None, 1.0, 2.0)]).ok is True
    assert check_register([w(1, 1, 0.0, 1.0), r(2, None, 1.0 + 1e-9, 2.0)]).ok is False


# --------------------------------------------------------------------------- outcomes

def test_a_timed_out_write_may_take_effect_later_or_never():
    info = w(1, 1, 0.0, 1.0, outcome="info")
    assert check_register([info, r(2, 1, 5.0, 5.1)]).ok is True  # took effect
    assert check_register([info, r(2, None, 5.0, 5.1)]).ok is True  # never did
    assert check_register([info, r(2, None, 5.0, 5.1), r(3, 1, 6.0, 6.1)]).ok is True  # took effect late
    assert check_register([w(1, 1, 0.0, None, outcome="info"), r(2, 1, 9.0, 9.1)]).ok is True
    # ...but once seen it cannot be undone.
    assert check_register([info, r(2, 1, 5.0, 5.1), r(3, None, 6.0, 6.1)]).ok is False
    # An info write is not in effect before its invoke.
    assert check_register([w(1, 1, 5.0, None, outcome="info"), r(2, 1, 1.0, 2.0)]).ok is False


def test_a_read_of_a_failed_write_is_flagged():
    failed = w(1, 1, 0.0, 1.0, outcome="fail")
    assert check_register([failed, r(2, None, 2.0, 2.1)]).ok is True
    verdict = check_register([failed, r(2, 1, 2.0, 2.1)])
    assert verdict.ok is False and "the write of 1 failed" in verdict.explanation


def test_a_read_of_a_value_never_written_is_flagged_and_info_reads_are_ignored():
    assert "no write to key 7 ever wrote" in check_register([r(2, 5, 2.0, 2.1)]).explanation
    assert check_register([r(2, 5, 2.0, None, outcome="info"), r(3, 6, 1.0, 3.0, outcome="fail")]).ok is True


# --------------------------------------------------------------------------- sessions

def test_read_your_writes_by_acknowledgement_order():
    """Session 1 writes 2 after 1 was acknowledged, then reads 1: older than its own write."""
    history = [w(9, 1, 0.0, 1.0), w(1, 2, 2.0, 3.0), r(1, 1, 4.0, 4.1), r(1, 2, 5.0, 5.1)]
    report = check_sessions(history)
    assert (report.reads, report.ryw_violations, report.monotonic_read_violations) == (2, 1, 0)
    assert report.examples[0].startswith("read-your-writes: session 1 read key 7 → 1 at [4.000 s")
    assert check_sessions([w(9, 1, 0.0, 1.0), w(1, 2, 2.0, 3.0), r(1, 2, 4.0, 4.1)]).ryw_violations == 0
    # Another session's read of 1 breaks nothing of session 9's.
    assert check_sessions([w(9, 1, 0.0, 1.0), w(1, 2, 2.0, 3.0), r(9, 1, 4.0, 4.1)]).ryw_violations == 0
    # Reading the initial value after one's own acknowledged write breaks it.
    assert check_sessions([w(1, 1, 0.0, 1.0), r(1, None, 2.0, 2.1)]).ryw_violations == 1


def test_monotonic_reads_by_acknowledgement_order():
    """Session 3 reads 2, then 1, which was acknowledged before 2 was written."""
    writes = [w(1, 1, 0.0, 1.0), w(2, 2, 2.0, 3.0)]
    report = check_sessions(writes + [r(3, 2, 4.0, 4.1), r(3, 1, 5.0, 5.1), r(3, None, 6.0, 6.1)])
    assert report.monotonic_read_violations == 2 and report.ryw_violations == 0
    assert "older than the value 2 it had read" in report.examples[0]
    assert check_sessions(writes + [r(3, 1, 4.0, 4.1), r(3, 2, 5.0, 5.1)]).monotonic_read_violations == 0
    # Two sessions each monotonic: no violation even though they disagree.
    assert check_sessions(writes + [r(3, 2, 4.0, 4.1), r(4, 1, 5.0, 5.1)]).monotonic_read_violations == 0


def test_overlapping_writes_have_no_order_by_acknowledgement():
    """Writes 1 and 2 overlapped: either may have taken effect last, so 2-then-1 is allowed."""
    writes = [w(1, 1, 0.0, 2.0), w(2, 2, 1.0, 3.0)]
    report = check_sessions(writes + [r(3, 2, 4.0, 4.1), r(3, 1, 5.0, 5.1)])
    assert report.monotonic_read_violations == 0


def test_store_versions_decide_what_is_older():
    """With versions (LWW timestamps), 2 (version 5) is older than 1 (version 9) even though
    it was acknowledged later: reading 1 then 2 breaks monotonic reads, 2 then 1 does not."""
    writes = [w(1, 1, 0.0, 1.0, version=9.0), w(2, 2, 2.0, 3.0, version=5.0)]
    assert check_sessions(writes + [r(3, 1, 4.0, 4.1), r(3, 2, 5.0, 5.1)]).monotonic_read_violations == 1
    assert check_sessions(writes + [r(3, 2, 4.0, 4.1), r(3, 1, 5.0, 5.1)]).monotonic_read_violations == 0
    own = [w(1, 1, 0.0, 1.0, version=9.0), w(3, 2, 2.0, 3.0, version=5.0), r(3, 1, 4.0, 4.1)]
    assert check_sessions(own).ryw_violations == 0  # LWW kept 1: newer than the session's own 2


# --------------------------------------------------------------------------- the budget

def crowd(read_value):
    """12 concurrent writes, then a read: the search must try many orders of the writes."""
    return [w(i, i + 1, 0.0, 10.0) for i in range(12)] + [r(99, read_value, 11.0, 12.0)]


@pytest.mark.parametrize("read_value, truth", [(5, True), (99, False)])
def test_an_exhausted_budget_says_unknown_never_a_wrong_verdict(read_value, truth):
    assert check_register(crowd(read_value)).ok is truth
    for budget in (1, 5, 12, 13, 50, 500):
        verdict = check_register(crowd(read_value), budget=budget)
        assert verdict.ok in (None, truth), budget
        if verdict.ok is None:
            assert verdict.text.endswith(f"unknown (budget exhausted after {budget + 1} states)")
    assert check_register(crowd(99), budget=50).ok is None  # 2^12 subsets: 50 states cannot decide
    report = check(crowd(99), budget=50)
    assert report.linearizable is None and report.unknown == 1


# --------------------------------------------------------------------------- whole histories

def test_keys_are_checked_separately_and_sampled_deterministically():
    ops = [w(k, 1, float(k), k + 0.5, key=k) for k in range(50)]
    ops += [r(100 + k, 1, k + 1.0, k + 1.5, key=k) for k in range(50)]
    ops[50 + 7] = r(107, None, 8.0, 8.5, key=7)  # key 7 reads the initial value after its write
    report = check(ops)
    assert (report.keys_checked, report.keys_total, report.linearizability_violations) == (50, 50, 1)
    assert report.violating_keys == [7] and report.ops_checked == 100
    sample = check(ops, max_keys=10, seed=3)
    assert (sample.keys_checked, sample.keys_total, sample.ops_checked) == (10, 50, 20)
    assert sample.to_dict() == check(ops, max_keys=10, seed=3).to_dict()
    assert "10 of 50 keys checked (a sample)" in sample.describe()
    assert json.loads(json.dumps(report.to_dict()))["violating_keys"] == [7]
    with pytest.raises(ValueError, match="max_keys"):
        check(ops, max_keys=0)


def test_a_history_from_a_table_of_columns():
    table = {"process": [1, 2, 3], "key": [7, 7, 7], "kind": ["write", "read", "write"],
             "value": [1, 1.0, float("nan")], "invoke": [0.0, 1.0, 2.0],
             "complete": [0.5, 1.5, float("nan")], "outcome": ["ok", "ok", "info"]}
    table["value"][2] = 3
    history = History.from_rows(table)
    assert list(history) == [w(1, 1, 0.0, 0.5), r(2, 1, 1.0, 1.5), w(3, 3, 2.0, None, "info")]
    assert History.from_rows(history.rows()).ops == history.ops
    assert list(history.by_key()) == [7]
    with pytest.raises(ValueError, match="missing: complete"):
        History.from_rows({name: [] for name in ("process", "key", "kind", "value", "invoke")})


@pytest.mark.parametrize("fields, message", [
    (dict(kind="delete"), "kind is 'read' or 'write'"),
    (dict(outcome="maybe"), "outcome is 'ok', 'fail' or 'info'"),
    (dict(complete=None), "an 'ok' op has a completion time"),
    (dict(complete=-1.0), "completes at or after its invoke"),
    (dict(kind="write", value=None), "a write writes a value"),
    (dict(version=3.0), "only a write carries a version"),
])
def test_malformed_ops_are_refused(fields, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(r(1, 1, 0.0, 1.0), **fields)


def test_check_register_refuses_mixed_keys_and_a_bad_budget():
    with pytest.raises(ValueError, match="one key at a time"):
        check_register([r(1, None, 0.0, 1.0, key=1), r(1, None, 2.0, 3.0, key=2)])
    with pytest.raises(ValueError, match="budget"):
        check_register([], budget=0)


# --------------------------------------------------------------------------- properties

def atomic_history(rng: random.Random, size: int, keys: int, spread: float, sessions: bool = False) -> list[Op]:
    """A sequential atomic register per key: op i takes effect at instant t_i (increasing);
    its interval is [t_i - a, t_i + b] with a, b uniform on [0, spread]. With ``sessions``,
    each op goes to the lowest-numbered session idle at its invoke (so a session's ops never
    overlap); otherwise each op is its own session."""
    t, state, ops, idle = 0.0, {}, [], []
    for i in range(size):
        t += rng.expovariate(1.0)
        key = rng.randrange(keys)
        if rng.random() < 0.5:
            state[key] = i + 1
            kind, value = "write", i + 1
        else:
            kind, value = "read", state.get(key)
        invoke, complete = t - rng.uniform(0, spread), t + rng.uniform(0, spread)
        process = i
        if sessions:
            process = next((s for s, end in enumerate(idle) if end < invoke), len(idle))
            if process == len(idle):
                idle.append(0.0)
            idle[process] = complete
        ops.append(Op(process, key, kind, value, invoke, complete))
    return ops


@PROPERTY
@given(st.integers(0, 2**32 - 1), st.integers(1, 120), st.integers(1, 4), st.floats(0.0, 4.0))
def test_histories_of_an_atomic_register_always_pass(seed, size, keys, spread):
    ops = atomic_history(random.Random(seed), size, keys, spread, sessions=True)
    report = check(ops)
    assert report.linearizable is True, report.examples
    assert report.ryw_violations == report.monotonic_read_violations == 0, report.examples


def stale_candidates(ops: list[Op]) -> list[tuple[int, int | None]]:
    """(index of a read, an older value it could be made to return) where the older value
    was certainly overwritten before the read's invoke: the initial value, or a value whose
    write completed before another write of the key that completed before the read began."""
    found = []
    for i, read in enumerate(ops):
        if read.kind != "read":
            continue
        writes = [op for op in ops if op.kind == "write" and op.key == read.key]
        overwriting = [x for x in writes if x.complete < read.invoke]
        if overwriting:
            found.append((i, None))
        for old in writes:
            if old.value != read.value and any(x.invoke > old.complete for x in overwriting):
                found.append((i, old.value))
    return found


@PROPERTY
@given(st.integers(0, 2**32 - 1), st.integers(2, 80), st.integers(1, 3), st.floats(0.0, 3.0), st.data())
def test_one_read_made_to_return_an_overwritten_value_always_fails(seed, size, keys, spread, data):
    ops = atomic_history(random.Random(seed), size, keys, spread)
    candidates = stale_candidates(ops)
    if not candidates:
        return
    index, old = data.draw(st.sampled_from(candidates))
    ops[index] = dataclasses.replace(ops[index], value=old)
    report = check(ops)
    assert report.linearizable is False and report.violating_keys == [ops[index].key]
    verdict = check_register([op for op in ops if op.key == ops[index].key])
    assert ops[index] in verdict.example and check_register(verdict.example).ok is False


def test_20000_ops_over_100_keys_check_in_a_few_seconds():
    ops = atomic_history(random.Random(1), 20_000, 100, spread=300.0)
    start = time.perf_counter()
    report = check(ops)
    elapsed = time.perf_counter() - start
    assert report.linearizable is True and report.keys_checked == 100 and report.ops_checked == 20_000
    assert elapsed < 10.0, f"{elapsed:.1f} s"


def test_one_hot_key_with_50000_ops_is_decided_by_the_default_budget():
    """A sequential history needs one state per op: the default budget grows with the key
    (100 000 + 10 per op), so a hot key is decided, and a stale read in it still found."""
    ops = atomic_history(random.Random(2), 50_000, 1, spread=1.0)
    assert check_register(ops).ok is True
    index, old = next(candidate for candidate in stale_candidates(ops[-40:]))
    ops[-40 + index] = dataclasses.replace(ops[-40 + index], value=old)
    assert check_register(ops, explain=False).ok is False


def test_the_readme_example_runs_as_documented():
    """The README's "Consistency checker" block is the API a store codes against: it runs, and
    says what its comments say."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Consistency checker\n.*?```python\n(.+?)\n```", text, re.S)
    assert block, "README has no Consistency checker example"
    names: dict = {}
    exec(block.group(1), names)  # noqa: S102 - our own README
    report = names["report"]
    assert report.linearizable is False
    assert report.examples[0].startswith("key 7: not linearizable: read of key 7 by session 12 at [3.200 s, "
                                         "3.210 s] returned 41, but write 42 completed at 3.100 s and overwrote 41")
    assert set(report.to_dict()) == {"keys_checked", "keys_total", "ops_checked", "linearizable",
                                     "linearizability_violations", "unknown", "ryw_violations",
                                     "monotonic_read_violations", "examples", "violating_keys"}


def test_many_timed_out_writes_nobody_read_do_not_slow_the_search():
    """A partition's minority side times out thousands of writes: the ones never read can
    never be needed (leaving a write out is always allowed), so the verdicts stay right and fast."""
    ops = atomic_history(random.Random(3), 2_000, 1, spread=1.0)
    timed_out = [w(10_000 + i, 10**6 + i, i * 0.5, None, outcome="info", key=ops[0].key) for i in range(3_000)]
    assert check_register(ops + timed_out, budget=50_000).ok is True
    end = max(op.complete for op in ops)
    # Read after everything: the timed-out write of 10^6 + 5 took effect last. Linearizable.
    late = r(99_999, 10**6 + 5, end + 1.0, end + 2.0, key=ops[0].key)
    assert check_register(ops + timed_out + [late], budget=50_000).ok is True
    # A read at 10 s of the write invoked at 1499.5 s: it had not been invoked yet.
    early = r(99_999, 10**6 + 2_999, 10.0, 10.5, key=ops[0].key)
    assert check_register(ops + timed_out + [early], budget=50_000).ok is False
