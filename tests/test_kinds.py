"""A kind is one folder (a fault kind one module), listed once, and the list is open.

The registries of :mod:`simulator.components` and :mod:`simulator.faults` are what the
scenario's unions, the JSON Schema, the builder, topology checks, diagrams and the cost
model read. A kind registered from outside the package — with ``register_kind`` or the
``sdsim.kinds`` entry-point group — validates (errors located in the file), builds, runs,
is drawn, priced and published in the schema, with no edit inside ``simulator/``. The
plug-in used here is ``tests/plugins/echo``: it answers after a constant delay.
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

from simulator import load_scenario, register_fault, register_kind, simulate
from simulator.cli import app
from simulator.components import BUILTIN, KINDS
from simulator.errors import ScenarioError
from simulator.faults import BUILTIN as BUILTIN_FAULTS
from simulator.faults import FAULTS
from simulator.labs.rules import hourly_cost, instances
from simulator.registry import KindRegistry, Registry, UnknownName

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
ECHO_YAML = """\
# A scenario using the plug-in kind `echo` (tests/plugins/echo): a service whose every
# request asks the echo, which answers 2 ms later.
name: echo demo
duration: 20s
components:
  web:
    kind: service
    workers: 4
    operations:
      get:
        work: exp(5ms)
        steps:
          - call: e.echo
  e:
    kind: echo
    delay: 2ms
workload:
  - name: users
    entry: web
    operation: get
    arrivals: {kind: poisson, rate: 100/s}
