"""Step kinds, call policies and the hop pipeline: registered strategies compiled once.

* every step kind is one registered object whose faces (children, targets, compile) the
  scenario and the engine read instead of ``isinstance`` chains; the registry refuses a
  duplicate and lists the valid names for an unknown one;
* call policies wrap a call in one order (ascending rank: timeout inside fallback);
* every network hop — a step's call, a workload's request, a balancer's forward — goes
  through the compiled hop of its zone pair, and a hop whose only stage is the delay is one
  closure around the visit.
"""

from __future__ import annotations

import pytest

from helpers import scenario, service
from simulator import simulate
from simulator.engine import network
from simulator.engine.build import build
from simulator.registry import UnknownName
from simulator.scenario.topology import edges, iter_steps
from simulator.steps import POLICIES, STEPS, kind_of
from simulator.steps.policies import in_order


def test_the_built_in_step_kinds_and_policies_are_registered():
    assert list(STEPS) == ["call", "publish", "parallel", "branch", "saga"]
    assert [policy.name for policy in in_order()] == ["timeout", "fallback"]  # the call outwards
    for name, kind in STEPS.items():
        assert kind.name == name and name in kind.spec.model_fields


def test_a_duplicate_step_kind_is_an_error_and_an_unknown_one_lists_the_valid_ones():
    with pytest.raises(ValueError, match="step kind 'call' is already registered"):
        STEPS.add("call", STEPS["call"])
    with pytest.raises(UnknownName, match="call, publish, parallel, branch, saga"):
        STEPS["retry"]
    with pytest.raises(ValueError, match="call policy 'timeout' is already registered"):
        POLICIES.add("timeout", POLICIES["timeout"])


def test_a_step_with_no_known_key_names_every_kind():
    with pytest.raises(Exception, match="a step needs exactly one of call, publish, parallel, branch or saga"):
        scenario({"svc": service(steps=[{"cal": "db.op"}]), "db": service()})


NESTED = [{"call": "a.op", "timeout": "1s", "fallback": [{"publish": "b.op"}]},
          {"parallel": [{"call": "b.op"}, {"branch": [{"p": 1.0, "steps": [{"call": "c.op"}]}]}]},
          {"branch": [{"p": 0.3, "steps": [{"call": "a.op"}]}, {"p": 0.7}]}]


def test_nesting_and_targets_come_from_the_kinds():
    sc = scenario({"svc": service(steps=NESTED), "a": service(), "b": service(), "c": service()})
    steps = sc.components["svc"].operations["op"].steps
    walked = [(kind_of(step).name, path, certain) for step, path, certain in iter_steps(steps, ())]
    assert walked == [("call", (0,), True), ("publish", (0, "fallback", 0), False),
                      ("parallel", (1,), True), ("call", (1, "parallel", 0), True),
                      ("branch", (1, "parallel", 1), True), ("call", (1, "parallel", 1, "branch", 0, "steps", 0), True),
                      ("branch", (2,), True), ("call", (2, "branch", 0, "steps", 0), False)]
    calls = sorted((e.target, e.sync, e.certain, e.path[-1]) for e in edges(sc) if e.caller == "svc")
    assert calls == [("a", True, False, "call"), ("a", True, True, "call"), ("b", False, False, "publish"),
                     ("b", True, True, "call"), ("c", True, True, "call")]


class Counting:
    """A test hop stage: counts the requests crossing it, out and back, and checks it wraps the visit."""

    def __init__(self, seen):
        self.seen = seen

    def wrap(self, inner):
        seen = self.seen

        def across(request, *where):
            seen.append("out")
            status = yield from inner(request, *where)
            seen.append("back")
            return status

        return across


ZONED = {"zones": ["a", "b"], "links": [{"between": ["a", "b"], "latency": "const(1ms)"}]}


def test_a_delay_only_hop_is_one_closure_around_the_visit():
    sc = scenario({"svc": service(steps=[{"call": "db.op"}], zone="a"), "db": service(zone="b")},
                  network=ZONED)
    world = build(sc, 1)
    db = world.components["db"]
    hop = world.hops.between("a", "b")
    assert [type(stage) for stage in hop.stages] == [network.LinkDelay]
    call = hop.call(db.handle, db.operation("op"))
    assert call.__code__ is network.LinkDelay.around(hop.stages[0], db.handle, None).__code__
    assert world.hops.between("a", "b") is hop  # compiled once per zone pair
    assert world.hops.between("a", "a").stages == []  # instant: the hop is the visit itself


def test_every_hop_goes_through_the_pipeline(monkeypatch):
    """A stage added to the pipeline sees every call: the workload's, the steps', the balancer's."""
    seen: list[str] = []
    monkeypatch.setattr(network, "STAGES", [lambda env, links, a, b: Counting(seen), network.link_delay])
    lb = {"kind": "load_balancer", "backend": "app", "zone": "a"}
    sc = scenario({"lb": lb, "app": service(steps=[{"call": "db.op"}], replicas=2, zone="b"),
                   "db": service(zone="a")}, entry="lb", rate="20/s", duration="10s", network=ZONED)
    summary = simulate(sc).summary()
    issued = summary["requests"]["issued"]
    assert issued > 100 and summary["availability"] == 1.0
    assert seen.count("out") == seen.count("back") == 3 * issued  # client → lb → app → db


def test_the_policies_wrap_in_rank_order():
    """timeout (rank 20) sits inside fallback (90): a call that times out runs the fallback, so
    every request answers OK after its own 10 ms of work and the 5 ms it waited."""
    sc = scenario({"svc": service(steps=[{"call": "slow.op", "timeout": "5ms", "fallback": []}]),
                   "slow": service(work="50ms")}, duration="5s")
    summary = simulate(sc).summary()
    assert summary["availability"] == 1.0 and summary["requests"]["ok"] == summary["requests"]["issued"]
    assert summary["latency_s"]["p50"] == pytest.approx(0.015)
