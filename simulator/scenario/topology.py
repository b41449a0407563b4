"""Cross-references and the call graph of a scenario (networkx).

:func:`check` finds what pydantic cannot: call targets that do not exist, workloads aimed
at missing operations, undeclared zones, faults on unknown components, links missing
between zones that talk, and cycles of synchronous calls that would recurse forever; what
one kind requires of another it asks the kind's spec (``spec.check``), and what a step needs
of the scenario around it its step kind (``StepKind.check``). It returns problems
(errors) and warnings (unreachable components).

:func:`call_graph` is the architecture as a :class:`networkx.DiGraph`: one node per
component and per workload, one edge per caller → callee with ``sync``/``async`` kind and
the operations involved. Reports and pictures draw from it.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

from ..catalog import INSTANCE_CLASSES
from ..steps import Step, kind_of
from .digraph import descendants, has_cycle
from .model import Scenario
from ..security.spec import check as security_check
from .source import Path

if TYPE_CHECKING:
    import networkx as nx


@dataclass(frozen=True)
class Edge:
    """One step that calls another operation, with where it is written."""

    caller: str
    operation: str
    target: str
    target_op: str
    sync: bool
    certain: bool  # False when inside a branch option with p < 1
    path: Path


def iter_steps(steps: list[Step], path: Path, certain: bool = True) -> Iterator[tuple[Step, Path, bool]]:
    """Every step, nested ones included (its kind's ``children``), with its path and whether it always runs."""
    for i, step in enumerate(steps):
        here = path + (i,)
        yield step, here, certain
        for nested, below, always in kind_of(step).children(step):
            yield from iter_steps(nested, here + below, certain and always)


_CANCELLING: dict[int, tuple[weakref.ref, bool]] = {}  # id(scenario) -> (the scenario, hedges_cancel)


def hedges(specs, cancelling: bool = False) -> bool:
    """Whether any ``call`` step of the component *specs* hedges; with *cancelling*, hedges that
    cancel their losers."""
    return any(getattr(step, "hedge", None) is not None and (step.hedge.cancel or not cancelling)
               for spec in specs for steps in spec.operation_steps().values() for step, _, _ in iter_steps(steps, ()))


def hedges_cancel(scenario: Scenario) -> bool:
    """Whether some call step of *scenario* hedges with ``cancel`` (then copies may be cancelled).

    Asked once per component while building and reporting, so it is remembered per scenario
    (a scenario is frozen): a walk of every step each time made those O(components²)."""
    key = id(scenario)
    known = _CANCELLING.get(key)
    if known is not None and known[0]() is scenario:
        return known[1]
    found = hedges(scenario.components.values(), cancelling=True)
    _CANCELLING[key] = (weakref.ref(scenario, lambda _, key=key: _CANCELLING.pop(key, None)), found)
    return found


def edges(scenario: Scenario) -> Iterator[Edge]:
    """Every call a component makes: written in its steps, or implied by its kind (balancer, cache)."""
    for name, spec in scenario.components.items():
        for call in spec.implicit_calls(scenario.components):
            yield Edge(name, call.operation, call.target, call.target_operation, call.sync, True,
                       ("components", name, call.field))
        for op_name, steps in spec.operation_steps().items():
            base = ("components", name, "operations", op_name, "steps")
            for step, path, certain in iter_steps(steps, base):
                for called, sync, field in kind_of(step).targets(step):
                    target, _, target_op = called.partition(".")
                    below = field if isinstance(field, tuple) else (field,)  # a key, or keys (a saga's steps.1.do)
                    yield Edge(name, op_name, target, target_op, sync, certain, path + below)


def call_graph(scenario: Scenario) -> nx.DiGraph:
    """The architecture: components and workloads as nodes, calls and publishes as edges."""
    import networkx as nx

    graph = nx.DiGraph(name=scenario.name)
    for name, spec in scenario.components.items():
        graph.add_node(name, role="component", kind=spec.kind, zone=spec.zone,
                       replicas=getattr(spec, "replicas", 1))
    for w in scenario.workload:
        graph.add_node(f"workload:{w.name}", role="workload", kind=w.arrivals.kind, zone=w.zone)
        if w.entry in graph:
            graph.add_edge(f"workload:{w.name}", w.entry, kind="sync", operations=sorted(w.operations()))
    for e in edges(scenario):
        if e.target not in scenario.components:
            continue
        if graph.has_edge(e.caller, e.target):
            data = graph.edges[e.caller, e.target]
            data["operations"] = sorted(set(data["operations"]) | {e.target_op})
            if e.sync:
                data["kind"] = "sync"
        else:
            graph.add_edge(e.caller, e.target, kind="sync" if e.sync else "async", operations=[e.target_op])
    return graph


def check(scenario: Scenario) -> tuple[list[tuple[Path, str]], list[tuple[Path, str]]]:
    """Return ``(errors, warnings)`` as ``(path, message)`` pairs."""
    errors: list[tuple[Path, str]] = []
    warnings: list[tuple[Path, str]] = []
    comps = scenario.components
    if scenario.warmup >= scenario.duration:
        errors.append((("warmup",), f"warmup ({scenario.warmup:g}s) must be shorter than duration "
                                    f"({scenario.duration:g}s)"))

    def op_exists(target: str, op: str, path: Path, what: str) -> bool:
        if target not in comps:
            errors.append((path, f"{what} {target!r} does not exist (expected one of: {', '.join(comps)})"))
            return False
        ops = comps[target].operation_names(comps)
        if op not in ops:
            errors.append((path, f"{target!r} has no operation {op!r} (it has: {', '.join(ops) or 'none'})"))
            return False
        return True

    for i, w in enumerate(scenario.workload):
        if w.entry not in comps:
            errors.append((("workload", i, "entry"),
                           f"entry component {w.entry!r} does not exist (expected one of: {', '.join(comps)})"))
            continue
        for op in w.operations():
            field = ("workload", i, "operation") if w.operation else ("workload", i, "mix", op)
            op_exists(w.entry, op, field, "entry component")
    graph_edges = list(edges(scenario))
    for e in graph_edges:
        op_exists(e.target, e.target_op, e.path, "call target")

    _check_zones(scenario, errors)
    _check_kinds(scenario, errors)
    _check_steps(scenario, errors)
    _check_faults(scenario, errors)
    _check_cycles(scenario, graph_edges, errors)
    errors += security_check(scenario)

    reachable: set[str] = set()
    graph = _call_successors(scenario, graph_edges)
    for w in scenario.workload:
        reachable |= descendants(graph, f"workload:{w.name}")
    for name in comps:
        if name not in reachable:
            warnings.append((("components", name), f"component {name!r} is unreachable: no workload or call leads to it"))
    entry_ops = {op for w in scenario.workload for op in w.operations()}
    entry_ops |= {f"{w.entry}.{op}" for w in scenario.workload for op in w.operations()}
    for i, slo in enumerate(scenario.slos):
        if slo.operation is not None and slo.operation not in entry_ops:
            errors.append((("slos", i, "operation"), f"no workload sends operation {slo.operation!r} "
                                                     f"(expected one of: {', '.join(sorted(entry_ops))})"))
        errors += slo.check(i, scenario)
    if scenario.monitoring is not None:
        errors += scenario.monitoring.check(scenario)
    names = [w.name for w in scenario.workload]
    for i, w in enumerate(scenario.workload):
        if names.index(w.name) != i:
            errors.append((("workload", i, "name"), f"duplicate workload name {w.name!r}"))
    return errors, warnings


def _check_zones(scenario: Scenario, errors: list[tuple[Path, str]]) -> None:
    net = scenario.network
    declared = set(net.zones)
    used: list[tuple[Path, str]] = [(("components", n, "zone"), s.zone) for n, s in scenario.components.items() if s.zone]
    used += [(("workload", i, "zone"), w.zone) for i, w in enumerate(scenario.workload) if w.zone]
    used += [(("components", n, *path), z) for n, s in scenario.components.items()  # a kind spread over zones
             for path, z in getattr(s, "placed_zones", list)()]
    used += [(("network", "links", i, "between", j), z) for i, l in enumerate(net.links) for j, z in enumerate(l.between)]
    used += [(("faults", i, "between", j), z) for i, f in enumerate(scenario.faults)
             for j, z in enumerate(getattr(f, "between", []))]
    used += [(("faults", i, "zones", j), z) for i, f in enumerate(scenario.faults)  # an outage's
             for j, z in enumerate(getattr(f, "zones", None) or [])]
    used += [(("network", "regions", r, j), z) for r, zones in net.regions.items() for j, z in enumerate(zones)]
    for path, zone in used:
        if zone not in declared:
            expected = ", ".join(sorted(declared)) if declared else "declare it under network.zones"
            errors.append((path, f"unknown zone {zone!r} (expected one of: {expected})"))
    region_of: dict[str, str] = {}
    for region, zones in net.regions.items():
        if region in declared:
            errors.append((("network", "regions", region), f"region {region!r} has the name of a zone "
                                                           "(a region needs a name of its own)"))
        for j, zone in enumerate(zones):
            if zone in region_of:
                errors.append((("network", "regions", region, j), f"zone {zone!r} is already in region "
                                                                  f"{region_of[zone]!r} (a zone is in one region)"))
            region_of.setdefault(zone, region)
    for i, f in enumerate(scenario.faults):  # an outage of a region
        region = getattr(f, "region", None)
        if region is not None and region not in net.regions:
            expected = ", ".join(sorted(net.regions)) if net.regions else "declare it under network.regions"
            errors.append((("faults", i, "region"), f"unknown region {region!r} (expected one of: {expected})"))
    places = declared | set(net.regions)
    for i, f in enumerate(scenario.faults):
        sides = getattr(f, "sides", None)
        if sides is None:
            continue
        seen: dict[str, int] = {}
        for s, side in enumerate(sides):
            for j, name in enumerate(side):
                path = ("faults", i, "sides", s, j)
                if name not in places:
                    expected = ", ".join(sorted(places)) if places else "declare zones under network.zones"
                    errors.append((path, f"unknown zone or region {name!r} (expected one of: {expected})"))
                    continue
                for zone in net.zones_of(name):
                    if seen.setdefault(zone, s) != s:
                        errors.append((path, f"zone {zone!r} is on two sides of the partition "
                                             f"(sides {seen[zone]} and {s})"))
    if net.default is not None:
        return
    linked = {frozenset(l.between) for l in net.links}
    zone_of = {n: s.zone for n, s in scenario.components.items()}
    pairs = {(w.zone, zone_of.get(w.entry), ("workload", i, "zone")) for i, w in enumerate(scenario.workload)}
    pairs |= {(zone_of[e.caller], zone_of.get(e.target), e.path) for e in edges(scenario)}
    reported = set()
    for a, b, path in sorted(pairs, key=lambda t: str(t)):
        if a and b and a != b and a in declared and b in declared and frozenset((a, b)) not in linked:
            if frozenset((a, b)) not in reported:
                reported.add(frozenset((a, b)))
                errors.append((path, f"no network link between zones {a!r} and {b!r} "
                                     "(add one under network.links or set network.default)"))


def _check_steps(scenario: Scenario, errors: list[tuple[Path, str]]) -> None:
    """What a step kind requires of the scenario around it (``StepKind.check``: a saga's name is its component's own)."""
    for name, spec in scenario.components.items():
        for op_name, steps in spec.operation_steps().items():
            for step, path, _ in iter_steps(steps, ("components", name, "operations", op_name, "steps")):
                errors += kind_of(step).check(step, path, scenario)


def _check_faults(scenario: Scenario, errors: list[tuple[Path, str]]) -> None:
    for i, fault in enumerate(scenario.faults):
        errors += fault.check(i, scenario.components)


def _call_successors(scenario: Scenario, graph_edges: list[Edge]) -> dict[str, set[str]]:
    """The edges of :func:`call_graph` as ``{node: its successors}``, built without networkx."""
    nodes = set(scenario.components)
    succ: dict[str, set[str]] = {}
    for w in scenario.workload:  # in call_graph's order: an entry naming an earlier workload's node is an edge too
        node = f"workload:{w.name}"
        nodes.add(node)
        if w.entry in nodes:
            succ.setdefault(node, set()).add(w.entry)
    for e in graph_edges:
        if e.target in scenario.components:
            succ.setdefault(e.caller, set()).add(e.target)
    return succ


def _check_kinds(scenario: Scenario, errors: list[tuple[Path, str]]) -> None:
    """What one kind requires of another (a balancer needs a service behind it, a cache an origin)."""
    comps = scenario.components
    for name, spec in comps.items():
        instance = getattr(spec, "instance", None)
        if instance is not None and instance not in INSTANCE_CLASSES:
            errors.append((("components", name, "instance"), f"unknown instance class {instance!r} "
                                                             f"(expected one of: {', '.join(INSTANCE_CLASSES)})"))
        errors += spec.check(name, comps)


def _check_cycles(scenario: Scenario, graph_edges: list[Edge], errors: list[tuple[Path, str]]) -> None:
    """A cycle of synchronous calls that always recurses never terminates: reject it.

    Cycles through a probabilistic branch (feedback loops such as a Jackson network's
    "back to the app server with probability 0.5") terminate with probability one and are
    allowed.
    """
    sync = [e for e in graph_edges if e.sync and e.certain and e.target in scenario.components]
    if not has_cycle(((e.caller, e.operation), (e.target, e.target_op)) for e in sync):
        return  # no cycle: networkx (slow to import) stays out
    import networkx as nx

    ops = nx.DiGraph()
    for e in sync:
        ops.add_edge((e.caller, e.operation), (e.target, e.target_op), path=e.path)
    for cycle in nx.simple_cycles(ops):
        first = ops.edges[cycle[0], cycle[(1) % len(cycle)]]["path"]
        loop = " → ".join(f"{c}.{o}" for c, o in cycle + [cycle[0]])
        errors.append((first, f"cycle of synchronous calls never ends: {loop}"))
