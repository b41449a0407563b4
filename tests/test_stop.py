"""The ``stop`` fault: replicas shut down cleanly (a rolling deploy), against a ``crash`` at the same moment.

A broker group's members on a stopped replica leave the group cleanly (LeaveGroup): the group
rebalances at once and the leaving member commits what it processed. The contrast with a crash
uses the closed forms of golden.md §8 (from :mod:`simulator.theory`, never from the code under
test): golden G8.2 a crash a phase φ after an auto-commit replays r·φ messages; golden G8.3 a
silently crashed consumer leaves r × session_timeout messages behind before the group
reassigns. A clean stop replays nothing and leaves lag only where capacity is gone.
Runs are deterministic (a producer exactly every 10 ms), so the checks are exact up to a message.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from helpers import scenario, service
from simulator import simulate
from simulator.errors import ScenarioError
from simulator.scenario.load import check_scenario
from simulator.theory import lag_before_reassignment
from test_broker import EVERY_10MS, assert_conserved, broker, group, produce_into, the_group

RATE, SESSION, PHASE = 100.0, 10.0, 2.5  # messages/s, session_timeout s, seconds after the commit at 20 s
AT = 20.0 + PHASE + 0.005  # between two messages (one every 10 ms, processed in 1 ms)


def fault_on_consumer(kind: str, *, replicas: int = 2, duration: str = "60s", for_: str = "1000s",
                      work: str = "1ms", workload: dict | None = None, at: float = AT, session: float = SESSION):
    """Topic ``t`` (one partition) read at least once, auto-commit every 5 s, by the members of ``c``
    (*replicas* × 1 consumer, the one on replica 0 reading); *kind* hits replica 0 at *at* for *for_*."""
    comps = {"bus": broker({"g": group(delivery="at_least_once", auto_commit_interval="5s",
                                       session_timeout=f"{session:g}s")}),
             "c": service(work, replicas=replicas)}
    fault = {"kind": kind, "target": "c", "at": f"{at}s", "for": for_}
    if replicas > 1:
        fault["replicas"] = 1
    sc = produce_into(comps, duration=duration, workload=workload or EVERY_10MS, faults=[fault])
    result = simulate(sc)
    assert_conserved(result)
    return result, the_group(result)


def test_a_clean_stop_replays_nothing_where_a_crash_replays_since_the_last_commit():
    """golden G8.2: the crash replays r·φ = 250 messages and golden G8.3 its partition waits r × session =
    1000 messages (plus the replayed 250) for the reassignment; the stop at the same moment: 0 duplicates,
    0 redeliveries, the other member reads on at once (lag stays at most one message)."""
    _, crash = fault_on_consumer("crash")
    assert abs(crash.duplicated - RATE * PHASE) <= 5
    assert abs(crash.lag_max - (lag_before_reassignment(RATE, SESSION) + crash.duplicated)) <= 2
    _, stop = fault_on_consumer("stop")
    assert stop.duplicated == stop.redelivered == 0
    assert stop.lost == 0 and stop.rebalances == 1
    assert stop.lag_max <= 1
    assert stop.processed + stop.in_flight == stop.produced


@pytest.mark.parametrize("kind, rebalances", [("stop", 1), ("crash", 0)])
def test_the_group_rebalances_at_the_stop_instant(kind, rebalances):
    """A run ending 1 ms after the fault: a stop has rebalanced already (LeaveGroup), a crash not yet
    (the group waits for the session timeout); a run ending 1 ms before it has not rebalanced."""
    _, g = fault_on_consumer(kind, duration=f"{AT + 0.001}s")
    assert g.rebalances == rebalances
    _, before = fault_on_consumer(kind, duration=f"{AT - 0.001}s")
    assert before.rebalances == 0


def test_lag_comes_only_from_the_lost_capacity():
    """The only consumer replica stops for 10 s: its partition waits exactly those 10 s (lag r × 10 = 1000,
    capacity lost, not a session timeout), nothing is replayed; leave and rejoin are two rebalances. The
    same crash (session 45 s, so the restart comes first) replays r·φ = 250 on top (golden G8.2)."""
    _, stop = fault_on_consumer("stop", replicas=1, for_="10s", session=45.0)
    assert abs(stop.lag_max - RATE * 10) <= 1
    assert stop.duplicated == 0 and stop.lost == 0 and stop.rebalances == 2
    _, crash = fault_on_consumer("crash", replicas=1, for_="10s", session=45.0)
    assert abs(crash.duplicated - RATE * PHASE) <= 5
    assert abs(crash.lag_max - (RATE * 10 + crash.duplicated)) <= 2


def test_the_message_in_flight_finishes_on_the_stopping_member():
    """Calls of 50 ms, a message every 60 ms: a message is in flight when replica 0 stops at 20.02 s. Its
    call is not interrupted: member 0 processes it after the stop, once, and commits it (no duplicate);
    a crash there fails the call and its message is redelivered by the other member."""
    slow = {"arrivals": {"kind": "closed", "users": 1, "think": "60ms"}}
    result, g = fault_on_consumer("stop", work="50ms", workload=slow, at=20.02, duration="40s")
    messages = result.components["bus"].table("messages")
    finished = messages[(messages.taken < 20.02) & (messages.processed > 20.02)]
    assert len(finished) == 1 and finished.member.iloc[0] == 0 and finished.deliveries.iloc[0] == 1
    assert g.duplicated == g.redelivered == 0 and g.lost == 0 and g.rebalances == 1
    _, crash = fault_on_consumer("crash", work="50ms", workload=slow, at=20.02, duration="40s")
    assert crash.redelivered >= 1


def test_a_share_groups_stopping_member_acknowledges_instead_of_holding_its_lock():
    """Share group, 2 members taking 1 s a message at 3 messages/s (both always busy): a crash leaves the
    dead member's message locked for lock_duration and redelivers it; a stop lets the call finish and
    acknowledges it: no redelivery, nothing lost, no rebalance (share groups have none)."""
    def run(kind: str):
        comps = {"bus": broker({"g": group(type="share", lock_duration="2s")}), "c": service("1s", replicas=2)}
        sc = produce_into(comps, rate="3/s", duration="30s",
                          faults=[{"kind": kind, "target": "c", "replicas": 1, "at": "10s", "for": "1000s"}])
        result = simulate(sc)
        assert_conserved(result)
        return the_group(result)

    crash, stop = run("crash"), run("stop")
    assert crash.redelivered >= 1
    assert stop.redelivered == stop.duplicated == 0 and stop.lost == 0 and stop.rebalances == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_stopped_service_replica_fails_nothing(seed):
    """Direct calls go to the replica still up; the stopped one finishes what it holds: no error,
    where a crash of the same replica fails the calls it was serving."""
    def errors(kind: str) -> int:
        sc = scenario({"svc": service("50ms", replicas=2, workers=4)}, rate="40/s", duration="30s",
                      faults=[{"kind": kind, "target": "svc", "replicas": 1, "at": "10s", "for": "5s"}])
        return simulate(sc, seed).summary()["components"]["svc"]["errors"]

    assert errors("stop") == 0
    assert errors("crash") >= 1


@pytest.mark.parametrize("fault, where, message", [
    ({"kind": "stop", "target": "bus", "at": "1s", "for": "1s"}, "faults.0.target",
     "cannot stop broker 'bus': its nodes only crash"),
    ({"kind": "stop", "target": "c", "replicas": 4, "at": "1s", "for": "1s"}, "faults.0.replicas",
     "cannot apply a stop to 4 replicas of 'c': it has 3"),
    ({"kind": "stop", "target": "nope", "at": "1s", "for": "1s"}, "faults.0.target",
     "fault target 'nope' does not exist"),
])
def test_bad_stops_are_located(fault, where, message):
    comps = {"bus": broker({"g": group()}), "c": service(replicas=3)}
    found = problems_with_faults(comps, [fault])
    assert any(where in p and message in p for p in found), found


def problems_with_faults(components: dict[str, Any], faults: list) -> list[str]:
    """The located problems of a scenario file with *components* and *faults*."""
    data = {"name": "bad", "duration": "10s",
            "workload": [{"name": "w", "entry": "bus", "operation": "t", "arrivals": {"kind": "poisson", "rate": "1/s"}}],
            "components": components, "faults": faults}
    with pytest.raises(ScenarioError) as caught:
        check_scenario("s.yaml", text=yaml.safe_dump(data, sort_keys=False))
    found = [str(p) for p in caught.value.problems]
    assert found and all(p.startswith("s.yaml:") for p in found), found
    return found


@pytest.mark.parametrize("delivery", ["at_least_once", "at_most_once"])
def test_a_call_failing_while_its_member_leaves_is_left_to_the_next_reader(delivery):
    """Every call fails from 20.00 to 20.03 s; replica 0 stops at 20.02 s while its member's call (50 ms) is
    in flight, and that call fails. The leaving member does not retry it, nor count it failed: at least
    once, the other member takes the message again (a redelivery) and processes it; at most once,
    its offset was committed when taken, so it is lost (``at_most_once``), as with a crash."""
    slow = {"arrivals": {"kind": "closed", "users": 1, "think": "60ms"}}
    comps = {"bus": broker({"g": group(delivery=delivery, session_timeout="10s")}), "c": service("50ms", replicas=2)}
    sc = produce_into(comps, duration="40s", workload=slow,
                      faults=[{"kind": "errors", "target": "c", "probability": 1.0, "at": "20s", "for": "30ms"},
                              {"kind": "stop", "target": "c", "replicas": 1, "at": "20.02s", "for": "1000s"}])
    result = simulate(sc)
    assert_conserved(result)
    g = the_group(result)
    assert g.lost_failed == g.dead_lettered == g.duplicated == 0 and g.rebalances == 1
    if delivery == "at_least_once":
        messages = result.components["bus"].table("messages")
        again = messages[(messages.produced < 20.02) & (messages.taken >= 20.02)]
        assert g.lost == 0 and g.redelivered == 1
        assert len(again) == 1 and again.member.iloc[0] == 1  # produced before the stop, processed by member 1
    else:
        assert g.lost == g.lost_at_most_once == 1
