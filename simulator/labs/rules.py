"""Structural rules a lab can require of a design, and the cost model.

A rule is a small function ``rule(scenario, value) -> list[str]`` returning what is wrong
(empty when the design complies), registered by name in :data:`RULES`.
"""

from __future__ import annotations

from typing import Any, Callable

from ..scenario.model import Scenario
from ..scenario.topology import call_graph, edges

Rule = Callable[[Scenario, Any], list[str]]
RULES: dict[str, Rule] = {}
STORE_KINDS = ("database",)


def rule(name: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        RULES[name] = fn
        return fn

    return register


def instances(scenario: Scenario) -> dict[str, int]:
    """Running instances per component (replicas; 1 for kinds without replicas)."""
    return {name: getattr(spec, "replicas", 1) for name, spec in scenario.components.items()}


def hourly_cost(scenario: Scenario, prices: dict[str, float]) -> tuple[float, list[str]]:
    """USD per hour: instances × the price of their kind; also the kinds with no price."""
    unpriced = sorted({spec.kind for spec in scenario.components.values() if spec.kind not in prices})
    total = sum(n * prices.get(scenario.components[name].kind, 0.0) for name, n in instances(scenario).items())
    return total, unpriced


@rule("no_shared_database")
def no_shared_database(scenario: Scenario, _value: Any) -> list[str]:
    """Each database is called by at most one service (database-per-service)."""
    graph = call_graph(scenario)
    problems = []
    for name, spec in scenario.components.items():
        if spec.kind in STORE_KINDS:
            callers = sorted(p for p in graph.predecessors(name) if graph.nodes[p].get("role") == "component")
            if len(callers) > 1:
                problems.append(f"database {name!r} is shared by {', '.join(callers)}")
    return problems


@rule("max_instances")
def max_instances(scenario: Scenario, value: Any) -> list[str]:
    """At most *value* running instances in total."""
    total = sum(instances(scenario).values())
    return [f"{total} instances in total, at most {value} allowed"] if total > int(value) else []


@rule("required_components")
def required_components(scenario: Scenario, value: Any) -> list[str]:
    """Components with these names must exist (the lab's workload and faults refer to them)."""
    return [f"no component named {name!r}" for name in value if name not in scenario.components]


@rule("min_components")
def min_components(scenario: Scenario, value: Any) -> list[str]:
    """At least *value* components (a decomposition, not a monolith)."""
    n = len(scenario.components)
    return [f"{n} components, at least {value} expected"] if n < int(value) else []


def reached_by(scenario: Scenario, entry: str, operation: str) -> set[str]:
    """Components an ``entry.operation`` request visits (any branch, sync or async)."""
    calls: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for e in edges(scenario):
        calls.setdefault((e.caller, e.operation), []).append((e.target, e.target_op))
    seen, todo = {(entry, operation)}, [(entry, operation)]
    while todo:
        for nxt in calls.get(todo.pop(), []):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return {component for component, _ in seen}


@rule("operations_served_by")
def operations_served_by(scenario: Scenario, value: Any) -> list[str]:
    """``{operation: component}``: each entry operation must reach that component (proper boundaries)."""
    problems = []
    for op, component in value.items():
        entries = [w.entry for w in scenario.workload if op in w.operations()]
        if not entries:
            problems.append(f"no workload sends {op!r}")
        elif not any(component in reached_by(scenario, entry, op) for entry in entries):
            problems.append(f"{op!r} is not served by {component!r}")
    return problems
