"""The database component's scaling features through the engine: read replicas, failover,
connection pools and sharding, against closed forms (golden.md sections 4 and 7).

Expected values come from golden.md or from a formula written out in the test (placement
shares from :func:`simulator.balancing.shard_loads`, the keys-moved closed forms of
:mod:`simulator.theory`), never from the run under test. Where the estimates are sums of
independent Bernoulli draws (each request draws its own replication lag, its own key) the
binomial SE is used; otherwise independent replications as in tests/test_golden.py
(golden.md section 0). Every comparison lands in the end-of-run z-score table.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from bands import assert_binomial_within_3se, assert_replications_within_3se, record_row
from helpers import scenario, service
from simulator import simulate, theory
from simulator.balancing import make_strategy, shard_loads
from simulator.caching.theory import zipf_popularity
from simulator.core.request import ERROR, OK
from simulator.engine.build import build



# --- scenario pieces ------------------------------------------------------------------------

def database(read: Any = "0ms", write: Any = "0ms", **kw: Any) -> dict[str, Any]:
    ops = kw.pop("operations", {"read": {"work": read}, "write": {"work": write}})
    return {"kind": "database", "connections": 1000, "operations": ops, **kw}


def db_stats(result, name: str = "db") -> dict[str, Any]:
    return result.summary()["components"][name]


def run_counts(result, name: str = "db") -> dict[str, int]:
    """Every tally of *name* over the whole run (the summary's counts only cover the window)."""
    rec = result.components[name]
    counts = np.bincount(rec.tally_code.astype(np.int64), minlength=len(rec.tally_names))
    return {n: int(counts[i]) for i, n in enumerate(rec.tally_names)}


def requests_of(result, operation: str):
    frame = result.requests
    return frame[frame["operation"] == operation]


# --- G7.5 read-your-writes on an async replica ------------------------------------------------

def _write_wait_read(d_ms: int, read_from: str = "replicas", requests: int = 20_000):
    """Each request writes its own key, waits d (a service doing const(d) work), reads the key."""
    steps = [{"call": "db.write"}, {"call": "wait.op"}, {"call": "db.read"}]
    return scenario({"app": {"kind": "service", "workers": 1000, "operations": {"op": {"steps": steps}}},
                     "wait": service(f"const({d_ms}ms)", workers=1000),
                     "db": database(read_replicas=1, replication_lag="exp(50ms)", read_from=read_from)},
                    entry="app", rate="500/s", duration=f"{requests / 500:g}s",
                    workload={"keys": "uniform(n=1000000000)"})  # keys never repeat in practice


@pytest.mark.parametrize("d_ms, golden", [(50, 0.3679), (100, 0.1353)])
def test_read_your_writes_violations_on_an_async_replica(d_ms, golden, golden_zscores):
    """Replication lag ~ Exp(mean 50 ms); the client reads its key from the replica d after its
    write: the read misses its own write iff lag > d, P = e^{-d/50 ms} = 0.3679 (d = 50 ms) and
    0.1353 (d = 100 ms) (golden.md G7.5). Each request draws its own lag, so the 2·10^4 reads are
    independent Bernoulli trials: binomial SE. With distinct keys every stale read is a
    read-your-writes violation."""
    exact = math.exp(-d_ms / 50)
    assert exact == pytest.approx(golden, abs=5e-5)
    result = simulate(_write_wait_read(d_ms), seed=d_ms)
    c = db_stats(result)["counts"]
    assert c["replica_reads"] > 0.99 * result.summary()["requests"]["issued"]
    assert c["stale_reads"] == c["ryw_violations"]
    assert_binomial_within_3se(golden_zscores, c["ryw_violations"], c["replica_reads"], exact,
                               f"G7.5 RYW violations d={d_ms}ms")


def test_reads_from_the_primary_are_never_stale():
    """read_from: primary sends every read to the primary, which has every committed write: no
    replica read, no stale read, no violation (the same traffic from the replica has some)."""
    c = db_stats(simulate(_write_wait_read(50, "primary", 2000), seed=1))["counts"]
    assert (c["replica_reads"], c["stale_reads"], c["ryw_violations"]) == (0, 0, 0)
    c = db_stats(simulate(_write_wait_read(50, "replicas", 2000), seed=1))["counts"]
    assert c["replica_reads"] > 1900 and c["ryw_violations"] > 500


def test_two_read_replicas_share_the_reads():
    """read_replicas: 2, one connection per node, reads const(10 ms) at 150/s: round robin over
    the two replicas gives each exactly half the reads (within one) and the primary none. One
    node alone could serve at most 100/s; the component's utilization is lambda S / 3 nodes
    = 0.5 > 1/3, so two nodes were busy (and the queues stayed short: p99 wait < 50 ms)."""
    sc = scenario({"db": database(read="const(10ms)", connections=1, read_replicas=2,
                                  operations={"read": {"work": "const(10ms)"}})},
                  entry="db", operation="read", rate="150/s", duration="60s", warmup="5s")
    world = build(sc, 1)
    db = world.components["db"]
    db.station.metered = True  # per-node arrival counters (what an autoscaler reads)
    world.run()
    primary, *replicas = db.nodes
    assert primary.arrivals == 0
    assert abs(replicas[0].arrivals - replicas[1].arrivals) <= 1 and replicas[0].arrivals > 3000
    result = simulate(sc, seed=1)
    s, rec = db_stats(result), result.components["db"]
    assert run_counts(result)["replica_reads"] == (rec.status == OK).sum() == rec.status.size
    window = 55.0
    assert s["utilization"] == pytest.approx(s["visits"] * 0.010 / (3 * window), rel=0.01)
    assert s["utilization"] > 1 / 3 + 0.1
    assert s["wait_s"]["p99"] < 0.05


def test_write_behind_flushes_replicate_like_any_write():
    """A write-behind cache flushes to a database with one replica (lag const(1 s)); the client
    reads the key from the replica 0.4 s after the flush committed: it always misses the write
    (a stale read, and a read-your-writes violation: the flush carries the writer's request).
    With lag const(0.2 s) the replica has it: no stale read."""
    def run(lag):
        steps = [{"call": "cache.write"}, {"call": "wait.op"}, {"call": "db.read"}]
        sc = scenario({"app": {"kind": "service", "operations": {"op": {"steps": steps}}},
                       "wait": service("const(0.5s)"),
                       "cache": {"kind": "cache", "origin": "db", "capacity": 10, "pattern": "write_behind",
                                 "write_behind_delay": "0.1s"},
                       "db": database(read_replicas=1, replication_lag=f"const({lag})")},
                      entry="app", duration="20s", workload={"arrivals": {"kind": "closed", "users": 1},
                                                            "keys": "uniform(n=1000000)"})
        result = simulate(sc, seed=1)
        return result.t_issue.size, run_counts(result)

    n, c = run("1s")
    assert n > 30 and c["replica_reads"] == n
    assert c["stale_reads"] == c["ryw_violations"] == n
    n, c = run("0.2s")
    assert c["replica_reads"] == n and c["stale_reads"] == 0


# --- failover ---------------------------------------------------------------------------------

def _crash_primary(failover: bool, **fault: Any):
    spec = database(read="const(1ms)", write="const(1ms)", connections=10, read_replicas=1)
    if failover:
        spec["failover"] = {"promotion_delay": "const(10s)"}
    return scenario({"db": spec}, entry="db", operation=None, rate="200/s", duration="60s",
                    workload={"mix": {"read": 0.5, "write": 0.5}, "keys": "uniform(n=1000)"},
                    faults=[{"kind": "crash", "target": "db", "at": "10s", "for": "30s", "replicas": 1, **fault}])


def test_failover_promotes_the_replica_after_the_promotion_delay():
    """The primary crashes at 10 s for 30 s, failover promotion_delay const(10 s): writes fail
    from the crash until the replica is promoted at 20 s (those in flight at 10 s too), then
    succeed on the new primary, also after the old one returns (as a replica) at 40 s. Reads
    never fail: the replica serves them throughout. One failover."""
    result = simulate(_crash_primary(True), seed=1)
    writes, reads = requests_of(result, "write"), requests_of(result, "read")
    failed = writes[writes["status"] != "ok"]["t_issue"]
    assert failed.min() >= 10 - 0.001 and failed.max() < 20  # in flight at the crash: 1 ms of work
    assert failed.max() > 20 - 0.1 and failed.min() < 10 + 0.1  # the whole 10 s, not less
    during = writes[(writes["t_issue"] >= 10) & (writes["t_issue"] < 20)]
    assert len(during) > 800 and (during["status"] != "ok").all()
    assert (writes[writes["t_issue"] >= 20]["status"] == "ok").all()
    assert (reads["status"] == "ok").all()
    assert run_counts(result)["failovers"] == 1
    assert tuple(result.components["db"].tally_time[
        result.components["db"].tally_code == result.components["db"].tally_names.index("failovers")]) == (20.0,)


def test_without_failover_writes_fail_for_the_whole_crash():
    """No failover: writes fail from 10 s until the primary restarts at 40 s; reads go on."""
    result = simulate(_crash_primary(False), seed=1)
    writes, reads = requests_of(result, "write"), requests_of(result, "read")
    failed = writes[writes["status"] != "ok"]["t_issue"]
    assert failed.min() >= 10 - 0.001 and 40 - 0.1 < failed.max() < 40
    during = writes[(writes["t_issue"] >= 10) & (writes["t_issue"] < 40)]
    assert len(during) > 2500 and (during["status"] != "ok").all()
    assert (writes[writes["t_issue"] >= 40]["status"] == "ok").all()
    assert (reads["status"] == "ok").all()
    assert run_counts(result)["failovers"] == 0


def test_crashing_more_nodes_than_primaries_takes_replicas_next():
    """``replicas: 2`` on a one-shard database with one replica takes down the primary and then
    the replica (primaries first): reads fail during the crash too."""
    result = simulate(_crash_primary(False, replicas=2), seed=1)
    reads = requests_of(result, "read")
    during = reads[(reads["t_issue"] >= 10) & (reads["t_issue"] < 40)]
    assert len(during) > 2500 and (during["status"] != "ok").all()
    assert (reads[reads["t_issue"] >= 40]["status"] == "ok").all()


# --- connection pool --------------------------------------------------------------------------

def test_pool_running_dry_times_out_waiters():
    """connections 2, pool_timeout 50 ms, reads const(10 ms) offered at 400/s, twice the 200/s
    the pool can serve: a request that waits 50 ms for a connection fails (``pool_timeouts``).
    Every error is such a timeout: it ends exactly 50 ms after it arrived, at the time of a
    pool_timeouts tally. The pool serves at most 2 x window / 10 ms (+2), so errors >= issued
    minus that; nobody served waited longer than 50 ms."""
    sc = scenario({"db": database(connections=2, pool_timeout="50ms", operations={"read": {"work": "const(10ms)"}})},
                  entry="db", operation="read", rate="400/s", duration="22s", warmup="2s")
    result = simulate(sc, seed=1)
    rec = result.components["db"]
    errors = rec.status == ERROR
    timeouts = np.sort(rec.tally_time[rec.tally_code == rec.tally_names.index("pool_timeouts")])
    assert errors.sum() == timeouts.size > 1000
    assert np.allclose(rec.end[errors] - rec.arrival[errors], 0.05)
    assert np.allclose(np.sort(rec.end[errors]), timeouts)
    served = rec.status == OK
    assert np.all(rec.start[served] - rec.arrival[served] <= 0.05 + 1e-12)
    s = db_stats(result)
    assert abs(s["errors"] - s["counts"]["pool_timeouts"]) <= 0.01 * s["errors"]  # window edges only
    assert s["served"] <= 2 * 20.0 / 0.010 + 2
    assert s["errors"] >= s["visits"] - (2 * 20.0 / 0.010 + 2)


# --- sharding (golden.md section 4) ---------------------------------------------------------

N_KEYS = 10_000
ZIPF = zipf_popularity(N_KEYS, 1.0)


def _sharded(strategy: str, shards: int, requests: int = 20_000, **sharding: Any):
    return scenario({"db": database(sharding={"shards": shards, "strategy": strategy, **sharding})},
                    entry="db", operation="read", rate="10000/s", duration=f"{requests / 10000:g}s",
                    workload={"keys": f"zipf(s=1.0, n={N_KEYS})"})


def _shard_shares(result, shards: int) -> np.ndarray:
    c = db_stats(result)["counts"]
    counts = np.array([c[f"shard:{i}"] for i in range(shards)])
    assert counts.sum() == db_stats(result)["visits"]
    return counts


@pytest.mark.parametrize("strategy", ["mod_n", "range", "consistent", "jump", "maglev"])
def test_shard_tallies_match_placement_shares(strategy, golden_zscores):
    """4 shards, keys Zipf(1.0) over 10^4: each request's key is an independent draw, so the
    count routed to shard i is Binomial(n, share_i) with share_i = shard_loads(strategy, p).
    For range sharding the shares are written out: shard i holds ranks [2500 i, 2500 (i+1)),
    so shard 0 (sum of the top 2500 p's = 0.8584) is the hot one."""
    knobs = {"key_space": N_KEYS} if strategy == "range" else {}
    shares = shard_loads(make_strategy(strategy, 4, **knobs), ZIPF)
    if strategy == "range":
        quarter = N_KEYS // 4
        assert shares == pytest.approx([math.fsum(ZIPF[i * quarter:(i + 1) * quarter]) for i in range(4)])
    counts = _shard_shares(simulate(_sharded(strategy, 4), seed=3), 4)
    for i in range(4):
        if shares[i] < 0.02:
            continue  # range's cold shards (share ~0.03-0.05) are checked; nothing below 2 % here
        assert_binomial_within_3se(golden_zscores, int(counts[i]), int(counts.sum()), shares[i],
                                   f"{strategy} shard:{i} share")
    if strategy == "range":
        assert counts.argmax() == 0 and counts[0] / counts.sum() > 0.8


def test_mod_n_hot_shard_carries_at_least_the_hottest_key():
    """G4.5: Zipf(1.0) over 10^4 keys on 10 shards by hash: the hottest key alone is
    p_1 = 10.22 % of the traffic, so the shard holding it carries at least that — a bound no
    hash can beat (1.02 x the mean shard load)."""
    p1 = ZIPF[0]
    assert p1 == pytest.approx(0.1022, abs=5e-5)
    strategy = make_strategy("mod_n", 10)
    result = simulate(_sharded("mod_n", 10), seed=5)
    counts = _shard_shares(result, 10)
    share = counts / counts.sum()
    assert share.max() >= p1
    assert share[strategy.shard(0)] >= p1
    assert max(shard_loads(strategy, ZIPF)) >= p1


def test_scatter_with_constant_work_answers_after_that_constant():
    """A scatter query runs on all 4 shards at once and answers when the slowest has: with
    const(10 ms) per shard and no queueing, every query takes exactly 10 ms, and every shard
    sees every query."""
    sc = scenario({"db": database(operations={"search": {"work": "const(10ms)", "scatter": True}},
                                  sharding={"shards": 4})},
                  entry="db", operation="search", rate="100/s", duration="10s")
    result = simulate(sc, seed=1)
    lat = result.latencies(window=False)
    assert lat.size > 800 and np.allclose(lat, 0.010)
    s = db_stats(result)
    assert run_counts(result)["scatter_queries"] == result.t_issue.size
    assert s["visits"] == 4 * s["counts"]["scatter_queries"]


@pytest.mark.parametrize("shards", [4, pytest.param(8, marks=pytest.mark.slow)])
def test_scatter_latency_is_the_max_over_shards(shards, golden_zscores):
    """Scatter over S shards, each Exp(mean 10 ms) with no queueing: the latency is the max of S
    independent exponentials, mean H_S x 10 ms (H_4 = 2.0833, H_8 = 2.7179). R = 10 runs of 2000
    queries."""
    exact = 0.010 * sum(1 / k for k in range(1, shards + 1))
    sc = scenario({"db": database(operations={"search": {"work": "exp(10ms)", "scatter": True}},
                                  sharding={"shards": shards})},
                  entry="db", operation="search", rate="100/s", duration="22s", warmup="2s")
    values = [simulate(sc, seed=seed).summary()["latency_s"]["mean"] for seed in range(1, 11)]
    assert_replications_within_3se(golden_zscores, values, exact, f"scatter over {shards} shards, mean = H_S x 10ms")


KEYS_MOVED_SAMPLE = 100_000  # the fact is measured over min(key_space, 10^5) keys


@pytest.mark.parametrize("strategy", ["mod_n", "jump", "consistent", "maglev", "range"])
def test_keys_moved_adding_a_shard_fact(strategy, golden_zscores):
    """The fact ``keys_moved_adding_a_shard`` for 4 -> 5 shards, over 10^5 keys (golden.md G4.2):
    mod_n moves 1 - 4/lcm(4, 5) = 0.8 (S/(S+1)); jump moves 1/(S+1) = 0.2 (only the keys the
    new shard takes), both up to binomial noise over the 10^5 keys; a ring with 100 virtual
    nodes moves the new shard's ring share, 0.2 with CV sqrt(4/501) = 0.089 over layouts
    (G4.1); maglev 0.2 plus its extra disruption (< 1 %, G4.4); range moves exactly half
    (sum_i of the overlap of [i/4, (i+1)/4) and [i/5, (i+1)/5) is 1/2, for any S)."""
    sc = scenario({"db": database(sharding={"shards": 4, "strategy": strategy, "key_space": 10**6})},
                  entry="db", operation="read", duration="0.1s", workload={"keys": "uniform(n=1000000)"})
    moved = db_stats(simulate(sc, seed=1))["keys_moved_adding_a_shard"]
    n = KEYS_MOVED_SAMPLE
    if strategy == "mod_n":
        assert theory.mod_n_keys_moved(4, 5) == pytest.approx(4 / 5)
        assert_binomial_within_3se(golden_zscores, round(moved * n), n, 4 / 5, "keys moved 4->5 mod_n")
    elif strategy == "jump":
        assert theory.consistent_keys_moved(4, 5) == pytest.approx(1 / 5)
        assert_binomial_within_3se(golden_zscores, round(moved * n), n, 1 / 5, "keys moved 4->5 jump")
    elif strategy == "consistent":
        sd = math.hypot(theory.ring_share_cv(5, 100) / 5, math.sqrt(0.2 * 0.8 / n))
        z = record_row(golden_zscores, "keys moved 4->5 ring (v=100)", 1, moved, sd, 0.2)
        assert abs(z) <= 3, f"ring moved {moved:.4f}, expected 0.2 +- 3 x {sd:.4f}"
    elif strategy == "maglev":
        se = math.sqrt(0.2 * 0.8 / n)
        assert 0.2 - 3 * se <= moved <= 0.2 + 0.01 + 3 * se, moved
    else:
        assert moved == pytest.approx(0.5, abs=2 / n)


def test_staleness_is_per_table_and_needs_keys():
    """A write to one table does not make reads of another stale; without keys nothing is tracked."""
    def run(keys, read_table):
        spec = scenario({"svc": service("0ms", steps=[{"call": "db.insert_event"}, {"call": "db.read_character"}]),
                         "db": {"kind": "database", "connections": 100, "read_replicas": 1,
                                "replication_lag": "const(1s)",
                                "operations": {"insert_event": {"work": "0ms", "table": "events"},
                                               "read_character": {"work": "0ms", "table": read_table}}}},
                        rate="50/s", duration="20s", workload={"keys": keys} if keys else {})
        return simulate(spec, seed=1).summary()["components"]["db"]

    same = run("uniform(n=1000000)", "events")
    assert same["stale_ratio"] == 1.0  # read right after its own write, lag 1 s: always stale
    assert same["counts"]["ryw_violations"] == same["counts"]["stale_reads"] > 0
    other = run("uniform(n=1000000)", "characters")
    assert other["stale_ratio"] == 0.0 and other["counts"]["replica_reads"] > 0
    keyless = run(None, "events")
    assert "stale_ratio" not in keyless and keyless["counts"]["stale_reads"] == 0
    assert keyless["staleness"] == "not tracked: no workload has keys"
