"""The cache component (``kind: cache``) through the engine, against closed forms (golden.md section 6).

The replacement policies alone are tested in tests/test_cache_policies.py; here requests
flow client -> (service ->) cache -> origin database, so what is checked is the wiring:
look-ups per request key, fills after origin loads, expiry in simulated time, coalescing,
write patterns, version-based staleness, crashes, and the tallies the summary reports.

Every expected value comes from golden.md or from a formula written out in the test
(using :mod:`simulator.caching.theory` for the G6 closed forms), never from the code under
test. Stochastic checks follow tests/test_golden.py (golden.md section 0): R independent
replications (seeds 1..R), the grand mean within 3 SE of the exact value and SE below 5 %
of it; where the counts are independent Bernoulli/Poisson draws the known binomial or
Poisson SE is used instead. Every comparison lands in the end-of-run z-score table.

Unless a test says otherwise, origin work is zero, so a miss fills its entry at the instant
it happens: the cache then behaves exactly like the pure policy fed the same key stream,
which is the model the closed forms assume.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from bands import assert_known_se, assert_replications_within_3se
from helpers import scenario, service
from simulator import simulate
from simulator.caching.theory import (
    fifo_hit_ratio,
    lfu_hit_ratio,
    lru_hit_ratio,
    ttl_hit_ratio,
    zipf_popularity,
)
from simulator.core.request import OK



# --- scenario pieces ------------------------------------------------------------------------

def origin(read: Any = "0ms", write: Any = "0ms", **kw: Any) -> dict[str, Any]:
    """The origin database; connections enough that loads never queue (their time is the work)."""
    return {"kind": "database", "connections": 1000,
            "operations": {"read": {"work": read}, "write": {"work": write}}, **kw}


def cache(**kw: Any) -> dict[str, Any]:
    return {"kind": "cache", "origin": "db", "capacity": 100, **kw}


def stats(result, name: str = "cache") -> dict[str, Any]:
    return result.summary()["components"][name]


def run_counts(result, name: str = "cache") -> dict[str, int]:
    """Every tally of *name* over the whole run (the summary's counts only cover the window)."""
    rec = result.components[name]
    counts = np.bincount(rec.tally_code.astype(np.int64), minlength=len(rec.tally_names))
    return {n: int(counts[i]) for i, n in enumerate(rec.tally_names)}


def tally_times(result, tally: str, name: str = "cache") -> np.ndarray:
    rec = result.components[name]
    return np.sort(rec.tally_time[rec.tally_code == rec.tally_names.index(tally)])


def replications(sc, R: int, metric, first_seed: int = 1) -> list[float]:
    """One estimate per run with seeds first_seed.. (comparisons that share a key stream get
    their own seed block, so the rows of the z table are independent checks)."""
    return [metric(simulate(sc, seed=seed)) for seed in range(first_seed, first_seed + R)]


def cache_entry(components, keys: str | None, **kw) -> Any:
    """A scenario whose clients call ``cache.read`` directly (cheaper than through a service)."""
    workload = {"keys": keys} if keys else {}
    workload.update(kw.pop("workload", {}))
    return scenario(components, entry="cache", operation="read", workload=workload, **kw)


# --- G6.1 Che's approximation through the engine -------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("policy, closed_form, golden, first_seed", [
    pytest.param("lru", lru_hit_ratio, 0.3905, 1, id="lru-che"),
    pytest.param("fifo", fifo_hit_ratio, 0.3423, 11, id="fifo-approx"),
])
def test_irm_hit_ratio_through_a_service_matches_g61(policy, closed_form, golden, first_seed, golden_zscores):
    """A service calls ``cache.read`` for keys ~ Zipf(s=1.0, n=10^4), capacity 100: the hit
    ratio is Che's 0.3905 for LRU and the FIFO/RANDOM approximation 0.3423 for FIFO (golden.md
    G6.1; both within 0.0005 of exact simulation there, well inside this band). 10^4 requests
    of warm-up (70 characteristic times T_C = 141 requests) exclude the cold start; R = 10 runs
    of 3·10^4 measured requests each."""
    exact = closed_form(zipf_popularity(10_000, 1.0), 100)
    assert exact == pytest.approx(golden, abs=5e-5)
    sc = scenario({"svc": service("0ms", steps=[{"call": "cache.read"}]), "cache": cache(policy=policy),
                   "db": origin()},
                  rate="10000/s", duration="4s", warmup="1s", workload={"keys": "zipf(s=1.0, n=10000)"})
    values = replications(sc, 10, lambda r: stats(r)["hit_ratio"], first_seed)
    assert_replications_within_3se(golden_zscores, values, exact, f"G6.1 engine {policy} Zipf(1.0) C=100")


