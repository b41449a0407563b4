"""Service discovery (``kind: registry``) through the engine, against golden.md §9.

Golden numbers are copied here with their source (simulator/docs/golden.md §9, the course's
reference sheet): golden G9.1 a TTL check with heartbeat h < TTL T detects a crash at a
random time Uniform[T − h, T] later, mean T − h/2 (T = 15 s, h = 10 s: mean 10 s);
golden G9.2 Eureka's ``renew()`` sets the last update to now + duration, so a dead instance expires
2 × 90 = 180 s after its last renewal, and a client may keep it 180 + 60 (evictor) + 30
(response cache) + 30 (fetch) = 300 s; golden G9.3 100 instances renewing every 30 s give a
self-preservation threshold of int(200 × 0.85) = 170 renewals a minute, and eviction stops
when only 150 arrive; golden G9.4 five instances behind DNS with a 30 s TTL, one removed,
1000 req/s: the share to the dead one falls linearly from 20 % to 0 over 30 s, E[misdirected]
= 1000 × 0.2 × 15 = 3000.

Deterministic checks place a replica's renewals with a short crash and restart (a replica
registers again when it restarts, and renews from then on). Stochastic ones follow golden.md
§0: R independent replications (seeds 1..R), the grand mean within 3 SE (tests/bands.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from bands import assert_replications_within_3se
from helpers import located_problems, scenario, service
from simulator import load_scenario, simulate
from simulator.components.registry.frames import events
from simulator.components.replica import ReplicaSet
from simulator.scenario.load import check_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios" / "discovery"


def registry(mode: str = "ttl", **kw: Any) -> dict[str, Any]:
    knobs = {"ttl": {"ttl": "15s", "heartbeat": "10s"}}.get(mode, {})
    return {"kind": "registry", "mode": mode, **knobs, **kw}


def discovered(replicas: int, reg: str = "reg", **kw: Any) -> dict[str, Any]:
    return service("5ms", replicas=replicas, workers=16, discovery=reg, **kw)


def design(reg: dict[str, Any], replicas: int, *, faults: list | None = None, rate: Any = "20/s",
           duration: Any = "200s", **extra: Any):
    """Clients call ``svc.op`` directly; ``svc``'s *replicas* register with ``reg``."""
    return scenario({"reg": reg, "svc": discovered(replicas)}, rate=rate, duration=duration,
                    faults=faults or [], **extra)


def crash(at: Any, for_: Any = "1000s", replicas: int = 1, target: str = "svc", kind: str = "crash") -> dict:
    return {"kind": kind, "target": target, "replicas": replicas, "at": at, "for": for_}


def entry(result, name: str = "reg") -> dict[str, Any]:
    return result.summary()["components"][name]


def times(frame, event: str, replica: int | None = None) -> list[float]:
    rows = frame[frame["event"] == event]
    if replica is not None:
        rows = rows[rows["replica"] == replica]
    return rows["time"].tolist()


# ----------------------------------------------------------------------------- golden G9.1 TTL checks


def test_g9_1_ttl_detection_delay_is_uniform_between_ttl_minus_heartbeat_and_ttl(golden_zscores):
    """golden G9.1: T = 15 s, h = 10 s; ten replicas crash at 100 s, each somewhere in its heartbeat
    period (their phases are independent): every delay in [5, 15] s, the mean 10 s within 3 SE."""
    means = []
    for seed in range(1, 21):
        result = simulate(design(registry(), 10, faults=[crash("100s", "60s", replicas=10)]), seed)
        frame = events(result, "reg")
        delays = np.array(times(frame, "critical")) - 100.0
        assert len(delays) == 10
        assert np.all(delays >= 15 - 10) and np.all(delays <= 15), delays  # exact bounds
        facts = entry(result)
        assert facts["failures_detected"] == 10 and facts["detection_delay_max"] <= 15
        assert facts["detection_delay_mean"] == pytest.approx(delays.mean())
        means.append(delays.mean())
    assert_replications_within_3se(golden_zscores, means, 15 - 10 / 2, "golden G9.1 TTL detection delay mean (s)")


