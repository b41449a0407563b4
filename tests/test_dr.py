"""Regions and disaster recovery (``kind: regional_database``, ``kind: outage``) against golden.md §19.

Golden numbers are copied here with their source (golden.md §19, the course's reference
sheet, AWS's DR whitepaper and Route 53's health-check values): golden G19.1 periodic
snapshots every S lose a Uniform[0, S] window (mean S/2, worst S); async replication
with lag L loses the writes of the last L (500 writes/s × 1 s = 500); sync loses none.
Golden G19.2 RTO = detection (request_interval × failure_threshold) + promotion + DNS TTL
+ warm-up: 90 + 60 + 60 + 30 = 240 s, 180 s with 10 s checks; measured downtime ≤ that
sum + one check interval. The expected values below are computed from those formulas and
from the scenario's knobs, never read off the code under test.

Deterministic checks use closed-loop users with constant think time and constant
latencies (each user acknowledges a write exactly every period); stochastic ones follow
golden.md §0: R independent replications (seeds 1..R), the grand mean within 3 SE
(tests/bands.py).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bands import assert_replications_within_3se
from helpers import located_problems
from simulator import Scenario, load_scenario, simulate

ROOT = Path(__file__).resolve().parents[1]
NETWORK = {"zones": ["use1-a", "use1-b", "usw2-a", "euw1-a"],
           "regions": {"us-east": ["use1-a", "use1-b"], "us-west": ["usw2-a"], "eu-west": ["euw1-a"]},
           "default": "const(30ms)", "unreachable_timeout": "5s"}
ROUTE53 = {"request_interval": "30s", "failure_threshold": 3, "promotion": "60s", "ttl": "60s", "warm_up": "30s"}


def dr(*, standby: dict | None = None, backup: dict | None = None, failover: dict | None = None,
       outage_at: float = 100.0, outage_for: float = 10_000.0, duration: float = 400.0, arrivals: dict | None = None,
       client_zone: str = "euw1-a", seed: int = 1, outage: dict | None = None) -> Scenario:
    """Clients in *client_zone* write into a database whose primary is in us-east; us-east goes down at *outage_at*."""
    db: dict[str, Any] = {"kind": "regional_database", "primary": "use1-a",
                          "failover": failover or ROUTE53, "operations": {"write": {"work": "const(1ms)"},
                                                                        "read": {"work": "const(1ms)"}}}
    if standby is not None:
        db["standby"] = standby
    if backup is not None:
        db["backup"] = backup
    fault = {"kind": "outage", "region": "us-east", "at": outage_at, "for": outage_for, **(outage or {})}
    return Scenario.model_validate({
        "name": "dr", "seed": seed, "duration": duration, "warmup": 0, "network": NETWORK,
        "components": {"db": db},
        "workload": [{"name": "clients", "entry": "db", "zone": client_zone, "mix": {"write": 1},
                      "arrivals": arrivals or {"kind": "poisson", "rate": "50/s"}}],
        "faults": [fault]})


def db_of(result) -> dict[str, Any]:
    return result.summary()["components"]["db"]


# -- G19.1: what a loss loses ------------------------------------------------------------------------

def test_async_replication_loses_exactly_the_writes_of_the_last_lag_window():
    """5 users each acknowledged every 100 ms (30 + 1 + 30 ms round trip, 39 ms think): W = 50/s;
    lag L = 1 s: W·L = 50 writes lost (golden G19.1), spanning just under L."""
    fast = {"request_interval": "10s", "failure_threshold": 3, "promotion": 0, "ttl": 0}
    result = simulate(dr(standby={"zone": "usw2-a", "replication": "async", "lag": "const(1s)"}, failover=fast,
                         arrivals={"kind": "closed", "users": 5, "think": "const(39ms)"},
                         outage_at=20.00037, duration=60))
    db = db_of(result)
    assert db["counts"]["lost_writes"] == 50
    assert db["counts"]["failovers"] == 1
    assert 1.0 - 0.1 < db["rpo_s"] < 1.0  # the oldest lost write: less than L before, within one period of it


def test_async_replication_loses_the_writes_of_the_last_lag_window_golden_500(golden_zscores):
    """500 writes/s × 1 s lag = 500 acknowledged writes lost (golden G19.1), over 10 replications."""
    fast = {"request_interval": "10s", "failure_threshold": 3, "promotion": 0, "ttl": 0}
    lost = []
    for seed in range(1, 11):
        result = simulate(dr(standby={"zone": "usw2-a", "lag": "const(1s)"}, failover=fast, duration=55,
                             outage_at=20.0, arrivals={"kind": "poisson", "rate": "500/s"}), seed=seed)
        lost.append(db_of(result)["counts"]["lost_writes"])
    assert_replications_within_3se(golden_zscores, lost, 500 * 1.0, "golden G19.1 async lag 1s at 500 writes/s")


def test_sync_replication_loses_nothing_and_pays_the_cross_region_round_trip():
    """Sync: no acknowledged write is lost (golden G19.1); each write pays the client's round trip (2 × 30 ms),
    its work (1 ms) and the primary ↔ standby round trip (2 × 30 ms)."""
    result = simulate(dr(standby={"zone": "usw2-a", "replication": "sync"}, outage_at=20.00037, duration=400,
                         arrivals={"kind": "closed", "users": 5, "think": "const(39ms)"}))
    db = db_of(result)
    assert db["counts"]["lost_writes"] == 0 and db["rpo_s"] == 0
    assert db["counts"]["failovers"] == 1
    no_outage = simulate(dr(standby={"zone": "usw2-a", "replication": "sync"}, outage_at=1000, duration=10,
                            arrivals={"kind": "closed", "users": 5, "think": "const(39ms)"}))
    assert no_outage.summary()["latency_s"]["mean"] == pytest.approx(0.060 + 0.001 + 0.060, abs=1e-9)


def test_a_backup_loses_a_uniform_window_since_the_last_snapshot(golden_zscores):
    """Snapshots every S = 10 s, the region lost at a uniformly random time: the loss window is
    Uniform[0, S], mean S/2 = 5 s, never more than S (golden G19.1); the writes lost ≈ W·S/2. The outage
    times are stratified (one uniform draw in each of R equal slices of [0, S)), so the band is conservative."""
    S, W = 10.0, 20.0
    R = 150
    strata = np.random.default_rng(19).permutation(R)  # the test's own draws (not the runs'): one per stratum
    windows, lost = [], []
    for seed in range(1, R + 1):
        u = (strata[seed - 1] + np.random.default_rng(seed).uniform()) / R  # Uniform[0, 1), stratified
        at = 20.0 + S * float(u)
        quick = {"request_interval": "1s", "failure_threshold": 1, "promotion": 0, "ttl": 0}
        result = simulate(dr(backup={"interval": f"{S}s", "restore_time": "5s", "zone": "usw2-a"}, failover=quick,
                             outage_at=at, duration=at + 8, arrivals={"kind": "poisson", "rate": f"{W}/s"}),
                          seed=seed)
        db = db_of(result)
        assert db["counts"]["restores"] == 1 and db["rpo_s"] <= S
        windows.append(db["rpo_s"])
        lost.append(db["counts"]["lost_writes"])
        since_snapshot = at - math.floor(at / S) * S
        assert since_snapshot - 1.0 < db["rpo_s"] <= since_snapshot  # the oldest lost write follows the snapshot
    assert_replications_within_3se(golden_zscores, windows, S / 2, "golden G19.1 snapshot loss window S/2")
    assert_replications_within_3se(golden_zscores, lost, W * S / 2, "golden G19.1 snapshot writes lost W·S/2")


def test_a_primary_back_before_it_is_declared_down_loses_nothing():
    """Down for 50 s < 3 failed checks (from 100 s: checks at 120, 150 fail; 180 passes): no failover, no loss,
    the clients (DNS unchanged) are served again when it is back."""
    result = simulate(dr(standby={"zone": "usw2-a", "lag": "const(1s)"}, outage_for=50, duration=300))
    db = db_of(result)
    assert db["counts"]["failovers"] == 0 and db["counts"]["lost_writes"] == 0
    assert 50 <= db["rto_s"] < 50 + 0.5


# -- G19.2: how long it takes -------------------------------------------------------------------------

def expected_rto(at: float, interval: float, threshold: int, promotion: float, ttl: float, warm_up: float) -> float:
    """Checks at the multiples of *interval*: the *threshold*-th failing one after *at* declares it down."""
    detected = (math.floor(at / interval) + threshold) * interval
    return detected - at + promotion + ttl + warm_up


@pytest.mark.parametrize("at, interval, budget", [(90.0, 30.0, 240.0), (100.0, 30.0, 230.0), (100.0, 10.0, 180.0)])
def test_rto_is_detection_promotion_ttl_and_warm_up(at, interval, budget):
    """Route 53 checks (golden G19.2): 90 s detection + 60 s promotion + 60 s TTL + 30 s warm-up = 240 s when
    the outage starts on a check; 10 s fast checks: 180 s. Measured to the first write answered after it."""
    knobs = {**ROUTE53, "request_interval": f"{interval}s"}
    assert expected_rto(at, interval, 3, 60, 60, 30) == budget
    result = simulate(dr(standby={"zone": "usw2-a", "lag": "const(1s)"}, failover=knobs, outage_at=at,
                         client_zone="usw2-a", duration=at + 300))
    db = db_of(result)
    assert budget <= db["rto_s"] < budget + 0.5  # the next write after the warm-up (50/s)
    assert db["counts"]["failovers"] == 1


def test_measured_downtime_stays_within_the_budget_plus_one_check_interval():
    """Outages at random moments: every measured RTO ≤ 240 s + one 30 s check (golden G19.2), and ≥ the
    sum without detection's first wait (2 × 30 + 150 = 210 s)."""
    for seed in range(1, 9):
        at = 50.0 + float(np.random.default_rng(seed).uniform(0, 30))
        result = simulate(dr(standby={"zone": "usw2-a"}, outage_at=at, duration=at + 300, client_zone="usw2-a",
                             arrivals={"kind": "poisson", "rate": "20/s"}), seed=seed)
        rto = db_of(result)["rto_s"]
        assert 210 <= rto <= 240 + 30
        assert rto == pytest.approx(expected_rto(at, 30, 3, 60, 60, 30), abs=0.5)


