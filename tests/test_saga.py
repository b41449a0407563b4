"""Sagas (issue 14, deliverable 6): the ``saga:`` step and its golden tests G12.1–G12.3.

The golden numbers are those of golden §12 (Garcia-Molina & Salem, "Sagas", SIGMOD
1987, doi:10.1145/38713.38742; Richardson, https://microservices.io/patterns/data/saga.html),
copied here, and :mod:`simulator.theory.messaging` is the oracle for the rest:

* G12.1 — n = 4 steps each succeeding independently with p = 0.95, no retries:
  P(complete) = 0.814506, P(fail at step j) = 0.05, 0.0475, 0.045125, 0.042869,
  E[compensations run] = 0.266356 (independent replications, 3-SE band);
* G12.2 — messages: orchestration 2n on the happy path, 2j + 2(j − 1) after a failure at
  step j; choreography n, and j + (j − 1) (exact);
* G12.3 — latency with constant work and no network delay: sum(T) on the happy path,
  sum(T[:j]) + sum(C[:j − 1]) after a failure at j (exact).

Every participant ``p<i>`` serves ``do`` (work ``T[i]``); its compensation is ``u<i>.undo``
(work ``C[i]``), on a component of its own so that a fault on a step leaves its undo alone.
A failure is an ``errors`` fault: probability 1 forces it, 0.05 is G12.1's coin.
"""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pytest

from bands import assert_replications_within_3se
from simulator import Scenario, load_scenario, simulate
from simulator.errors import ScenarioError
from simulator.metrics.digest import Digest
from simulator.metrics.tables import Tables
from simulator.theory.messaging import saga_expected_compensations, saga_latency, saga_messages, saga_outcomes

T = (0.002, 0.003, 0.004, 0.005)
C = (0.001, 0.0015, 0.0025, 0.004)
STYLES = ("orchestration", "choreography")
OUTCOME = {"completed": 0, "compensated": 1, "failed": 2}


def trade(style: str = "orchestration", *, n: int = 4, fail: dict[str, float] | None = None, undo: bool | set = True,
          pivot: int | None = None, retry: dict | None = None, records: str = "full", rate: str = "20/s",
          duration: str = "20s", warmup: str | int = 0, zones: bool = False, **extra) -> Scenario:
    """A saga of *n* steps run by ``shop.trade``; *fail* maps a component to its error probability;
    *undo*: every step 1..n-1 has one (``True``), or only the steps in the set; *pivot*: 1-based."""
    steps = []
    for i in range(1, n + 1):
        action: dict = {"do": f"p{i}.do"}
        if i < n and (undo is True or (undo and i in undo)):
            action["undo"] = f"u{i}.undo"
        if pivot == i:
            action["pivot"] = True
        steps.append(action)
    saga = {"name": "trade", "style": style, "steps": steps, **({"retry": retry} if retry else {})}
    many = {"workers": 1000, "io": "async"}
    components = {"shop": {"kind": "service", **many, **({"zone": "a"} if zones else {}),
                           "operations": {"trade": {"work": "1ms", "steps": [{"saga": saga}]}}}}
    for i in range(1, n + 1):
        where = {"zone": "b"} if zones else {}
        components[f"p{i}"] = {"kind": "service", **many, **where, "operations": {"do": {"work": T[i - 1]}}}
        components[f"u{i}"] = {"kind": "service", **many, **where, "operations": {"undo": {"work": C[i - 1]}}}
    faults = [{"kind": "errors", "target": target, "probability": p, "at": 0, "for": "1h"}
              for target, p in (fail or {}).items()]
    data = {"name": "saga", "duration": duration, "warmup": warmup, "records": records,
            "workload": [{"name": "traders", "entry": "shop", "operation": "trade",
                          "arrivals": {"kind": "poisson", "rate": rate}}],
            "components": components, "faults": faults, **extra}
    if zones:
        data["network"] = {"zones": ["a", "b"], "links": [{"between": ["a", "b"], "latency": 0.005}]}
    return Scenario.model_validate(data)


def saga_of(result) -> dict:
    return result.summary()["components"]["shop"]["sagas"]["trade"]


def rows(result, outcome: str):
    table = result.components["shop"].table("sagas")
    return table[table.outcome == OUTCOME[outcome]]