def test_a_pass_after_a_restart_lists_the_replica_again_at_once():
    result = simulate(design(registry(), 2, faults=[crash("50s", "30s")]), 1)
    frame = events(result, "reg")
    assert times(frame, "registered", 0) == [0.0, 80.0]
    assert times(frame, "passing", 0) == [80.0]  # the restarted instance passes its check on registration
    assert entry(result)["counts"]["registrations"] == 3


def test_deregister_critical_service_after_removes_the_instance():
    reg = registry(deregister_critical_service_after="1m")
    frame = events(simulate(design(reg, 2, faults=[crash("50s")]), 2), "reg")
    (critical,) = times(frame, "critical", 0)
    assert times(frame, "deregistered", 0) == [pytest.approx(critical + 60)]


def test_health_checks_detect_after_the_failures_in_a_row():
    """interval 10 s, timeout 1 s, 2 failures: the first failing probe is 0-10 s after the crash, its
    answer 1 s later, the second 10 s after it: critical 11-21 s after the crash."""
    reg = registry("health_check", interval="10s", timeout="1s", failures_before_critical=2)
    frame = events(simulate(design(reg, 10, faults=[crash("100s", "100s", replicas=10)]), 3), "reg")
    delays = np.array(times(frame, "critical")) - 100.0
    assert len(delays) == 10 and np.all(delays > 11) and np.all(delays <= 21), delays
    # back after success_before_passing (1) probe: the first probe after the restart at 200 s
    assert all(200 < t <= 210 for t in times(frame, "passing"))


# ----------------------------------------------------------------------------- calls follow the views


def test_misdirected_calls_fail_at_once_and_stop_when_the_views_drop_the_replica():
    """A watch (fetch_interval 0): the views change when the registry does, so calls go to the
    dead replica exactly from the crash until the check goes critical."""
    reg = registry(client={"fetch_interval": 0})
    result = simulate(design(reg, 5, faults=[crash("60s")], rate="500/s", duration="120s"), 4)
    frame = events(result, "reg")
    (critical,) = times(frame, "critical", 0)
    assert times(frame, "propagated", 0) == [critical]  # a watch: gone from every view at once
    facts = entry(result)
    misdirected = facts["counts"]["misdirected"]
    assert misdirected > 0 and facts["propagation_delay_mean"] == facts["detection_delay_mean"]
    window = result.component_window("reg", critical, 120.0)
    assert window["counts"]["misdirected"] == 0  # none once the views dropped it
    # they are the svc visits that failed at once (no work, no wait), beside those the crash interrupted
    svc = entry(result, "svc")
    assert svc["errors"] >= misdirected


def test_a_stop_deregisters_at_once_and_misdirects_nothing():
    reg = registry(client={"fetch_interval": 0, "caches": 10})
    result = simulate(design(reg, 5, faults=[crash("60s", "30s", kind="stop")], rate="500/s", duration="120s"), 5)
    frame = events(result, "reg")
    assert times(frame, "deregistered", 0) == [60.0]
    assert times(frame, "crashed") == []
    facts = entry(result)
    assert facts["counts"]["misdirected"] == 0 and facts["counts"]["deregistrations"] == 1
    assert facts["failures_detected"] == 0 and facts["detection_delay_mean"] is None
    assert times(frame, "registered", 0) == [0.0, 90.0]  # back after the stop


def test_a_crash_with_the_same_views_misdirects():
    reg = registry(client={"fetch_interval": 0, "caches": 10})
    result = simulate(design(reg, 5, faults=[crash("60s", "30s")], rate="500/s", duration="120s"), 5)
    assert entry(result)["counts"]["misdirected"] > 0


def test_a_service_without_discovery_keeps_the_ideal_picker():
    result = simulate(scenario({"svc": service(replicas=3)}, duration="5s"), 1)
    assert result.summary()["components"]["svc"]["errors"] == 0
    assert "reg" not in result.summary()["components"]
    assert ReplicaSet.pick.__name__ == "pick"