def test_clients_keep_calling_the_old_region_until_the_ttl_passes():
    """Between the promotion and the TTL's end the clients' calls still go to us-east and are lost (timeouts);
    during the warm-up they are refused at once (unavailable: 30 s × 50/s ≈ 1,500)."""
    result = simulate(dr(standby={"zone": "usw2-a"}, outage_at=90, duration=400, client_zone="usw2-a"))
    db = db_of(result)
    assert db["counts"]["unavailable"] == pytest.approx(30 * 50, abs=4 * math.sqrt(30 * 50))


def test_without_a_copy_the_database_waits_for_its_region():
    """No standby, no backup: down for the outage (nothing lost); still down at the end: RTO unknown (None)."""
    back = db_of(simulate(dr(outage_for=60, duration=300, client_zone="usw2-a")))
    assert back["counts"]["lost_writes"] == 0 and 60 <= back["rto_s"] < 60.5
    still = db_of(simulate(dr(duration=300, client_zone="usw2-a")))
    assert still["rto_s"] is None


# -- objectives ----------------------------------------------------------------------------------------

def test_rpo_and_rto_are_objectives():
    """``component: db, metric: rto_s`` and ``lost_writes`` are read like any component metric."""
    sc = dr(standby={"zone": "usw2-a", "lag": "const(1s)"}, outage_at=90, duration=400, client_zone="usw2-a")
    data = sc.model_dump(by_alias=True, exclude_unset=True)
    data["slos"] = [{"name": "rto", "component": "db", "metric": "rto_s", "max": 240 + 30},
                    {"name": "rto-tight", "component": "db", "metric": "rto_s", "max": 200},
                    {"name": "rpo", "component": "db", "metric": "lost_writes", "max": 0}]
    verdicts = {v["name"]: v for v in simulate(Scenario.model_validate(data)).summary()["slos"]}
    assert verdicts["rto"]["passed"] and not verdicts["rto-tight"]["passed"]
    assert not verdicts["rpo"]["passed"]  # ~50 writes/s × 1 s lag lost


