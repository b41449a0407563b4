"""``sdsim --help`` and ``sdsim validate`` start fast because they never import what they do
not use. Pinned here by what a fresh process imports, not by timing (the figures are
``benchmarks/bench_startup.py``'s): a heavy module creeping back into either path fails.

Also pinned: the shortcuts that keep networkx and the pure-Python YAML parser off the
common path answer exactly as the slow path they skip.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

from simulator.scenario import source
from simulator.scenario.digraph import descendants, has_cycle, successors
from simulator.scenario.yaml_guard import guard

ROOT = Path(__file__).resolve().parents[1]

HEAVY = ("numpy", "pandas", "matplotlib", "simpy", "scipy", "networkx")
"""Modules neither command needs (networkx: not for a design without a loop of calls)."""

_RUN = """
import json, runpy, sys
sys.argv = ["sdsim", *json.loads(sys.argv[1])]
try:
    runpy.run_module("simulator.cli", run_name="__main__")
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "heavy": sorted(m for m in sys.modules if m.split(".")[0] in %r)}))
""" % (HEAVY,)


def _imports_of(*args: str) -> dict:
    """Run ``sdsim ARGS`` in a fresh interpreter; its exit code and the heavy modules it imported."""
    done = subprocess.run([sys.executable, "-c", _RUN, json.dumps(args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("args", [("--help",), ("validate", "scenarios/onepiece/microservices.yaml"),
                                  ("validate", "--help")], ids=" ".join)
def test_help_and_validate_import_nothing_heavy(args):
    seen = _imports_of(*args)
    assert seen == {"code": 0, "heavy": []}


def test_the_cli_package_imports_nothing_heavy():
    code = ("import sys, simulator, simulator.cli; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in %r))" % (HEAVY,))
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("module", ["app", "experiments", "labs", "reference", "scenarios"])
def test_command_modules_give_typer_annotations_it_need_not_evaluate(module):
    """typer reads every command's signature at each start: string annotations (postponed by
    ``from __future__ import annotations``) would be evaluated twice per start."""
    import importlib

    loaded = importlib.import_module(f"simulator.cli.{module}")
    assert "annotations" not in vars(loaded), f"simulator/cli/{module}.py postpones its annotations"


def test_a_design_with_a_loop_of_calls_still_has_it_checked_by_networkx():
    """The shortcut skips networkx only where there is no loop (Jackson's network has one)."""
    seen = _imports_of("validate", "scenarios/theory/jackson.yaml")
    assert seen["code"] == 0 and "networkx" in seen["heavy"]
    assert {m.split(".")[0] for m in seen["heavy"]} == {"networkx"}


def test_a_host_process_keeps_its_garbage_collector_as_it_was():
    """Only the sdsim process itself pauses and freezes its collector at start-up (simulator.cli.startup);
    a test's CliRunner, a notebook, gets it back as it was."""
    import gc

    from typer.testing import CliRunner

    from simulator.cli import app

    frozen = gc.get_freeze_count()
    result = CliRunner().invoke(app, ["validate", str(ROOT / "scenarios/onepiece/microservices.yaml")])
    assert result.exit_code == 0, result.output
    assert gc.isenabled() and gc.get_freeze_count() == frozen
    gc.disable()
    try:
        assert CliRunner().invoke(app, ["validate", str(ROOT / "scenarios/theory/mm1.yaml")]).exit_code == 0
        assert not gc.isenabled()
    finally:
        gc.enable()


def _random_graph(rng: random.Random) -> list[tuple[int, int]]:
    nodes = rng.randint(1, 9)
    return [(rng.randrange(nodes), rng.randrange(nodes)) for _ in range(rng.randint(0, 14))]


def test_has_cycle_and_descendants_agree_with_networkx():
    rng = random.Random(18)
    for _ in range(2000):
        edges = _random_graph(rng)
        graph = nx.DiGraph(edges)
        assert has_cycle(edges) == (not nx.is_directed_acyclic_graph(graph)), edges
        succ = successors(edges)
        for node in graph:
            assert descendants(succ, node) == nx.descendants(graph, node), (edges, node)


TRICKY = [
    "a: 1\n", "", "~\n", "# only a comment\n", "a:\n  - x\n  -\n", "a: !!int 3\n", "a: !custom x\n",
    "a: &x [*x]\n", "a: *nowhere\n", "x: &b {a: 1}\ny:\n  <<: *b\n  c: 2\n", "a:\t1\nb: !!str x\n",
    'a: "\\ud800"\nb: !t x\n', "a: \ud800\nb: !t x\n", "a: b: c\n", "%YAML 1.2\n---\na: !!str x\n",
    "%YAML 1.3\n---\na: !!str x\n", "a: 1\n---\nb: !x 2\n", "\ufeffa: !t 1\n", "a: 1\r\nb: !t 2\r\n",
    "a: \x07\nb: !t 1\n", "a: " + "[" * 70 + "]" * 70 + "\n", "w: {work: lognormal(median=1ms, p99=6ms)}\n",
    "a: [1, , 2]\nb: !t 1\n", "? [a, b]\n: !t 1\n", "a: |\n  x\nb: !t >\n  y\n", "a: \U0001F600 !t\nb: !t 1\n",
]


@pytest.mark.parametrize("text", TRICKY)
def test_the_libyaml_first_look_refuses_exactly_what_the_pure_parser_refuses(text):
    assert source._guard(text, "f.yaml") == guard(text, "f.yaml", source._Loader)


_SCANS = """
import json, runpy, sys
from importlib import metadata
scans = []
real = metadata.entry_points
def counting(**selection):
    scans.append(selection)
    return real(**selection)
metadata.entry_points = counting
sys.argv = ["sdsim", *json.loads(sys.argv[1])]
try:
    runpy.run_module("simulator.cli", run_name="__main__")
except SystemExit as exc:
    code = exc.code
ours = [s for s in scans if not s or str(s.get("group", "")).startswith("sdsim")]
print(json.dumps({"code": code, "scans": ours, "promql": "simulator.monitoring.promql" in sys.modules}))
"""


@pytest.mark.parametrize("scenario, promql", [("scenarios/onepiece/microservices.yaml", False),
                                              ("scenarios/monitoring/alerts.yaml", True)])
def test_validate_scans_the_installed_plugins_once_and_loads_promql_only_for_monitoring(scenario, promql):
    """The component, fault, step and policy registries share one scan of the installed
    distributions' entry points; the PromQL parser is loaded for a design whose rules need it."""
    done = subprocess.run([sys.executable, "-c", _SCANS, json.dumps(["validate", scenario])], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["code"] == 0 and seen["scans"] == [{}] and seen["promql"] is promql