# ----------------------------------------------------------------------------- G12.2, G12.3 exact


@pytest.mark.parametrize("style", STYLES)
def test_happy_path_latency_and_messages(style):
    """G12.3: sum(T) (constant work, no network delay); G12.2: 2n messages orchestrated, n events choreographed."""
    result = simulate(trade(style))
    saga, summary = saga_of(result), result.summary()
    assert saga["count"] == saga["completed"] == summary["requests"]["issued"] > 300
    assert saga["compensated"] == saga["failed"] == saga["compensations"] == 0
    assert saga["messages"] == saga_messages(4, style) * saga["count"]
    assert saga["messages_per_saga"] == {"orchestration": 8, "choreography": 4}[style]
    done = rows(result, "completed")
    assert done.latency.to_numpy() == pytest.approx(saga_latency(T), rel=1e-9)
    assert (done.messages == saga_messages(4, style)).all() and (done.failed_at == 0).all()
    for key in ("mean", "p50", "p99", "max"):
        assert saga["latency_s"]["completed"][key] == pytest.approx(0.014, rel=1e-9)
    assert summary["availability"] == 1.0 and saga["completed_ratio"] == 1.0


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("j", [1, 2, 3, 4])
def test_a_failure_at_step_j_compensates_the_steps_before_it_in_reverse(style, j):
    """G12.2 and G12.3 after a failure at step j: j − 1 compensations, the messages of
    saga_messages(n, style, j) and the latency sum(T[:j]) + sum(C[:j − 1]), every time."""
    result = simulate(trade(style, fail={f"p{j}": 1.0}))
    saga, summary = saga_of(result), result.summary()
    count = saga["count"]
    assert count > 300 and saga["compensated"] == count and saga["completed"] == saga["failed"] == 0
    assert saga["failed_at"] == {f"p{j}.do": count} and saga["partial_effects"] == {}
    assert saga["compensations"] == (j - 1) * count
    assert saga["messages"] == saga_messages(4, style, failed_at=j) * count
    undone = rows(result, "compensated")
    assert undone.latency.to_numpy() == pytest.approx(saga_latency(T, C, failed_at=j), rel=1e-9)
    assert saga["latency_s"]["compensated"]["mean"] == pytest.approx(saga_latency(T, C, failed_at=j), rel=1e-9)
    # the compensations ran in reverse: each u<k> for k < j served exactly one undo per saga
    for k in range(1, 5):
        assert summary["components"][f"u{k}"]["served"] == (count if k < j else 0)
    # a compensated order is a failed request: availability counts it as failed
    assert summary["requests"]["ok"] == 0 and summary["requests"]["error"] == count
    assert summary["availability"] == 0.0 and saga["completed_ratio"] == 0.0


def test_messages_and_latency_with_a_network_delay_one_way_and_both_ways():
    """Orchestration crosses the a–b link twice per step (command, reply); choreography once to
    hand the request to the first participant, and once for the last event back (participants
    talk inside zone b, instantly)."""
    d = 0.005
    orchestrated = rows(simulate(trade("orchestration", zones=True)), "completed").latency.to_numpy()
    choreographed = rows(simulate(trade("choreography", zones=True)), "completed").latency.to_numpy()
    assert orchestrated == pytest.approx(sum(T) + 2 * 4 * d, rel=1e-9)
    assert choreographed == pytest.approx(sum(T) + 2 * d, rel=1e-9)


# ----------------------------------------------------------------------------- partial effects, retries


@pytest.mark.parametrize("style", STYLES)
def test_a_completed_step_without_an_undo_leaves_its_effect(style):
    """Step 2 has no undo; step 3 fails: step 1 is still compensated, step 2's effect stays: failed."""
    result = simulate(trade(style, undo={1, 3}, fail={"p3": 1.0}))
    saga = saga_of(result)
    count = saga["count"]
    assert count > 300 and saga["failed"] == count and saga["compensated"] == 0
    assert saga["partial_effects"] == {"p2.do": count} and saga["failed_at"] == {"p3.do": count}
    assert saga["compensations"] == count  # step 1's only
    assert saga["messages_per_saga"] == {"orchestration": 2 * 3 + 2, "choreography": 3 + 1}[style]
    assert rows(result, "failed").latency.to_numpy() == pytest.approx(T[0] + T[1] + T[2] + C[0], rel=1e-9)
    summary = result.summary()
    assert summary["components"]["shop"]["sagas_failed"] == count and summary["availability"] == 0.0


