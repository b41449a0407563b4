"""Sweeps, comparisons and plans see what caches, shards and autoscalers measured, not only latency.

Specification: a sweep's run record has ``component.<name>.hit_ratio`` / ``stale_ratio`` /
``capacity_mean`` / ``keys_moved_adding_a_shard`` when the component reports them and
``component.<name>.count.<tally>`` for every tally, equal to the run's own summary; the
per-point aggregate averages them; the sweep table shows each cache's hit ratio; a
comparison adds per-component utilization and hit/stale ratios for the components both
designs have, with paired intervals.
"""

from __future__ import annotations

import pytest
from helpers import scenario, service

from simulator import simulate, sweep
from simulator.compare import compare
from simulator.experiments.report import sweep_renderable
from simulator.experiments.runs import RunSpec, record

CACHED = """# yaml-language-server: $schema=../scenarios/scenario.schema.json
name: cached
duration: 20s
warmup: 2s
params:
  capacity: {default: 100}
workload:
  - {name: w, entry: cache, operation: read, keys: "zipf(s=1.0, n=5000)", arrivals: {kind: poisson, rate: 500/s}}
components:
  cache: {kind: cache, origin: db, capacity: "${capacity}"}
  db: {kind: database, sharding: {shards: 2}, operations: {read: {work: exp(1ms)}}}
"""


def test_run_records_carry_component_ratios_and_counts(tmp_path):
    path = tmp_path / "cached.yaml"
    path.write_text(CACHED)
    result = sweep(path, {"capacity": [50, 500]}, replications=2, workers=1)
    rec = result.records[0]
    assert {"component.cache.hit_ratio", "component.cache.stale_ratio", "component.cache.count.hits",
            "component.db.count.shard:0", "component.db.keys_moved_adding_a_shard"} <= rec.keys()
    agg = result.aggregate().set_index("capacity")
    assert agg.loc[500, "component.cache.hit_ratio.mean"] > agg.loc[50, "component.cache.hit_ratio.mean"]
    text = str(sweep_renderable(result).columns[-1].header)
    assert text == "cache hit ratio (%)"


def test_a_record_equals_the_runs_summary():
    spec = scenario({"svc": service("1ms", steps=[{"call": "cache.read"}]),
                     "cache": {"kind": "cache", "origin": "db", "capacity": 20},
                     "db": {"kind": "database", "operations": {"read": {"work": "1ms"}}}},
                    rate="200/s", duration="10s", workload={"keys": "zipf(s=1.0, n=1000)"})
    result = simulate(spec, seed=3)
    summary = result.summary()["components"]["cache"]
    rec = record(RunSpec(scenario="inline", params=(), sets=(), seed=3, point=0, replication=0), result)
    assert rec["component.cache.hit_ratio"] == pytest.approx(summary["hit_ratio"])
    assert rec["component.cache.count.misses"] == summary["counts"]["misses"]


def test_comparisons_include_component_metrics_both_designs_have():
    def design(capacity):
        return scenario({"svc": service("1ms", steps=[{"call": "cache.read"}]),
                         "cache": {"kind": "cache", "origin": "db", "capacity": capacity},
                         "db": {"kind": "database", "operations": {"read": {"work": "1ms"}}}},
                        rate="300/s", duration="10s", warmup="1s", workload={"keys": "zipf(s=1.0, n=2000)"})

    rows = {r["metric"]: r for r in compare(design(20), design(400), replications=3).rows()}
    hit = rows["component.cache.hit_ratio"]
    assert hit["b"] > hit["a"] and hit["significant"] and hit["ci_low"] > 0
    assert "component.db.utilization" in rows and "component.svc.hit_ratio" not in rows
