"""The architecture picture (simulator.viz.topology.plot_topology) drawn from scenarios.

Fixtures: ``tests/assets/monolith.yaml`` and ``tests/assets/microservices.yaml`` model the
course's two diagrams (the Flask monolith and its microservice split); the theory
scenarios add a feedback loop (jackson) and a chain (tandem).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path as MplPath

from simulator import call_graph, load_scenario
from simulator.viz.topology import edge_paths, layout, plot_topology

ROOT = Path(__file__).resolve().parent.parent
ASSETS = Path(__file__).resolve().parent / "assets"
SCENARIOS = {
    "monolith": ASSETS / "monolith.yaml",
    "microservices": ASSETS / "microservices.yaml",
    "jackson": ROOT / "scenarios" / "theory" / "jackson.yaml",
    "tandem": ROOT / "scenarios" / "theory" / "tandem.yaml",
}
MICRO_UTIL = {"api-gateway": 0.22, "character": 0.55, "trading": 0.71, "user": 0.12, "notification": 0.35,
              "analytics": 0.88, "price-update": 0.05, "admin": 0.01, "redis-queue": 0.18, "character-db": 0.62,
              "trading-db": 0.97, "user-db": 0.08, "clickhouse": 0.45}

_cache: dict[str, object] = {}


def scenario(name: str):
    if name not in _cache:
        _cache[name] = load_scenario(SCENARIOS[name])
    return _cache[name]


def by_gid(fig: Figure, prefix: str, kind=None) -> dict[str, object]:
    ax = fig.axes[0]
    artists = list(ax.patches) + list(ax.texts)
    return {a.get_gid()[len(prefix):]: a for a in artists
            if (a.get_gid() or "").startswith(prefix) and (kind is None or isinstance(a, kind))}


@pytest.fixture(scope="module")
def figures() -> dict[str, Figure]:
    return {name: plot_topology(scenario(name)) for name in SCENARIOS}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_component_and_workload_is_labelled(figures, name):
    """Each component is drawn as a box labelled with its name, each workload as a box
    labelled with the workload's name (its call-graph node is ``workload:NAME``)."""
    sc = scenario(name)
    labels = {t.get_text() for t in by_gid(figures[name], "node-label:").values()}
    expected = set(sc.components) | {w.name for w in sc.workload}
    assert expected <= labels
    boxes = by_gid(figures[name], "node:", FancyBboxPatch)
    assert set(boxes) == set(call_graph(sc).nodes)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_one_arrow_per_call_graph_edge(figures, name):
    """The number of drawn arrows equals the number of call-graph edges, one per caller → callee."""
    graph = call_graph(scenario(name))
    arrows = by_gid(figures[name], "edge:", FancyArrowPatch)
    assert len(arrows) == graph.number_of_edges()
    assert set(arrows) == {f"{u}->{v}" for u, v in graph.edges}


def test_sync_calls_are_solid_and_async_publishes_dashed(figures):
    """Synchronous calls are solid arrows, asynchronous publishes dashed; the legend names both."""
    graph = call_graph(scenario("microservices"))
    arrows = by_gid(figures["microservices"], "edge:", FancyArrowPatch)
    kinds = {data["kind"] for _, _, data in graph.edges(data=True)}
    assert kinds == {"sync", "async"}
    for u, v, data in graph.edges(data=True):
        style = arrows[f"{u}->{v}"].get_linestyle()
        if data["kind"] == "async":
            assert style in ("--", "dashed"), (u, v, style)
        else:
            assert style in ("-", "solid"), (u, v, style)
    assert arrows["trading->redis-queue"].get_linestyle() in ("--", "dashed")
    legend_texts = {t.get_text() for leg in figures["microservices"].legends for t in leg.get_texts()}
    assert {"synchronous call", "asynchronous publish"} <= legend_texts


def test_without_utilization_nodes_are_filled_by_kind_with_a_legend(figures):
    """Without utilization, boxes of one kind share a fill, different kinds differ, and
    the legend lists the kinds; there is no colorbar."""
    fig = figures["microservices"]
    boxes = by_gid(fig, "node:", FancyBboxPatch)
    face = {n: tuple(b.get_facecolor()) for n, b in boxes.items()}
    assert face["character"] == face["trading"] == face["api-gateway"]
    assert face["character-db"] == face["clickhouse"]
    assert face["character"] != face["character-db"] != face["workload:traders"]
    legend_texts = {t.get_text() for leg in fig.legends for t in leg.get_texts()}
    assert {"service", "database", "workload"} <= legend_texts
    assert len(fig.axes) == 1


def test_utilization_colours_nodes_and_adds_a_colorbar():
    """With utilization, fills follow the value (different values, different colours), a
    colorbar labelled "utilization (%)" is added, and text on dark fills is white."""
    fig = plot_topology(scenario("microservices"), MICRO_UTIL)
    assert len(fig.axes) == 2
    assert fig.axes[1].get_ylabel() == "utilization (%)"
    boxes = by_gid(fig, "node:", FancyBboxPatch)
    faces = {n: tuple(boxes[n].get_facecolor()) for n in MICRO_UTIL}
    assert len(set(faces.values())) == len(set(MICRO_UTIL.values()))
    labels = by_gid(fig, "node-label:")
    from matplotlib.colors import to_rgb

    assert to_rgb(labels["admin"].get_color()) == (1.0, 1.0, 1.0)  # 1 %: darkest end of cividis
    assert to_rgb(labels["trading-db"].get_color()) != (1.0, 1.0, 1.0)  # 97 %: yellow