@pytest.mark.parametrize("style", STYLES)
def test_a_compensation_that_never_succeeds_is_retried_then_leaves_its_effect(style):
    """u1 always fails: its undo is tried 3 times, waiting 10 ms then 20 ms (backoff × 2^k)."""
    result = simulate(trade(style, fail={"p2": 1.0, "u1": 1.0}, retry={"max_attempts": 3, "backoff": "10ms"}))
    saga = saga_of(result)
    count = saga["count"]
    assert count > 300 and saga["failed"] == count
    assert saga["partial_effects"] == {"p1.do": count} and saga["compensations"] == count
    # orchestration: 2 steps + 3 attempts, a command and a reply each; choreography: 2 steps + 1 compensation
    assert saga["messages_per_saga"] == {"orchestration": 2 * (2 + 3), "choreography": 3}[style]
    expected = T[0] + T[1] + 3 * C[0] + 0.010 + 0.020
    assert rows(result, "failed").latency.to_numpy() == pytest.approx(expected, rel=1e-9)
    assert result.summary()["components"]["u1"]["errors"] == 3 * count


@pytest.mark.parametrize("style", STYLES)
def test_steps_after_the_pivot_are_retried_never_compensated(style):
    """Pivot at step 2; step 3 always fails: it is retried (4 attempts) and the saga fails forward,
    steps 1 and 2 are not undone."""
    result = simulate(trade(style, pivot=2, undo={1}, fail={"p3": 1.0},
                            retry={"max_attempts": 4, "backoff": "5ms", "multiplier": 1}))
    saga = saga_of(result)
    count = saga["count"]
    assert count > 300 and saga["failed"] == count and saga["compensations"] == 0
    assert saga["failed_at"] == saga["partial_effects"] == {"p3.do": count}
    assert saga["messages_per_saga"] == {"orchestration": 2 * (2 + 4), "choreography": 3}[style]
    expected = T[0] + T[1] + 4 * T[2] + 3 * 0.005
    assert rows(result, "failed").latency.to_numpy() == pytest.approx(expected, rel=1e-9)
    assert result.summary()["components"]["u1"]["served"] == 0


def test_a_crash_of_the_coordinator_ends_the_sagas_in_flight_failed():
    """Sagas in flight when the coordinator crashes stop at the step in flight: failed, recorded."""
    sc = trade(fail=None, duration="10s")
    data = sc.model_dump(by_alias=True)
    data["components"]["p2"]["operations"]["do"]["work"] = 0.2  # sagas spend most of their time in step 2
    data["faults"] = [{"kind": "crash", "target": "shop", "at": 5.0, "for": 1.0}]
    result = simulate(Scenario.model_validate(data))
    failed = rows(result, "failed")
    assert len(failed) >= 1
    assert (failed.failed_at == 2).all() and (failed.partial_effect == 2).all()
    assert failed.end.to_numpy() == pytest.approx(5.0)
    saga = saga_of(result)
    assert saga["failed"] == len(failed) and saga["partial_effects"] == {"p2.do": len(failed)}


def test_a_crash_during_the_compensations_leaves_the_step_being_undone():
    """Step 2 always fails; step 1's undo takes 200 ms: a crash of the coordinator meanwhile ends
    those sagas failed at step 2 with step 1's effect left."""
    data = trade(fail={"p2": 1.0}, duration="10s").model_dump(by_alias=True)
    data["components"]["u1"]["operations"]["undo"]["work"] = 0.2
    data["faults"].append({"kind": "crash", "target": "shop", "at": 5.0, "for": 1.0})
    result = simulate(Scenario.model_validate(data))
    failed = rows(result, "failed")
    assert len(failed) >= 1 and failed.end.to_numpy() == pytest.approx(5.0)
    assert (failed.failed_at == 2).all() and (failed.partial_effect == 1).all() and (failed.compensations == 1).all()
    assert len(rows(result, "compensated")) > 100