def test_policy_ordering_on_zipf_0_8_and_tinylfu_beats_lru():
    """Zipf(0.8) over 10^4 keys, capacity 100, the same request stream for every policy (common
    random numbers): hit(FIFO) < hit(LRU) < hit(W-TinyLFU) <= hit(top-C LFU) + 0.01 (golden.md
    G6.1 property; Che-LRU 0.1566, FIFO 0.1336, top-C 0.3000). The LRU run also sits near Che
    (3 binomial SE + 0.002 for autocorrelation: a sanity check, the strict band is the slow test)."""
    popularity = zipf_popularity(10_000, 0.8)
    hit = {}
    for policy in ("fifo", "lru", "tinylfu"):
        sc = cache_entry({"cache": cache(policy=policy), "db": origin()}, "zipf(s=0.8, n=10000)",
                         rate="10000/s", duration="3s", warmup="0.5s")
        s = stats(simulate(sc, seed=7))
        hit[policy] = s["hit_ratio"]
        if policy == "lru":
            n = s["counts"]["hits"] + s["counts"]["misses"]
    che = lru_hit_ratio(popularity, 100)
    assert abs(hit["lru"] - che) <= 3 * math.sqrt(che * (1 - che) / n) + 0.002, hit
    assert hit["fifo"] < hit["lru"] < hit["tinylfu"] <= lfu_hit_ratio(popularity, 100) + 0.01, hit
    assert hit["tinylfu"] - hit["lru"] > 0.05, hit  # not a photo finish: admission is worth ~+0.12 here


def test_tinylfu_admission_rejects_candidates():
    """W-TinyLFU on Zipf(0.8) refuses one-hit wonders at admission: ``rejections`` > 0, and every
    refusal is also an eviction (Caffeine counts the refused candidate as evicted)."""
    sc = cache_entry({"cache": cache(policy="tinylfu"), "db": origin()}, "zipf(s=0.8, n=10000)",
                     rate="10000/s", duration="1s")
    counts = stats(simulate(sc, seed=1))["counts"]
    assert 0 < counts["rejections"] <= counts["evictions"], counts


# --- cold start -------------------------------------------------------------------------------

def test_cold_start_hit_ratio_rises_from_zero(golden_zscores):
    """An empty LRU cache of 10^3 entries under Zipf(1.0) over 10^4 keys at 1000 req/s. While no
    entry has been evicted (fewer than 10^3 distinct keys seen: E = 705 by t = 1.5 s), a request
    misses iff it is the first for its key, so with per-key Poisson rates lambda_i = 1000 p_i the
    misses in [a, b) have mean sum_i (e^{-lambda_i a} - e^{-lambda_i b}) exactly: 290.8, 220.7,
    194.3 in the three half-seconds, hit ratios 0.418 -> 0.559 -> 0.611 rising towards the
    steady 0.6756 (G6.1). Checked on the tally_timeseries_at rows over R = 20 runs; the very first
    look-up is a miss (the series starts at 0)."""
    popularity = np.array(zipf_popularity(10_000, 1.0))
    rates = 1000.0 * popularity
    sc = cache_entry({"cache": cache(capacity=1000), "db": origin()}, "zipf(s=1.0, n=10000)",
                     rate="1000/s", duration="1.5s")
    misses, ratios = [], []
    for seed in range(1, 21):
        result = simulate(sc, seed=seed)
        ts = result.tally_timeseries_at(interval=0.5, until=1.5)
        ts = ts[ts["component"] == "cache"]
        misses.append(ts[ts["name"] == "misses"]["count"].to_numpy())
        ratios.append(ts[ts["name"] == "hit_ratio"]["value"].to_numpy())
        hit_times, miss_times = tally_times(result, "hits"), tally_times(result, "misses")
        assert miss_times[0] < hit_times[0]
        assert run_counts(result)["evictions"] == 0  # the no-eviction premise of the formula
    misses, ratios = np.array(misses), np.array(ratios)
    for j, (a, b) in enumerate(((0.0, 0.5), (0.5, 1.0), (1.0, 1.5))):
        exact = float(np.sum(np.exp(-rates * a) - np.exp(-rates * b)))
        assert_replications_within_3se(golden_zscores, misses[:, j], exact, f"cold start misses in [{a}, {b})")
    mean_ratio = ratios.mean(axis=0)
    assert 0 < mean_ratio[0] < mean_ratio[1] < mean_ratio[2] < 0.6756, mean_ratio


