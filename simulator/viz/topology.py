"""The architecture of a scenario as a layered diagram (networkx graph, matplotlib drawing).

:func:`plot_topology` draws :func:`simulator.scenario.topology.call_graph` the way an
architecture diagram is drawn on a whiteboard:

* **Layers, top-down.** Workloads (the clients) form the top row. Below them the
  components are layered by call depth: the longest path from the workloads over the
  call graph, with back edges of cycles (a feedback loop such as Jackson's app → db →
  app) found by a depth-first search and left out of the layering. When components are
  placed in network zones, each zone becomes a horizontal *tier* (``edge``, ``app``,
  ``data`` …) stacked in call order, and the depth is counted inside each tier; stores
  (databases) that call nothing sit on the bottom row of their tier.
* **Order within a row** reduces edge crossings (Sugiyama-style barycenter sweeps; an
  edge spanning several rows goes through invisible waypoints so it never cuts a box),
  then x positions are balanced over the neighbours with a minimum gap between boxes.
* **Nodes** are rounded boxes labelled with the name, kind, ``×N replicas`` and workers
  (services) or connections (databases); workloads are pill-shaped with their arrival
  process. Without utilization the fill is the kind's Okabe–Ito colour (legend of kinds);
  with ``utilization`` it is the ``cividis`` colour of the value (colorbar
  "utilization (%)"), with white text on dark fills.
* **Edges**: synchronous calls solid, asynchronous publishes dashed, both explained in the
  legend; edges going back up (feedback loops) are curved so they never lie on a forward
  edge. Every arrow starts and ends on a box border.
* **Zones**: a translucent rounded rectangle in an Okabe–Ito colour behind the components
  of each zone, with the zone name. Components without a zone are not boxed.

The figure is sized from the layout (1 data unit = 1 inch) so labels do not overlap at
20–30 nodes; it is a plain :class:`matplotlib.figure.Figure` (no pyplot): save it with
``fig.savefig("arch.png")`` or ``.svg``.

Drawn artists carry ``gid``\\ s so tests and tools can find them: ``node:NAME`` (boxes),
``node-label:NAME`` (the name text), ``edge:CALLER->CALLEE`` (arrows),
``zone:NAME`` / ``zone-label:NAME`` (zone backgrounds). Workload nodes are named
``workload:NAME`` as in the call graph; their label shows ``NAME``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Mapping

import networkx as nx

from ..scenario.topology import call_graph
from .style import OKABE_ITO, UTILIZATION_CMAP, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..scenario.model import Scenario

__all__ = ["edge_paths", "layout", "plot_topology"]

# ----------------------------------------------------------------------------- look

KIND_COLORS: dict[str, str] = {
    "workload": OKABE_ITO["orange"],
    "service": OKABE_ITO["sky_blue"],
    "database": OKABE_ITO["bluish_green"],
}
"""Fill colour (before lightening) of each node kind; other kinds take :data:`EXTRA_KIND_COLORS` in turn."""

EXTRA_KIND_COLORS = [OKABE_ITO[k] for k in ("reddish_purple", "yellow", "blue", "vermillion")]
ZONE_COLORS = [OKABE_ITO[k] for k in ("blue", "vermillion", "reddish_purple", "bluish_green", "orange",
                                      "sky_blue", "yellow")]

EDGE_COLOR = "#3a3a3a"
FEEDBACK_COLOR = OKABE_ITO["vermillion"]  # back edges of cycles
NO_DATA_FILL, NO_DATA_EDGE = "#ebebeb", "#999999"  # a component missing from ``utilization``
TEXT_DARK = "#111111"
NAME_SIZE = 9.5  # points
DETAIL_SIZE = 7.8
LEGEND_SIZE = 8.5
LINE_GAP = 1.35  # line height / font size

# geometry, inches
PAD_X = 0.16  # text to box side
PAD_Y = 0.10
MIN_BOX_W = 1.15
H_GAP = 0.32  # between boxes of a row
DUMMY_W = 0.12  # an edge passing through a row
V_GAP = 0.72  # between rows
ZONE_PAD_X = 0.20
ZONE_PAD_BOTTOM = 0.14
ZONE_PAD_TOP = 0.30  # room for the zone name
MARGIN = 0.25
SELF_LOOP_W = 0.45
TITLE_H = 0.55
LEGEND_ROW_H = 0.30
COLORBAR_W = 1.15


# ----------------------------------------------------------------------------- layout (pure)


@dataclass
class Node:
    """One box of the layout: a component, a workload or (``dummy``) a waypoint of a long edge."""

    id: str
    row: int
    width: float
    height: float = 0.0
    x: float = 0.0
    y: float = 0.0  # centre
    dummy: bool = False
    right: float = 0.0  # room kept free on the right (a self-call's loop)
    lines: list[tuple[str, float, str]] = field(default_factory=list)  # (text, size, weight)


@dataclass
class Layout:
    """Result of :func:`layout`: nodes with centres and sizes, each edge's route, rows and tiers."""

    graph: nx.DiGraph
    nodes: dict[str, Node]
    rows: list[list[str]]  # node ids (dummies included) left to right
    row_y: list[float]
    row_h: list[float]
    routes: dict[tuple[str, str], list[str]]  # edge -> node ids from caller to callee (dummies between)
    back: set[tuple[str, str]]  # edges that go up (cycles' back edges and calls to an earlier tier)
    tiers: list[tuple[Any, list[int]]]  # (zone or marker, rows) top-down


