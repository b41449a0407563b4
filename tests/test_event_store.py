"""Event sourcing (``kind: event_store`` and a service's ``event_sourced:``) through the engine.

The expectations are written out here, never read off the code under test:

* recovery by replay is deterministic given the log: a stream of ``v`` events with a
  snapshot every ``N`` replays ``v mod N`` events (all ``v`` without snapshots) at the replay
  cost and loads one snapshot once ``v >= N``; the replica is down for exactly that long;
* over crash moments uniform in the run (Poisson appends over many snapshot cycles), a
  stream replays ``(N - 1) / 2`` events on average: R independent replications, the grand
  mean within 3 SE (tests/bands.py, golden.md §0);
* optimistic concurrency: with Poisson appends at rate ``λ`` to a stream and a constant
  window ``w`` from reading the version to landing, a failed conflicting append lands
  nothing, so each landed append makes the next ``w`` seconds a dead time: the conflicting
  share is ``λw / (1 + λw)`` (a non-paralysable counter); deterministic two- and
  three-writer races are counted by hand.

Deterministic writers are closed-loop users with a constant 10 ms think time: user
requests go out at exactly 10 ms, 20 ms, … when the answer takes no time.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from bands import assert_replications_within_3se
from helpers import located_problems, scenario
from simulator import Scenario, load_scenario, simulate
from simulator.scenario.load import check_scenario
from simulator.theory import (
    conflict_probability, conflict_ratio, expected_recovery_time, lost_update_probability, recovery_time,
    replay_time, replayed_events,
)

ROOT = Path(__file__).resolve().parents[1]
EVERY_10MS = {"kind": "closed", "users": 1, "think": "10ms"}


def store(**kw: Any) -> dict[str, Any]:
    return {"kind": "event_store", "workers": 64, **kw}


def sourced(replay_cost: str = "1ms", steps: list | None = None, **kw: Any) -> dict[str, Any]:
    """An event-sourced service ``svc`` of store ``es`` whose ``op`` appends one event (or runs *steps*)."""
    return {"kind": "service", "workers": 4,
            "event_sourced": {"store": "es", "replay_cost": replay_cost, **kw},
            "operations": {"op": {"steps": [{"call": "es.append"}] if steps is None else steps}}}


def entry(result, name: str) -> dict[str, Any]:
    return result.summary()["components"][name]


# ----------------------------------------------------------------------------- the closed forms


def test_the_closed_forms_by_hand():
    # streams of 1000, 250 and 99 events, a snapshot every 100: replay 0 + 50 + 99 events, load 2 snapshots
    assert replayed_events([1000, 250, 99], 100) == (149, 2)
    assert recovery_time([1000, 250, 99], 20e-6, 100, 2e-3) == pytest.approx(149 * 20e-6 + 2 * 2e-3)
    assert recovery_time([1000, 250, 99], 20e-6) == pytest.approx(1349 * 20e-6)  # no snapshots: everything
    assert replay_time(1000, 20e-6, 100, 2e-3) == pytest.approx(2e-3)
    # 10 streams, N = 101: 50 events each on average
    assert expected_recovery_time(10, 101, 1e-3, 5e-3) == pytest.approx(10 * (50e-3 + 5e-3))
    assert conflict_probability(100, 0.01) == pytest.approx(0.5)  # λw = 1: every other attempt
    assert lost_update_probability(100, 0.01) == pytest.approx(1 - math.exp(-1))
    assert conflict_ratio(100, 0.01, [1, 1]) == pytest.approx(0.5 / 1.5)  # each key λw = 1/2
    with pytest.raises(ValueError, match="snapshot_every"):
        recovery_time([10], 1e-3, 0)


# ----------------------------------------------------------------------------- replay: exact


@pytest.mark.parametrize("events, streams, every", [
    (100_000, 1, None),        # no snapshots: the whole log
    (100_000, 1, 1000),        # on a snapshot: load it, replay nothing
    (100_037, 1, 1000),        # 37 after the snapshot
    (1_000_000, 10, 64),       # 100,000 per stream: 100000 mod 64 = 32 each
    (999_999, 7, 500),         # 142,857 per stream: 357 after the snapshot each
    (1_000_000, 1, 10_000_000),  # shorter than one interval: no snapshot yet, the whole log
])
def test_the_start_replay_is_the_closed_form_and_the_replica_serves_nothing_meanwhile(events, streams, every):
    per, extra = divmod(events, streams)
    lengths = [per + (k < extra) for k in range(streams)]
    cost, load = 2e-6, 3e-3
    since = sum(v % every if every else v for v in lengths)
    snapshots = sum(v >= every for v in lengths) if every else 0
    expected = since * cost + snapshots * load
    assert expected == pytest.approx(recovery_time(lengths, cost, every, load))
    es = store(initial_events=events, initial_streams=streams, **({"snapshot_every": every} if every else {}))
    comps = {"svc": sourced(replay_cost="2us", snapshot_load="3ms", replay_on_start=True), "es": es}
    result = simulate(scenario(comps, operation="op", duration="1s", workload={"arrivals": EVERY_10MS}))
    svc = entry(result, "svc")
    assert svc["counts"]["replays"] == 1
    assert svc["events_replayed"] == since and svc["snapshots_loaded"] == snapshots
    assert svc["replay_time_max"] == pytest.approx(expected) and svc["replay_time_mean"] == pytest.approx(expected)
    # requests at 10 ms, 20 ms, … fail while the only replica replays (each answered at once)
    down = sum(1 for k in range(1, 100) if 0.01 * k < expected)
    assert result.summary()["requests"]["error"] == down
    assert entry(result, "es")["counts"]["appends"] == result.summary()["requests"]["issued"] - down


def test_a_crash_restart_waits_for_the_replay_of_the_log_as_it_is_then():
    """The writer itself is event-sourced: 100 appends (10 ms … 1 s) on 1,234 events, then a crash at
    1.005 s for 0.5 s; on restart it replays 1334 mod 100 = 34 events and loads one snapshot."""
    comps = {"svc": sourced(replay_cost="1ms", snapshot_load="200us"),
             "es": store(snapshot_every=100, initial_events=1234)}
    faults = [{"kind": "crash", "target": "svc", "at": "1.005s", "for": "500ms"}]
    result = simulate(scenario(comps, operation="op", duration="3s", workload={"arrivals": EVERY_10MS},
                               faults=faults))
    replay = 34 * 1e-3 + 200e-6
    svc, es = entry(result, "svc"), entry(result, "es")
    assert svc["counts"]["replays"] == 1 and svc["events_replayed"] == 34 and svc["snapshots_loaded"] == 1
    assert svc["replay_time_max"] == pytest.approx(replay)
    # down from 1.005 s to 1.505 s + the replay: the requests at 1.01 … 1.53 s fail
    down = sum(1 for k in range(1, 300) if 1.005 <= 0.01 * k < 1.505 + replay)
    assert down == 53
    assert result.summary()["requests"]["error"] == down
    assert es["counts"]["appends"] == result.summary()["requests"]["issued"] - down
    # the store's arithmetic: every landed event counted, a snapshot per multiple of 100 crossed
    stored = 1234 + es["counts"]["appends"]
    assert es["events_stored"] == stored and es["streams"] == 1
    assert es["counts"]["snapshots"] == stored // 100 - 1234 // 100
    assert es["events_since_snapshot"] == stored % 100


def test_a_crash_during_the_replay_starts_it_again():
    comps = {"svc": sourced(replay_cost="1ms", replay_on_start=True), "es": store(initial_events=500)}
    faults = [{"kind": "crash", "target": "svc", "at": "0.2s", "for": "100ms"}]  # the first replay needs 0.5 s
    result = simulate(scenario(comps, operation="op", duration="2s", workload={"arrivals": EVERY_10MS},
                               faults=faults))
    svc = entry(result, "svc")
    assert svc["counts"]["replays"] == 2 and svc["events_replayed"] == 1000
    down = sum(1 for k in range(1, 200) if 0.01 * k < 0.3 + 0.5)  # up only at 0.3 s + 0.5 s
    assert result.summary()["requests"]["error"] == down


def test_a_broker_consumer_on_a_replaying_replica_takes_nothing_until_the_replay_is_over():
    """The replay watcher runs before the broker group's: the members of the restarted replica
    rejoin when it comes up after its replay (3 s + 500 events x 1 ms), not at the restart."""
    comps = {"bus": {"kind": "broker", "topics": {"t": {"groups": {"g": {"consumer": "svc.op"}}}}},
             "svc": sourced(replay_cost="1ms", steps=[]), "es": store(initial_events=500)}
    faults = [{"kind": "crash", "target": "svc", "at": "2s", "for": "1s"}]
    result = simulate(scenario(comps, entry="bus", operation="t", duration="6s", rate="100/s", faults=faults),
                      records="summary")  # the replays table is kept in both records modes
    rows = result.components["svc"].table("replays").to_dict("records")
    assert rows == [{"start": 3.0, "replica": 0.0, "events": 500.0, "snapshots": 0.0, "duration": 0.5}]
    assert result.summary()["components"]["bus"]["messages_lost"] == 0
    full = simulate(scenario(comps, entry="bus", operation="t", duration="6s", rate="100/s", faults=faults))
    messages = full.components["bus"].table("messages")
    after = messages["taken"][messages["taken"] > 2.0]
    assert after.min() >= 3.5 and not ((messages["processed"] >= 2.0) & (messages["processed"] < 3.5)).any()


def test_the_mean_replay_over_random_crash_moments_is_half_a_snapshot_interval_per_stream(golden_zscores):
    """A view service of 20 streams, written by another service at 500/s (keys uniform); its crash
    moment is uniform in [10 s, 40 s]. Each stream's length mod 50 is then uniform on 0..49."""
    streams, every, cost = 20, 50, 1e-3
    moments = np.random.default_rng(14).uniform(10.0, 40.0, 30)
    values = []
    for seed, at in enumerate(moments, start=1):
        comps = {"writer": {"kind": "service", "workers": 8, "operations": {"op": {"steps": [{"call": "es.append"}]}}},
                 "view": sourced(replay_cost="1ms", steps=[]),
                 "es": store(snapshot_every=every)}
        faults = [{"kind": "crash", "target": "view", "at": float(at), "for": "1s"}]
        result = simulate(scenario(comps, entry="writer", rate="500/s", duration="42s", seed=seed, faults=faults,
                                   workload={"keys": f"uniform(n={streams})"}))
        values.append(entry(result, "view")["replay_time_max"])
    assert_replications_within_3se(golden_zscores, values, expected_recovery_time(streams, every, cost),
                                   "event sourcing: replay after a random crash, 20 streams, N = 50")


