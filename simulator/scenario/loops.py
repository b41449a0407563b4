"""Feedback loops checked before the run: do they end, and can they deadlock?

A request that reaches an operation on a loop of calls comes back to it a random number
of times. With ``M[a][b]`` the mean number of calls (``call`` or ``publish``) one visit of
operation ``a`` makes to ``b`` — through branches weighted by their ``p``, parallel
branches each once, fallbacks not counted (they run only on failure), a balancer's or a
cache's call to its backend once — the mean visits per request solve ``v = e + v M``.
They are finite exactly when the spectral radius of ``M`` on each loop is below 1
(a branch back with ``p = 0.99``: 100 visits on average; a service that publishes to
itself twice: 2ⁿ after n rounds, never finishing). :func:`check` refuses a loop whose
radius is ≥ 1, naming it and its mean calls per visit.

It also warns about a loop of synchronous calls through an ``io: blocking`` operation:
each visit keeps its worker while it waits for the next, so a request that goes round
more times than the component has workers deadlocks it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import TYPE_CHECKING, Iterator

from ..steps import kind_of
from .digraph import has_cycle
from .model import Scenario
from .source import Path

if TYPE_CHECKING:
    import networkx as nx

Op = tuple[str, str]


def mean_calls(scenario: Scenario) -> dict[Op, dict[Op, float]]:
    """``M[a][b]``: the mean calls one visit of operation *a* makes to *b* (module docstring)."""
    out: dict[Op, dict[Op, float]] = defaultdict(lambda: defaultdict(float))
    for name, spec in scenario.components.items():
        for call in spec.implicit_calls(scenario.components):
            out[(name, call.operation)][(call.target, call.target_operation)] += 1.0
        for op_name, steps in spec.operation_steps().items():
            for called, weight in _calls(steps, 1.0):
                target, _, target_op = called.partition(".")
                out[(name, op_name)][(target, target_op)] += weight
    return out


def mean_visits(scenario: Scenario, entry: Op) -> dict[Op, float]:
    """Mean visits of each operation per request entering at *entry*: ``v = e + v M`` solved
    exactly; ``inf`` everywhere reachable when a loop on the way never ends on average."""
    matrix = mean_calls(scenario)
    reach = [entry]
    for op in reach:  # breadth first: what a request entering at *entry* can visit
        reach += [b for b, m in matrix.get(op, {}).items() if m > 0 and b not in reach]
    pairs = [(a, b) for a in reach for b, m in matrix.get(a, {}).items() if m > 0]
    if has_cycle(pairs):  # networkx (slow to import) only when there is a loop to look at
        import networkx as nx

        graph = nx.DiGraph(pairs)
        for group in nx.strongly_connected_components(graph):
            ops = sorted(group)
            on_loop = len(ops) > 1 or graph.has_edge(ops[0], ops[0])
            if on_loop and _radius(ops, matrix) >= 1.0 - 1e-9:
                return {op: math.inf for op in reach}
    return dict(zip(reach, _solve(reach, matrix)))


def _solve(ops: list[Op], matrix: dict[Op, dict[Op, float]]) -> list[float]:
    """``v`` with ``v = e + v M`` (``e``: 1 for ``ops[0]``), by Gaussian elimination with partial
    pivoting on ``(I - Mᵀ) v = e`` (pure Python: the scenario layer loads no numpy; n is small)."""
    n = len(ops)
    index = {op: i for i, op in enumerate(ops)}
    rows = [[1.0 if i == j else 0.0 for j in range(n)] + [1.0 if i == 0 else 0.0] for i in range(n)]
    for a in ops:
        for b, calls in matrix.get(a, {}).items():
            if b in index:
                rows[index[b]][index[a]] -= calls  # row b: v_b - sum_a v_a M[a][b] = e_b
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(rows[r][col]))
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for r in range(n):
            if r != col and rows[r][col]:
                factor = rows[r][col] / rows[col][col]
                rows[r] = [x - factor * y for x, y in zip(rows[r], rows[col])]
    return [rows[i][n] / rows[i][i] for i in range(n)]


def _calls(steps: list, weight: float) -> Iterator[tuple[str, float]]:
    for step in steps:
        kind = kind_of(step)
        for called, _, _ in kind.targets(step):
            yield called, weight
        for (nested, _, _), runs in zip(kind.children(step), kind.expected_runs(step)):
            if runs > 0:
                yield from _calls(nested, weight * runs)


def _radius(group: list[Op], matrix: dict[Op, dict[Op, float]], rounds: int = 500) -> float:
    """Spectral radius of *matrix* on *group* (a strongly connected set), by power iteration."""
    v = {op: 1.0 for op in group}
    radius = 0.0
    for _ in range(rounds):
        nxt = {op: 0.0 for op in group}
        for a in group:
            for b, m in matrix[a].items():
                if b in nxt:
                    nxt[b] += v[a] * m
        total = sum(nxt.values())
        if total == 0.0:
            return 0.0
        radius = total / sum(v.values())
        v = {op: x / total for op, x in nxt.items()}
    return radius


def _cycle_through(graph: nx.DiGraph, group: list[Op]) -> list[Op]:
    """One cycle of *group* (a strongly connected set) through its first operation, in call order."""
    import networkx as nx

    start = group[0]
    if graph.has_edge(start, start):
        return [start]
    sub = graph.subgraph(group)
    paths = [nx.shortest_path(sub, nxt, start) for nxt in sub.successors(start)]
    return [start, *min(paths, key=len)[:-1]]


def _written_at(scenario: Scenario, cycle: list[Op]) -> Path:
    """Where the loop shows in the file: the first operation on it written in a component's
    ``operations`` (a broker's topic, which calls its consumers by itself, is not)."""
    for comp, op in cycle:
        spec = scenario.components.get(comp)
        if spec is not None and op in spec.operation_steps():
            return ("components", comp, "operations", op)
    comp = cycle[0][0]
    return ("components", comp) if comp in scenario.components else ()


def check(scenario: Scenario) -> tuple[list[tuple[Path, str]], list[tuple[Path, str]]]:
    """``(errors, warnings)``: loops that never end on average, loops that can deadlock."""
    errors: list[tuple[Path, str]] = []
    warnings: list[tuple[Path, str]] = []
    matrix = mean_calls(scenario)
    pairs = [(a, b) for a, row in matrix.items() for b, m in row.items() if m > 0]
    if not has_cycle(pairs):  # no loop: nothing to check, and networkx (slow to import) stays out
        return errors, warnings
    import networkx as nx

    graph = nx.DiGraph(pairs)
    for group in nx.strongly_connected_components(graph):
        ops = sorted(group)
        if len(ops) == 1 and not graph.has_edge(ops[0], ops[0]):
            continue
        cycle = _cycle_through(graph, ops)
        loop = " → ".join(f"{c}.{o}" for c, o in cycle + [cycle[0]])
        where = _written_at(scenario, cycle)
        radius = _radius(ops, matrix)
        if radius >= 1.0 - 1e-9:
            errors.append((where, f"this feedback loop never ends on average: {loop} makes {radius:.3g} "
                                  f"call{'' if radius == 1 else 's'} round the loop per visit (it must be below 1: lower the branch's p, or do not "
                                  "call or publish back more than once)"))
            continue
        for comp, op in ops:
            spec = scenario.components.get(comp)
            if getattr(spec, "io", None) == "blocking":
                workers = getattr(spec, "workers", "its")
                warnings.append((("components", comp, "operations", op),
                                 f"a blocking operation on a feedback loop ({loop}): each visit keeps its worker "
                                 f"while it waits for the next, so requests that go round more times than {comp!r} "
                                 f"has workers ({workers} per replica) deadlock it; use io: async"))
                break
    return errors, warnings