def test_autoscaled_replicas_register_and_retired_ones_deregister():
    svc = discovered(1, autoscaling={"min_replicas": 1, "max_replicas": 4, "target": 0.5, "interval": "5s",
                                     "provisioning_delay": "5s", "scale_down_stabilization": "10s"})
    svc.update(workers=1, operations={"op": {"work": "50ms"}})
    sc = scenario({"reg": registry(client={"fetch_interval": 0}), "svc": svc}, duration="120s",
                  workload={"profile": [{"at": "60s", "rate": "1/s"}]}, rate="40/s")
    result = simulate(sc, 1)
    counts = entry(result)["counts"]
    assert counts["registrations"] > 1 and counts["deregistrations"] >= 1
    assert counts["misdirected"] == 0  # a watch hears of a scale-down at once


def test_an_event_sourced_replica_registers_again_when_its_replay_is_over():
    """Its restart is held for the replay (down again at once): one crash, one registration after it."""
    svc = discovered(2, event_sourced={"store": "es", "replay_cost": "1ms"})
    svc["operations"]["op"]["steps"] = [{"call": "es.append"}]
    sc = scenario({"reg": registry(client={"fetch_interval": 0}), "svc": svc,
                   "es": {"kind": "event_store", "workers": 8, "initial_events": 5000}},
                  faults=[crash("30s", "10s")], duration="60s")
    result = simulate(sc, 1)
    frame = events(result, "reg")
    assert times(frame, "crashed", 0) == [30.0]
    replay = result.components["svc"].table("replays").iloc[-1]  # the log as it had grown by 40 s
    assert replay["events"] > 5000
    assert times(frame, "registered", 0) == [0.0, pytest.approx(40 + replay["duration"])]


# ----------------------------------------------------------------------------- golden G9.2 Eureka


def eureka(**kw: Any) -> dict[str, Any]:
    return registry("eureka", self_preservation=False, **kw)


PLACE_RENEWALS = crash("0.25s", "0.25s")
"""A restart at 0.5 s: the replica registers again then and renews at 30.5, 60.5, 90.5 … s."""


def test_g9_2_a_dead_eureka_instance_expires_after_twice_the_lease_duration():
    """Last renewal at 60.5 s, crash at 61 s: the lease's last update reads 60.5 + 90 = 150.5 s, it
    expires when now > 150.5 + 90 = 240.5 s; the evictor (every 1 s) evicts it at 241 s, 180 s
    after the crash (a lease honoured as documented would go at 151 s)."""
    sc = design(eureka(eviction_interval="1s"), 1, faults=[PLACE_RENEWALS, crash("61s")], duration="300s")
    result = simulate(sc, 1)
    frame = events(result, "reg")
    assert times(frame, "evicted") == [241.0]
    assert entry(result)["detection_delay_max"] == 180.0 == 2 * 90


def test_g9_2_worst_case_chain_is_300_seconds():
    """Defaults (evictor 60 s, response cache 30 s, fetch 30 s). Renewal at 60.5 s, crash 0.01 s
    later: expiry just after 240.5 s, so the evictor at 240 s misses it and the one at 300 s takes
    it, just after the response cache refreshed at 300 s; the cache drops it at 330 s and each
    client at its next fetch, the last one just before 360 s: 300 s − 0.5 − 0.01 after the crash."""
    reg = eureka(client={"fetch_interval": "30s", "caches": 3000})
    sc = design(reg, 1, faults=[PLACE_RENEWALS, crash("60.51s")], duration="400s", rate="1/s")
    result = simulate(sc, 2)
    frame = events(result, "reg")
    assert times(frame, "evicted") == [300.0]
    (gone,) = times(frame, "propagated")
    assert 330.0 < gone <= 360.0  # the cache's refresh at 330 s, then one fetch interval
    worst = 180 + 60 + 30 + 30 - 0.5 - 0.01
    assert worst - 0.2 < gone - 60.51 <= worst  # 3000 clients: one fetches within 0.2 s of the end
    assert entry(result)["propagation_delay_max"] <= 300


# ----------------------------------------------------------------------------- golden G9.3 self-preservation