# ----------------------------------------------------------------------------- optimistic concurrency


def race(users: int, duration: str, **es: Any):
    """*users* writers of one stream, all sending at 10 ms, 10 ms + cycle, …; an append takes 3 ms."""
    comps = {"es": store(append_work="3ms", **es)}
    arrivals = {"kind": "closed", "users": users, "think": "10ms"}
    return simulate(scenario(comps, entry="es", operation="append", duration=duration,
                             workload={"arrivals": arrivals}))


def test_two_writers_fail_one_append_per_round():
    # both send at 10 ms + k × 13 ms (k = 0 … 76: before 1 s); one lands 3 ms later, the other conflicts
    # and fails. The store's counters count what happened in the window: the landings before 1 s.
    result = race(2, "1s")
    counts = entry(result, "es")["counts"]
    rounds = sum(1 for k in range(100) if 0.010 + 0.013 * k < 1.0)
    landed = sum(1 for k in range(100) if 0.013 + 0.013 * k < 1.0)
    assert (rounds, landed) == (77, 76)
    assert counts["appends"] == landed and counts["conflicts"] == landed and counts["appends_failed"] == landed
    assert counts["append_retries"] == 0
    assert result.summary()["requests"] == {"issued": 2 * rounds, "ok": rounds, "error": rounds, "timeout": 0,
                                            "rejected": 0}
    assert entry(result, "es")["conflict_ratio"] == pytest.approx(0.5)
    assert entry(result, "es")["events_stored"] == rounds  # the fact: the whole run, drain included


