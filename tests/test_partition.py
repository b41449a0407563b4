"""``kind: partition``: what crosses a cut link is lost, not delayed, and callers time out.

Deterministic runs (one client, a request every 10 ms, constant 1 ms links, constant work),
so every check is exact: which requests fail, how long a caller waits for an answer that
was lost, what the callee saw, and how many messages the fault record says were lost.
"""

from __future__ import annotations

import pytest

from helpers import located_problems, scenario
from simulator import simulate
from simulator.engine.network import Cut, LinkDelay
from simulator.engine.world import World

CUT_AT, CUT_FOR, UNREACHABLE = 20.0, 10.0, 5.0


def two_zones(*faults, timeout=None, regions=None, back_zone="b", duration="60s"):
    """``front`` (zone a) calls ``back`` (*back_zone*); one client in zone a, a request every 10 ms."""
    call = {"call": "back.op"}
    if timeout is not None:
        call["timeout"] = timeout
    comps = {"front": {"kind": "service", "zone": "a", "workers": 10, "operations": {"op": {"steps": [call]}}},
             "back": {"kind": "service", "zone": back_zone, "workers": 10,
                      "operations": {"op": {"work": {"dist": "const", "value": "2ms"}}}}}
    network = {"zones": ["a", "b", "c"], "regions": regions or {}, "unreachable_timeout": f"{UNREACHABLE}s",
               "default": {"dist": "const", "value": "1ms"}}
    return scenario(comps, entry="front", duration=duration, network=network, faults=list(faults),
                    workload={"zone": "a", "arrivals": {"kind": "closed", "users": 1, "think": "10ms"}})


def partition(sides, **kw):
    return {"kind": "partition", "at": f"{CUT_AT}s", "for": f"{CUT_FOR}s", "sides": sides, **kw}


def served(result, component):
    return result.summary()["components"][component]["served"]


def failed(result):
    requests = result.requests
    return requests[requests.status != "ok"]


def test_a_request_into_a_cut_is_lost_and_the_caller_waits_the_unreachable_timeout():
    result = simulate(two_zones(partition([["a"], ["b"]])))
    bad = failed(result)
    assert len(bad) > 0 and set(bad.status) == {"error"}  # front's call timed out, so front failed
    # each lost request: nothing back for the unreachable timeout after it was sent
    assert ((bad.latency - UNREACHABLE).abs() < 1e-9).all()
    # only requests sent while the cut lasted were lost; the client sends one at a time, so one per 5 s
    assert (bad.t_issue >= CUT_AT).all() and (bad.t_issue < CUT_AT + CUT_FOR).all()
    assert len(bad) == 2  # at ~20 s and ~25 s (the second is sent after the first's 5 s wait)
    (fault,) = result.fault_events
    assert (fault["start"], fault["end"]) == (CUT_AT, CUT_AT + CUT_FOR)
    assert fault["detail"] == "2 messages lost"
    # back never saw them: every request back served was answered
    assert 0 <= (result.requests.status == "ok").sum() - served(result, "back") <= 1  # the last may arrive late


def test_a_callers_own_timeout_gives_up_first():
    result = simulate(two_zones(partition([["a"], ["b"]]), timeout="100ms"))
    bad = failed(result)
    assert ((bad.latency - 0.100).abs() < 1e-9).all()
    # one lost request per 100 ms + 10 ms think for the 10 s of the cut: the client keeps trying
    assert abs(len(bad) - CUT_FOR / 0.110) <= 2
    assert result.fault_events[0]["detail"] == f"{len(bad)} messages lost"


def test_a_one_way_cut_from_the_callee_loses_the_replies_after_the_work_was_done():
    """``one_way`` with the callee's side first: requests arrive and are served, replies are lost."""
    lost_replies = simulate(two_zones(partition([["b"], ["a"]], one_way=True), timeout="100ms"))
    lost_requests = simulate(two_zones(partition([["a"], ["b"]], one_way=True), timeout="100ms"))
    for result in (lost_replies, lost_requests):
        assert len(failed(result)) > 50
    ok = lambda r: int((r.requests.status == "ok").sum())  # noqa: E731
    # (back counts visits arriving in the window: the request issued last may arrive after it)
    assert 0 <= ok(lost_replies) + len(failed(lost_replies)) - served(lost_replies, "back") <= 1
    assert 0 <= ok(lost_requests) - served(lost_requests, "back") <= 1