def _layers(graph: nx.DiGraph, zone_order: list[str],
            stores: set[str] = frozenset()) -> tuple[dict[str, int], list[tuple[Any, list[int]]]]:
    """Row of every node and the tiers (groups of rows), top-down; *stores* (data stores that call
    nothing) sit on the bottom row of their tier."""
    workloads = [n for n, d in graph.nodes(data=True) if d.get("role") == "workload"]
    comps = [n for n, d in graph.nodes(data=True) if d.get("role") != "workload"]

    # 1. break cycles: depth-first from the workloads, then from anything left (declaration order)
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    for root in workloads + comps:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(graph.successors(root)))]
        while stack:
            node, it = stack[-1]
            for nxt in it:
                if nxt == node:
                    continue
                if state.get(nxt) == 1:
                    back.add((node, nxt))
                elif nxt not in state:
                    state[nxt] = 1
                    stack.append((nxt, iter(graph.successors(nxt))))
                    break
            else:
                state[node] = 2
                stack.pop()
    dag = nx.DiGraph()
    dag.add_nodes_from(graph.nodes)
    dag.add_edges_from((u, v) for u, v in graph.edges if u != v and (u, v) not in back)

    # 2. depth: longest path from the workloads (workloads 0, components at least 1)
    depth: dict[str, int] = {}
    for n in nx.topological_sort(dag):
        preds = [depth[p] + 1 for p in dag.predecessors(n)]
        depth[n] = 0 if n in workloads else max(preds + [1])

    # 3. tiers: workloads, then one per zone (components without zone form one unboxed tier)
    groups: dict[Any, list[str]] = {}
    for n in comps:
        groups.setdefault(graph.nodes[n].get("zone"), []).append(n)

    def tier_key(z: Any) -> tuple:
        ds = [depth[n] for n in groups[z]]
        declared = zone_order.index(z) if z in zone_order else len(zone_order)
        return (min(ds), sum(ds) / len(ds), declared, str(z))

    # tiers in call order: a tier goes below every tier that calls it (cycles broken by depth)
    between = {(graph.nodes[u].get("zone"), graph.nodes[v].get("zone")) for u, v in dag.edges
               if u not in workloads and graph.nodes[u].get("zone") != graph.nodes[v].get("zone")}
    left, ordered = set(groups), []
    while left:
        free = [z for z in left if not any((a, z) in between for a in left if a != z)]
        z = min(free or left, key=tier_key)
        ordered.append(z)
        left.remove(z)
    row: dict[str, int] = {w: 0 for w in workloads}
    tiers: list[tuple[Any, list[int]]] = []
    next_row = 0
    if workloads:
        tiers.append((_WORKLOADS, [0]))
        next_row = 1
    for z in ordered:
        members = groups[z]
        local = dag.subgraph(members)
        d: dict[str, int] = {}
        for n in nx.topological_sort(local):
            d[n] = max([d[p] + 1 for p in local.predecessors(n)] + [0])
        bottom = max(d.values())
        for n in members:
            if n in stores and local.out_degree(n) == 0:
                d[n] = bottom
        for n in members:
            row[n] = next_row + d[n]
        tiers.append((z, list(range(next_row, next_row + bottom + 1))))
        next_row += bottom + 1
    return row, tiers