@pytest.mark.parametrize("max_retries, appends, conflicts, retries, failed", [
    (3, 3, 3, 3, 0),  # lands at 13 ms; the two others retry, one lands at 16 ms; the last retries again: 19 ms
    (1, 2, 3, 2, 1),  # the last one's second conflict exhausts its one retry
    (0, 1, 2, 0, 2),
])
def test_three_writers_retry_by_the_numbers(max_retries, appends, conflicts, retries, failed):
    result = race(3, "20ms", on_conflict="retry", max_retries=max_retries)  # one round: sends at 10 ms
    counts = entry(result, "es")["counts"]
    assert (counts["appends"], counts["conflicts"], counts["append_retries"], counts["appends_failed"]) == \
        (appends, conflicts, retries, failed)
    assert result.summary()["requests"]["error"] == failed
    assert entry(result, "es")["events_stored"] == appends


def test_conflicts_follow_the_dead_time_formula_under_zipf_keys(golden_zscores):
    """Poisson appends at 400/s over 20 Zipf(1) streams, a constant 5 ms window (64 workers: no
    wait), conflicts fail: the share of attempts that conflict is sum_k p_k λ_k w / (1 + λ_k w)."""
    rate, window, n = 400.0, 0.005, 20
    weights = [1 / k for k in range(1, n + 1)]
    exact = conflict_ratio(rate, window, weights)
    values = []
    for seed in range(1, 11):
        result = simulate(scenario({"es": store(append_work="5ms")}, entry="es", operation="append", rate="400/s",
                                   duration="60s", seed=seed, workload={"keys": f"zipf(s=1, n={n})"}))
        values.append(entry(result, "es")["conflict_ratio"])
    assert_replications_within_3se(golden_zscores, values, exact, "event store: conflict share, Zipf keys")