def test_a_one_way_message_crosses_a_stage_without_one_way_as_a_call(monkeypatch):
    """A hop stage that only wraps (no ``one_way``) still carries a choreography's events: both ways."""
    from simulator.engine import network

    seen: list[str] = []

    class Counting:
        def wrap(self, inner):
            def visit(request, *where):
                seen.append("out")
                status = yield from inner(request, *where)
                seen.append("back")
                return status

            return visit

    monkeypatch.setattr(network, "STAGES", [lambda env, links, a, b: Counting(), network.link_delay])
    orchestrated = saga_of(simulate(trade("orchestration", duration="5s")))["count"]
    calls = seen.count("out")
    choreographed = saga_of(simulate(trade("choreography", duration="5s")))["count"]
    events = seen.count("out") - calls
    # the same sagas (same seed): 4 calls each, or 5 one-way hops (the trigger and 4 events, the
    # last one back to the initiator); the client's request crosses the stage in both runs
    assert choreographed == orchestrated > 50 and seen.count("out") == seen.count("back")
    assert events - calls == (5 - 4) * orchestrated


# ----------------------------------------------------------------------------- G12.1 replications


@pytest.mark.slow
@pytest.mark.parametrize("style", STYLES)
def test_g12_1_outcome_probabilities(golden_zscores, style):
    """G12.1: 4 participants each failing with p = 0.05, no retries before the pivot (there is none):
    P(complete) 0.814506, P(fail at j) 0.05, 0.0475, 0.045125, 0.042869, E[compensations] 0.266356."""
    complete, fail_at = saga_outcomes(4, 0.95)
    assert complete == pytest.approx(0.814506, abs=1e-6)  # golden.md §12.2, G12.1
    assert fail_at == pytest.approx([0.05, 0.0475, 0.045125, 0.042869], abs=1e-6)
    assert saga_expected_compensations(4, 0.95) == pytest.approx(0.266356, abs=1e-6)
    sc = trade(style, fail={f"p{i}": 0.05 for i in range(1, 5)}, rate="100/s", duration="40s")
    first = 1 if style == "orchestration" else 11  # two independent sets of replications, not the same draws twice
    runs = [saga_of(simulate(sc, seed=seed)) for seed in range(first, first + 10)]
    assert_replications_within_3se(golden_zscores, [r["completed_ratio"] for r in runs], complete,
                                   f"G12.1 {style} P(complete)")
    for j in range(1, 5):
        assert_replications_within_3se(golden_zscores, [r["failed_at"].get(f"p{j}.do", 0) / r["count"] for r in runs],
                                       fail_at[j - 1], f"G12.1 {style} P(fail at {j})")
    assert_replications_within_3se(golden_zscores, [r["compensations_per_saga"] for r in runs],
                                   saga_expected_compensations(4, 0.95), f"G12.1 {style} E[compensations]")
    for r in runs:  # undos never fail here: every failure is compensated
        assert r["failed"] == 0 and r["completed"] + r["compensated"] == r["count"]


# ----------------------------------------------------------------------------- records and the summary


def test_full_and_summary_records_give_the_same_saga_summary():
    """Counts, sums, means and maxima agree; percentiles within the sketch's 1 %. More sagas than one
    fold (4,096 rows) so the summary records fold several times; sagas before the warm-up do not count."""
    sc = trade(fail={f"p{i}": 0.05 for i in range(1, 5)}, rate="200/s", duration="30s", warmup="5s")
    full, summary = simulate(sc, seed=3, records="full"), simulate(sc, seed=3, records="summary")
    a, b = full.summary()["components"]["shop"], summary.summary()["components"]["shop"]
    table = full.components["shop"].table("sagas")
    assert len(table) > 5000 and a["sagas"]["trade"]["count"] == int((table.start >= 5.0).sum()) < len(table)
    assert summary.components["shop"].tables["sagas"].rows is None  # summary records keep no rows
    for key in ("sagas_completed", "sagas_compensated", "sagas_failed", "saga_completed_ratio", "saga_messages",
                "saga_compensations"):
        assert a[key] == b[key]
    sa, sb = a["sagas"]["trade"], b["sagas"]["trade"]
    for key in ("count", "completed", "compensated", "failed", "messages", "compensations", "failed_at",
                "partial_effects"):
        assert sa[key] == sb[key]
    for outcome in ("completed", "compensated"):
        la, lb = sa["latency_s"][outcome], sb["latency_s"][outcome]
        assert la["mean"] == pytest.approx(lb["mean"], rel=1e-12) and la["max"] == lb["max"]
        for q in ("p50", "p95", "p99"):
            assert lb[q] == pytest.approx(la[q], rel=0.01)
    exact = table[table.start >= 5.0]
    assert sa["latency_s"]["compensated"]["p99"] == pytest.approx(
        np.quantile(exact[exact.outcome == 1].latency, 0.99), rel=1e-12)