def test_a_loss_not_settled_by_the_end_has_no_rpo_and_fails_its_objective():
    """A restore still under way when the run ends: what is lost is not known yet, so ``rpo_s`` is None and an
    RPO objective fails (it must not pass on the 0 of nothing counted); once the restore is done, it is set."""
    backup = {"interval": "10s", "restore_time": "1000s", "zone": "usw2-a"}
    sc = dr(backup=backup, outage_at=100, duration=400)
    data = sc.model_dump(by_alias=True, exclude_unset=True)
    data["slos"] = [{"name": "rpo", "component": "db", "metric": "rpo_s", "max": 60}]
    result = simulate(Scenario.model_validate(data))
    assert db_of(result)["rpo_s"] is None and db_of(result)["rto_s"] is None
    assert not result.summary()["slos"][0]["passed"]
    settled = db_of(simulate(dr(backup={**backup, "restore_time": "60s"}, outage_at=105, duration=400)))
    assert 0 < settled["rpo_s"] <= 10 and settled["counts"]["restores"] == 1


def test_an_rto_objective_counts_from_the_outage_to_the_slo_met_again():
    """``recovery: {after: outage, from: start}``: from the loss to the availability objective met again
    for good (at bucket precision), whether or not the outage ever ends. With golden G19.2's budget of
    240 s (+ one 30 s check interval), the answer comes back within it; counted from the fault's end
    (10,000 s later, after the run) nothing is left to recover from."""
    sc = dr(standby={"zone": "usw2-a", "lag": "const(1s)"}, outage_at=90, duration=500, client_zone="usw2-a")
    data = sc.model_dump(by_alias=True, exclude_unset=True)
    data["slos"] = [{"name": "rto", "metric": "availability", "min": 0.99,
                     "recovery": {"after": "outage", "from": "start", "within": "270s"}},
                    {"name": "tight", "metric": "availability", "min": 0.99,
                     "recovery": {"after": "outage", "from": "start", "within": "200s"}}]
    result = simulate(Scenario.model_validate(data))
    verdicts = {v["name"]: v for v in result.summary()["slos"]}
    first_ok = db_of(result)["rto_s"]
    assert 180 <= first_ok <= 270
    width = result.bucket_width(result.scenario.sample_interval)
    assert first_ok - width <= verdicts["rto"]["value"] <= first_ok + width  # the SLO is met from the first answer on
    assert verdicts["rto"]["passed"] and not verdicts["tight"]["passed"]
    assert verdicts["rto"]["recovery"]["from"] == "start"