# --- G6.2 TTL caches --------------------------------------------------------------------------

@pytest.mark.parametrize("mode, ttl, first_seed", [("write", 0.02, 1), ("access", 0.01, 11)])
def test_ttl_aggregate_hit_ratio(mode, ttl, first_seed, golden_zscores):
    """Capacity 200 >= 100 keys (no capacity eviction), Zipf(1.0) keys, Lambda = 1000 req/s:
    expire_after_write T = 20 ms gives sum_i p_i x_i/(1+x_i) = 0.3881 and expire_after_access
    T = 10 ms gives sum_i p_i (1 - e^{-x_i}) = 0.3438, with x_i = Lambda p_i T (golden.md G6.2;
    caching.theory.ttl_hit_ratio). R = 10 runs of 6000 measured requests after 1 s."""
    exact = ttl_hit_ratio(zipf_popularity(100, 1.0), 1000.0, ttl, mode)
    sc = cache_entry({"cache": cache(capacity=200, **{f"expire_after_{mode}": ttl}), "db": origin()},
                     "zipf(s=1.0, n=100)", rate="1000/s", duration="7s", warmup="1s")

    def metric(result):
        s = stats(result)
        assert s["counts"]["evictions"] == 0 and s["counts"]["expirations"] > 0
        return s["hit_ratio"]

    values = replications(sc, 10, metric, first_seed)
    assert_replications_within_3se(golden_zscores, values, exact, f"G6.2 TTL after {mode} T={ttl}s aggregate")


# --- G6.3 stampede and coalescing ---------------------------------------------------------

RATE, LOAD = 500.0, 0.2  # golden.md G6.3: 500 req/s for the hot key, a 200 ms origin load


def _stampede(**cache_kw):
    """One hot key (no ``keys``: every request is key 0), expire_after_write 1 s, const 200 ms loads."""
    return cache_entry({"cache": cache(capacity=10, expire_after_write="1s", **cache_kw),
                        "db": origin(read="const(200ms)")}, None, rate=f"{RATE:g}/s", duration="30s")


def _loads_per_expiry(result) -> np.ndarray:
    """Origin loads between consecutive expirations (complete cycles only)."""
    expiries, loads = tally_times(result, "expirations"), tally_times(result, "origin_loads")
    assert len(expiries) >= 15
    return np.histogram(loads, np.concatenate([expiries, [np.inf]]))[0][:-1]


def test_stampede_without_coalescing(golden_zscores):
    """The hot key expires under 500 req/s and the load takes 200 ms: the first miss and every
    request arriving before its load returns each load the key. Under Poisson arrivals that is
    1 + Poisson(lambda L) loads per expiry, mean 1 + 100 = 101 (golden.md G6.3 gives ~100 for
    evenly spaced arrivals). One window holding exactly one expiry: within 101 +- 3 sqrt(100);
    the mean over every complete expiry cycle of the run: within 3 sqrt(100/k)."""
    result = simulate(_stampede(), seed=1)
    s = stats(simulate(_stampede().model_copy(update={"warmup": 1.0, "duration": 2.3}), seed=1))
    assert s["counts"]["expirations"] == 1  # the window [1 s, 2.3 s) holds the second expiry only
    expected = 1 + RATE * LOAD
    # one Poisson count: its SE is 10 % of the mean, the band the brief asks for (the tight
    # check is the mean over cycles below)
    assert_known_se(golden_zscores, s["counts"]["origin_loads"], math.sqrt(RATE * LOAD), expected,
                    "G6.3 stampede loads, one expiry", max_rel_se=0.11)
    per = _loads_per_expiry(result)
    assert_known_se(golden_zscores, float(per.mean()), math.sqrt(RATE * LOAD / per.size), expected,
                    f"G6.3 stampede loads per expiry, mean of {per.size}")
    assert run_counts(result)["coalesced"] == 0