def test_objectives_read_the_saga_outcomes():
    slos = [{"name": "complete", "component": "shop", "metric": "saga_completed_ratio", "min": 0.5},
            {"name": "no-partial", "component": "shop", "metric": "sagas_failed", "max": 0}]
    good = simulate(trade(fail={"p3": 0.3}, slos=slos)).summary()
    verdicts = {v["name"]: v for v in good["slos"]}
    assert verdicts["complete"]["value"] == good["components"]["shop"]["saga_completed_ratio"]
    assert verdicts["complete"]["passed"] and verdicts["no-partial"]["passed"] and verdicts["no-partial"]["value"] == 0
    bad = simulate(trade(undo={1, 3}, fail={"p3": 0.5}, slos=slos)).summary()
    verdicts = {v["name"]: v for v in bad["slos"]}
    assert verdicts["no-partial"]["value"] == bad["components"]["shop"]["sagas_failed"] > 0
    assert not verdicts["no-partial"]["passed"]


def test_the_report_and_the_html_show_the_sagas():
    from rich.console import Console

    from simulator.artifacts.html import report_html
    from simulator.present import metric_value
    from simulator.report import summary_renderable

    summary = simulate(trade(undo={1, 3}, fail={"p3": 0.5})).summary()
    console = Console(width=250, record=True)
    console.print(summary_renderable(summary))
    text = console.export_text()
    assert "sagas started in the measurement window" in text and "p2.do ×" in text
    assert "sagas {" not in text  # the nested block is a table, not a detail
    page = report_html(summary, {})
    assert "<h2>Sagas" in page and "p2.do ×" in page
    assert metric_value("sagas_failed", 3.0) == "3" and metric_value("saga_completed_ratio", 0.5) == "50.00%"


def test_the_digest_rule_of_a_record_table():
    """A table's digest names fields it has; one table is shared only by declarations that agree."""
    tables = Tables(full=False)
    digest = Digest(by=("kind",), sums=("n",), spread="latency")
    add = tables.shared("t", ("kind", "n", "latency"), digest)
    assert tables.shared("t", ("kind", "n", "latency"), digest) is add
    with pytest.raises(ValueError, match="declared twice, differently"):
        tables.shared("t", ("kind", "n"), "count")
    with pytest.raises(ValueError, match="its digest names when, which are not fields"):
        tables.table("u", ("kind",), Digest(by=("kind",), when="when"))
    for i in range(10_000):
        add(float(i % 2), 1.0, 0.001 * (1 + i % 7))
    done = tables.finish()["t"]
    assert done.count == 10_000 and done.rows is None and [g.count for g in done.groups] == [5000, 5000]
    assert [g.sums["n"] for g in done.groups] == [5000.0, 5000.0] and done.entries == {}


# ----------------------------------------------------------------------------- the call graph and bad input


def test_the_call_graph_and_the_loop_checks_see_every_do_and_undo():
    from simulator.scenario.topology import call_graph, edges

    sc = trade()
    called = {(e.target, e.target_op) for e in edges(sc) if e.caller == "shop"}
    assert called == {(f"p{i}", "do") for i in range(1, 5)} | {(f"u{i}", "undo") for i in range(1, 4)}
    assert set(call_graph(sc).successors("shop")) == {"p1", "p2", "p3", "p4", "u1", "u2", "u3"}


GOOD = """\
name: t
duration: 10s
workload:
  - {name: c, entry: shop, operation: trade, arrivals: {kind: poisson, rate: 5/s}}
components:
  shop:
    kind: service
    operations:
      trade:
        work: 1ms
        steps:
          - saga:
              name: trade
              steps:
                - {do: inventory.reserve, undo: inventory.release}
                - {do: wallet.debit, undo: wallet.refund}
                - {do: ownership.transfer, pivot: true}
                - {do: notify.send}
  inventory: {kind: service, operations: {reserve: {work: 1ms}, release: {work: 1ms}}}
  wallet: {kind: service, operations: {debit: {work: 1ms}, refund: {work: 1ms}}}
  ownership: {kind: service, operations: {transfer: {work: 1ms}}}
  notify: {kind: service, operations: {send: {work: 1ms}}}
"""