def self_preservation(enabled: bool, duration: str = "550s", **knobs: Any):
    """100 instances, 75 in zone a (the registry's) and 25 in zone b; b is cut off from 200 s on."""
    return scenario({"reg": {**registry("eureka", self_preservation=enabled, **knobs), "zone": "a"},
                     "svc": {**discovered(75), "zone": "a"}, "far": {**discovered(25), "zone": "b"}},
                    duration=duration, rate="5/s", workload={"zone": "a"},
                    network={"zones": ["a", "b"], "links": [{"between": ["a", "b"], "latency": "1ms"}]},
                    faults=[{"kind": "partition", "sides": [["a"], ["b"]], "at": "200s", "for": "1000s"}])


def test_g9_3_threshold_170_and_eviction_stops_at_150_renewals_a_minute():
    result = simulate(self_preservation(True), 1)
    facts = entry(result)
    assert facts["renewal_threshold"] == 170  # int(100 x 60/30 x 0.85)
    assert facts["renewals_last_minute"] == 150  # 75 instances x 2: zone b's are lost
    assert facts["counts"]["evictions"] == 0  # zone b's leases expired (after ~390 s) and were kept
    frame = events(result, "reg")
    (on,) = times(frame, "self_preservation_on")
    assert on in (240.0, 300.0)  # the first full minute with fewer than 170 renewals
    assert facts["self_preservation_seconds"] == pytest.approx(550 - on)


def test_without_self_preservation_the_evictor_takes_at_most_15_percent_per_run():
    """The evictor every 300 s: at 600 s all 25 leases of zone b have expired (by 380 s), it takes
    100 − int(100 × 0.85) = 15 of them, chosen at random; at 900 s 85 − int(85 × 0.85) = 13 ≥ the 10 left."""
    result = simulate(self_preservation(False, "950s", eviction_interval="300s"), 1)
    frame = events(result, "reg")
    evicted = frame[frame["event"] == "evicted"]
    assert set(evicted["service"]) == {"far"} and len(evicted) == 25
    assert evicted.groupby("time").size().to_dict() == {600.0: 15, 900.0: 10}
    assert entry(result)["renewal_threshold"] == int(75 * 2 * 0.85)  # evictions lower the expected renewals


# ----------------------------------------------------------------------------- golden G9.4 DNS TTL


def test_g9_4_dns_stale_traffic_3000_misdirected(golden_zscores):
    sc = design(registry("dns", client={"ttl": "30s", "caches": 100}), 5, faults=[crash("60s")],
                rate="1000/s", duration="100s")
    misdirected = [entry(simulate(sc, seed))["counts"]["misdirected"] for seed in range(1, 11)]
    assert_replications_within_3se(golden_zscores, misdirected, 1000 * 0.2 * 15,
                                   "golden G9.4 DNS misdirected requests")


def test_dns_records_follow_the_instances_at_once():
    sc = design(registry("dns", client={"ttl": "30s", "caches": 20}), 5, faults=[crash("60s")], rate="200/s",
                duration="100s")
    result = simulate(sc, 1)
    frame = events(result, "reg")
    assert times(frame, "deregistered", 0) == [60.0]
    (gone,) = times(frame, "propagated", 0)
    assert 60.0 < gone <= 90.0
    window = result.component_window("reg", gone, 100.0)
    assert window["counts"]["misdirected"] == 0


# ----------------------------------------------------------------------------- the registry itself


def test_a_registry_down_loses_the_passes_and_clients_keep_their_views():
    reg = registry(client={"fetch_interval": "5s", "caches": 5})
    result = simulate(design(reg, 3, faults=[crash("50s", "30s", target="reg")], rate="50/s", duration="120s"), 1)
    frame = events(result, "reg")
    criticals = times(frame, "critical")
    assert len(criticals) == 3 and all(50 + 5 <= t <= 50 + 15 for t in criticals)  # no pass reached it
    assert entry(result, "svc")["errors"] > 0  # every instance unlisted: no replica to call


