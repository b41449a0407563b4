"""The scaling-week scenarios (scenarios/lb, scenarios/cache, scenarios/sharding and the One Piece
variants load-balanced, cached-character, sharded-trading).

* every file validates (the loader, ``sdsim validate``), names the schema and says how to run it;
* a shortened run of each shows its headline effect in the direction scenarios/SCALING.md
  reports, with margins wide enough that a change of seed does not flip it (these are
  direction checks, not snapshots of numbers): least_request beats round robin on a slow
  node, health checks raise availability after a crash, range sharding concentrates the
  hot keys, coalescing makes one origin load per expiry, and so on.

Heavier checks (several replications, longer runs) are marked ``slow``.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from simulator import check_scenario, load_scenario, simulate
from simulator.caching.theory import lru_hit_ratio, ttl_hit_ratio, zipf_popularity

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
FOLDERS = ("lb", "cache", "sharding")
ONEPIECE_VARIANTS = ("load-balanced.yaml", "cached-character.yaml", "sharded-trading.yaml")
FILES = sorted(p for folder in FOLDERS for p in (SCENARIOS / folder).glob("*.yaml")) + \
    [SCENARIOS / "onepiece" / name for name in ONEPIECE_VARIANTS]
EXPECTED = {
    "lb": {"policies.yaml", "heterogeneous.yaml", "replica-crash.yaml", "replica-crash-health.yaml",
           "lb-bottleneck.yaml", "autoscaling.yaml"},
    "cache": {"zipf-lru.yaml", "ttl.yaml", "stampede.yaml", "write-patterns.yaml"},
    "sharding": {"hot-shard.yaml", "scatter-gather.yaml", "read-replicas.yaml"},
}


def _id(path: Path) -> str:
    return str(path.relative_to(SCENARIOS))


def _run(path: Path, params=(), sets=(), seed=None):
    return simulate(load_scenario(path, params=list(params), sets=list(sets)), seed)


def _summary(path: Path, params=(), sets=(), seed=None) -> dict:
    return _run(path, params, sets, seed).summary()


def _during(result, lo: float, hi: float, operation: str | None = None) -> float:
    """Availability of the requests issued in [lo, hi) (of one operation, or all)."""
    mask = (result.t_issue >= lo) & (result.t_issue < hi)
    if operation is not None:
        mask &= result.operation == result.operation_names().index(operation)
    return float((result.status[mask] == 0).mean())


def _shares(counts: dict) -> list[float]:
    shards = sorted((int(k.split(":")[1]), v) for k, v in counts.items() if k.startswith(("shard:", "sent:")))
    total = sum(v for _, v in shards)
    return [v / total for _, v in shards]


# ----------------------------------------------------------------------------- files


def test_the_scaling_files_are_all_there():
    for folder, names in EXPECTED.items():
        assert names <= {p.name for p in (SCENARIOS / folder).glob("*.yaml")}, folder
    for name in ONEPIECE_VARIANTS:
        assert (SCENARIOS / "onepiece" / name).exists()
    assert (SCENARIOS / "SCALING.md").exists()


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_validates_without_warnings_and_says_how_to_run_it(path):
    _, warnings = check_scenario(path)
    assert warnings == []
    text = path.read_text()
    depth = len(path.relative_to(SCENARIOS).parts) - 1
    assert text.splitlines()[0] == f"# yaml-language-server: $schema={'../' * depth}scenario.schema.json"
    header = text.split("\nname:")[0]
    assert f"sdsim run scenarios/{_id(path)}" in header, "the header gives the exact command"
    assert "What to look at" in header and "Numbers" in header


def test_sdsim_validate_accepts_every_file():
    from typer.testing import CliRunner

    from simulator.cli import app

    out = CliRunner().invoke(app, ["validate", *map(str, FILES)])
    assert out.exit_code == 0, out.output


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_runs_shortened(path):
    spec = load_scenario(path, sets=["duration=1s", "warmup=0.2s"])
    summary = simulate(spec).summary()
    assert summary["requests"]["issued"] > 0


# ----------------------------------------------------------------------------- load balancing

LB = SCENARIOS / "lb"


def test_policies_order_on_identical_servers():
    """golden G3.1: random > round robin > power of two choices > join-shortest-queue (here at 60 s)."""
    mean = {p: _summary(LB / "policies.yaml", [f"policy={p}"], ["duration=45s", "warmup=8s"])["latency_s"]["mean"]
            for p in ("random", "round_robin", "least_request", "least_connections")}
    assert mean["random"] > 1.3 * mean["round_robin"] > 1.3 * 1.3 * mean["least_request"]
    assert mean["least_request"] > 1.2 * mean["least_connections"]
    assert 0.012 < mean["least_connections"] < 0.03  # theory about 19 ms (10 ms x 1.91)


def test_least_request_routes_around_the_slow_node():
    sets = ["duration=60s", "warmup=10s"]
    rr = _summary(LB / "heterogeneous.yaml", ["policy=round_robin"], sets)
    lr = _summary(LB / "heterogeneous.yaml", ["policy=least_request"], sets)
    assert lr["latency_s"]["mean"] < 0.7 * rr["latency_s"]["mean"]
    assert lr["latency_s"]["p99"] < 0.6 * rr["latency_s"]["p99"]
    assert _shares(rr["components"]["lb"]["counts"])[3] == pytest.approx(0.25, abs=0.005)
    assert _shares(lr["components"]["lb"]["counts"])[3] < 0.22


CRASH = ["duration=50s", "warmup=5s", "faults.0.at=15s", "faults.0.for=20s"]


def test_health_checking_raises_availability_after_a_crash():
    blind = _run(LB / "replica-crash.yaml", sets=CRASH)
    checked = _run(LB / "replica-crash-health.yaml", sets=CRASH)
    assert _during(blind, 15, 35) == pytest.approx(0.75, abs=0.03)  # 1 of 4 servers gets its share and fails
    assert _during(checked, 15, 35) > 0.995
    assert checked.summary()["availability"] > blind.summary()["availability"] + 0.05
    counts = checked.summary()["components"]["lb"]["counts"]
    assert counts["ejections"] >= 1 and counts["marked_unhealthy"] == 1


def test_the_balancer_is_the_bottleneck_with_one_nginx_worker():
    sets = ["duration=1.5s", "warmup=0.5s"]
    one = _summary(LB / "lb-bottleneck.yaml", (), sets)
    assert one["components"]["lb"]["utilization"] > 0.99
    assert one["components"]["app"]["utilization"] < 0.8
    assert one["goodput_rps"] == pytest.approx(1 / 0.03e-3, rel=0.03)  # 33,333 req/s
    assert one["availability"] < 0.97


@pytest.mark.slow
def test_a_second_nginx_worker_moves_the_bottleneck():
    two = _summary(LB / "lb-bottleneck.yaml", ["lb_workers=2"], ["duration=1.5s", "warmup=0.5s"])
    assert two["availability"] == 1.0
    assert two["components"]["lb"]["utilization"] < 0.6


SPIKE = ["duration=100s", "warmup=10s", "workload.0.profile.0.at=30s", "workload.0.profile.0.for=60s"]


def test_autoscaler_scales_up_the_spike_after_the_boot_delay():
    result = _run(LB / "autoscaling.yaml", sets=SPIKE)
    ups = [e for e in result.scaling_events if e["desired"] > e["current"]]
    assert ups and ups[0]["time"] <= 45  # the first sync period after the spike
    assert max(e["desired"] for e in ups) >= 5
    # 2 replicas' backlogs fill about 15 s into the spike; the first new replicas are ready 30 s
    # after the first decision: requests are refused in between, not after
    assert _during(result, 50, 70) < 0.95
    assert _during(result, 80, 90) > 0.999


@pytest.mark.slow
def test_a_faster_boot_loses_fewer_requests():
    slow = _run(LB / "autoscaling.yaml", ["boot=60s"], SPIKE)
    fast = _run(LB / "autoscaling.yaml", ["boot=5s"], SPIKE)
    assert _during(fast, 30, 90) > _during(slow, 30, 90) + 0.05
    assert _during(fast, 30, 90) > 0.95


# ----------------------------------------------------------------------------- caches

CACHE = SCENARIOS / "cache"


def _hit_ratio(summary, name="cache") -> float:
    return summary["components"][name]["hit_ratio"]


def test_lru_hit_ratio_follows_che():
    sets = ["duration=30s", "warmup=8s"]
    for capacity in (100, 1000):
        measured = _hit_ratio(_summary(CACHE / "zipf-lru.yaml", [f"capacity={capacity}"], sets))
        assert measured == pytest.approx(lru_hit_ratio(zipf_popularity(10000, 0.8), capacity), abs=0.01)


@pytest.mark.slow
def test_fifo_below_lru_below_tinylfu():
    sets = ["duration=60s", "warmup=20s"]
    hit = {p: _hit_ratio(_summary(CACHE / "zipf-lru.yaml", [f"policy={p}"], sets)) for p in ("fifo", "lru", "tinylfu")}
    assert hit["fifo"] < hit["lru"] < hit["tinylfu"]


def test_ttl_hit_ratios_and_staleness():
    sets = ["duration=50s", "warmup=15s"]
    after_write = _summary(CACHE / "ttl.yaml", (), sets)
    after_access = _summary(CACHE / "ttl.yaml", ["after_write=1000d", "after_access=10s"], sets)
    popularity = zipf_popularity(10000, 1.0)
    assert _hit_ratio(after_write) == pytest.approx(ttl_hit_ratio(popularity, 1000, 10, "write"), abs=0.015)
    assert _hit_ratio(after_access) == pytest.approx(ttl_hit_ratio(popularity, 1000, 10, "access"), abs=0.015)
    # expire-after-write bounds an entry's age; expire-after-access lets hot stale entries live on
    assert after_access["components"]["cache"]["stale_ratio"] > after_write["components"]["cache"]["stale_ratio"]


def test_coalescing_makes_one_origin_load_per_expiry():
    sets = ["duration=25s", "warmup=3s"]
    herd = _summary(CACHE / "stampede.yaml", ["coalesce=false"], sets)["components"]["cache"]["counts"]
    single = _summary(CACHE / "stampede.yaml", ["coalesce=true"], sets)["components"]["cache"]["counts"]
    assert single["expirations"] >= 1 and single["origin_loads"] == single["expirations"]
    assert herd["expirations"] >= 1
    assert 70 < herd["origin_loads"] / herd["expirations"] < 130  # about 1 + 500/s x 0.2 s


def test_write_patterns():
    sets = ["duration=30s", "warmup=8s", "faults.0.at=15s", "faults.0.for=5s"]
    runs = {p: _summary(CACHE / "write-patterns.yaml", [f"pattern={p}"], sets)
            for p in ("cache_aside", "write_through", "write_behind")}
    write_latency = {p: s["operations"]["write"]["latency_s"]["mean"] for p, s in runs.items()}
    counts = {p: s["components"]["cache"]["counts"] for p, s in runs.items()}
    assert write_latency["write_behind"] < 0.5 * write_latency["cache_aside"]
    assert _hit_ratio(runs["write_through"]) > _hit_ratio(runs["cache_aside"]) + 0.02  # invalidation costs hits
    assert counts["write_behind"]["writes_merged"] > 0
    assert counts["write_behind"]["origin_writes"] < counts["cache_aside"]["origin_writes"]
    assert counts["write_behind"]["lost_writes"] > 0  # pending when the cache died
    assert counts["cache_aside"]["lost_writes"] == counts["write_through"]["lost_writes"] == 0


# ----------------------------------------------------------------------------- sharding

SHARDING = SCENARIOS / "sharding"


def test_range_sharding_puts_the_hot_keys_on_one_shard():
    sets = ["duration=8s", "warmup=2s"]
    mod_n = _summary(SHARDING / "hot-shard.yaml", ["strategy=mod_n"], sets)
    ranged = _summary(SHARDING / "hot-shard.yaml", ["strategy=range"], sets)
    hottest = {n: max(_shares(s["components"]["trading-db"]["counts"])) for n, s in (("mod_n", mod_n), ("range", ranged))}
    assert hottest["range"] > 0.8 > 0.35 > hottest["mod_n"]
    assert mod_n["availability"] > 0.999
    assert ranged["availability"] < 0.8  # shard 0 is offered 1.9 x what it can serve


def test_scatter_gather_is_slower_than_a_keyed_query_and_grows_with_shards():
    sets = ["duration=12s", "warmup=3s"]
    p50 = {}
    for shards in (1, 8):
        ops = _summary(SHARDING / "scatter-gather.yaml", [f"shards={shards}"], sets)["operations"]
        p50[shards] = {op: v["latency_s"]["p50"] for op, v in ops.items()}
    assert p50[8]["search_by_trader"] > 1.5 * p50[8]["trades_of_character"]
    assert p50[8]["search_by_trader"] > p50[1]["search_by_trader"]


READS = ["duration=70s", "warmup=5s", "faults.0.at=20s", "faults.0.for=40s"]


def test_read_your_writes_violations_follow_the_lag():
    """golden G7.5: a read 50 ms after the write misses it with probability exp(-1) = 0.368."""
    summary = _summary(SHARDING / "read-replicas.yaml", (), READS)
    counts = summary["components"]["db"]["counts"]
    trades_ok = summary["operations"]["buy"]["issued"] * summary["operations"]["buy"]["availability"]
    assert counts["ryw_violations"] / trades_ok == pytest.approx(math.exp(-1), abs=0.06)
    primary = _summary(SHARDING / "read-replicas.yaml", ["read_from=primary"], READS)["components"]["db"]["counts"]
    assert primary["ryw_violations"] == primary["stale_reads"] == 0


def test_failover_shortens_the_write_outage():
    with_failover = _run(SHARDING / "read-replicas.yaml", sets=READS)
    without = _run(SHARDING / "read-replicas.yaml", sets=READS + ["components.db.failover=null"])
    assert with_failover.summary()["components"]["db"]["counts"]["failovers"] == 1
    assert _during(without, 20, 60, "buy") < 0.02  # writes fail for the whole crash
    assert _during(with_failover, 20, 60, "buy") > 0.15  # promoted after 20-35 s
    assert _during(with_failover, 20, 60, "view_holding") > 0.999  # reads never stop


# ----------------------------------------------------------------------------- One Piece variants

ONEPIECE = SCENARIOS / "onepiece"


def test_load_balanced_survives_a_server_crash():
    """The seed: "if server 1 dies, traffic goes to 2 & 3" (nginx's passive health check)."""
    sets = ["duration=40s", "warmup=5s", "workload.0.profile=[]",
            "faults=[{kind: crash, target: app, replicas: 1, at: 15s, for: 20s}]"]
    result = _run(ONEPIECE / "load-balanced.yaml", ["rate=300"], sets)
    assert _during(result, 15, 35) > 0.995
    assert result.summary()["components"]["nginx"]["counts"]["ejections"] >= 1


def test_cached_character_hit_ratio_and_database_relief():
    sets = ["duration=15s", "warmup=6s", "workload.0.profile=[]"]
    cached = _summary(ONEPIECE / "cached-character.yaml", ["rate=1000"], sets)
    plain = _summary(ONEPIECE / "microservices.yaml", ["rate=1000"], sets)
    hit = _hit_ratio(cached, "character-cache")
    assert hit == pytest.approx(lru_hit_ratio(zipf_popularity(5000, 0.8), 1000), abs=0.04)
    assert cached["availability"] == 1.0
    reads = {n: s["components"]["character-db"]["visits"] for n, s in (("cached", cached), ("plain", plain))}
    assert reads["cached"] < 0.8 * reads["plain"]


def test_sharded_trading_range_makes_a_hot_shard():
    sets = ["duration=10s", "warmup=2s"]
    hottest = {}
    for strategy in ("mod_n", "range"):
        counts = _summary(ONEPIECE / "sharded-trading.yaml", [f"strategy={strategy}"], sets)["components"]["trading-db"]["counts"]
        hottest[strategy] = max(_shares(counts))
    assert hottest["range"] > 0.75 > 0.38 > hottest["mod_n"]
