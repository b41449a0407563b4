"""Charts of scaling behaviour: replicas over time, cache hit ratio, traffic shares, and the run folder.

Specification:

* ``plot_replicas`` draws offered load above and one step line of ready replicas per
  resized component below, whose values are the component's replica counts over time;
  every autoscaler decision is a dotted line (gid ``scaling:<component>:<from>-><to>``),
  on this chart and on the latency, throughput and components charts;
* ``plot_hit_ratio`` draws each cache's hit ratio in percent, bucket by bucket equal to
  hits / (hits + misses) counted from the tallies;
* ``plot_shares`` draws one bar per replica (balancer) or shard (database) whose heights
  are the shares of the counted requests and sum to 100 %;
* the architecture picture says what a balancer, a cache and a sharded database do;
* ``write_run`` adds ``replicas.png``, ``hit_ratio.png`` and ``shares-<name>.png`` exactly
  when the run has something to show for them.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import scenario, service

from simulator import simulate
from simulator.artifacts import optional_charts, write_run
from simulator.viz import plot_hit_ratio, plot_latency, plot_replicas, plot_shares, plot_throughput, plot_topology
from simulator.viz.topology import _labels as node_lines


def _scaling_lines(ax) -> list[str]:
    return [line.get_gid() for line in ax.get_lines() if (line.get_gid() or "").startswith("scaling:")]


@pytest.fixture(scope="module")
def scaled():
    """A spike makes the autoscaler add replicas (30 s cold start), then remove them."""
    spec = scenario({"svc": service("exp(100ms)", replicas=2, workers=1,
                                    autoscaling={"min_replicas": 2, "max_replicas": 20, "target": 0.6,
                                                 "interval": "15s", "scale_down_stabilization": "60s",
                                                 "provisioning_delay": "30s"})},
                    rate="10/s", duration="600s", warmup="30s",
                    workload={"profile": [{"at": "120s", "rate": "60/s", "for": "120s"}]})
    return simulate(spec, seed=3)


@pytest.fixture(scope="module")
def cached():
    spec = scenario({"svc": service("1ms", workers=50, steps=[{"call": "cache.read"}]),
                     "cache": {"kind": "cache", "origin": "db", "capacity": 50},
                     "db": {"kind": "database", "connections": 50, "operations": {"read": {"work": "exp(5ms)"}}}},
                    rate="200/s", duration="60s", warmup="5s", workload={"keys": "zipf(s=1.0, n=2000)"})
    return simulate(spec, seed=1)


@pytest.fixture(scope="module")
def balanced():
    spec = scenario({"lb": {"kind": "load_balancer", "backend": "app", "policy": "round_robin", "weights": [3, 1]},
                     "app": service("exp(10ms)", replicas=2, workers=4),
                     "db": {"kind": "database", "connections": 8, "sharding": {"shards": 4, "strategy": "range"},
                            "operations": {"read": {"work": "exp(2ms)"}}}},
                    entry="lb", rate="100/s", duration="60s", warmup="5s")
    return simulate(spec, seed=1)


def test_plot_replicas_steps_follow_the_replica_counts(scaled):
    assert len(scaled.scaling_events) >= 2, "the spike should scale up and back down"
    fig = plot_replicas(scaled)
    top, bottom = fig.axes
    steps = [line for line in bottom.get_lines() if (line.get_label() or "").startswith("svc")]
    assert len(steps) == 1
    drawn = steps[0].get_ydata()
    expected = scaled.replicas_over_time("svc")["replicas"].to_numpy()
    assert np.array_equal(drawn[:-1], expected) and drawn[-1] == expected[-1]
    assert expected.max() > 2 and expected[0] == 2
    events = scaled.scaling_events
    assert _scaling_lines(bottom) == [f"scaling:svc:{e['current']}->{e['desired']}" for e in events
                                      if e["time"] < scaled.scenario.duration]
    assert "autoscaler decision" in [t.get_text() for t in top.get_legend().get_texts()]


def test_scaling_decisions_are_marked_on_the_time_series_charts(scaled):
    assert _scaling_lines(plot_latency(scaled).axes[0])
    assert all(_scaling_lines(ax) for ax in plot_throughput(scaled).axes[:2])


def test_hit_ratio_chart_matches_the_tallies(cached):
    fig = plot_hit_ratio(cached)
    ax = fig.axes[0]
    line = next(l for l in ax.get_lines() if l.get_label() == "cache: hit ratio")
    rows = cached.tally_timeseries_at()
    hits = rows[(rows["component"] == "cache") & (rows["name"] == "hits")]["count"].to_numpy()
    misses = rows[(rows["component"] == "cache") & (rows["name"] == "misses")]["count"].to_numpy()
    expected = 100.0 * hits / np.maximum(hits + misses, 1)
    n = min(len(expected), len(line.get_ydata()))
    assert np.allclose(line.get_ydata()[:n], expected[:n])
    assert line.get_ydata()[0] < line.get_ydata()[-1], "the cache starts cold"


def test_shares_bars_are_the_counted_shares(balanced):
    fig = plot_shares(balanced, "lb")
    bars = [p.get_height() for p in fig.axes[0].patches]
    counts = balanced.summary()["components"]["lb"]["counts"]
    sent = [counts["sent:0"], counts["sent:1"]]
    assert bars == pytest.approx([100 * v / sum(sent) for v in sent])
    assert sum(bars) == pytest.approx(100.0)
    assert bars[0] == pytest.approx(75.0, abs=0.5)  # weights 3:1, smooth round robin is exact


def test_topology_names_what_scaling_components_do():
    spec = scenario({"lb": {"kind": "load_balancer", "backend": "app", "policy": "maglev", "health_check": {}},
                     "app": service("1ms", replicas=2, steps=[{"call": "cache.read"}],
                                    autoscaling={"max_replicas": 8, "target": 0.5, "min_replicas": 2}),
                     "cache": {"kind": "cache", "origin": "db", "capacity": 1000, "policy": "tinylfu"},
                     "db": {"kind": "database", "read_replicas": 2, "sharding": {"shards": 4},
                            "operations": {"read": {"work": "1ms"}}}}, entry="lb")
    from simulator import call_graph

    graph = call_graph(spec)
    text = {n: " | ".join(t for t, _, _ in node_lines(spec, graph, n, None)) for n in spec.components}
    assert "maglev · health checks" in text["lb"]
    assert "tinylfu · 1,000 entries · cache-aside" in text["cache"]
    assert "4 shards (mod_n) · +2 read replicas" in text["db"]
    assert "autoscaled 2–8" in text["app"]
    plot_topology(spec)  # draws


def test_run_folder_gets_the_charts_the_run_has(tmp_path, scaled, cached, balanced):
    assert optional_charts(scaled) == ["replicas"]
    assert optional_charts(cached) == ["hit_ratio"]
    assert optional_charts(balanced) == []
    names = {p.name for p in write_run(balanced, tmp_path / "b", tables="csv")}
    assert {"shares-lb.png", "report.html"} <= names and "replicas.png" not in names
    names = {p.name for p in write_run(cached, tmp_path / "c", tables="csv")}
    assert "hit_ratio.png" in names
