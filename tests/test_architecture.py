"""The house's layering, checked on the code's own imports.

Every ``import`` in ``simulator/`` counts — at module level, inside a function (lazy) and
under ``TYPE_CHECKING`` — because each is a dependency a reader and a refactoring must
respect. The rules:

* the kernel (``core``), the host (``engine``), the runtime kinds (``components``,
  ``faults``) and the observers (``metrics``) import each other without a loop, and only
  downwards: ``core`` imports none of the others; ``components``, ``faults`` and
  ``metrics`` never import ``engine`` (they are typed against ``core.context.Context``);
  ``simulate()`` (``simulator/simulation.py``) sits on top of them all;
* ``scenario`` is pure data: it never imports simpy, matplotlib or pandas. Of the runtime
  packages it reads only the lists of kinds (``simulator.components``,
  ``simulator.faults``) and the kinds' spec modules (``simulator.components.<kind>.spec``),
  never a runtime;
* a kind's spec (``components/<kind>/spec.py``; a fault kind's module, which holds its spec
  and its runtime side by side) never imports simpy, matplotlib or pandas, and a
  component spec imports nothing of the runtime (``core``, ``engine``, ``metrics``, the
  component runtimes) — checked on the code and again by importing them in a fresh process;
* ``metrics`` never imports ``viz`` (records do not know their pictures);
* a step kind or call policy (``simulator/steps/``) is pure like a spec: it never imports
  simpy, matplotlib or pandas, nor the runtime packages; of the kernel only the status
  vocabulary (``core.request``), of ``metrics`` only the pure declaration of a record table's
  digest (``metrics.digest``: a saga's outcomes). What it runs with, it gets from the
  builder at compile time.
* ``objectives`` (what an SLO reads and how it is judged) is read by ``metrics``, the
  grader and the experiments, so it imports none of them, nor the runtime below.
* a spec may read one module of ``metrics``: ``metrics.descriptors`` (``Ratio``, ``Share``,
  ``Counter``, ``Fact``), which imports nothing but the standard library's ``dataclasses``
  and ``typing``, and ``metrics/__init__.py`` imports nothing.
* the formatting vocabulary (``present.py``, on ``units.py``) is read by fault kinds, labs,
  viz, the experiments and the notebook explorer, so it imports nothing of sdsim but
  ``units`` and nothing outside the standard library.
* the one replication loop (``experiments/executors.py``: ``run_all``, ``replicate``) serves
  sweeps, knee/plan, compare and the grader, so it imports none of them.
* the command line (``simulator/cli/``) is the top: nothing else in ``simulator`` imports it.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "simulator"
LAYERED = ("core", "engine", "components", "faults", "metrics")
BELOW = {  # a package may import only these of LAYERED
    "core": set(),
    "components": {"core"},
    "faults": {"core"},
    "metrics": {"core"},
    "engine": {"core", "components", "faults", "metrics"},
}
FORBIDDEN_THIRD_PARTY = {"scenario": {"simpy", "matplotlib", "pandas"}, "steps": {"simpy", "matplotlib", "pandas"}}
FORBIDDEN_INTERNAL = {"metrics": {"viz"}, "scenario": {"core", "engine", "components", "faults", "metrics", "viz"},
                      "steps": {"core", "engine", "components", "faults", "metrics", "viz"},
                      "objectives": {"core", "engine", "components", "faults", "metrics", "viz", "experiments", "labs",
                                     "simulation"}}
STEPS_MAY_READ = {"simulator.core.request",  # the status vocabulary: pure
                  "simulator.metrics", "simulator.metrics.digest"}  # a record table's digest, declared: pure
SCENARIO_MAY_READ = {"simulator.components", "simulator.faults"}  # the lists of kinds, and the specs below
IMPURE = {"simpy", "matplotlib", "pandas"}
RUNTIME_PACKAGES = {"core", "engine", "metrics", "viz", "experiments", "labs"}
SPEC_MAY_READ = {"simulator.metrics", "simulator.metrics.descriptors"}  # the vocabulary of declared metrics
PURE_VOCABULARY = {"simulator.metrics.descriptors",  # imported by specs: no third-party, nothing of simulator
                   "simulator.metrics.digest"}  # imported by step kinds (a saga's table)
FORMATTING = {"simulator.present": {"simulator.units"}, "simulator.units": set()}  # module -> what it may read
FORMATTING_STDLIB = {"__future__", "dataclasses", "math", "re", "typing"}
REPLICATION_LOOP = "simulator.experiments.executors"
LOOP_USERS = ("simulator.experiments.sweep", "simulator.experiments.planning", "simulator.experiments.evaluation",
              "simulator.compare", "simulator.labs", "simulator.cli")


def is_spec(module: str) -> bool:
    """A kind's pure side: ``components/<kind>/spec.py``."""
    parts = module.split(".")
    return len(parts) == 4 and parts[:2] == ["simulator", "components"] and parts[3] == "spec"