_WORKLOADS = object()  # marker of the workloads' tier


def _crossings(rows: list[list[str]], links: dict[str, set[str]]) -> int:
    total = 0
    for upper, lower in zip(rows, rows[1:]):
        pos = {n: i for i, n in enumerate(lower)}
        segs = [(i, pos[m]) for i, n in enumerate(upper) for m in links[n] if m in pos]
        for a in range(len(segs)):
            for b in range(a + 1, len(segs)):
                (i1, j1), (i2, j2) = segs[a], segs[b]
                if (i1 - i2) * (j1 - j2) < 0:
                    total += 1
    return total


def _order(rows: list[list[str]], links: dict[str, set[str]], sweeps: int = 12) -> list[list[str]]:
    """Barycenter heuristic, alternating down and up sweeps; keeps the order with fewest crossings."""
    best = [r[:] for r in rows]
    best_c = _crossings(best, links)
    cur = [r[:] for r in rows]
    for s in range(sweeps):
        down = s % 2 == 0
        idx = range(1, len(cur)) if down else range(len(cur) - 2, -1, -1)
        for r in idx:
            ref = r - 1 if down else r + 1
            pos = {n: i for i, n in enumerate(cur[ref])}
            old = {n: i for i, n in enumerate(cur[r])}

            def bary(n: str) -> tuple[float, int]:
                ps = [pos[m] for m in links[n] if m in pos]
                return (sum(ps) / len(ps) if ps else old[n], old[n])

            cur[r] = sorted(cur[r], key=bary)
        c = _crossings(cur, links)
        if c < best_c:
            best, best_c = [r[:] for r in cur], c
    return best


def _isotonic(values: list[float], weights: list[float]) -> list[float]:
    """Least-squares non-decreasing fit (pool adjacent violators)."""
    blocks: list[list[float]] = []  # [mean, weight, count]
    for v, w in zip(values, weights):
        blocks.append([v, w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, c2 = blocks.pop()
            m1, w1, c1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, c1 + c2])
    out: list[float] = []
    for m, _, c in blocks:
        out += [m] * c
    return out


def _place(rows: list[list[str]], nodes: dict[str, Node], links: dict[str, set[str]], iterations: int = 40) -> None:
    """x of every node: near the mean of its neighbours, boxes in row order at least H_GAP apart."""

    def gap(a: Node, b: Node) -> float:
        g = H_GAP * 0.6 if a.dummy and b.dummy else H_GAP
        return (a.width + b.width) / 2 + a.right + g

    def fit(row: list[str], desired: list[float]) -> None:
        offs = [0.0]
        for a, b in zip(row, row[1:]):
            offs.append(offs[-1] + gap(nodes[a], nodes[b]))
        weights = [0.5 if nodes[n].dummy else 1.0 for n in row]
        ys = _isotonic([d - o for d, o in zip(desired, offs)], weights)
        for n, y, o in zip(row, ys, offs):
            nodes[n].x = y + o

    for row in rows:  # compact start, centred on 0
        fit(row, [0.0] * len(row))
        shift = (nodes[row[0]].x + nodes[row[-1]].x) / 2
        for n in row:
            nodes[n].x -= shift
    order = list(range(len(rows)))
    for it in range(iterations):
        for r in (order if it % 2 == 0 else order[::-1]):
            desired = []
            for n in rows[r]:
                # waypoints of one long edge pull hard on each other: long edges run straight
                ws = [(nodes[m].x, 4.0 if nodes[n].dummy and nodes[m].dummy else 1.0) for m in links[n]]
                total = sum(w for _, w in ws)
                desired.append(sum(x * w for x, w in ws) / total if ws else nodes[n].x)
            fit(rows[r], desired)


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


