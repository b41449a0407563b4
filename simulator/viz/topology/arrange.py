"""The layout of a scenario's call graph: box labels and sizes, rows, tiers and edge routes."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Mapping

import networkx as nx

from ... import present
from ...scenario.topology import call_graph
from .look import (
    DETAIL_SIZE, DUMMY_W, LINE_GAP, MIN_BOX_W, NAME_SIZE, PAD_X, PAD_Y, SELF_LOOP_W, V_GAP,
    ZONE_PAD_BOTTOM, ZONE_PAD_TOP,
)
from .model import Layout, Node
from .rows import _WORKLOADS, _layers, _order, _place

if TYPE_CHECKING:
    from ...scenario.model import Scenario


@lru_cache(maxsize=4096)
def _text_width(text: str, size: float, weight: str = "normal") -> float:
    """Width of *text* in inches (the font's advance widths; no renderer needed)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    if not text:
        return 0.0
    width, _, _ = text_to_path.get_text_width_height_descent(text, FontProperties(weight=weight, size=size),
                                                             ismath=False)
    return width / 72.0


def _has_value(utilization: Mapping[str, float], name: str) -> bool:
    value = utilization.get(name)
    return value is not None and value == value  # NaN: not measured


def _labels(scenario: "Scenario", graph: nx.DiGraph, node: str,
            utilization: Mapping[str, float] | None) -> list[tuple[str, float, str]]:
    """Lines of a node's label: (text, font size, weight); the first is the name."""
    data = graph.nodes[node]
    if data.get("role") == "workload":
        name = node.split(":", 1)[1]
        w = next((w for w in scenario.workload if w.name == name), None)
        detail = data.get("kind", "")
        if w is not None:
            a = w.arrivals
            if a.kind == "poisson":
                detail = f"poisson · {present.number(a.rate, 3)} req/s"
            elif a.kind == "closed":
                detail = f"closed · {a.users} users"
        return [(name, NAME_SIZE, "bold"), (detail, DETAIL_SIZE, "normal")]
    spec = scenario.components.get(node)
    lines = [(node, NAME_SIZE, "bold")]
    kind = data.get("kind", "")
    replicas = data.get("replicas", 1) or 1
    lines.append((f"{kind} · ×{replicas} replicas" if replicas > 1 else kind, DETAIL_SIZE, "normal"))
    extra = []
    workers = getattr(spec, "workers", None)
    if workers is not None:
        extra.append(f"{workers} worker{'s' if workers != 1 else ''}")
    conns = getattr(spec, "connections", None)
    if conns is not None:
        extra.append(f"{conns} connections")
    if getattr(spec, "io", None) == "async":
        extra.append("async io")
    if extra:
        lines.append((" · ".join(extra), DETAIL_SIZE, "normal"))
    role = spec.describe() if spec is not None else ""
    if role:
        lines.append((role, DETAIL_SIZE, "normal"))
    if utilization is not None and _has_value(utilization, node):
        lines.append((f"utilization {present.percent(utilization[node], 0)}", DETAIL_SIZE, "bold"))
    return lines


def layout(scenario: "Scenario", utilization: Mapping[str, float] | None = None) -> Layout:
    """Positions (inches, y up, row 0 at the top) of the architecture diagram of *scenario*."""
    graph = call_graph(scenario)
    stores = {name for name, spec in scenario.components.items() if spec.store}
    row_of, tiers = _layers(graph, list(scenario.network.zones), stores)
    nrows = max(row_of.values()) + 1
    nodes: dict[str, Node] = {}
    for n in graph.nodes:
        lines = _labels(scenario, graph, n, utilization)
        width = max(_text_width(t, s, w) for t, s, w in lines) + 2 * PAD_X
        height = sum(s for _, s, _ in lines) * LINE_GAP / 72.0 + 2 * PAD_Y
        if graph.nodes[n].get("role") == "workload":
            width += height * 0.5  # the pill's round ends
        nodes[n] = Node(n, row_of[n], max(width, MIN_BOX_W), height, lines=lines)

    # edges spanning several rows go through one waypoint per row in between
    routes: dict[tuple[str, str], list[str]] = {}
    back: set[tuple[str, str]] = set()
    for u, v in graph.edges:
        if u == v:
            routes[(u, v)] = [u, v]
            nodes[u].right = SELF_LOOP_W
            continue
        ru, rv = row_of[u], row_of[v]
        if rv < ru:
            back.add((u, v))
        step = 1 if rv > ru else -1
        chain = [u]
        for r in range(ru + step, rv, step):
            d = f"~{u}->{v}#{r}"
            nodes[d] = Node(d, r, DUMMY_W, dummy=True)
            chain.append(d)
        chain.append(v)
        routes[(u, v)] = chain

    links: dict[str, set[str]] = {n: set() for n in nodes}
    for chain in routes.values():
        for a, b in zip(chain, chain[1:]):
            if a != b:
                links[a].add(b)
                links[b].add(a)

    # initial order: depth-first from the workloads, so related nodes start together
    seen: dict[str, None] = {}
    roots = sorted(graph.nodes, key=lambda n: graph.nodes[n].get("role") != "workload")  # stable: workloads first
    for root in roots:
        seen.update((n, None) for n in nx.dfs_preorder_nodes(graph, root) if n not in seen)
    rows: list[list[str]] = [[] for _ in range(nrows)]
    for n in seen:
        rows[nodes[n].row].append(n)
    for key, chain in routes.items():
        for d in chain[1:-1]:
            rows[nodes[d].row].append(d)
    rows = _order(rows, links)
    _place(rows, nodes, links)

    # y: rows top-down, more room between tiers drawn as zone boxes
    tier_of_row = {r: t for t, (_, rs) in enumerate(tiers) for r in rs}
    boxed = {t for t, (z, _) in enumerate(tiers) if z is not None and z is not _WORKLOADS}
    row_h = [max([nodes[n].height for n in row if not nodes[n].dummy] + [0.4]) for row in rows]
    row_y: list[float] = []
    top = 0.0
    for r in range(nrows):
        if r > 0:
            top -= V_GAP
            if tier_of_row[r] != tier_of_row[r - 1]:
                top -= (ZONE_PAD_BOTTOM if tier_of_row[r - 1] in boxed else 0) \
                    + (ZONE_PAD_TOP if tier_of_row[r] in boxed else 0)
        elif tier_of_row[0] in boxed:
            top -= ZONE_PAD_TOP
        row_y.append(top - row_h[r] / 2)
        top -= row_h[r]
    for n in nodes.values():
        n.y = row_y[n.row]
        if n.dummy:
            n.height = row_h[n.row]
    return Layout(graph, nodes, rows, row_y, row_h, routes, back, tiers)