# -- the outage fault ----------------------------------------------------------------------------------

def test_an_outage_downs_what_is_placed_in_its_zones_and_cuts_their_links():
    """A service in use1-b (region us-east) called from usw2-a: every call sent during the 10 s outage is lost
    (a timeout), before and after none; a service in usw2-a is untouched."""
    sc = Scenario.model_validate({
        "name": "outage", "duration": "40s", "warmup": 0, "network": NETWORK,
        "components": {"east": {"kind": "service", "zone": "use1-b", "operations": {"op": {"work": "const(1ms)"}}},
                       "west": {"kind": "service", "zone": "usw2-a", "operations": {"op": {"work": "const(1ms)"}}}},
        "workload": [{"name": "e", "entry": "east", "operation": "op", "zone": "usw2-a",
                      "arrivals": {"kind": "closed", "users": 1, "think": "const(39ms)"}},
                     {"name": "w", "entry": "west", "operation": "op", "zone": "usw2-a",
                      "arrivals": {"kind": "closed", "users": 1, "think": "const(9ms)"}}],
        "faults": [{"kind": "outage", "region": "us-east", "at": "10.0001s", "for": "10s"}]})
    summary = simulate(sc).summary()
    east, west = summary["operations"]["east.op"], summary["operations"]["west.op"]
    assert west["issued"] == west["ok"] == 4000  # every 10 ms for 40 s, untouched
    # one closed user: a lost call waits 5 s (unreachable_timeout), so two calls are lost in the 10 s
    assert east["issued"] - east["ok"] == 2
    assert summary["components"]["east"]["errors"] == 0  # lost on the way: they never reached it