# ----------------------------------------------------------------------------- objectives


def test_slos_read_the_store_and_the_replays():
    comps = {"svc": sourced(replay_on_start=True), "es": store(initial_events=100, append_work="3ms")}
    slos = [{"name": "no conflicts", "component": "es", "metric": "conflicts", "max": 0},
            {"name": "recovery", "component": "svc", "metric": "replay_time_max", "max": 0.05}]
    result = simulate(scenario(comps, operation="op", duration="1s", workload={"arrivals": EVERY_10MS}, slos=slos))
    verdicts = {s["name"]: (s["value"], s["passed"]) for s in result.summary()["slos"]}
    assert verdicts["no conflicts"] == (0, True)
    assert verdicts["recovery"][0] == pytest.approx(0.1) and verdicts["recovery"][1] is False


# ----------------------------------------------------------------------------- bad input


def problems_of(components: dict[str, Any], slos: list | None = None) -> list[str]:
    return located_problems(components, entry="svc", **({"slos": slos} if slos else {}))


@pytest.mark.parametrize("change, where, message", [
    (lambda c: c["svc"]["event_sourced"].update(store="nope"),
     "components.svc.event_sourced.store", "event store 'nope' does not exist"),
    (lambda c: c["svc"]["event_sourced"].update(store="db"),
     "components.svc.event_sourced.store", "'db' is a service, not an event_store"),
    (lambda c: c["es"].update(snapshot_every=0), "components.es.snapshot_every", "greater than or equal to 1"),
    (lambda c: c["es"].update(max_retries=2), "components.es", "max_retries applies only with on_conflict: retry"),
    (lambda c: c["es"].update(on_conflict="ignore"), "components.es.on_conflict", "unknown on_conflict 'ignore' (valid values: fail, retry)"),
    (lambda c: c["es"].update(initial_events=-1), "components.es.initial_events", "greater than or equal to 0"),
    (lambda c: c["es"].update(initial_streams=0), "components.es.initial_streams", "greater than or equal to 1"),
    (lambda c: c["svc"]["event_sourced"].update(replay_cost="0s"), "components.svc.event_sourced.replay_cost",
     "this duration must be positive"),
    (lambda c: c["svc"]["event_sourced"].update(snapshot="2ms"), "components.svc.event_sourced.snapshot",
     "unknown field 'snapshot'"),
    (lambda c: c["svc"]["operations"]["op"]["steps"].append({"call": "es.load"}),
     "components.svc.operations.op.steps.1.call", "'es' has no operation 'load' (it has: append, read)"),
])
def test_bad_input_is_located(change, where, message):
    comps = {"svc": sourced(), "es": store(), "db": {"kind": "service", "operations": {"q": {}}}}
    change(comps)
    found = problems_of(comps)
    assert any(where in p and message in p for p in found), found