@pytest.mark.parametrize("cache_kw", [{"coalesce": True}, {"pattern": "read_through"}],
                         ids=["coalesce", "read_through"])
def test_stampede_with_coalescing_loads_exactly_once(cache_kw):
    """Same hot key with request coalescing (single flight): exactly 1 origin load per expiry
    (golden.md G6.3), every other miss during the load waits for it (``coalesced``) and is
    answered when it lands."""
    result = simulate(_stampede(**cache_kw), seed=1)
    assert set(_loads_per_expiry(result)) == {1}
    s = stats(simulate(_stampede(**cache_kw).model_copy(update={"warmup": 1.0, "duration": 2.3}), seed=1))
    assert s["counts"]["expirations"] == 1 and s["counts"]["origin_loads"] == 1
    counts = run_counts(result)
    assert counts["origin_loads"] == counts["expirations"] + 1  # + the cold start
    assert counts["coalesced"] == counts["misses"] - counts["origin_loads"] > 50 * counts["origin_loads"]
    assert np.all(result.status == OK)
    # a coalesced miss returns when the shared load does: no request takes longer than one load
    assert result.latencies().max() == pytest.approx(LOAD)


# --- write patterns ---------------------------------------------------------------------------

def _sequential(steps, **cache_kw):
    """One closed-loop user running an operation of *steps* on key 0, one request at a time."""
    return scenario({"app": {"kind": "service", "operations": {"op": {"steps": steps}}},
                     "cache": cache(**cache_kw), "db": origin(read="2ms", write="3ms")},
                    entry="app", duration="2s", workload={"arrivals": {"kind": "closed", "users": 1, "think": "10ms"}})


READ_WRITE_READ = [{"call": "cache.read"}, {"call": "cache.write"}, {"call": "cache.read"}]


def test_cache_aside_write_invalidates():
    """cache_aside, N sequential operations read-write-read of one key: the write goes to the
    origin and deletes the entry, so the read after it always misses and reloads. Exactly:
    misses = origin loads = N + 1 (the very first read too), hits = N - 1, writes = origin
    writes = N, stale reads 0."""
    result = simulate(_sequential(READ_WRITE_READ), seed=1)
    n = result.t_issue.size
    c = run_counts(result)
    assert n > 50 and np.all(result.status == OK)
    assert (c["misses"], c["origin_loads"], c["hits"]) == (n + 1, n + 1, n - 1)
    assert (c["writes"], c["origin_writes"], c["stale_reads"]) == (n, n, 0)
    assert run_counts(result, "db")["stale_reads"] == 0
    assert stats(result, "db")["writes"] == n


def test_write_through_keeps_the_entry_fresh():
    """write_through, the same read-write-read operations: the write updates the entry after the
    origin write, so only the very first read misses: misses = 1, hits = 2N - 1, stale 0."""
    result = simulate(_sequential(READ_WRITE_READ, pattern="write_through"), seed=1)
    n = result.t_issue.size
    c = run_counts(result)
    assert n > 50 and np.all(result.status == OK)
    assert (c["misses"], c["hits"], c["origin_writes"], c["stale_reads"]) == (1, 2 * n - 1, n, 0)