def is_fault_kind(module: str) -> bool:
    """A fault kind's module (spec and runtime side by side)."""
    parts = module.split(".")
    return len(parts) == 3 and parts[1] == "faults" and parts[2] != "base"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module *path* imports (absolute names), wherever the import statement stands."""
    name = module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found |= {f"{target}.{alias.name}" for alias in node.names}  # `from . import x` imports a module
    return found


def import_graph() -> nx.DiGraph:
    """Module → module edges inside ``simulator``, plus the third-party roots each module imports."""
    graph = nx.DiGraph()
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    for name, path in modules.items():
        graph.add_node(name, third_party=set())
        for target in imports(path):
            if target.startswith("simulator"):
                while target and target not in modules:  # `from .x import name` names a module's attribute
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph.add_edge(name, target)
            else:
                graph.nodes[name]["third_party"].add(target.split(".")[0])
    return graph


def top_package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layering_problems(graph: nx.DiGraph) -> list[str]:
    problems = []
    for a, b in graph.edges:
        pa, pb = top_package(a), top_package(b)
        if is_spec(a) and b not in SPEC_MAY_READ and (
                pb in RUNTIME_PACKAGES or pb == "faults" or (pb == "components" and not
                                                             (is_spec(b) or b == "simulator.components"))):
            problems.append(f"{a} imports {b}: a kind's spec is pure data")
        if pa == pb:
            continue
        if pa in BELOW and pb in LAYERED and pb not in BELOW[pa] and not (is_spec(a) and b in SPEC_MAY_READ):
            problems.append(f"{a} imports {b}: {pa} may not depend on {pb}")
        if pb == "cli":
            problems.append(f"{a} imports {b}: nothing imports the command line")
        if pb in FORBIDDEN_INTERNAL.get(pa, ()) and not (pa == "scenario" and (b in SCENARIO_MAY_READ or is_spec(b))) \
                and not (pa == "steps" and b in STEPS_MAY_READ):
            problems.append(f"{a} imports {b}: {pa} never imports {pb}")
    for node, data in graph.nodes(data=True):
        bad = data.get("third_party", set()) & FORBIDDEN_THIRD_PARTY.get(top_package(node), set())
        if bad:
            problems.append(f"{node} imports {', '.join(sorted(bad))}: {top_package(node)} is pure data")
        bad = data.get("third_party", set()) & IMPURE
        if bad and (is_spec(node) or is_fault_kind(node)):
            problems.append(f"{node} imports {', '.join(sorted(bad))}: a kind's spec is pure data")
    for node in PURE_VOCABULARY & set(graph):
        inside = [b for b in graph.successors(node)]
        if inside or graph.nodes[node].get("third_party", set()) - {"__future__", "dataclasses", "typing"}:
            problems.append(f"{node} imports {', '.join(sorted(inside) + sorted(graph.nodes[node]['third_party']))}: "
                            "the metric vocabulary specs import is pure")
    for node, may_read in FORMATTING.items():
        inside = set(graph.successors(node)) - may_read if node in graph else set()
        outside = graph.nodes[node].get("third_party", set()) - FORMATTING_STDLIB if node in graph else set()
        if inside or outside:
            problems.append(f"{node} imports {', '.join(sorted(inside | outside))}: the formatting vocabulary is pure")
    for b in graph.successors(REPLICATION_LOOP) if REPLICATION_LOOP in graph else ():
        if b.startswith(LOOP_USERS):
            problems.append(f"{REPLICATION_LOOP} imports {b}: the replication loop serves its users, never reads them")
    layered = graph.subgraph(n for n in graph if top_package(n) in LAYERED)
    for cycle in nx.simple_cycles(layered):
        problems.append("import loop: " + " -> ".join(cycle + cycle[:1]))
    packages = nx.DiGraph((top_package(a), top_package(b)) for a, b in layered.edges if top_package(a) != top_package(b))
    for cycle in nx.simple_cycles(packages):
        problems.append("package loop: " + " -> ".join(cycle + cycle[:1]))
    return problems


def test_the_layers_hold():
    problems = layering_problems(import_graph())
    assert not problems, "\n".join(problems)


def test_simulate_sits_on_top():
    graph = import_graph()
    assert "simulator.simulation" in graph
    assert not any(top_package(a) in LAYERED for a, _ in graph.in_edges("simulator.simulation"))


@pytest.mark.parametrize("edge, words", [
    (("simulator.metrics.result", "simulator.viz.charts"), "metrics never imports viz"),
    (("simulator.components.service", "simulator.engine.world"), "components may not depend on engine"),
    (("simulator.core.request", "simulator.metrics.recorder"), "core may not depend on metrics"),
    (("simulator.faults.base", "simulator.engine.world"), "faults may not depend on engine"),
    (("simulator.scenario.topology", "simulator.components.cache.runtime"), "scenario never imports components"),
    (("simulator.components.cache.spec", "simulator.core.request"), "a kind's spec is pure data"),
    (("simulator.components.cache.spec", "simulator.components.replica"), "a kind's spec is pure data"),
    (("simulator.steps.call", "simulator.core.process"), "steps never imports core"),
    (("simulator.steps.policies", "simulator.engine.network"), "steps never imports engine"),
    (("simulator.components.cache.spec", "simulator.metrics.result"), "a kind's spec is pure data"),
    (("simulator.metrics.descriptors", "simulator.core.request"), "the metric vocabulary specs import is pure"),
    (("simulator.present", "simulator.metrics.result"), "the formatting vocabulary is pure"),
    (("simulator.units", "simulator.present"), "the formatting vocabulary is pure"),
    (("simulator.experiments.executors", "simulator.experiments.sweep"), "the replication loop serves its users"),
    (("simulator.experiments.executors", "simulator.labs.grader"), "the replication loop serves its users"),
    (("simulator.metrics.digest", "simulator.metrics.sketch"), "the metric vocabulary specs import is pure"),
    (("simulator.steps.saga", "simulator.metrics.digesting"), "steps never imports metrics"),
    (("simulator.artifacts.bundle", "simulator.cli.console"), "nothing imports the command line"),
])
def test_the_checker_catches_a_planted_violation(edge, words):
    graph = import_graph()
    graph.add_edge(*edge)
    assert any(words in p for p in layering_problems(graph))


def test_the_checker_catches_a_loop_and_impure_data():
    graph = import_graph()
    graph.add_edge("simulator.engine.world", "simulator.engine.clients")
    graph.add_edge("simulator.engine.clients", "simulator.engine.world")
    graph.nodes["simulator.scenario.model"]["third_party"].add("simpy")
    problems = layering_problems(graph)
    assert any(p.startswith("import loop") for p in problems)
    assert any("scenario.model imports simpy" in p for p in problems)
    graph.nodes["simulator.components.cache.spec"]["third_party"].add("simpy")
    graph.nodes["simulator.faults.crash"]["third_party"].add("pandas")
    graph.nodes["simulator.steps.branch"]["third_party"].add("simpy")
    problems = layering_problems(graph)
    assert any("steps.branch imports simpy" in p for p in problems)
    assert any("components.cache.spec imports simpy" in p for p in problems)
    assert any("faults.crash imports pandas" in p for p in problems)


SPEC_SIDE = """
import sys
import {first}
from pathlib import Path
from simulator.components import KINDS
from simulator.faults import FAULTS
from simulator.steps import POLICIES, STEPS
from simulator.scenario import load_scenario
from simulator.scenario.schema import scenario_schema