def test_an_outage_of_one_zone_crashes_only_the_replicas_placed_there():
    """A zone outage (``zones: [usw2-a]``) of the standby's zone: the primary serves on, writes are not lost."""
    result = simulate(dr(standby={"zone": "usw2-a"}, outage={"region": None, "zones": ["usw2-a"]},
                         client_zone="use1-a", duration=200))
    db = db_of(result)
    assert db["counts"]["failovers"] == 0 and db["counts"]["unavailable"] == 0 and db["rto_s"] == 0


# -- scenarios and bad input ---------------------------------------------------------------------------

def test_the_dr_scenarios_load():
    files = sorted((ROOT / "scenarios" / "dr").glob("*.yaml"))
    assert files
    for path in files:
        load_scenario(path)


DB = {"kind": "regional_database", "primary": "use1-a", "operations": {"write": {"work": "1ms"}}}


@pytest.mark.parametrize("change, where, message", [
    ({"standby": {"zone": "use1-a"}}, "components.db", "must be in another zone than the primary"),
    ({"standby": {"zone": "usw2-a", "replication": "semi_sync"}}, "components.db.standby.replication", "valid replications: async, sync"),
    ({"standby": {"zone": "usw2-a"}, "backup": {"interval": "1h", "restore_time": "1h", "zone": "euw1-a"}},
     "components.db", "choose one recovery"),
    ({"standby": {"zone": "mars-a"}}, "components.db.standby.zone", "unknown zone 'mars-a'"),
    ({"backup": {"interval": "1h", "restore_time": "1h", "zone": "mars-a"}}, "components.db.backup.zone",
     "unknown zone 'mars-a'"),
    ({"zone": "use1-a"}, "components.db", "not zone"),
    ({"failover": {"failure_threshold": 0}}, "components.db.failover.failure_threshold", "greater than or equal to 1"),
    ({"backup": {"interval": "0s", "restore_time": "1h", "zone": "usw2-a"}}, "components.db.backup.interval", ""),
])
def test_bad_database_input_is_located(change, where, message):
    problems = located_problems({"db": {**DB, **change}}, entry="db", operation="write", network=NETWORK)
    assert any(f": {where}" in p and message in p for p in problems), problems


@pytest.mark.parametrize("fault, where, message", [
    ({"kind": "outage", "region": "mars", "at": "1s", "for": "1s"}, "faults.0.region", "unknown region 'mars'"),
    ({"kind": "outage", "zones": ["mars-a"], "at": "1s", "for": "1s"}, "faults.0.zones.0", "unknown zone 'mars-a'"),
    ({"kind": "outage", "at": "1s", "for": "1s"}, "faults.0", "names a region or zones"),
    ({"kind": "outage", "region": "us-east", "zones": ["use1-a"], "at": "1s", "for": "1s"}, "faults.0",
     "names a region or zones"),
])
def test_bad_outage_input_is_located(fault, where, message):
    problems = located_problems({"db": DB}, entry="db", operation="write", network=NETWORK, faults=[fault])
    assert any(f": {where}" in p and message in p for p in problems), problems


def test_the_readme_example_is_a_valid_design_that_runs():
    """The README's regional_database block validates and runs, and meets its own objectives (golden G19.2)."""
    import re

    import yaml

    from simulator.scenario.load import check_scenario

    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- dr-example -->\s*```yaml\n(.+?)\n```", text, re.S)
    assert match, "README has no dr-example block"
    doc = {"name": "readme-dr", "duration": "400s", "warmup": 0, **yaml.safe_load(match.group(1))}
    scenario_, warnings = check_scenario("readme.yaml", text=yaml.safe_dump(doc, sort_keys=False))
    assert warnings == []
    summary = simulate(scenario_).summary()
    assert all(v["passed"] for v in summary["slos"]), summary["slos"]
    assert summary["components"]["db"]["counts"]["failovers"] == 1