STEPS = """                - {do: inventory.reserve, undo: inventory.release}
                - {do: wallet.debit, undo: wallet.refund}
                - {do: ownership.transfer, pivot: true}
                - {do: notify.send}"""


def problems(tmp_path, text: str) -> list[str]:
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(text))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return [str(p).replace(str(path), "s.yaml") for p in info.value.problems]


def test_the_good_saga_loads(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(GOOD)
    saga = load_scenario(path).components["shop"].operations["trade"].steps[0].saga
    assert saga.pivot_index == 2 and saga.style == "orchestration" and saga.retry.max_attempts == 3


@pytest.mark.parametrize("old, new, where, message", [
    ("wallet.refund}", "wallet.refnd}", "s.yaml:16:44: components.shop.operations.trade.steps.0.saga.steps.1.undo:",
     "'wallet' has no operation 'refnd' (it has: debit, refund)"),
    ("{do: notify.send}", "{do: nowhere.send}", "s.yaml:18:24: components.shop.operations.trade.steps.0.saga.steps.3.do:",
     "call target 'nowhere' does not exist (expected one of: shop, inventory, wallet, ownership, notify)"),
    ("{do: notify.send}", "{do: notify.send, pivot: true}", "s.yaml:13:15: components.shop.operations.trade.steps.0.saga:",
     "steps 3 and 4 are both marked pivot: a saga has one point of no return at most"),
    ("{do: notify.send}", "{do: notify.send, undo: notify.send}", "s.yaml:13:15: components.shop.operations.trade.steps.0.saga:",
     "step 4 (notify.send) comes after the pivot (step 3): it is retried until it succeeds, never compensated"),
    ("pivot: true}", "pivot: true, undo: wallet.refund}", "s.yaml:13:15: components.shop.operations.trade.steps.0.saga:",
     "step 3 (ownership.transfer) is the pivot, the point of no return: it is never compensated"),
    (STEPS, "                []", "s.yaml:13:15: components.shop.operations.trade.steps.0.saga:",
     "a saga needs at least one step"),
    ("debit: {work: 1ms}", "debit: {work: 1ms, steps: [{call: shop.trade}]}", "s.yaml:",  # either end of the loop
     ("cycle of synchronous calls never ends: ", "shop.trade → wallet.debit", "wallet.debit → shop.trade")),
    ("refund: {work: 1ms}", "refund: {work: 1ms, steps: [{call: shop.trade}]}", "s.yaml:",
     ("cycle of synchronous calls never ends: ", "shop.trade → wallet.refund", "wallet.refund → shop.trade")),
    ("name: trade\n", "name: trade\n              style: choreographed\n",
     "s.yaml:14:22: components.shop.operations.trade.steps.0.saga.style:", "unknown style 'choreographed'"),
    ("name: trade\n", "name: trade\n              retry: {max_attempts: 0}\n",
     "s.yaml:14:37: components.shop.operations.trade.steps.0.saga.retry.max_attempts:", "greater than or equal to 1"),
    ("                - {do: notify.send}\n",
     "                - {do: notify.send}\n          - saga: {name: trade, steps: [{do: notify.send}]}\n",
     "s.yaml:19:26: components.shop.operations.trade.steps.1.saga.name:",
     "'shop' already runs another saga named 'trade' (with other steps): give each saga its own name"),
])
def test_bad_sagas_get_one_located_message_each(tmp_path, old, new, where, message):
    assert old in GOOD
    got = problems(tmp_path, GOOD.replace(old, new))
    assert len(got) == 1, got
    assert got[0].startswith(where) and all(part in got[0] for part in
                                            (message if isinstance(message, tuple) else (message,))), got[0]


# ----------------------------------------------------------------------------- the scenario


@pytest.mark.parametrize("style, happy", [("orchestration", 0.0155), ("choreography", 0.0145)])
def test_the_trade_saga_scenario_matches_its_header(style, happy):
    """scenarios/events/trade-saga.yaml: P(completed) 0.912861 within 3 binomial SE, happy-path
    latency 13 ms of work plus 10 (orchestration) or 6 (choreography) hops of 0.25 ms."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scenarios" / "events" / "trade-saga.yaml"
    result = simulate(load_scenario(path, params=[f"style={style}"], sets=["duration=2m", "warmup=10s"]))
    summary = result.summary()
    saga = summary["components"]["trading"]["sagas"]["trade"]
    n, p = saga["count"], 0.98 * 0.97 * 0.97 * 0.99
    assert abs(saga["completed_ratio"] - p) <= 3 * math.sqrt(p * (1 - p) / n)
    assert saga["latency_s"]["completed"]["p50"] == pytest.approx(happy, rel=1e-9)
    assert summary["availability"] == saga["completed_ratio"]
    assert all(v["passed"] for v in summary["slos"])


def test_the_readme_saga_example_validates_and_runs(tmp_path):
    """README "Sagas": the example block, with a workload around it, loads from a file and runs;
    its happy path is 10 ms of work (G12.3) and its SLOs read the saga's outcomes."""
    import re
    from pathlib import Path

    import yaml

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    match = re.search(r"<!-- saga-example -->\s*```yaml\n(.+?)\n```", text, re.S)
    assert match, "README has no saga-example block"
    doc = {"name": "readme-saga", "duration": "20s", **yaml.safe_load(match.group(1)),
           "workload": [{"name": "traders", "entry": "trading", "operation": "trade",
                         "arrivals": {"kind": "poisson", "rate": "20/s"}}]}
    path = tmp_path / "saga.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    summary = simulate(load_scenario(path)).summary()
    trading = summary["components"]["trading"]
    assert trading["sagas"]["trade"]["latency_s"]["completed"]["p50"] == pytest.approx(0.010, rel=1e-9)
    assert trading["sagas_completed"] == summary["requests"]["ok"] > 300
    assert [v["passed"] for v in summary["slos"]] == [True, True]


# ----------------------------------------------------------------------------- per-step call options


def with_step_options(sc: Scenario, step: int, **options) -> Scenario:
    """*sc* with *options* (``timeout``…) on saga step *step* (1-based) of ``shop.trade``."""
    data = sc.model_dump(by_alias=True, exclude_none=True)
    data["components"]["shop"]["operations"]["trade"]["steps"][0]["saga"]["steps"][step - 1].update(options)
    return Scenario.model_validate(data)


def slow(sc: Scenario, component: str, operation: str, work: float) -> Scenario:
    data = sc.model_dump(by_alias=True, exclude_none=True)
    data["components"][component]["operations"][operation]["work"] = work
    return Scenario.model_validate(data)


@pytest.mark.parametrize("style", STYLES)
def test_a_steps_timeout_bounds_a_participant_that_hangs(style):
    """p2 answers after 2 s; step 2's ``timeout: 50ms`` gives up on it: the saga is compensated at
    step 2 after T1 + 50 ms + C1 (G12.3 with the timeout for T2), with G12.2's messages."""
    sc = with_step_options(slow(trade(style, duration="10s"), "p2", "do", 2.0), 2, timeout=0.05)
    result = simulate(sc)
    saga = saga_of(result)
    count = saga["count"]
    assert count > 100 and saga["compensated"] == count and saga["failed_at"] == {"p2.do": count}
    assert saga["messages"] == saga_messages(4, style, failed_at=2) * count
    undone = rows(result, "compensated")
    assert undone.latency.to_numpy() == pytest.approx(T[0] + 0.05 + C[0], rel=1e-9)
    assert saga["compensations"] == count  # step 1's undo, once each


def test_a_steps_timeout_bounds_each_attempt_of_its_undo():
    """Step 2 always fails; u1 answers after 2 s and step 1's ``timeout: 50ms`` bounds each of its
    3 attempts (waits 10 ms, 20 ms): the compensation gives up and step 1's effect stays."""
    sc = trade(fail={"p2": 1.0}, retry={"max_attempts": 3, "backoff": "10ms"}, duration="10s")
    result = simulate(with_step_options(slow(sc, "u1", "undo", 2.0), 1, timeout=0.05))
    saga = saga_of(result)
    count = saga["count"]
    assert count > 100 and saga["failed"] == count and saga["partial_effects"] == {"p1.do": count}
    assert saga["messages_per_saga"] == 2 * (2 + 3)
    assert rows(result, "failed").latency.to_numpy() == pytest.approx(T[0] + T[1] + 3 * 0.05 + 0.010 + 0.020,
                                                                      rel=1e-9)


def test_a_step_without_a_timeout_waits_for_the_participant():
    result = simulate(slow(trade(duration="10s"), "p2", "do", 0.5))
    done = rows(result, "completed")
    assert len(done) > 100 and done.latency.to_numpy() == pytest.approx(sum(T) - T[1] + 0.5, rel=1e-9)


# ----------------------------------------------------------------------------- every saga accounted for


@pytest.mark.parametrize("records", ["full", "summary"])
def test_sagas_under_way_when_the_run_ends_are_counted_running(records):
    """Step 2 takes 1 s and the run stops at 10 s without draining: the sagas started in the last
    second are still under way. Each is counted once, running: started = completed +
    compensated + failed + running, in both records modes."""
    sc = slow(trade(fail={"p3": 0.2}, duration="10s", drain=0, records=records), "p2", "do", 1.0)
    result = simulate(sc, seed=4)
    shop = result.summary()["components"]["shop"]
    saga = shop["sagas"]["trade"]
    assert shop["sagas_running"] == saga["running"] > 5
    assert shop["sagas_started"] == saga["count"] == result.summary()["requests"]["issued"]
    assert saga["count"] == saga["completed"] + saga["compensated"] + saga["failed"] + saga["running"]
    assert shop["saga_completed_ratio"] == saga["completed"] / saga["count"]
    assert shop["saga_compensated_ratio"] == saga["compensated"] / saga["count"]
    assert shop["saga_failed_ratio"] == 0.0
    if records == "full":
        running = result.components["shop"].table("sagas").query("outcome == 3")
        assert len(running) == saga["running"]
        assert (running.end == 10.0).all() and (running.start > 10.0 - 1.0 - sum(T)).all()
        assert (running.failed_at == 0).all() and (running.partial_effect == 0).all()
        assert (running.messages == 4).all()  # step 1 done (2), step 2 commanded and not answered yet (2)


def test_a_drained_run_has_no_saga_running():
    shop = simulate(trade(fail={"p3": 0.2}, duration="10s")).summary()["components"]["shop"]
    assert shop["sagas_running"] == 0 and shop["sagas_started"] == shop["sagas_completed"] + shop["sagas_compensated"]


# ----------------------------------------------------------------------------- compare and sweeps


def test_compare_and_sweep_records_carry_the_saga_numbers():
    """``compare`` compares the saga's shares as it does a kind's declared ratios; a sweep's
    record has every saga number, counts included."""
    from simulator.compare import compare
    from simulator.experiments.runs import RunSpec, record

    a, b = trade(fail={"p3": 0.1}, duration="10s"), trade(fail={"p3": 0.3}, duration="10s")
    rows_ = {row["metric"]: row for row in compare(a, b, replications=3).rows()}
    for key in ("saga_completed_ratio", "saga_compensated_ratio", "saga_failed_ratio"):
        assert f"component.shop.{key}" in rows_, sorted(rows_)
    completed = rows_["component.shop.saga_completed_ratio"]
    assert completed["a"] == pytest.approx(0.9, abs=0.05) and completed["b"] == pytest.approx(0.7, abs=0.05)
    assert completed["significant"] and completed["diff"] < 0
    assert rows_["component.shop.saga_failed_ratio"]["a"] == 0.0
    assert "component.p1.saga_completed_ratio" not in rows_  # only the coordinator runs sagas
    result = simulate(a, 5)
    shop = result.summary()["components"]["shop"]
    flat = record(RunSpec("saga.yaml", (), (), 5, 0, 0), result)
    for key in ("sagas_completed", "sagas_compensated", "sagas_failed", "sagas_started", "sagas_running",
                "saga_messages", "saga_compensations", "saga_completed_ratio", "saga_compensated_ratio",
                "saga_failed_ratio"):
        assert flat[f"component.shop.{key}"] == shop[key], key
    assert isinstance(flat["component.shop.sagas_completed"], int) and flat["component.shop.sagas_completed"] > 100