def test_writes_bypassing_the_cache_are_stale_reads():
    """The service writes the database directly (read, db.write, read) and there is no TTL:
    the entry filled by the very first read is never refreshed, so every later read hits it
    and every hit is stale: misses = 1, hits = stale reads = 2N - 1. Without the write: none."""
    bypass = [{"call": "cache.read"}, {"call": "db.write"}, {"call": "cache.read"}]
    result = simulate(_sequential(bypass), seed=1)
    n, c = result.t_issue.size, run_counts(result)
    assert n > 50 and np.all(result.status == OK)
    assert (c["misses"], c["hits"], c["stale_reads"], c["origin_writes"]) == (1, 2 * n - 1, 2 * n - 1, 0)
    assert stats(result)["stale_ratio"] == 1.0
    result = simulate(_sequential([{"call": "cache.read"}, {"call": "cache.read"}]), seed=1)
    n, c = result.t_issue.size, run_counts(result)
    assert (c["misses"], c["hits"], c["stale_reads"]) == (1, 2 * n - 1, 0)


def _bypass(mix):
    """Reads through a cache with expire_after_write 1 s; writes straight to the database."""
    return scenario({"app": {"kind": "service", "operations": {"get": {"steps": [{"call": "cache.read"}]},
                                                               "put": {"steps": [{"call": "db.write"}]}}},
                     "cache": cache(expire_after_write="1s"), "db": origin()},
                    entry="app", rate="250/s", duration="23s", warmup="3s", operation=None,
                    workload={"mix": mix, "keys": "uniform(n=50)"})


def test_bypass_writes_with_ttl_make_stale_reads():
    """With a TTL the entry is refreshed by expiry only, so writes that bypass the cache make
    stale hits (``stale_reads`` > 0); the same reads without those writes: none."""
    s = stats(simulate(_bypass({"get": 0.8, "put": 0.2}), seed=1))
    assert s["counts"]["stale_reads"] > 1000 and s["counts"]["expirations"] > 0
    s = stats(simulate(_bypass({"get": 1.0}), seed=1))
    assert s["counts"]["hits"] > 1000 and s["counts"]["stale_reads"] == 0


@pytest.mark.slow
def test_bypass_writes_with_ttl_stale_ratio(golden_zscores):
    """Reads through a cache with expire_after_write T = 1 s, writes straight to the database
    at w = 1/s per key (50 uniform keys, 200 reads/s + 50 writes/s). Per key, a miss at time 0
    fills the current version and hits follow for T; a hit at u is stale iff a write fell in
    (0, u), probability 1 - e^{-wu}. By renewal-reward, stale/hits = 1 - (1 - e^{-wT})/(wT)
    = e^{-1} = 0.3679 at wT = 1, whatever the read rate. R = 20 (a cycle's stale share is
    very variable: one run's ratio has a 1-1.2 % relative SD)."""
    exact = 1 - (1 - math.exp(-1.0)) / 1.0
    values = replications(_bypass({"get": 0.8, "put": 0.2}), 20, lambda r: stats(r)["stale_ratio"])
    assert_replications_within_3se(golden_zscores, values, exact, "bypass writes + TTL stale ratio (wT=1)")


def test_write_behind_acknowledges_at_once():
    """Cache work const(1 ms), origin write const(50 ms), distinct keys (no merging): a
    write_behind write answers after the cache's own 1 ms and reaches the origin
    write_behind_delay = 0.5 s after it was acknowledged; write_through answers after 51 ms."""
    def run(pattern):
        sc = scenario({"app": {"kind": "service", "workers": 100,
                               "operations": {"op": {"steps": [{"call": "cache.write"}]}}},
                       "cache": cache(pattern=pattern, work="const(1ms)", workers=100, write_behind_delay="0.5s"),
                       "db": origin(write="const(50ms)")},
                      entry="app", rate="20/s", duration="10s", workload={"keys": "uniform(n=1000000000)"})
        return simulate(sc, seed=1)

    behind = run("write_behind")
    latencies = behind.latencies(window=False)
    assert latencies.size > 100 and np.allclose(latencies, 0.001)
    db_arrivals = np.sort(behind.components["db"].arrival)
    due = np.sort(behind.t_issue) + 0.001 + 0.5
    due = due[due < behind.end_time]  # flushes due after the run ended never fire
    assert due.size > 100 and np.allclose(db_arrivals, due)
    assert run_counts(behind)["writes_merged"] == 0
    assert np.allclose(run("write_through").latencies(window=False), 0.051)