def _fmt_rate(rate: float) -> str:
    return f"{rate:.3g} req/s"


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
                detail = f"poisson · {_fmt_rate(a.rate)}"
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
        lines.append((f"utilization {100 * utilization[node]:.0f}%", DETAIL_SIZE, "bold"))
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


# ----------------------------------------------------------------------------- drawing


def _lighten(color: str, amount: float) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    r, g, b = to_rgb(color)
    return (r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount)


def _luminance(rgb) -> float:
    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = rgb[:3]
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)


def _has_value(utilization: Mapping[str, float], name: str) -> bool:
    value = utilization.get(name)
    return value is not None and value == value  # NaN: not measured


def _kind_colors(kinds: list[str]) -> dict[str, str]:
    colors = dict(KIND_COLORS)
    extra = iter(EXTRA_KIND_COLORS * 4)
    for k in kinds:
        if k not in colors:
            colors[k] = next(extra)
    return colors


def _ports(lay: Layout) -> dict[tuple[tuple[str, str], str], tuple[float, float]]:
    """Where each edge leaves its caller and reaches its callee: spread along the top/bottom sides."""
    sides: dict[tuple[str, str], list[tuple[float, int, tuple[str, str], str]]] = {}
    for key, chain in lay.routes.items():
        if len(chain) < 2 or chain[0] == chain[-1]:
            continue
        is_back = key in lay.back
        for end, me, other in (("src", chain[0], chain[1]), ("dst", chain[-1], chain[-2])):
            side = "bottom" if lay.nodes[other].row > lay.nodes[me].row else "top"
            # a back edge sits right of a forward edge between the same boxes, at both ends
            sides.setdefault((me, side), []).append((lay.nodes[other].x, 1 if is_back else 0, key, end))
    ports: dict[tuple[tuple[str, str], str], tuple[float, float]] = {}
    for (me, side), items in sides.items():
        node = lay.nodes[me]
        items.sort(key=lambda t: (t[0], t[1]))
        k = len(items)
        usable = node.width - 2 * min(0.18, node.width / 4)
        if node.id.startswith("workload:"):
            usable = node.width - node.height
        step = min(0.2, usable / max(k - 1, 1)) if k > 1 else 0.0
        y = node.y - node.height / 2 if side == "bottom" else node.y + node.height / 2
        for i, (_, _, key, end) in enumerate(items):
            ports[(key, end)] = (node.x + (i - (k - 1) / 2) * step, y)
    return ports