specs = [kind.spec for _, kind in KINDS.items()] + [kind.spec for _, kind in FAULTS.items()]
specs += [kind.spec for _, kind in STEPS.items()] + [policy for _, policy in POLICIES.items()]
schema = scenario_schema()
loaded = [load_scenario(p) for p in sorted(Path("scenarios").rglob("*.yaml"))]
kind_packages = {{f"simulator.components.{{name}}" for name in KINDS}}
runtimes = sorted(m for m in sys.modules if m.startswith("simulator.components.") and not m.endswith(".spec")
                  and m not in kind_packages)
# numpy too: reading scenarios never needs it, and `sdsim validate` starts faster without it
print(sorted({{"simpy", "matplotlib", "pandas", "numpy"}} & set(sys.modules)), runtimes, len(specs), len(loaded))
"""


@pytest.mark.parametrize("first", ["simulator.components.load_balancer.spec", "simulator.faults.latency",
                                   "simulator.steps.call"])
def test_the_spec_side_loads_no_runtime(first):
    """In a fresh process, with a kind's spec (or a step kind) imported first (no loop through the
    scenario): every kind's spec, every step kind and call policy, the schema and every scenario file load without SimPy (nor matplotlib, pandas or
    numpy) and without any component runtime."""
    root = PACKAGE.parent
    done = subprocess.run([sys.executable, "-c", SPEC_SIDE.format(first=first)], cwd=root, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(root)})
    assert done.returncode == 0, done.stderr
    impure_and_runtimes, counts = done.stdout.rsplit("] ", 1)
    assert impure_and_runtimes == "[] [", done.stdout  # no simpy, matplotlib, pandas, numpy, nor a runtime
    specs, loaded = map(int, counts.split())
    assert specs == 21 + 5 + 6 and loaded > 20  # 11 component kinds + 10 fault kinds, 5 step kinds, 6 policies
