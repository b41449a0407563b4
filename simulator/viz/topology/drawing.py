"""Drawing a :class:`~.model.Layout` with matplotlib: boxes, arrows, zones, legend, colorbar."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Mapping

import networkx as nx

from ..style import OKABE_ITO, UTILIZATION_CMAP, new_figure
from .arrange import _has_value, _text_width, layout
from .look import (
    COLORBAR_W, DETAIL_SIZE, EDGE_COLOR, EXTRA_KIND_COLORS, FEEDBACK_COLOR, KIND_COLORS, LEGEND_ROW_H,
    LEGEND_SIZE, LINE_GAP, MARGIN, NO_DATA_EDGE, NO_DATA_FILL, SELF_LOOP_W, TEXT_DARK, TITLE_H,
    ZONE_COLORS, ZONE_PAD_BOTTOM, ZONE_PAD_TOP, ZONE_PAD_X,
)
from .model import Layout

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ...scenario.model import Scenario


def _lighten(color: str, amount: float) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    r, g, b = to_rgb(color)
    return (r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount)


def _luminance(rgb) -> float:
    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = rgb[:3]
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)


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
