"""The house's layering, checked on the code's own imports.

Every ``import`` in ``simulator/`` counts — at module level, inside a function (lazy) and
under ``TYPE_CHECKING`` — because each is a dependency a reader and a refactoring must
respect. The rules:

* the kernel (``core``), the host (``engine``), the runtime kinds (``components``,
  ``faults``) and the observers (``metrics``) import each other without a loop, and only
  downwards: ``core`` imports none of the others; ``components``, ``faults`` and
  ``metrics`` never import ``engine`` (they are typed against ``core.context.Context``);
  ``simulate()`` (``simulator/simulation.py``) sits on top of them all;
* ``scenario`` is pure data: it never imports simpy, matplotlib or pandas;
* ``metrics`` never imports ``viz`` (records do not know their pictures).
"""

from __future__ import annotations

import ast
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
FORBIDDEN_THIRD_PARTY = {"scenario": {"simpy", "matplotlib", "pandas"}}
FORBIDDEN_INTERNAL = {"metrics": {"viz"}, "scenario": {"core", "engine", "components", "faults", "metrics", "viz"}}


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
        if pa == pb:
            continue
        if pa in BELOW and pb in LAYERED and pb not in BELOW[pa]:
            problems.append(f"{a} imports {b}: {pa} may not depend on {pb}")
        if pb in FORBIDDEN_INTERNAL.get(pa, ()):
            problems.append(f"{a} imports {b}: {pa} never imports {pb}")
    for node, data in graph.nodes(data=True):
        bad = data.get("third_party", set()) & FORBIDDEN_THIRD_PARTY.get(top_package(node), set())
        if bad:
            problems.append(f"{node} imports {', '.join(sorted(bad))}: {top_package(node)} is pure data")
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