def test_a_region_stands_for_its_zones():
    by_zone = simulate(two_zones(partition([["a"], ["b"]])))
    by_region = simulate(two_zones(partition([["a"], ["east"]]), regions={"east": ["b", "c"]}))
    assert by_zone.requests.equals(by_region.requests)


def test_nothing_inside_one_zone_or_beyond_the_sides_is_cut():
    same_zone = simulate(two_zones(partition([["a"], ["b"]]), back_zone="a"))
    elsewhere = simulate(two_zones(partition([["a"], ["b"]]), back_zone="c"))
    assert len(failed(same_zone)) == len(failed(elsewhere)) == 0
    assert same_zone.fault_events[0]["detail"] == elsewhere.fault_events[0]["detail"] == "0 messages lost"


def test_overlapping_partitions_cut_until_the_last_one_heals():
    later = {"kind": "partition", "at": f"{CUT_AT + 5}s", "for": f"{CUT_FOR}s", "sides": [["b"], ["a"]]}
    result = simulate(two_zones(partition([["a"], ["b"]]), later, timeout="100ms"))
    bad = failed(result)
    assert bad.t_issue.min() >= CUT_AT and bad.t_issue.max() < CUT_AT + 5 + CUT_FOR
    assert bad.t_issue.max() > CUT_AT + CUT_FOR - 0.2  # still cut after the first one healed


def test_a_scenario_without_partitions_compiles_no_cut_stage():
    plain = World(two_zones(), seed=1)
    assert [type(s) for s in plain.hops.between("a", "b").stages] == [LinkDelay]
    cut = World(two_zones(partition([["a"], ["b"]])), seed=1)
    assert [type(s) for s in cut.hops.between("a", "b").stages] == [Cut, LinkDelay]
    assert [type(s) for s in cut.hops.between("a", "c").stages] == [LinkDelay]


@pytest.mark.parametrize("fault, network, expected", [
    (partition([["a"], ["x"]]), {}, "faults.0.sides.1.0: unknown zone or region 'x' (expected one of: a, b, c)"),
    (partition([["a", "b"], ["b"]]), {}, "faults.0.sides.1.0: zone 'b' is on two sides of the partition"),
    (partition([["a"], ["b"], ["c"]], one_way=True), {}, "a one-way partition has exactly two sides (got 3)"),
    (partition([["a"]]), {}, "faults.0.sides: List should have at least 2 items"),
    (partition([["a"], ["b"]]), {"regions": {"a": ["b"]}}, "network.regions.a: region 'a' has the name of a zone"),
    (partition([["a"], ["b"]]), {"regions": {"r1": ["b"], "r2": ["b"]}},
     "network.regions.r2.0: zone 'b' is already in region 'r1'"),
    (partition([["a"], ["b"]]), {"regions": {"r1": ["q"]}}, "network.regions.r1.0: unknown zone 'q'"),
])
def test_bad_partitions_are_located(fault, network, expected):
    comps = {"svc": {"kind": "service", "zone": "a", "operations": {"op": {"work": "1ms"}}}}
    found = located_problems(comps, entry="svc", faults=[fault],
                             network={"zones": ["a", "b", "c"], **network})
    assert any(expected in f for f in found), found


def test_a_one_way_message_across_a_cut_is_lost_and_the_sender_does_not_wait():
    """``Hop.send`` (a choreographed saga's events): across a cut the visit never happens, at once."""
    world = World(two_zones(partition([["a"], ["b"]])), seed=1)
    visits = []

    def handle(op, request):
        visits.append(world.env.now)
        return 0
        yield

    send = world.hops.between("a", "b").send(handle, None)
    outcomes = []

    def sender(at):
        yield world.env.timeout(at)
        started = world.env.now
        status = yield from send(None)
        outcomes.append((at, status, world.env.now - started))

    for at in (10.0, CUT_AT + 1, CUT_AT + CUT_FOR + 1):
        world.env.process(sender(at))
    for fault in world.faults:
        world.env.process(fault.schedule(world))
    world.env.run(until=60)
    lost = [(at, status) for at, status, _ in outcomes if status != 0]
    assert [at for at, _ in lost] == [CUT_AT + 1] and lost[0][1] == 2  # TIMEOUT
    assert visits == pytest.approx([10.001, CUT_AT + CUT_FOR + 1.001], abs=1e-9)  # the 1 ms link, there only
    assert [waited for _, _, waited in outcomes] == pytest.approx([0.001, 0.0, 0.001], abs=1e-9)
