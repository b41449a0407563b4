"""Step kinds, call policies and the hop pipeline: registered strategies compiled once.

* every step kind is one registered object whose faces (children, targets, compile) the
  scenario and the engine read instead of ``isinstance`` chains; the registry refuses a
  duplicate and lists the valid names for an unknown one;
* call policies wrap a call in one order (ascending rank: timeout inside fallback);
* a step kind registered from outside the package (``tests/plugins/repeat.py``, in code or
  through the ``sdsim.steps`` entry-point group) validates with located errors, is walked
  by the topology checks, compiles, runs and is in the JSON Schema; unregistering it
  restores the union; a call policy registered from outside (``tests/plugins/tries.py``) adds
  its field to ``call:`` and wraps calls at its rank;
* every network hop — a step's call, a workload's request, a balancer's forward — goes
  through the compiled hop of its zone pair, and a hop whose only stage is the delay is one
  closure around the visit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import scenario, service
from simulator import load_scenario, simulate
from simulator.cli import app
from simulator.errors import ScenarioError
from simulator.engine import network
from simulator.engine.build import build
from simulator.registry import UnknownName
from simulator.scenario.topology import edges, iter_steps
from simulator.scenario.schema import scenario_schema_text
from simulator.steps import POLICIES, STEPS, kind_of, register_policy, register_step
from simulator.steps.call import CallStep
from simulator.steps.policies import in_order

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent


def test_the_built_in_step_kinds_and_policies_are_registered():
    assert list(STEPS) == ["call", "publish", "parallel", "branch", "saga"]
    assert [policy.name for policy in in_order()] == ["bulkhead", "timeout", "circuit_breaker", "retry", "hedge",
                                                      "fallback"]  # the call outwards
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


# ----------------------------------------------------------------------------- a step kind from outside

REPEAT_YAML = """\
# A scenario using the plug-in step kind `repeat` (tests/plugins/repeat.py): one user, no
# randomness, so every number below is exact.
name: repeat demo
duration: 10s
components:
  web:
    kind: service
    operations:
      get:
        work: const(10ms)
        steps:
          - repeat: 3
            pause: 5ms
            steps:
              - call: db.read
  db:
    kind: service
    operations:
      read: {work: const(2ms)}
workload:
  - name: users
    entry: web
    operation: get
    arrivals: {kind: closed, users: 1}