def test_write_behind_merges_writes_within_the_delay(golden_zscores):
    """write_behind with delay D = 0.5 s, writes to 20 uniform keys at 40/s (mu = 2/s per key,
    mu D = 1). Per key: a write with nothing pending schedules a flush D later; the Poisson(mu D)
    writes before it fires are merged into it. By renewal-reward writes_merged / writes =
    mu D / (1 + mu D) = 1/2 — the expire-after-write formula (a flush window is a TTL window),
    so caching.theory.ttl_hit_ratio gives it. Writes stop at 30 s, so by the end every flush
    has fired: writes - writes_merged = origin_writes = database writes, exactly."""
    keys = 20
    exact = ttl_hit_ratio([1.0 / keys] * keys, 40.0, 0.5, "write")
    assert exact == pytest.approx(0.5)
    sc = scenario({"cache": cache(pattern="write_behind", write_behind_delay="0.5s"), "db": origin()},
                  entry="cache", operation="write", rate="40/s", duration="32s", warmup="2s",
                  workload={"keys": f"uniform(n={keys})", "profile": [{"at": "30s", "rate": 0}]})

    def metric(result):
        c = run_counts(result)
        assert c["writes"] - c["writes_merged"] == c["origin_writes"] == result.components["db"].arrival.size
        w = stats(result)["counts"]
        return w["writes_merged"] / w["writes"]

    values = replications(sc, 10, metric)
    assert_replications_within_3se(golden_zscores, values, exact, "write-behind merged share (mu D = 1)")


def test_write_behind_crash_loses_pending_writes_and_restarts_cold(golden_zscores):
    """write_behind, D = 1 s, 100 uniform keys, 100 reads/s + 100 writes/s (1 write/s per key),
    the cache crashes at 30 s for 5 s; writes stop at 45 s so every flush has fired by the end.
    * A key is pending a fraction mu D/(1 + mu D) = 1/2 of the time, so the crash loses
      E[lost_writes] = 100 · 1/2 = 50 writes (R = 10 runs).
    * Conservation, exactly: writes - writes_merged = origin_writes + lost_writes, and every
      origin write is a database write.
    * Before the crash every key is cached (hit ratio 1 in [25 s, 30 s)); the restarted cache
      is empty: its first look-up misses, and a read of key i at u after the restart hits iff
      key i was read or written in [35 s, u): with r = 1/s reads and a = 2/s requests per key,
      E[hits in [35 s, 36 s)] = 100 · (1 - (1 - e^{-2})/2) = 56.77 (the tally_timeseries_at row)."""
    sc = scenario({"cache": cache(pattern="write_behind", write_behind_delay="1s"), "db": origin()},
                  entry="cache", operation=None, rate="200/s", duration="50s",
                  workload={"mix": {"read": 0.5, "write": 0.5}, "keys": "uniform(n=100)",
                            "profile": [{"at": "45s", "rate": 0}]},
                  faults=[{"kind": "crash", "target": "cache", "at": "30s", "for": "5s"}])
    lost, hits_after = [], []
    for seed in range(1, 11):
        result = simulate(sc, seed=seed)
        c = run_counts(result)
        assert c["writes"] - c["writes_merged"] == c["origin_writes"] + c["lost_writes"]
        assert stats(result, "db")["writes"] == c["origin_writes"]
        assert np.all(tally_times(result, "lost_writes") == 30.0)
        lost.append(c["lost_writes"])
        ts = result.tally_timeseries_at(interval=1.0)
        ts = ts[ts["component"] == "cache"].set_index(["name", "time"])
        assert all(ts.loc[("hit_ratio", float(t)), "value"] == 1.0 for t in range(25, 30))
        hits_after.append(ts.loc[("hits", 35.0), "count"])
        after = 35.0
        hit_times = tally_times(result, "hits")
        miss_times = tally_times(result, "misses")
        assert miss_times[miss_times >= after][0] < hit_times[hit_times >= after][0]
    assert_replications_within_3se(golden_zscores, lost, 100 * 0.5, "write-behind writes lost in a crash")
    exact_hits = 100 * (1 - (1 - math.exp(-2.0)) / 2)
    assert_replications_within_3se(golden_zscores, hits_after, exact_hits, "hits in the 1st s after a cold restart")