def _edge_path(lay: Layout, key: tuple[str, str], ports):
    from matplotlib.path import Path

    chain = lay.routes[key]
    if chain[0] == chain[-1]:  # a component calling itself: a loop on its right side
        n = lay.nodes[chain[0]]
        x0, y0 = n.x + n.width / 2, n.y
        dy = n.height * 0.28
        verts = [(x0, y0 + dy), (x0 + SELF_LOOP_W, y0 + dy + 0.2), (x0 + SELF_LOOP_W, y0 - dy - 0.2), (x0, y0 - dy)]
        return Path(verts, [Path.MOVETO, Path.CURVE4, Path.CURVE4, Path.CURVE4])
    start, end = ports[(key, "src")], ports[(key, "dst")]
    pts = [start]
    for d in chain[1:-1]:
        n = lay.nodes[d]
        going_down = lay.nodes[chain[-1]].row > lay.nodes[chain[0]].row
        top, bottom = (n.x, n.y + n.height / 2), (n.x, n.y - n.height / 2)
        pts += [top, bottom] if going_down else [bottom, top]
    pts.append(end)
    if len(pts) == 2:
        if key in lay.back:  # curve a back edge (bulging right) so it never lies on a forward edge
            (x1, y1), (x2, y2) = start, end
            length = math.hypot(x2 - x1, y2 - y1)
            nx_, ny_ = (y2 - y1) / length, -(x2 - x1) / length  # right-hand normal of the direction
            if nx_ < 0:
                nx_, ny_ = -nx_, -ny_
            bulge = 0.22 * length
            ctrl = ((x1 + x2) / 2 + nx_ * bulge, (y1 + y2) / 2 + ny_ * bulge)
            return Path([start, ctrl, end], [Path.MOVETO, Path.CURVE3, Path.CURVE3])
        return Path(pts, [Path.MOVETO, Path.LINETO])
    # smooth polyline through the waypoints: quadratic corners between segment midpoints
    verts, codes = [pts[0]], [Path.MOVETO]
    for i in range(1, len(pts) - 1):
        a, b, c = pts[i - 1], pts[i], pts[i + 1]
        m1 = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2) if i > 1 else a
        m2 = ((b[0] + c[0]) / 2, (b[1] + c[1]) / 2)
        if i > 1:
            verts.append(m1)
            codes.append(Path.LINETO)
        verts += [b, m2]
        codes += [Path.CURVE3, Path.CURVE3]
    verts.append(pts[-1])
    codes.append(Path.LINETO)
    return Path(verts, codes)


def edge_paths(lay: Layout) -> dict[tuple[str, str], Any]:
    """The drawn route (a :class:`matplotlib.path.Path`, inches) of every edge, caller to callee.

    A route starts on the caller's box border and ends on the callee's (top side when
    reached from above, bottom side from below); the arrow head is drawn at its end.
    """
    ports = _ports(lay)
    return {key: _edge_path(lay, key, ports) for key in lay.graph.edges}


