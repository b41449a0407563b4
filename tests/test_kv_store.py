"""The replicated key-value store (``kind: kv_store``) against golden.md §7 and §10.

Golden numbers are copied here with their source (the course's reference sheet, golden.md):
golden G10.1 — N = 5 split 3 | 2, clients 60 % / 40 %: CP serves the majority side only
(60 % of the requests, 100 % left, 0 % right, no stale read), AP serves 100 % and reads on
the minority side are stale; after the heal one version per key survives everywhere (LWW).
Golden G7.3 — Raft commits after the (q−1)-th fastest follower round trip: N = 5 with
follower RTTs {1, 2, 5, 50} ms → 2 ms, N = 3 with {1, 50} ms → 1 ms. Golden G7.4 — after a
leader crash no new leader commits before ``election_timeout − heartbeat_interval``; the gap
is at most 2·election_timeout plus round trips. Golden G7.2 — PBS: right after a write that
reached W replicas, a read of R replicas drawn at random is stale with probability
C(N−W, R) / C(N, R): (3,1,1) → 0.6667, (3,2,1) → 0.3333, (5,1,1) → 0.8. PACELC (golden
§10.1, Abadi 2012): without a partition larger quorums cost latency and buy consistency.

Deterministic checks use constant link delays; stochastic ones follow golden.md §0
(independent replications or a binomial band of 3 SE, tests/bands.py).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from bands import assert_binomial_within_3se, assert_replications_within_3se
from helpers import located_problems
from simulator import Scenario, load_scenario, simulate
from simulator.components.kv_store.dynamo import NONE
from simulator.engine.build import build
from simulator.scenario.load import check_scenario

ROOT = Path(__file__).resolve().parents[1]
CAP = ROOT / "scenarios" / "cap"


def store(replicas: list[str], mode: str = "cp", **kw: Any) -> dict[str, Any]:
    return {"kind": "kv_store", "replicas": replicas, "mode": mode, **kw}


def clients(name: str, zone: str, rate: float, mix=None, keys: str = "uniform(n=50)", **kw: Any) -> dict[str, Any]:
    return {"name": name, "entry": "book", "zone": zone, "mix": mix or {"read": 0.8, "write": 0.2},
            "arrivals": {"kind": "poisson", "rate": rate}, "keys": keys, **kw}


def split_scenario(mode: str, *, heal: str | None = None, duration: str = "30s", **book: Any) -> Scenario:
    """Golden G10.1: N = 5 as 3 left | 2 right, clients 60 % / 40 %, a partition from t = 0."""
    partition = {"kind": "partition", "at": 0, "sides": [["left"], ["right"]]}
    partition["for"] = heal or "1000d"
    return Scenario.model_validate({
        "name": "g10-1", "duration": duration, "warmup": "5s", "seed": 1,
        "network": {"zones": ["left", "right"], "unreachable_timeout": "2s",
                    "links": [{"between": ["left", "right"], "latency": {"dist": "const", "value": "5ms"}}]},
        "components": {"book": store(["left"] * 3 + ["right"] * 2, mode, workers=4, read={"work": "exp(0.5ms)"},
                                     write={"work": "exp(1ms)"}, request_timeout="1s", **book)},
        "workload": [clients("left-clients", "left", 300), clients("right-clients", "right", 200)],
        "faults": [partition]})


def book(result) -> dict[str, Any]:
    return result.summary()["components"]["book"]


# ----------------------------------------------------------------------------- golden G10.1


def test_g10_1_cp_serves_the_majority_side_only():
    """CP: left (3 replicas, 60 % of the clients) 100 %, right 0 %, overall 60 %, no stale read."""
    result = simulate(split_scenario("cp"))
    b, requests = book(result), result.summary()["requests"]
    counts = b["counts"]
    assert counts["requests:0"] > 0 and counts["succeeded:0"] == counts["requests:0"]   # left: all
    assert counts["requests:1"] > 0 and counts["succeeded:1"] == 0                      # right: none
    assert counts["stale_reads"] == 0 and b["stale_ratio"] == 0.0
    # the right side knows no leader: it rejects at once (no timeouts once the window opens)
    assert counts["unavailable"] == counts["requests:1"] and counts["timeouts"] == 0
    # 60 % of the requests come from the left: the overall success ratio is binomial around 0.6
    assert requests["ok"] == counts["requests:0"]
    assert_binomial_within_3se([], requests["ok"], requests["issued"], 0.6, "G10.1 CP availability", 0.05)
    assert b["leader"] in (0, 1, 2)


def test_g10_1_ap_serves_everyone_and_the_minority_reads_stale():
    result = simulate(split_scenario("ap"))
    b, requests = book(result), result.summary()["requests"]
    counts = b["counts"]
    assert requests["ok"] == requests["issued"] and b["availability"] == 1.0
    assert counts["succeeded:1"] == counts["requests:1"] > 0
    assert counts["stale:1"] > 0                          # the minority side misses the majority's writes
    assert counts["unavailable"] == counts["timeouts"] == 0


def test_g10_1_ap_converges_to_one_version_per_key_after_the_heal():
    """Partition 0–15 s, heal, 15 s more: LWW leaves exactly one version per key on every replica,
    the newest of all written, and the acknowledged writes overwritten by concurrent ones are counted."""
    sc = split_scenario("ap", heal="15s", duration="30s", ap={"anti_entropy_interval": "5s"})
    world = build(sc, seed=1)
    world.run()
    dynamo = world.components["book"].mode
    keys = set().union(*dynamo.data)
    assert len(keys) == 50
    for key in keys:
        versions = {replica.get(key, NONE) for replica in dynamo.data}
        assert len(versions) == 1, (key, versions)
    # each survivor is a version some write made
    survivors = {replica[key] for replica in dynamo.data for key in replica}
    assert all(version[2] in dynamo.seen_before for version in survivors)
    assert dynamo.divergent_keys() == 0
    result = simulate(sc)
    counts = book(result)["counts"]
    assert counts["conflicting_writes"] > 0 and 0 < counts["lww_lost_writes"] <= counts["conflicting_writes"]
    assert counts["hints_delivered"] > 0
    assert book(result)["divergent_keys"] == 0


def test_the_split_brain_scenario_shows_g10_1_in_both_modes():
    for mode, expected in (("cp", 0.6), ("ap", 1.0)):
        sc = load_scenario(CAP / "split-brain.yaml", params=[f"mode={mode}"])
        summary = simulate(sc).summary()
        assert abs(summary["availability"] - expected) < 0.03, (mode, summary["availability"])


# ----------------------------------------------------------------------------- golden G7.3


def _commit_scenario(one_way_ms: list[float]) -> Scenario:
    """The leader (replica 0) in zone z0 with the client; follower i alone in zone zi, one way *one_way_ms[i-1]*."""
    zones = [f"z{i}" for i in range(len(one_way_ms) + 1)]
    links = [{"between": ["z0", z], "latency": {"dist": "const", "value": f"{d}ms"}} for z, d in zip(zones[1:], one_way_ms)]
    return Scenario.model_validate({
        "name": "g7-3", "duration": "20s", "seed": 2,
        "network": {"zones": zones, "default": {"dist": "const", "value": "100ms"}, "links": links},
        "components": {"book": store(zones, "cp")},
        "workload": [clients("c", "z0", 20, mix={"read": 0.5, "write": 0.5})]})


@pytest.mark.parametrize("one_way_ms, commit_s", [
    ([0.5, 1, 2.5, 25], 0.002),   # golden G7.3: N = 5, follower RTTs {1, 2, 5, 50} ms → 2 ms
    ([0.5, 25], 0.001),           # golden G7.3: N = 3, follower RTTs {1, 50} ms → 1 ms
])
def test_g7_3_commit_latency_is_the_q_minus_1_th_fastest_follower_rtt(one_way_ms, commit_s):
    summary = simulate(_commit_scenario(one_way_ms)).summary()
    for op in ("write", "read"):   # a write commits, a read confirms leadership (ReadIndex): one majority round each
        stats = summary["operations"][op]
        assert stats["ok"] == stats["issued"] > 100
        assert stats["latency_s"]["p50"] == pytest.approx(commit_s, abs=1e-9)
        assert stats["latency_s"]["max"] == pytest.approx(commit_s, abs=1e-9)


# ----------------------------------------------------------------------------- golden G7.4


def _failover(seed: int) -> tuple[float, float]:
    """A leader crash at 5.03 s (the last heartbeat was at 5.0 s); (first OK write invoked after it − crash,
    the expected gap: E[min of 4 timeouts U[1, 2)] = 1.2 s after the last heartbeat, plus 1/λ to the next write)."""
    sc = Scenario.model_validate({
        "name": "g7-4", "duration": "12s", "seed": seed,
        "components": {"book": store(["a"] * 5, "cp", cp={"election_timeout": "1s", "heartbeat_interval": "100ms"})},
        "network": {"zones": ["a"]},
        "workload": [clients("c", "a", 1000, mix={"write": 1.0})],
        "faults": [{"kind": "crash", "target": "book", "replicas": 1, "at": "5.03s", "for": "60s"}]})
    result = simulate(sc)
    history = result.components["book"].table("history")
    after = history[(history.invoke >= 5.03) & (history.outcome == 0)]
    assert book(result)["counts"]["leader_changes"] == 1
    return float(after.invoke.min()) - 5.03, 1.2 - 0.03 + 1 / 1000


def test_g7_4_no_new_leader_commits_before_the_election_timeout_minus_a_heartbeat(golden_zscores):
    gaps = [_failover(seed) for seed in range(1, 21)]
    values = [g for g, _ in gaps]
    assert min(values) >= 1.0 - 0.1                   # golden G7.4 property: ≥ election_timeout − heartbeat_interval
    assert max(values) <= 2 * 1.0 + 0.01              # ≤ 2·election_timeout + round trips (here 0) + a write gap
    assert_replications_within_3se(golden_zscores, values, gaps[0][1], "G7.4 failover gap (s)")


# ----------------------------------------------------------------------------- golden G7.2


def _pbs(n: int, r: int) -> Scenario:
    """A service writes a fresh key, then reads it back at once; W = 1 and a 1000 s replication lag,
    so only the coordinator has the write when the read draws its R replicas at random."""
    return Scenario.model_validate({
        "name": "g7-2", "duration": "30s", "seed": 5,
        "network": {"zones": ["a"]},
        "components": {
            "app": {"kind": "service", "zone": "a",
                    "operations": {"op": {"steps": [{"call": "book.write"}, {"call": "book.read"}]}}},
            "book": store(["a"] * n, "ap", ap={"r": r, "w": 1, "read_from": "random", "read_repair": False,
                                               "anti_entropy_interval": None,
                                               "replication_lag": {"dist": "const", "value": "1000s"}})},
        "workload": [{"name": "w", "entry": "app", "zone": "a", "operation": "op", "keys": "uniform(n=1000000000)",
                      "arrivals": {"kind": "poisson", "rate": 100}}]})


@pytest.mark.parametrize("n, r, w, p_stale", [(3, 1, 1, 2 / 3), (3, 2, 1, 1 / 3), (5, 1, 1, 0.8)])
def test_g7_2_pbs_stale_probability_right_after_a_write(golden_zscores, n, r, w, p_stale):
    assert math.comb(n - w, r) / math.comb(n, r) == pytest.approx(p_stale)
    counts = book(simulate(_pbs(n, r)))["counts"]
    assert_binomial_within_3se(golden_zscores, counts["stale_reads"], counts["reads_ok"], p_stale,
                               f"G7.2 PBS P(stale) N={n} R={r} W={w}")


# ----------------------------------------------------------------------------- PACELC


def _pacelc(q: int) -> dict[str, Any]:
    """No partition; N = 3, one replica per zone (a–b 5 ms, c 20 ms from both), clients everywhere on 20
    hot keys; R = W = q."""
    zones = ["a", "b", "c"]
    sc = Scenario.model_validate({
        "name": "pacelc", "duration": "30s", "warmup": "2s", "seed": 4,
        "network": {"zones": zones, "default": {"dist": "const", "value": "20ms"},
                    "links": [{"between": ["a", "b"], "latency": {"dist": "const", "value": "5ms"}}]},
        "components": {"book": store(zones, "ap", ap={"r": q, "w": q, "read_repair": False,
                                                      "anti_entropy_interval": None})},
        "workload": [clients(f"c-{z}", z, 100, keys="uniform(n=20)", mix={"read": 0.5, "write": 0.5}) for z in zones]})
    summary = simulate(sc).summary()
    return {"latency": summary["latency_s"]["mean"], "stale": book_of(summary)["stale_ratio"]}


def book_of(summary) -> dict[str, Any]:
    return summary["components"]["book"]


def test_pacelc_larger_quorums_cost_latency_and_buy_consistency():
    one, two, three = (_pacelc(q) for q in (1, 2, 3))
    assert one["latency"] < two["latency"] < three["latency"]
    assert one["latency"] < 0.001 and three["latency"] == pytest.approx(0.040, abs=0.002)  # ALL: the 40 ms round trip
    assert one["stale"] > 0.05
    assert two["stale"] == three["stale"] == 0.0      # R + W > N: every read meets the newest acknowledged write


# ----------------------------------------------------------------------------- histories


def test_the_history_records_every_operation_with_unique_written_values():
    result = simulate(split_scenario("cp", duration="10s"))
    history = result.components["book"].table("history")
    writes = history[(history.kind == 1) & (history.outcome == 0)]
    assert writes.value.is_unique and len(writes) > 100
    assert set(history.outcome.unique()) <= {0, 1, 2}
    assert (history.complete >= history.invoke).all()
    ok_reads = history[(history.kind == 0) & (history.outcome == 0)]
    assert ok_reads.value.dropna().isin(writes.value).all()  # a read returns a value some write wrote
    facts = book(result)
    assert facts["history_keys_recorded"] == facts["history_keys_total"] == 50


def test_the_history_is_bounded_by_history_keys():
    result = simulate(split_scenario("ap", duration="10s", history_keys=7))
    history = result.components["book"].table("history")
    assert history.key.nunique() == 7 and book(result)["history_keys_recorded"] == 7


# ----------------------------------------------------------------------------- the consistency checker (golden G10.2)


@pytest.mark.parametrize("replicas, heal, crash", [
    (["left"] * 3 + ["right"] * 2, None, False),          # the leader on the majority side, never healed
    (["right"] + ["left"] * 3 + ["right"], "8s", False),   # the leader starts on the minority side; heal at 8 s
    (["left"] * 3 + ["right"] * 2, "6s", True),            # and a leader crash after the heal
])
def test_g10_2_cp_histories_are_never_flagged(replicas, heal, crash):
    """Golden G10.2: on histories produced in CP mode the checker never flags anything, whatever
    the partition and the leader changes did; and an SLO can require it."""
    sc = split_scenario("cp", heal=heal, duration="16s")
    doc = sc.model_dump(by_alias=True, exclude_none=True)
    doc["components"]["book"]["replicas"] = replicas
    if crash:
        doc["faults"].append({"kind": "crash", "target": "book", "replicas": 1, "at": "10s", "for": "3s"})
    doc["slos"] = [{"name": "linearizable", "component": "book", "metric": "linearizable", "min": 1}]
    summary = simulate(Scenario.model_validate(doc)).summary()
    b = book_of(summary)
    assert b["linearizable"] == 1 and b["linearizability_violations"] == 0, b["consistency_examples"]
    assert b["ryw_violations"] == b["monotonic_read_violations"] == 0
    assert b["consistency_keys_checked"] == 50 and b["consistency_examples"] == "none"
    assert summary["slos"][0]["passed"] is True


def test_g10_2_ap_histories_under_a_partition_are_flagged_with_an_example():
    summary = simulate(split_scenario("ap", duration="12s")).summary()
    b = book_of(summary)
    assert b["linearizable"] == 0 and b["linearizability_violations"] > 0
    assert "not linearizable" in b["consistency_examples"]
    assert b["counts"]["stale_reads"] > 0


def test_without_a_history_there_is_no_verdict():
    b = book(simulate(split_scenario("ap", duration="6s", history_keys=0)))
    assert "linearizable" not in b and b["history_keys_recorded"] == 0


# ----------------------------------------------------------------------------- bad input


def problems(book_: dict[str, Any], zones=("left", "right")) -> list[str]:
    return located_problems({"book": book_}, entry="book", operation="read", network={"zones": list(zones)})


@pytest.mark.parametrize("book_, where, message", [
    (store(["left", "right", "right"], "ap", ap={"r": 4}), "components.book", "ap.r (4) cannot exceed the replicas (N = 3)"),
    (store(["left", "right", "right"], "ap", ap={"w": 5}), "components.book", "ap.w (5) cannot exceed the replicas (N = 3)"),
    (store(["left", "middle"]), "components.book.replicas.1", "unknown zone 'middle' (expected one of: left, right)"),
    (store(["left"], "cp", ap={"r": 1}), "components.book", "ap: knobs apply to mode: ap"),
    (store(["left"], "ap", cp={"election_timeout": "1s"}), "components.book", "cp: knobs apply to mode: cp"),
    (store(["left"], zone="left"), "components.book", "one zone per replica"),
    (store(["left"], cp={"election_timeout": "100ms", "heartbeat_interval": "100ms"}), "components.book.cp",
     "heartbeat_interval (0.1s) must be below election_timeout (0.1s)"),
    (store([]), "components.book.replicas", "at least 1 item"),
    (store(["left"], mode="ca"), "components.book.mode", "unknown mode 'ca' (valid modes: cp, ap)"),
])
def test_bad_input_is_located(book_, where, message):
    found = problems(book_)
    assert any(where in p and message in p for p in found), found


def test_a_crash_of_more_replicas_than_the_store_has_is_refused():
    found = located_problems({"book": store(["left"] * 3)}, entry="book", operation="read",
                             network={"zones": ["left"]},
                             faults=[{"kind": "crash", "target": "book", "replicas": 4, "at": "1s", "for": "1s"}])
    assert any("cannot crash 4 replicas of 'book': it has 3" in p for p in found), found


# ----------------------------------------------------------------------------- scenarios and README


@pytest.mark.parametrize("path", sorted(CAP.glob("*.yaml")), ids=lambda p: p.name)
def test_the_cap_scenarios_run(path):
    summary = simulate(load_scenario(path)).summary()
    assert summary["requests"]["issued"] > 0


def test_the_readme_example_is_a_valid_design_that_runs():
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- kv-store-example -->\s*```yaml\n(.+?)\n```", text, re.S)
    assert match, "README has no kv-store-example block"
    body = yaml.safe_load(match.group(1))
    doc = {"name": "readme-kv", "duration": "20s", **body}
    sc, warnings = check_scenario("readme.yaml", text=yaml.safe_dump(doc, sort_keys=False))
    assert warnings == []
    counts = book_of(simulate(sc).summary())["counts"]
    assert counts["reads"] > 0 and counts["writes"] > 0


def test_same_seed_same_run():
    a = simulate(split_scenario("ap", duration="8s")).summary()
    b = simulate(split_scenario("ap", duration="8s")).summary()
    assert a == b
    assert np.isfinite(a["latency_s"]["mean"])