"""


@pytest.fixture
def echo_file(tmp_path) -> Path:
    """A scenario using the plug-in kind (written here: the repository's YAML files use only built-in kinds)."""
    path = tmp_path / "echo.yaml"
    path.write_text(ECHO_YAML)
    return path


@pytest.fixture
def echo_kind():
    """The plug-in kind ``echo``, registered for one test and removed after it."""
    kind = register_kind("echo", "plugins.echo")
    yield kind
    KINDS.remove("echo")


# ----------------------------------------------------------------------------- the registry


def test_a_duplicate_name_is_an_error():
    registry = Registry("colour", {"red": 1})
    with pytest.raises(ValueError, match="colour 'red' is already registered"):
        registry.add("red", 2)
    with pytest.raises(ValueError, match="component kind 'cache' is already registered"):
        register_kind("cache", "plugins.echo")


def test_an_unknown_name_lists_the_valid_ones():
    with pytest.raises(UnknownName) as caught:
        KINDS["databse"]
    assert str(caught.value) == ("unknown component kind 'databse' (did you mean 'database'? valid component kinds: "
                                 "service, database, load_balancer, cache, broker, projection, event_store, registry, "
                                 "kv_store, gateway, regional_database)")
    with pytest.raises(KeyError, match="valid fault kinds: crash, stop, slowdown, latency, errors, partition"):
        FAULTS["earthquake"]


def test_the_listeners_hear_every_change():
    registry, heard = Registry("colour"), []
    registry.on_change(lambda: heard.append(list(registry)))
    registry.add("red", 1)
    registry.remove("red")
    assert heard == [["red"], []]


# ----------------------------------------------------------------------------- one list, two sides


def test_each_kind_is_one_folder_listed_once():
    folders = {p.parent.name for p in (ROOT / "simulator" / "components").glob("*/spec.py")}
    assert folders == set(BUILTIN)
    for name, module in BUILTIN.items():
        assert module == f"simulator.components.{name}"
        assert (ROOT / "simulator" / "components" / name / "runtime.py").exists()
    modules = {p.stem for p in (ROOT / "simulator" / "faults").glob("*.py")} - {"__init__", "base"}
    assert modules == set(BUILTIN_FAULTS)


@pytest.mark.parametrize("registry", [KINDS, FAULTS], ids=["components", "faults"])
def test_the_spec_side_and_the_runtime_side_list_the_same_kinds(registry):
    for name, kind in registry.items():
        assert kind.spec.model_fields["kind"].default == name
        assert kind.runtime.kind == name


def test_no_kind_inherits_from_another_kind():
    """Kinds compose the worker pool (a Station) instead of subclassing each other: no runtime
    class has another kind's runtime in its MRO; every one is a Component."""
    from simulator.components.base import Component

    runtimes = {name: kind.runtime for name, kind in KINDS.items()}
    assert len(runtimes) >= 4
    for name, runtime in runtimes.items():
        assert issubclass(runtime, Component), name
        others = {other for other, cls in runtimes.items() if other != name and cls in runtime.__mro__}
        assert not others, f"the {name} runtime inherits from the {', '.join(sorted(others))} runtime"


def test_the_queueing_kinds_hold_one_station():
    from simulator.components.station import Station
    from simulator.engine.build import build

    kinds = set()
    for file in ("cached-character.yaml", "load-balanced.yaml"):
        world = build(load_scenario(ROOT / "scenarios" / "onepiece" / file))
        for component in world.components.values():
            assert isinstance(component.station, Station)
            assert component.replicas is component.station.replicas and component.log is component.station.log
            kinds.add(component.kind)
    assert kinds == {"service", "cache", "database", "load_balancer"}


def test_a_spec_that_declares_another_kind_is_refused():
    from plugins.echo.runtime import Echo
    from plugins.echo.spec import EchoSpec

    with pytest.raises(ValueError, match="declares kind 'echo', registered as 'ping'"):
        register_kind("ping", spec=EchoSpec, runtime=Echo)
    assert "ping" not in KINDS


def test_algorithm_names_come_from_the_algorithm_registries():
    from simulator.balancing import POLICIES, STRATEGIES
    from simulator.caching import POLICIES as CACHE_POLICIES
    from simulator.components.cache.spec import CacheSpec
    from simulator.components.database.spec import Sharding
    from simulator.components.load_balancer.spec import LoadBalancerSpec

    def choices(model, field):
        return model.model_json_schema()["properties"][field]["enum"]

    assert choices(LoadBalancerSpec, "policy") == list(POLICIES)
    assert choices(CacheSpec, "policy") == list(CACHE_POLICIES)
    assert choices(Sharding, "strategy") == list(STRATEGIES)


def test_the_moved_specs_are_still_importable_from_the_scenario_model():
    from simulator.components.cache.spec import CacheSpec
    from simulator.faults.crash import CrashFault
    from simulator.scenario import model

    assert model.CacheSpec is CacheSpec and model.CrashFault is CrashFault
    assert model.COMPONENT_SPECS["cache"] is CacheSpec and list(model.FAULT_SPECS) == list(BUILTIN_FAULTS)
    with pytest.raises(AttributeError):
        model.QueueSpec


# ----------------------------------------------------------------------------- a plug-in kind


def test_a_registered_kind_validates_builds_runs_and_is_priced(echo_kind, echo_file):
    scenario = load_scenario(echo_file)
    assert scenario.components["e"].kind == "echo"
    summary = simulate(scenario).summary()
    assert summary["components"]["e"]["served"] > 1000
    assert summary["latency_s"]["p50"] > 0.002  # the echo's delay is part of every answer
    assert instances(scenario) == {"web": 1, "e": 1}
    assert hourly_cost(scenario, {"service": 0.1, "echo": 1.0}) == (pytest.approx(1.1), [])


def test_a_registered_kind_is_in_the_schema_and_the_graph(echo_kind, tmp_path, echo_file):
    runner = CliRunner()
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["$defs"]["EchoSpec"]["properties"]["kind"]["const"] == "echo"
    [options] = schema["properties"]["components"]["patternProperties"].values()
    assert {"$ref": "#/$defs/EchoSpec"} in options["oneOf"]
    picture = tmp_path / "echo.svg"
    result = runner.invoke(app, ["graph", str(echo_file), "--out", str(picture)])
    assert result.exit_code == 0, result.stderr
    assert "echoes after 2 ms" in picture.read_text()  # EchoSpec.describe()


def test_errors_inside_a_plugin_spec_are_located(echo_kind, tmp_path, echo_file):
    bad = tmp_path / "bad.yaml"
    bad.write_text(echo_file.read_text().replace("delay: 2ms", "delay: -2ms\n    colour: red"))
    with pytest.raises(ScenarioError) as caught:
        load_scenario(bad)
    assert [str(p) for p in caught.value.problems] == [
        f"{bad}:16:12: components.e.delay: this duration must be positive (got -0.002)",
        f"{bad}:17:5: components.e.colour: unknown field 'colour' (not allowed here; check the spelling)",
    ]
    bad.write_text(echo_file.read_text().replace("kind: echo", "kind: ecko"))
    with pytest.raises(ScenarioError, match=r"bad.yaml:15:11: components.e.kind: unknown kind 'ecko' \(did "
                                            r"you mean 'echo'\? valid kinds: service, database, load_balancer, "
                                            r"cache, broker, projection, event_store, registry, kv_store, gateway, regional_database, echo\)"):
        load_scenario(bad)


def test_an_unregistered_kind_lists_the_valid_ones(echo_file):
    assert "echo" not in KINDS
    with pytest.raises(ScenarioError, match=r"echo.yaml:15:11: components.e.kind: unknown kind 'echo' \(valid "
                                            r"kinds: service, database, load_balancer, cache, broker, projection, event_store, "
                                            r"registry, kv_store, gateway, regional_database\)"):
        load_scenario(echo_file)


BLIP = """
name: blip demo
duration: 20s
components:
  web: {kind: service, operations: {get: {work: exp(5ms)}}}
workload:
  - {name: users, entry: web, operation: get, arrivals: {kind: poisson, rate: 50/s}}
faults: [{kind: blip, target: TARGET, at: 5s, for: 5s}]
"""


def test_a_registered_fault_kind_validates_and_runs(tmp_path):
    register_fault("blip", "plugins.blip")
    try:
        design = tmp_path / "blip.yaml"
        design.write_text(BLIP.replace("TARGET", "web"))
        result = simulate(load_scenario(design))
        assert [(e["kind"], e["target"], e["start"], e["end"]) for e in result.fault_events] == [("blip", "web", 5, 10)]
        assert 0.6 < result.summary()["availability"] < 0.9  # a quarter of the requests fail
        design.write_text(BLIP.replace("TARGET", "wbe"))
        with pytest.raises(ScenarioError, match="faults.0.target: fault target 'wbe' does not exist"):
            load_scenario(design)
    finally:
        FAULTS.remove("blip")


# ----------------------------------------------------------------------------- entry points


def test_entry_points_are_read_once_when_the_registry_is_first_used(monkeypatch):
    """The installed distributions are scanned once per process, for every group at once (each
    registry scanning them for its own group cost about 4 ms at every start), and not before a
    registry is first used."""
    from importlib import metadata

    calls = []

    def entry_points(**selection):
        calls.append(selection)
        return metadata.EntryPoints([metadata.EntryPoint("echo", "plugins.echo", "sdsim.kinds"),
                                     metadata.EntryPoint("other", "elsewhere.thing", "another.group")])

    monkeypatch.setattr("importlib.metadata.entry_points", entry_points)
    monkeypatch.setattr("simulator.registry._ENTRY_POINTS", None)
    registry = KindRegistry("component kind", BUILTIN, group="sdsim.kinds", layout=("{}.spec", "{}.runtime"))
    faults = KindRegistry("fault kind", {}, group="sdsim.nothing.here", layout=("{}", "{}"))
    assert calls == []  # nothing read at construction (import stays cheap)
    assert list(registry) == [*BUILTIN, "echo"]
    assert registry["echo"].spec.__name__ == "EchoSpec" and registry["echo"].runtime.__name__ == "Echo"
    assert list(faults) == []
    assert "echo" in registry and calls == [{}]  # one scan served both registries


def test_an_entry_point_kind_needs_no_edit_inside_simulator(tmp_path, echo_file):
    """A distribution declaring ``[sdsim.kinds] echo = plugins.echo``, installed on the path, in a fresh process."""
    dist = tmp_path / "sdsim_echo-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: sdsim-echo\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[sdsim.kinds]\necho = plugins.echo\n")
    script = textwrap.dedent(f"""
        import json, sys
        from typer.testing import CliRunner
        from simulator.cli import app
        runner = CliRunner()
        run = runner.invoke(app, ["run", {str(echo_file)!r}, "--json"])
        schema = runner.invoke(app, ["schema"])
        graph = runner.invoke(app, ["graph", {str(echo_file)!r}, "--out", {str(tmp_path / "echo.png")!r}])
        print(json.dumps({{"run": run.exit_code, "served": json.loads(run.stdout)["components"]["e"]["served"],
                          "schema": "EchoSpec" in json.loads(schema.stdout)["$defs"], "graph": graph.exit_code}}))
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(TESTS), str(ROOT)])}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.splitlines()[-1])
    assert got["run"] == 0 and got["served"] > 1000 and got["schema"] and got["graph"] == 0
    assert (tmp_path / "echo.png").stat().st_size > 10_000