def test_zones_are_drawn_as_background_boxes():
    """Each zone holding components gets one translucent rounded patch behind its nodes,
    with the zone name; the patch encloses exactly the nodes of that zone; a scenario
    without zones has none."""
    sc = scenario("microservices")
    fig = plot_topology(sc)
    zones = by_gid(fig, "zone:", FancyBboxPatch)
    used = {c.zone for c in sc.components.values() if c.zone}
    assert set(zones) == used == {"edge", "app", "data"}
    labels = by_gid(fig, "zone-label:")
    assert {z: t.get_text() for z, t in labels.items()} == {z: z for z in used}
    boxes = by_gid(fig, "node:", FancyBboxPatch)
    for z, patch in zones.items():
        assert patch.get_facecolor()[3] < 0.3
        assert patch.get_zorder() < min(b.get_zorder() for b in boxes.values())
        zx0, zy0 = patch.get_x(), patch.get_y()
        zx1, zy1 = zx0 + patch.get_width(), zy0 + patch.get_height()
        for name, spec in sc.components.items():
            b = boxes[name]
            cx, cy = b.get_x() + b.get_width() / 2, b.get_y() + b.get_height() / 2
            inside = zx0 <= cx <= zx1 and zy0 <= cy <= zy1
            assert inside == (spec.zone == z), (z, name)
    assert by_gid(plot_topology(scenario("monolith")), "zone:") == {}


def test_microservices_reads_like_the_course_diagram():
    """Layers top-down: the traders, then the gateway, then one row of services, then the
    data tier (the databases and the queue) at the bottom."""
    lay = layout(scenario("microservices"))
    row = {n: node.row for n, node in lay.nodes.items() if not node.dummy}
    services = ["character", "trading", "user", "notification", "analytics", "price-update", "admin"]
    assert row["workload:traders"] == 0
    assert row["api-gateway"] == 1
    assert {row[s] for s in services} == {2}
    assert {row[d] for d in ("character-db", "trading-db", "user-db", "clickhouse", "redis-queue")} == {3}
    mono = layout(scenario("monolith"))
    assert [mono.nodes[n].row for n in ("workload:traders", "flask-app", "postgres")] == [0, 1, 2]


def test_feedback_loop_is_layered_and_curved():
    """Jackson's app → db → app cycle: the back edge is left out of the layering (db sits
    below app) and drawn curved, so it does not lie on the forward arrow."""
    lay = layout(scenario("jackson"))
    assert lay.nodes["gateway"].row < lay.nodes["app"].row < lay.nodes["db"].row
    assert ("db", "app") in lay.back and ("app", "db") not in lay.back
    paths = edge_paths(lay)
    back_codes = set(paths[("db", "app")].codes)
    assert MplPath.CURVE3 in back_codes or MplPath.CURVE4 in back_codes
    assert set(paths[("app", "db")].codes) <= {MplPath.MOVETO, MplPath.LINETO}
    arrows = by_gid(plot_topology(scenario("jackson")), "edge:", FancyArrowPatch)
    assert arrows["db->app"].get_edgecolor() != arrows["app->db"].get_edgecolor()  # feedback stands out


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_boxes_do_not_overlap_and_arrows_end_on_borders(name):
    """No two boxes overlap, and every arrow starts on its caller's border and ends on its
    callee's (top or bottom side)."""
    lay = layout(scenario(name))
    real = [n for n in lay.nodes.values() if not n.dummy]
    for i, a in enumerate(real):
        for b in real[i + 1:]:
            apart_x = abs(a.x - b.x) >= (a.width + b.width) / 2
            apart_y = abs(a.y - b.y) >= (a.height + b.height) / 2
            assert apart_x or apart_y, (a.id, b.id)
    for (u, v), path in edge_paths(lay).items():
        key = f"{u}->{v}"
        verts = path.vertices
        for node, (px, py) in ((lay.nodes[u], verts[0]), (lay.nodes[v], verts[-1])):
            on_side = min(abs(py - (node.y + node.height / 2)), abs(py - (node.y - node.height / 2))) < 1e-6
            assert on_side and abs(px - node.x) <= node.width / 2, (key, node.id)


def test_title_and_size():
    """The title is "<scenario> · architecture" unless given; figsize is honoured; a wider
    architecture gives a wider figure."""
    mono, micro = scenario("monolith"), scenario("microservices")
    fig = plot_topology(mono)
    assert fig.get_suptitle() == "monolith · architecture"
    assert plot_topology(mono, title="seed design").get_suptitle() == "seed design"
    assert tuple(plot_topology(mono, figsize=(6, 4)).get_size_inches()) == (6, 4)
    assert plot_topology(micro).get_size_inches()[0] > fig.get_size_inches()[0]


def test_saves_png_and_svg(tmp_path):
    """The returned Figure saves to PNG and SVG without pyplot (headless)."""
    fig = plot_topology(scenario("microservices"), MICRO_UTIL)
    png, svg = tmp_path / "arch.png", tmp_path / "arch.svg"
    fig.savefig(png, dpi=100)
    fig.savefig(svg)
    assert png.stat().st_size > 10_000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in svg.read_text(encoding="utf-8")[:2000]