"""


@pytest.fixture
def repeat_file(tmp_path) -> Path:
    path = tmp_path / "repeat.yaml"
    path.write_text(REPEAT_YAML)
    return path


@pytest.fixture
def repeat_kind():
    """The plug-in step kind ``repeat``, registered for one test and removed after it."""
    kind = register_step("repeat", "plugins.repeat")
    yield kind
    STEPS.remove("repeat")


def test_a_registered_step_kind_validates_runs_and_counts_exactly(repeat_kind, repeat_file):
    """Each request: 10 ms of work, then 3 rounds of (5 ms pause + a 2 ms call) = 31 ms. The one
    user sends at 0, 31 ms, … while t < 10 s: 323 requests. Each makes 3 db visits, but the last
    request (issued at 322 × 31 ms = 9.982 s) reaches the db at 9.997 s, 10.004 s and 10.011 s:
    two of its visits arrive after the window, so the db counts 3 × 323 − 2 visits."""
    scenario = load_scenario(repeat_file)
    assert kind_of(scenario.components["web"].operations["get"].steps[0]) is repeat_kind
    summary = simulate(scenario).summary()
    assert summary["requests"]["issued"] == summary["requests"]["ok"] == 323
    assert summary["latency_s"]["mean"] == pytest.approx(0.031, abs=1e-12)
    assert summary["latency_s"]["max"] == pytest.approx(0.031, abs=1e-12)
    assert summary["components"]["db"]["visits"] == 3 * 323 - 2


def test_a_registered_step_kind_is_walked_by_the_topology_checks(repeat_kind, repeat_file, tmp_path):
    nested = [{"parallel": [{"repeat": 2, "steps": [{"call": "a.op"}, {"publish": "b.op"}]}]},
              {"call": "b.op", "fallback": [{"repeat": 1, "steps": [{"call": "a.op"}]}]}]
    sc = scenario({"svc": service(steps=nested), "a": service(), "b": service()})
    walked = [(kind_of(step).name, path, certain)
              for step, path, certain in iter_steps(sc.components["svc"].operations["op"].steps, ())]
    assert walked == [("parallel", (0,), True), ("repeat", (0, "parallel", 0), True),
                      ("call", (0, "parallel", 0, "steps", 0), True), ("publish", (0, "parallel", 0, "steps", 1), True),
                      ("call", (1,), True), ("repeat", (1, "fallback", 0), False),
                      ("call", (1, "fallback", 0, "steps", 0), False)]
    calls = sorted((e.target, e.sync, e.certain) for e in edges(sc) if e.caller == "svc")
    assert calls == [("a", True, False), ("a", True, True), ("b", False, True), ("b", True, True)]
    bad = tmp_path / "bad.yaml"
    bad.write_text(REPEAT_YAML.replace("call: db.read", "call: db.write"))
    with pytest.raises(ScenarioError, match=r"bad.yaml:15:23: components.web.operations.get.steps.0.steps.0.call: "
                                            r"'db' has no operation 'write' \(it has: read\)"):
        load_scenario(bad)
    bad.write_text(REPEAT_YAML.replace("call: db.read", "call: web.get"))
    with pytest.raises(ScenarioError, match="cycle of synchronous calls never ends: web.get → web.get"):
        load_scenario(bad)


def test_errors_inside_a_registered_step_are_located(repeat_kind, repeat_file):
    repeat_file.write_text(REPEAT_YAML.replace("repeat: 3", "repeat: 0").replace("pause: 5ms", "pause: 5ms\n"
                                                                                              "            loud: yes"))
    with pytest.raises(ScenarioError) as caught:
        load_scenario(repeat_file)
    assert [str(p) for p in caught.value.problems] == [
        f"{repeat_file}:12:21: components.web.operations.get.steps.0.repeat: Input should be greater than or "
        "equal to 1 (got 0)",
        f"{repeat_file}:14:13: components.web.operations.get.steps.0.loud: unknown field 'loud' (not allowed "
        "here; check the spelling)"]


def test_an_unknown_step_lists_the_registered_kinds(repeat_kind):
    with pytest.raises(Exception, match="a step needs exactly one of call, publish, parallel, branch, saga or repeat"):
        scenario({"svc": service(steps=[{"repaet": 2}])})


def test_a_registered_step_kind_is_in_the_schema(repeat_kind):
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["$defs"]["RepeatStep"]["properties"]["repeat"]["anyOf"][0]["type"] == "integer"
    assert {"$ref": "#/$defs/RepeatStep"} in schema["$defs"]["Operation"]["properties"]["steps"]["items"]["oneOf"]


def test_registering_a_step_kind_twice_or_one_that_does_not_fit_is_an_error(repeat_kind):
    from plugins.repeat import Repeat, RepeatStep

    with pytest.raises(ValueError, match="step kind 'repeat' is already registered"):
        register_step("repeat", "plugins.repeat")
    with pytest.raises(ValueError, match="step kind 'repeat' registered as 'again'"):
        register_step("again", Repeat())

    class Timeout(Repeat):
        name = "timeout"

    with pytest.raises(ValueError, match="has no field 'timeout'"):
        register_step("timeout", Timeout())

    class TimeoutStep(RepeatStep):
        timeout: float = 1.0

    Timeout.spec = TimeoutStep
    with pytest.raises(ValueError, match="step kind 'timeout' would be read in every 'call' step that sets its "
                                         "field 'timeout'"):
        register_step("timeout", Timeout())
    with pytest.raises(LookupError, match="module plugins.echo.spec defines no KIND"):
        register_step("echo", "plugins.echo.spec")
    assert list(STEPS) == ["call", "publish", "parallel", "branch", "saga", "repeat"]


def test_unregistering_a_step_kind_restores_the_union(repeat_file):
    register_step("repeat", "plugins.repeat")
    load_scenario(repeat_file)
    STEPS.remove("repeat")
    with pytest.raises(ScenarioError, match="steps.0: a step needs exactly one of call, publish, parallel, branch or saga"):
        load_scenario(repeat_file)
    schema = json.loads(CliRunner().invoke(app, ["schema"]).stdout)
    assert "RepeatStep" not in schema["$defs"]
    assert (ROOT / "scenarios" / "scenario.schema.json").read_text() == scenario_schema_text()


def test_an_entry_point_step_kind_needs_no_edit_inside_simulator(tmp_path, repeat_file):
    """A distribution declaring ``[sdsim.steps] repeat = plugins.repeat``, installed on the path, in a fresh process."""
    dist = tmp_path / "sdsim_repeat-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: sdsim-repeat\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[sdsim.steps]\nrepeat = plugins.repeat\n")
    script = textwrap.dedent(f"""
        import json
        from typer.testing import CliRunner
        from simulator.cli import app
        runner = CliRunner()
        run = runner.invoke(app, ["run", {str(repeat_file)!r}, "--json"])
        schema = runner.invoke(app, ["schema"])
        print(json.dumps({{"run": run.exit_code, "visits": json.loads(run.stdout)["components"]["db"]["visits"],
                          "schema": "RepeatStep" in json.loads(schema.stdout)["$defs"]}}))
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(TESTS), str(ROOT)])}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {"run": 0, "visits": 3 * 323 - 2, "schema": True}