def test_the_summary_declares_the_registry_metrics():
    result = simulate(design(registry(), 2, duration="20s"), 1)
    facts = entry(result)
    assert facts["mode"] == "ttl" and facts["failures_detected"] == 0 and facts["detection_delay_mean"] is None
    assert set(facts["counts"]) >= {"registrations", "deregistrations", "criticals", "misdirected"}
    assert "evictions" not in facts["counts"] and "self_preservation_seconds" not in facts


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("change, where, message", [
    (lambda c: c["svc"].update(discovery="nope"), "components.svc.discovery",
     "registry 'nope' does not exist (expected one of: reg)"),
    (lambda c: c["svc"].update(discovery="other"), "components.svc.discovery",
     "'other' is a service, not a registry"),
    (lambda c: c["reg"].update(heartbeat="15s"), "components.reg", "heartbeat (15 s) must be shorter than ttl (15 s)"),
    (lambda c: c["reg"].pop("ttl"), "components.reg", "mode: ttl needs ttl"),
    (lambda c: c["reg"].update(lease_expiration_duration="90s"), "components.reg",
     "lease_expiration_duration applies only with mode: eureka (this registry's mode is ttl)"),
    (lambda c: c["reg"].update(mode="dns", client={"ttl": "30s"}), "components.reg",
     "ttl, heartbeat apply only with mode: ttl (this registry's mode is dns)"),
    (lambda c: c["reg"].update(deregister_critical_service_after="2m", lease_renewal_interval="10s"), "components.reg",
     "lease_renewal_interval applies only with mode: eureka (this registry's mode is ttl)"),
    (lambda c: c.update(reg=registry("dns", client={"ttl": "30s"}, timeout="2s", deregister_critical_service_after="2m",
                                     self_preservation=False)), "components.reg",
     "timeout applies only with mode: health_check; deregister_critical_service_after applies only with mode: ttl "
     "or health_check; self_preservation applies only with mode: eureka (this registry's mode is dns)"),
    (lambda c: c.update(reg=registry("dns", client={"caches": 3})), "components.reg", "mode: dns needs client.ttl"),
    (lambda c: c.update(reg=registry("eureka", client={"ttl": "30s"})), "components.reg",
     "a Eureka client fetches the registry"),
    (lambda c: c["reg"].update(deregister_critical_service_after="30s"), "components.reg",
     "below Consul's minimum of 1 minute"),
    (lambda c: c["reg"].update(client={"ttl": "5s", "fetch_interval": "5s"}), "components.reg.client",
     "give fetch_interval (a polling client) or ttl (a DNS resolver), not both"),
    (lambda c: c["reg"].update(client={"caches": 0}), "components.reg.client.caches", "greater than or equal to 1"),
    (lambda c: c.update(reg=registry("health_check")), "components.reg", "mode: health_check needs interval"),
])
def test_bad_input_is_located(change, where, message):
    comps = {"reg": registry(), "svc": discovered(3), "other": service()}
    change(comps)
    found = located_problems(comps, entry="svc")
    assert any(where in p and message in p for p in found), found


# ----------------------------------------------------------------------------- scenarios and README


def test_the_scenarios_show_what_their_headers_say():
    ttl = simulate(load_scenario(SCENARIOS / "ttl-heartbeats.yaml"))
    facts = entry(ttl, "consul")
    assert 5 <= facts["detection_delay_max"] <= 15 and facts["counts"]["misdirected"] > 0
    assert facts["propagation_delay_max"] <= facts["detection_delay_max"] + 30
    eureka_ = entry(simulate(load_scenario(SCENARIOS / "eureka.yaml")), "eureka")
    assert eureka_["counts"]["evictions"] == 1 and eureka_["self_preservation_seconds"] > 0
    assert 150 < eureka_["detection_delay_max"] <= 240 and eureka_["propagation_delay_max"] <= 300
    dns = entry(simulate(load_scenario(SCENARIOS / "dns-ttl.yaml")), "dns")
    assert dns["detection_delay_max"] == 0 and 0 < dns["propagation_delay_max"] <= 30


def test_the_readme_example_is_a_valid_design_that_runs():
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- discovery-example -->\s*```yaml\n(.+?)\n```", text, re.S)
    assert match, "README has no discovery-example block"
    body = yaml.safe_load(match.group(1))
    doc = {"name": "readme-discovery", "duration": "60s", **body}
    scenario_, warnings = check_scenario("readme.yaml", text=yaml.safe_dump(doc, sort_keys=False))
    assert warnings == []
    assert entry(simulate(scenario_, 1), "consul")["counts"]["registrations"] >= 1