def plot_topology(scenario: "Scenario", utilization: Mapping[str, float] | None = None, *,
                  title: str | None = None, figsize: tuple[float, float] | None = None) -> "Figure":
    """Draw the architecture of *scenario* as a layered diagram and return the Figure.

    Args:
        scenario: a loaded :class:`~simulator.scenario.model.Scenario`.
        utilization: component name → utilization (0..1); when given, nodes are filled by
            it on the ``cividis`` colormap with a colorbar; components missing from it are
            grey. Without it nodes are filled by kind.
        title: replaces ``"<scenario> · architecture"``.
        figsize: inches; by default the size follows the layout (about 1 inch per unit of
            the layout, so labels keep their size).
    """
    import matplotlib as mpl
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch

    lay = layout(scenario, utilization)
    graph, nodes = lay.graph, lay.nodes
    real = [n for n in nodes.values() if not n.dummy]

    # ---- zones: bounding boxes of their components
    zone_names = list(scenario.network.zones)
    zone_boxes: dict[str, tuple[float, float, float, float]] = {}
    for n in real:
        z = graph.nodes[n.id].get("zone")
        if z is None or graph.nodes[n.id].get("role") == "workload":
            continue
        x0, x1 = n.x - n.width / 2 - ZONE_PAD_X, n.x + n.width / 2 + ZONE_PAD_X
        y0, y1 = n.y - n.height / 2 - ZONE_PAD_BOTTOM, n.y + n.height / 2 + ZONE_PAD_TOP
        if z in zone_boxes:
            a, b, c, d = zone_boxes[z]
            zone_boxes[z] = (min(a, x0), min(b, y0), max(c, x1), max(d, y1))
        else:
            zone_boxes[z] = (x0, y0, x1, y1)
    for z in zone_boxes:  # room for the zone name at the left of its top strip
        a, b, c, d = zone_boxes[z]
        need = _text_width(z, DETAIL_SIZE + 0.7, "bold") + 0.3
        if c - a < need:
            zone_boxes[z] = (a, b, a + need, d)

    # ---- edge paths (they may bulge outside the boxes: a curved back edge, a self-loop)
    paths = edge_paths(lay)
    # a feedback call goes back up *and* closes a cycle (an upward call to an earlier tier need not)
    feedback = {(u, v) for u, v in graph.edges if u == v or ((u, v) in lay.back and nx.has_path(graph, v, u))}

    # ---- extent of the drawing (inches)
    boxes = [(n.x - n.width / 2, n.y - n.height / 2, n.x + n.width / 2, n.y + n.height / 2) for n in real]
    boxes += list(zone_boxes.values())
    for path in paths.values():
        ext = path.get_extents()
        boxes.append((ext.x0 - 0.08, ext.y0, ext.x1 + 0.08, ext.y1))
    x0, x1 = min(b[0] for b in boxes) - MARGIN, max(b[2] for b in boxes) + MARGIN
    y0, y1 = min(b[1] for b in boxes) - MARGIN, max(b[3] for b in boxes) + MARGIN
    content_w, content_h = x1 - x0, y1 - y0

    # ---- legend entries
    kinds = []
    for n in real:
        k = "workload" if graph.nodes[n.id].get("role") == "workload" else graph.nodes[n.id].get("kind", "?")
        if k not in kinds:
            kinds.append(k)
    colors = _kind_colors(kinds)
    handles: list[Any] = [Line2D([], [], color=EDGE_COLOR, lw=1.4, ls="-", label="synchronous call"),
                          Line2D([], [], color=EDGE_COLOR, lw=1.4, ls="--", label="asynchronous publish")]
    if feedback:
        handles.append(Line2D([], [], color=FEEDBACK_COLOR, lw=1.4, label="feedback call (cycle)"))
    if utilization is None:
        handles += [Patch(facecolor=_lighten(colors[k], 0.55), edgecolor=colors[k], lw=1.2, label=k) for k in kinds]
    elif any(not _has_value(utilization, c) for c in scenario.components):
        handles.append(Patch(facecolor=NO_DATA_FILL, edgecolor=NO_DATA_EDGE, lw=1.2, label="no utilization given"))
    right = COLORBAR_W if utilization is not None else 0.0
    natural_w = max(content_w + right, 5.0)
    entry_w = max(_text_width(h.get_label(), LEGEND_SIZE) for h in handles) + 0.75
    legend_cols = max(1, min(len(handles), int((natural_w - 0.3) // entry_w)))
    legend_rows = math.ceil(len(handles) / legend_cols)
    legend_h = LEGEND_ROW_H * legend_rows + 0.2

    natural_h = content_h + TITLE_H + legend_h
    if figsize is None:
        figsize = (natural_w, natural_h)
    scale = min(figsize[0] / natural_w, figsize[1] / natural_h)
    fig = new_figure(figsize=figsize)
    fw, fh = figsize
    # the axes keeps the natural proportions, centred in the space left by title/legend/colorbar
    aw, ah = content_w * scale, content_h * scale
    left = (fw - right * scale - aw) / 2
    bottom = legend_h * scale + (fh - (natural_h * scale)) / 2
    ax = fig.add_axes((left / fw, bottom / fh, aw / fw, ah / fh))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box")
    ax.set_axis_off()

    def fs(size: float) -> float:
        return size * scale

    # ---- zones behind everything
    for z, (a, b, c, d) in zone_boxes.items():
        col = ZONE_COLORS[zone_names.index(z) % len(ZONE_COLORS)] if z in zone_names else OKABE_ITO["black"]
        ax.add_patch(FancyBboxPatch((a, b), c - a, d - b, boxstyle="round,pad=0,rounding_size=0.14",
                                    facecolor=mpl.colors.to_rgba(col, 0.10), edgecolor=mpl.colors.to_rgba(col, 0.55),
                                    lw=1.0, zorder=0, gid=f"zone:{z}"))
        ax.text(a + 0.12, d - 0.08, z, ha="left", va="top", fontsize=fs(DETAIL_SIZE + 0.7), fontweight="bold",
                fontstyle="italic", color=col, zorder=1, gid=f"zone-label:{z}")

    # ---- nodes
    cmap = mpl.colormaps[UTILIZATION_CMAP]
    norm = mpl.colors.Normalize(vmin=0.0, vmax=100.0)
    for n in real:
        data = graph.nodes[n.id]
        is_wl = data.get("role") == "workload"
        kind = "workload" if is_wl else data.get("kind", "?")
        if utilization is not None and not is_wl:
            if _has_value(utilization, n.id):
                face = cmap(norm(100 * min(max(float(utilization[n.id]), 0.0), 1.0)))
                edge = "#333333"
            else:
                face, edge = NO_DATA_FILL, NO_DATA_EDGE
        else:
            face, edge = _lighten(colors[kind], 0.55), colors[kind]
        text_color = "white" if _luminance(mpl.colors.to_rgb(face)) < 0.28 else TEXT_DARK
        rounding = n.height / 2 if is_wl else 0.09
        ax.add_patch(FancyBboxPatch((n.x - n.width / 2, n.y - n.height / 2), n.width, n.height,
                                    boxstyle=f"round,pad=0,rounding_size={rounding}", facecolor=face,
                                    edgecolor=edge, lw=2.0 if is_wl else 1.3, ls="-", zorder=3, gid=f"node:{n.id}"))
        total = sum(s for _, s, _ in n.lines) * LINE_GAP / 72.0
        y = n.y + total / 2
        for i, (text, size, weight) in enumerate(n.lines):
            h = size * LINE_GAP / 72.0
            ax.text(n.x, y - h / 2, text, ha="center", va="center", fontsize=fs(size), fontweight=weight,
                    color=text_color, zorder=4, gid=f"node-label:{n.id}" if i == 0 else f"node-detail:{n.id}")
            y -= h

    # ---- edges
    for u, v, data in graph.edges(data=True):
        color = FEEDBACK_COLOR if (u, v) in feedback else EDGE_COLOR
        ax.add_patch(FancyArrowPatch(path=paths[(u, v)], arrowstyle="-|>", mutation_scale=fs(11), lw=1.3 * scale,
                                     linestyle="--" if data.get("kind") == "async" else "-", color=color,
                                     shrinkA=0, shrinkB=0, zorder=2, joinstyle="round", capstyle="butt",
                                     gid=f"edge:{u}->{v}"))

    # ---- legend, colorbar, title
    fig.legend(handles=handles, loc="lower center", ncol=legend_cols, frameon=False, fontsize=fs(LEGEND_SIZE),
               bbox_to_anchor=(0.5, 0.1 * scale / fh), handlelength=2.6, columnspacing=1.4)
    if utilization is not None:
        cax = fig.add_axes(((fw - right * scale + 0.25 * scale) / fw, (bottom + ah * 0.15) / fh,
                            0.18 * scale / fw, ah * 0.7 / fh))
        sm = mpl.cm.ScalarMappable(norm=norm, cmap=cmap)
        cb = fig.colorbar(sm, cax=cax)
        cb.set_label("utilization (%)", fontsize=fs(9))
        cb.ax.tick_params(labelsize=fs(8))
    fig.suptitle(title if title is not None else f"{scenario.name} · architecture", fontsize=fs(12.5),
                 y=1 - 0.12 * scale / fh, va="top")
    return fig