def test_an_slo_on_replays_of_a_service_that_does_not_replay_is_refused():
    comps = {"svc": sourced(), "es": store(), "db": {"kind": "service", "operations": {"q": {}}}}
    found = problems_of(comps, slos=[{"name": "r", "component": "db", "metric": "replay_time_max", "max": 1}])
    assert any("replay_time_max" in p for p in found), found


def test_a_large_log_is_written_as_1e6():
    spec = Scenario.model_validate(scenario({"svc": sourced(), "es": store(initial_events="1e6")},
                                            operation="op").model_dump(by_alias=True)).components["es"]
    assert spec.initial_events == 1_000_000 and spec.initial_lengths() == [1_000_000]


# ----------------------------------------------------------------------------- README and scenario


def test_the_readme_example_is_a_valid_design_that_runs():
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- event-store-example -->\s*```yaml\n(.+?)\n```", text, re.S)
    assert match, "README has no event-store-example block"
    doc = {"name": "readme-event-store", "duration": "60s", **yaml.safe_load(match.group(1))}
    scenario_, warnings = check_scenario("readme.yaml", text=yaml.safe_dump(doc, sort_keys=False))
    assert warnings == []
    result = simulate(scenario_)
    orders = entry(result, "orders")
    assert orders["counts"]["replays"] == 3  # two replicas at the start, one after the crash
    assert entry(result, "es")["counts"]["conflicts"] > 0


@pytest.mark.parametrize("every, start, slo_met", [
    (10, 4_567 * 20e-6 + 1.0, True),          # 567 streams of 1,235 events, 433 of 1,234: 567 x 5 + 433 x 4
    (100, 34_567 * 20e-6 + 1.0, True),        # 567 x 35 + 433 x 34
    (1000, 234_567 * 20e-6 + 1.0, False),     # 567 x 235 + 433 x 234: 5.69 s > 5 s
    (10000, 1_234_567 * 20e-6, False),        # no stream has reached a snapshot: the whole log
])
def test_the_scenario_measures_the_closed_form(every, start, slo_met):
    """scenarios/events/replay-vs-snapshot.yaml: both replicas' start replays are the closed form of
    the initial log; the crash's replay starts at the restart (35 s) and follows the same rule."""
    path = ROOT / "scenarios" / "events" / "replay-vs-snapshot.yaml"
    scenario_ = load_scenario(path, params=[f"snapshot_every={every}"])
    assert start == pytest.approx(recovery_time(scenario_.components["es"].initial_lengths(), 20e-6, every, 1e-3))
    result = simulate(scenario_)
    rows = result.components["orders"].table("replays").to_dict("records")
    assert [(r["start"], r["replica"]) for r in rows] == [(0, 0), (0, 1), (35, 0)]
    assert [r["duration"] for r in rows[:2]] == [pytest.approx(start)] * 2
    crash = rows[2]
    assert crash["snapshots"] == (1000 if every <= 1234 else 0)
    assert crash["duration"] == pytest.approx(crash["events"] * 20e-6 + crash["snapshots"] * 1e-3)
    assert crash["events"] < 1000 * every if every <= 1234 else crash["events"] > 1_234_567
    summary = result.summary()
    assert summary["components"]["orders"]["replay_time_max"] == pytest.approx(max(r["duration"] for r in rows))
    verdicts = {s["name"]: s["passed"] for s in summary["slos"]}
    assert verdicts == {"recovery within 5 s": slo_met, "no order lost to a conflict": True}