@pytest.mark.parametrize("name, rto, lost", [
    ("backup-restore", 90 + 7200 + 60 + 600, "many"),   # snapshots hourly, 2 h restore, 10 min warm-up
    ("pilot-light", 90 + 60 + 60 + 600, "lag"),          # async 1 s, start the fleet in 10 min
    ("warm-standby", 30 + 60 + 60 + 120, "lag"),         # fast checks, scale out in 2 min
    ("active-active", 30 + 0 + 10 + 0, "none"),          # sync, 10 s TTL, nothing to promote
])
def test_the_strategies_lose_and_recover_as_golden_19_says(name, rto, lost):
    """Each strategy's scenario, its outage on a check: RTO = detection + promotion (restore) + TTL + warm-up
    (golden G19.2); lost writes: since the last snapshot, the last 1 s lag (20 writes/s), or none (golden G19.1)."""
    result = simulate(load_scenario(ROOT / "scenarios" / "dr" / f"{name}.yaml"))
    db = db_of(result)
    assert rto <= db["rto_s"] < rto + 1
    n = db["counts"]["lost_writes"]
    if lost == "none":
        assert n == 0
    elif lost == "lag":
        assert abs(n - 20) <= 4 * math.sqrt(20) and db["rpo_s"] < 1.0  # Poisson count of the last second
    else:  # the outage at 8220 s: 1020 s after the 7200 s snapshot
        assert abs(n - 20 * 1020) <= 4 * math.sqrt(20 * 1020) and 1019 < db["rpo_s"] <= 1020


def test_an_outage_crashes_the_replicas_of_a_store_spread_over_zones():
    """A CP kv_store over zones a, b, c, its leader (replica 0) in a: an outage of zone a crashes that replica
    only, so the two others elect a new leader (golden G7.4's election, here triggered by the outage)."""
    sc = Scenario.model_validate({
        "name": "kv-outage", "duration": "20s", "warmup": 0,
        "network": {"zones": ["a", "b", "c"], "default": "const(1ms)", "unreachable_timeout": "1s"},
        "components": {"kv": {"kind": "kv_store", "replicas": ["a", "b", "c"], "mode": "cp",
                              "read": {"work": "exp(0.2ms)"}, "write": {"work": "exp(0.5ms)"}}},
        "workload": [{"name": "c", "entry": "kv", "zone": "b", "mix": {"read": 0.5, "write": 0.5},
                      "arrivals": {"kind": "poisson", "rate": "100/s"}, "keys": "uniform(n=100)"}],
        "faults": [{"kind": "outage", "zones": ["a"], "at": "5s", "for": "100s"}]})
    kv = simulate(sc).summary()["components"]["kv"]
    assert kv["counts"]["elections"] >= 1 and kv["counts"]["leader_changes"] >= 1
    assert kv["counts"]["ok"] >= 0.85 * (kv["counts"]["reads"] + kv["counts"]["writes"])  # 2 of 3 serve on


def test_a_crash_of_the_primary_fails_over_like_an_outage():
    """``kind: crash, replicas: 1`` hits the primary first: the same failover (golden G19.2's sum), no cut links."""
    sc = dr(standby={"zone": "usw2-a", "lag": "const(1s)"}, client_zone="usw2-a", duration=400)
    data = sc.model_dump(by_alias=True, exclude_unset=True)
    data["faults"] = [{"kind": "crash", "target": "db", "replicas": 1, "at": "90s", "for": "1000s"}]
    db = db_of(simulate(Scenario.model_validate(data)))
    assert db["counts"]["failovers"] == 1 and db["primary"] == "usw2-a"
    assert 240 <= db["rto_s"] < 240.5
    assert abs(db["counts"]["lost_writes"] - 50) <= 4 * math.sqrt(50)


def test_a_sync_standby_out_of_reach_fails_the_writes():
    """Sync: a write is acknowledged only with the standby's acknowledgement, so while the standby's zone is out
    every write fails (about half of them with the standby out for 100 s of 200 s); nothing fails over."""
    sc = dr(standby={"zone": "usw2-a", "replication": "sync"}, client_zone="use1-a", duration=200, outage_for=100,
            outage={"region": None, "zones": ["usw2-a"]})
    summary = simulate(sc).summary()
    assert summary["components"]["db"]["counts"]["failovers"] == 0
    assert summary["availability"] == pytest.approx(0.5, abs=0.02)