def test_write_behind_flush_scheduled_before_a_crash_does_not_flush_later_writes():
    """One key, writes every 0.3 s, write_behind_delay 1 s; the cache crashes in [0.4 s, 0.5 s),
    losing the 0.3 s write. The write at 0.6 s opens a new flush window: it (merged with the
    0.9, 1.2 and 1.5 s writes) reaches the origin at 1.6 s, not when the dead pre-crash flush
    would have fired (1.3 s)."""
    sc = scenario({"cache": cache(pattern="write_behind", write_behind_delay="1s"), "db": origin()},
                  entry="cache", operation="write", duration="2s",
                  workload={"arrivals": {"kind": "closed", "users": 1, "think": "0.3s"}},
                  faults=[{"kind": "crash", "target": "cache", "at": "0.4s", "for": "0.1s"}])
    result = simulate(sc, seed=1)
    assert run_counts(result)["lost_writes"] == 1
    flushes = np.sort(result.components["db"].arrival)
    assert flushes[0] == pytest.approx(1.6)
    assert tally_times(result, "writes_merged") == pytest.approx([0.9, 1.2, 1.5])


def test_a_dirty_write_behind_entry_evicted_before_its_flush_reloads_stale_data():
    """Capacity 1, write_behind_delay 10 s: write key 0 at 0.6 s; read key 1 at 0.7 s (evicts the
    dirty key 0); read key 0 at 0.9 s misses and loads from the origin, which has not received the
    write yet; the hit on key 0 at 1.2 s therefore serves stale data (counted). Key 1, read again
    at 1.3 s, was evicted by that load: a miss. Without the write, the same script has no stale read."""
    from simulator.engine.build import build
    from simulator.core.request import Request

    sc = cache_entry({"cache": cache(capacity=1, pattern="write_behind", write_behind_delay="10s"),
                      "db": origin()}, "uniform(n=2)", rate="0.001/s", duration="5s")
    world = build(sc, seed=1)
    component = world.components["cache"]
    read, write = component.operation("read"), component.operation("write")
    env = world.env
    script = [(0.6, write, 0), (0.7, read, 1), (0.9, read, 0), (1.2, read, 0), (1.3, read, 1)]

    def client(at, op, key, i):
        yield env.timeout(at)
        yield from component.handle(op, Request(1000 + i, env.now, 0, 0, key))

    for i, (at, op, key) in enumerate(script):
        env.process(client(at, op, key, i))
    env.run(until=2.0)
    counts = {name: 0 for name in component.log.tally_names}
    rows = component.log.tallies
    for j in range(0, len(rows), 2):
        counts[component.log.tally_names[int(rows[j + 1])]] += 1
    assert (counts["hits"], counts["misses"], counts["stale_reads"]) == (1, 3, 1), counts
    assert counts["writes"] == 1 and counts["origin_writes"] == 0  # the flush is due only at 10.6 s


def test_write_behind_flushes_that_the_origin_fails_count_as_lost_writes():
    """The origin is down for the whole run: every write-behind write is acknowledged (ok), and
    every flush fails, so each distinct flushed write is a lost write; nothing reaches the origin."""
    sc = scenario({"cache": cache(pattern="write_behind", write_behind_delay="0.1s"), "db": origin()},
                  entry="cache", operation="write", rate="20/s", duration="10s",
                  workload={"keys": "uniform(n=100000)"},
                  faults=[{"kind": "crash", "target": "db", "at": "0s", "for": "20s"}])
    result = simulate(sc, seed=4)
    counts = run_counts(result)
    assert result.summary()["availability"] == 1.0  # acknowledged at once
    flushed = counts["origin_writes"]
    unflushed_at_end = counts["writes"] - counts["writes_merged"] - flushed  # the last 0.1 s of writes
    assert flushed > 100 and 0 <= unflushed_at_end <= 10
    assert counts["lost_writes"] == flushed
    assert stats(result, "db")["served"] == 0