# ----------------------------------------------------------------------------- a call policy from outside

TRIES_YAML = REPEAT_YAML.replace("""          - repeat: 3
            pause: 5ms
            steps:
              - call: db.read""", """          - call: db.read
            timeout: 4ms
            tries: 3
            fallback: []""").replace("read: {work: const(2ms)}", "read: {work: const(50ms)}")


@pytest.fixture
def tries_policy():
    policy = register_policy("tries", "plugins.tries")
    yield policy
    POLICIES.remove("tries")


def test_a_registered_call_policy_adds_its_field_and_wraps_in_rank_order(tries_policy, tmp_path):
    """tries (rank 40) sits between timeout (20) and fallback (90): each of the 3 attempts waits
    4 ms for a 50 ms answer, then the fallback answers. 10 ms + 3 × 4 ms = 22 ms per request; the
    one user sends 455 of them before 10 s (the last at 454 × 22 ms = 9.988 s, whose 2nd and 3rd
    attempts reach the db at 10.002 s and 10.006 s, after the window)."""
    assert [policy.name for policy in in_order()] == ["bulkhead", "timeout", "circuit_breaker", "retry", "tries",
                                                      "hedge", "fallback"]
    design = tmp_path / "tries.yaml"
    design.write_text(TRIES_YAML)
    summary = simulate(load_scenario(design)).summary()
    assert summary["requests"]["issued"] == summary["requests"]["ok"] == 455
    assert summary["latency_s"]["max"] == pytest.approx(0.022, abs=1e-12)
    assert summary["components"]["db"]["visits"] == 3 * 455 - 2
    design.write_text(TRIES_YAML.replace("tries: 3", "tries: 1"))  # asks for no retry: the policy stays out
    assert simulate(load_scenario(design)).summary()["latency_s"]["max"] == pytest.approx(0.014, abs=1e-12)
    design.write_text(TRIES_YAML.replace("tries: 3", "tries: 11"))
    with pytest.raises(ScenarioError, match=r"tries.yaml:14:20: components.web.operations.get.steps.0.tries: "
                                            r"Input should be less than or equal to 10 \(got 11\)"):
        load_scenario(design)
    schema = json.loads(CliRunner().invoke(app, ["schema"]).stdout)
    assert "tries" in schema["$defs"]["CallStep"]["properties"]


def test_unregistering_a_call_policy_removes_its_field(tmp_path):
    register_policy("tries", "plugins.tries")
    design = tmp_path / "tries.yaml"
    design.write_text(TRIES_YAML)
    load_scenario(design)
    POLICIES.remove("tries")
    assert STEPS["call"].spec is CallStep
    with pytest.raises(ScenarioError, match="steps.0.tries: unknown field 'tries'"):
        load_scenario(design)


def test_a_call_policy_that_does_not_fit_is_refused(tries_policy):
    from plugins.tries import Tries

    with pytest.raises(ValueError, match="call policy 'tries' is already registered"):
        register_policy("tries", Tries())

    class Timeout(Tries):
        name = "deadline"
        fields = {"timeout": (float, 1.0)}

    with pytest.raises(ValueError, match="call policy 'deadline': a call step already has a field or key 'timeout'"):
        register_policy("deadline", Timeout())

    class Unranked(Tries):
        name = "unranked"
        rank = None

    with pytest.raises(TypeError, match="call policy 'unranked' needs an integer rank"):
        register_policy("unranked", Unranked())
    assert list(POLICIES) == ["timeout", "fallback", "circuit_breaker", "bulkhead", "retry", "hedge", "tries"]
