"""The message broker (``kind: broker``) through the engine, against golden.md §8 and Erlang C.

Golden numbers are copied here with their source (simulator/docs/golden.md §8, the
course's reference sheet): golden G8.1 range assignment of P = 12 partitions over C = 5
consumers is [3, 3, 2, 2, 2]; golden G8.2 a crash at a uniformly random moment with
auto-commit every I seconds replays r·I/2 messages on average, r·I at worst; golden G8.3 a
silently crashed consumer leaves rate × session_timeout messages behind before the
group reassigns; golden G8.4 a lag L drains in L / (consume − produce); golden G8.5 with acks=all and
min.insync.replicas = 2 of 3 an acknowledged record survives any single-broker loss,
while acks=1 can lose acknowledged records. Scaled-down rates keep the runs short; the
closed forms come from :mod:`simulator.theory`, never from the code under test.

Deterministic checks use a producer that sends exactly every 10 ms (one closed-loop
user whose think time is constant and whose publish answers at once). Stochastic ones
follow golden.md §0: R independent replications (seeds 1..R), the grand mean within
3 SE of the exact value (tests/bands.py).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import yaml

from bands import assert_binomial_within_3se, assert_replications_within_3se
from helpers import located_problems, scenario, service
from simulator import Scenario, load_scenario, simulate
from simulator.components.broker.frames import groups, lag, topics
from simulator.messaging import partition_for
from simulator.objectives import judge, parse_objective
from simulator.scenario.load import check_scenario
from simulator.theory import auto_commit_duplicates, catch_up_time, lag_before_reassignment, mmc

EVENTS = Path(__file__).resolve().parents[1] / "scenarios" / "events"
EVERY_10MS = {"arrivals": {"kind": "closed", "users": 1, "think": "10ms"}}  # exactly 100 messages/s


def broker(groups_: dict[str, Any] | None = None, *, partitions: int = 1, topic: dict | None = None,
           extra_topics: dict | None = None, **kw: Any) -> dict[str, Any]:
    """A broker with topic ``t`` (and *extra_topics*), its groups *groups_*."""
    topics_ = {"t": {"partitions": partitions, "groups": groups_ or {}, **(topic or {})}, **(extra_topics or {})}
    return {"kind": "broker", "topics": topics_, **kw}


def group(**kw: Any) -> dict[str, Any]:
    return {"consumer": "c.op", **kw}


def produce_into(components: dict[str, Any], **kw: Any) -> Scenario:
    """Clients produce straight into topic ``bus.t`` (the workload's entry is the broker)."""
    return scenario(components, entry="bus", operation="t", **kw)


def the_group(result, name: str = "bus", row: int = 0) -> SimpleNamespace:
    """Row *row* of the broker's groups table, its columns as attributes."""
    return SimpleNamespace(**groups(result, name).iloc[row].to_dict())


def facts(result, name: str = "bus") -> dict[str, Any]:
    return result.summary()["components"][name]


def assert_conserved(result, name: str = "bus") -> None:
    """produced = processed + deduplicated + dead_lettered + lost + in_flight + backlog, for every group
    (ledger.py; ``deduplicated`` is 0 unless the group is idempotent)."""
    for g in groups(result, name).to_dict("records"):
        assert g["produced"] == (g["processed"] + g["deduplicated"] + g["dead_lettered"] + g["lost"] + g["in_flight"]
                                 + g["backlog"]), g
        assert g["lost"] == sum(v for k, v in g.items() if k.startswith("lost_")), g


# ----------------------------------------------------------------------------- golden G8.1 assignment


@pytest.mark.parametrize("assignment, shares", [
    ("range", [3, 3, 2, 2, 2]),          # golden G8.1: P = 12, C = 5
    ("round_robin", [3, 3, 2, 2, 2]),    # partition i to member i mod 5: 0,5,10 | 1,6,11 | 2,7 | 3,8 | 4,9
])
def test_assignment_as_seen_in_a_run(assignment, shares):
    """12 partitions fed in turn, 5 members: each member processes its partitions' share of the messages."""
    comps = {"bus": broker({"g": group(consumers=5, assignment=assignment)}, partitions=12),
             "c": service("1ms", workers=5)}
    result = simulate(produce_into(comps, duration="12.005s", workload=EVERY_10MS))
    messages = result.components["bus"].table("messages")
    assert len(messages) == 1200
    per_member = messages.groupby("member").size().reindex(range(5), fill_value=0).to_list()
    assert per_member == [100 * s for s in shares]
    if assignment == "range":  # consecutive partitions
        assert sorted(messages[messages.member == 0].partition.unique()) == [0, 1, 2]


def test_more_members_than_partitions_leaves_some_idle():
    """C > P: C − P members get nothing (golden G8.1: parallelism is min(P, C))."""
    comps = {"bus": broker({"g": group(consumers=5)}, partitions=3), "c": service("1ms", workers=5)}
    result = simulate(produce_into(comps, duration="3.005s", workload=EVERY_10MS))
    per_member = result.components["bus"].table("messages").groupby("member").size()
    assert sorted(per_member.index) == [0, 1, 2] and per_member.to_list() == [100, 100, 100]


# ----------------------------------------------------------------------------- golden G8.2 duplicates


def crash_consumer(at: float, *, rate_or_every: Any = EVERY_10MS, delivery: str = "at_least_once",
                   session: str = "10s", duration: str = "60s", **group_kw: Any) -> Scenario:
    """One partition read by the member on replica 0 of ``c`` (2 replicas × 1 consumer); replica 0
    crashes at *at* for good: the member on replica 1 takes over after the session timeout."""
    comps = {"bus": broker({"g": group(delivery=delivery, session_timeout=session, **group_kw)}),
             "c": service("1ms", replicas=2)}
    workload = rate_or_every if isinstance(rate_or_every, dict) else None
    rate = rate_or_every if workload is None else "10/s"
    return produce_into(comps, duration=duration, rate=rate, workload=workload,
                        faults=[{"kind": "crash", "target": "c", "replicas": 1, "at": f"{at}s", "for": "1000s"}])


@pytest.mark.parametrize("phase", [0.5, 2.5, 4.5])
def test_a_crash_replays_what_was_processed_since_the_last_auto_commit(phase):
    """golden G8.2, deterministic: at 100 messages/s and auto-commit every 5 s, a crash *phase* seconds after
    a commit replays the 100·phase messages processed since (a commit happens at the first poll after
    the interval, so it slips by at most a message or so per interval: 5 messages of slack)."""
    result = simulate(crash_consumer(20 + phase))
    g = the_group(result)
    assert abs(g.duplicated - 100 * phase) <= 5
    assert g.redelivered == g.duplicated and g.rebalances == 1
    assert g.lost == 0
    assert_conserved(result)


def test_duplicates_after_a_crash_at_a_random_moment(golden_zscores):
    """golden G8.2: with the crash at a uniformly random moment, E[duplicates] = r·I/2 (golden: r = 2000/s,
    I = 5 s → 5000; here r = 100/s → 250). The only consumer replica crashes 20 times a run for 1 s,
    each time 5–10 s (uniform) after it came back, when its member joined and its commit clock
    started again: the crash falls at a uniform moment of a commit interval. One replication's value
    is its mean duplicates per crash."""
    rate, interval, crashes = 100.0, 5.0, 20
    mean, worst = auto_commit_duplicates(rate, interval)
    assert (mean, worst) == (250.0, 500.0)
    comps = {"bus": broker({"g": group()}), "c": service("1ms")}
    values = []
    for seed in range(1, 11):
        draws = np.random.default_rng(820 + seed).uniform(interval, 2 * interval, size=crashes)
        faults, back = [], 0.0
        for gap in draws:
            faults.append({"kind": "crash", "target": "c", "at": f"{back + gap:.4f}s", "for": "1s"})
            back += gap + 1.0
        result = simulate(produce_into(comps, rate=f"{rate}/s", duration=f"{back + 2:.0f}s", faults=faults), seed)
        g = the_group(result)
        assert g.rebalances == crashes and g.lost == 0
        assert g.duplicated <= crashes * (worst + 10)
        values.append(g.duplicated / crashes)
    assert_replications_within_3se(golden_zscores, values, mean, "golden G8.2 duplicates per crash, auto-commit 5s")


def test_at_most_once_loses_the_message_in_flight_instead():
    """Commit before processing: nothing is replayed, the message being processed at the crash is lost."""
    comps = {"bus": broker({"g": group(delivery="at_most_once", session_timeout="10s")}),
             "c": service("50ms", replicas=2)}  # slow enough that a message is always in flight
    sc = produce_into(comps, duration="60s", workload={"arrivals": {"kind": "closed", "users": 1, "think": "60ms"}},
                      faults=[{"kind": "crash", "target": "c", "replicas": 1, "at": "20.02s", "for": "1000s"}])
    result = simulate(sc)
    g = the_group(result)
    assert g.duplicated == 0 and g.lost == g.lost_at_most_once == 1
    assert_conserved(result)


# ----------------------------------------------------------------------------- golden G8.3 lag until reassignment


def test_lag_grows_to_rate_times_session_timeout_before_reassignment():
    """golden G8.3: a consumer at 100 msg/s crashes silently; with session.timeout 45 s the lag reaches
    100 × 45 = 4500 before its partition is reassigned (at-most-once: no replayed tail on top)."""
    result = simulate(crash_consumer(20.005, delivery="at_most_once", session="45s", duration="90s"))
    expected = lag_before_reassignment(100.0, 45.0)
    assert expected == 4500
    g = the_group(result)
    assert abs(g.lag_max - expected) <= 1
    series = lag(result, "bus")
    before = series[series.time <= 65.0].lag.max()
    assert abs(before - expected) <= 1  # the peak is reached at the reassignment, 45 s after the crash
    assert series[series.time >= 70.0].lag.max() < 100  # then the new reader drains it (1 ms per message)
    assert g.rebalances == 1 and g.lost == g.lost_at_most_once <= 1


# ----------------------------------------------------------------------------- golden G8.4 catch-up


def test_backlog_after_an_outage_drains_at_consume_minus_produce(golden_zscores):
    """golden G8.4: after a 30 s outage of the only consumer (consume 200/s, produce 150/s: the golden
    2000 vs 1500 scaled by 10), the backlog is 150 × 30 = 4500 and drains in 4500 / (200 − 150) = 90 s."""
    produce, consume, outage = 150.0, 200.0, 30.0
    backlog = produce * outage
    drain = catch_up_time(backlog, consume, produce)
    assert drain == 90.0
    comps = {"bus": broker({"g": group(delivery="at_most_once")}), "c": service("5ms")}
    sc = produce_into(comps, rate=f"{produce}/s", duration="170s", sample_interval="0.1s",
                      faults=[{"kind": "crash", "target": "c", "at": "20s", "for": f"{outage}s"}])
    backlogs, drains = [], []
    for seed in range(1, 11):
        series = lag(simulate(sc, seed), "bus")
        after = series[series.time >= 50.0]
        backlogs.append(after.lag.iloc[0])
        drains.append(after[after.lag == 0].time.iloc[0] - 50.0)
    assert_replications_within_3se(golden_zscores, backlogs, backlog, "golden G8.4 backlog after a 30s outage")
    assert_replications_within_3se(golden_zscores, drains, drain, "golden G8.4 catch-up time")


# ----------------------------------------------------------------------------- golden G8.5 acks


def replicated(acks: Any, *, lag_: str = "50ms") -> Scenario:
    """3 nodes, RF 3, min ISR 2, 3 partitions (one led by each node); node 0 crashes at 10 s for 5 s."""
    comps = {"bus": broker({"g": group()}, partitions=3, replicas=3, replication_factor=3, min_insync_replicas=2,
                           acks=acks, replication_lag=lag_),
             "c": service("1ms", workers=4)}
    return produce_into(comps, rate="600/s", duration="30s",
                        faults=[{"kind": "crash", "target": "bus", "replicas": 1, "at": "10s", "for": "5s"}])


def test_acks_all_keeps_every_acknowledged_message_through_a_node_crash():
    """golden G8.5: acks=all, min.insync.replicas 2 of 3: the leader's crash loses nothing acknowledged; the
    messages it had not copied were never acknowledged (their producers got an error)."""
    result = simulate(replicated("all"))
    f = facts(result)
    assert f["messages_lost"] == 0 and f["messages_processed"] == f["messages_produced"] - f["in_flight"] - f["backlog"]
    t = topics(result, "bus").iloc[0]
    assert t.rejected_leader_failover > 0  # ~600/3 × 50 ms in flight on the dead leader
    assert t.rejected_no_leader > 0  # during the election
    assert f["messages_rejected"] == result.summary()["components"]["bus"]["errors"]
    assert_conserved(result)


def test_acks_one_loses_what_the_dead_leader_had_not_copied():
    """golden G8.5: with acks=1 the producer hears back before the copy: a leader loss drops acknowledged records."""
    result = simulate(replicated(1))
    f = facts(result)
    assert 0 < f["lost_leader_failover"] == f["messages_lost"] <= 600 / 3 * 0.05 * 3
    assert_conserved(result)


def test_acks_all_is_refused_without_enough_in_sync_replicas():
    """Two of three nodes down: acks=all writes need min.insync.replicas = 2 and are refused."""
    sc = replicated("all")
    data = sc.model_dump(by_alias=True)
    data["faults"][0]["replicas"] = 2
    result = simulate(Scenario.model_validate(data))
    t = topics(result, "bus").iloc[0]
    assert t.rejected_not_enough_replicas > 0 and facts(result)["messages_lost"] == 0


def test_acks_zero_to_a_dead_leader_is_lost_but_counted():
    comps = {"bus": broker({"g": group()}, acks=0), "c": service("1ms")}
    sc = produce_into(comps, rate="100/s", duration="20s",
                      faults=[{"kind": "crash", "target": "bus", "at": "5s", "for": "5s"}])
    result = simulate(sc)
    f = facts(result)
    assert f["messages_rejected"] == 0 and 400 < f["lost_no_leader"] == f["messages_lost"] < 600
    assert_conserved(result)


# ----------------------------------------------------------------------------- Erlang C


def test_a_share_group_is_an_mmc_queue_of_consumers(golden_zscores):
    """A share group of c = 4 members on one partition, Poisson 300/s, exponential work of mean 10 ms:
    the message wait (produce → taken) is M/M/4's, Wq = C(4, 3)/(cμ − λ) (Erlang C)."""
    expected = mmc(300.0, 100.0, 4)
    comps = {"bus": broker({"g": group(type="share", consumers=4)}), "c": service("exp(mean=10ms)", workers=4)}
    sc = produce_into(comps, rate="300/s", duration="100s")
    waits, p_wait = [], []
    for seed in range(1, 11):
        messages = simulate(sc, seed).components["bus"].table("messages")
        messages = messages[messages.produced >= 10.0]
        wait = messages.taken - messages.produced
        waits.append(wait.mean())
        p_wait.append((wait > 0).mean())
    assert_replications_within_3se(golden_zscores, waits, expected.Wq, "share group M/M/4 mean wait")
    assert_replications_within_3se(golden_zscores, p_wait, expected.p_wait, "share group M/M/4 P(wait)")


# ----------------------------------------------------------------------------- order, DLQ, retention, full


def test_messages_of_one_key_are_processed_in_produce_order():
    """Keyed messages go to murmur2(key) mod P; one reader per partition keeps each key's order."""
    comps = {"bus": broker({"g": group(consumers=4)}, partitions=4), "c": service("exp(mean=5ms)", workers=4)}
    result = simulate(produce_into(comps, rate="400/s", duration="20s",
                                   workload={"keys": {"dist": "uniform", "n": 50}}))
    messages = result.components["bus"].table("messages")
    assert len(messages) > 7000
    for key, rows in messages.groupby("key"):
        assert set(rows.partition) == {partition_for(int(key), 4)}
        in_processing_order = rows.sort_values("processed")
        assert in_processing_order.produced.is_monotonic_increasing
        assert in_processing_order.offset.is_monotonic_increasing


def dead_letters(probability: float, **kw: Any) -> Scenario:
    comps = {"bus": broker({"g": group(max_deliveries=3, dead_letter="dlq")}, extra_topics={"dlq": {}}),
             "c": service("1ms")}
    return produce_into(comps, rate="200/s", duration="20s",
                        faults=[{"kind": "errors", "target": "c", "probability": probability, "at": 0, "for": "1h"}],
                        **kw)


def test_a_message_that_always_fails_goes_to_the_dead_letter_topic_after_max_deliveries():
    result = simulate(dead_letters(1.0))
    g, f = the_group(result), facts(result)
    t = topics(result, "bus").set_index("topic")
    assert g.processed == 0 and g.dead_lettered == g.produced - g.in_flight - g.backlog > 3000
    assert 3 * g.dead_lettered <= g.delivered <= 3 * (g.dead_lettered + g.in_flight)
    assert g.redelivered == g.delivered - g.dead_lettered - g.in_flight  # each message's first delivery is not one
    assert t.loc["dlq", "produced"] == g.dead_lettered and t.loc["t", "produced"] == g.produced
    assert f["dead_lettered"] == g.dead_lettered and f["messages_produced"] == g.produced + g.dead_lettered
    assert_conserved(result)


def test_dead_lettered_share_is_the_failure_probability_to_the_power_max_deliveries(golden_zscores):
    """Each delivery fails independently with p = 0.5: a message is dead-lettered with p³ = 0.125."""
    result = simulate(dead_letters(0.5))
    g = the_group(result)
    assert_binomial_within_3se(golden_zscores, int(g.dead_lettered), int(g.produced - g.in_flight), 0.125,
                               "dead-lettered after 3 failed deliveries")
    assert g.processed + g.dead_lettered + g.in_flight + g.backlog == g.produced and g.lost == 0


def test_no_dead_letter_topic_counts_the_message_lost_failed():
    comps = {"bus": broker({"g": group(max_deliveries=2)}), "c": service("1ms")}
    sc = produce_into(comps, rate="50/s", duration="10s",
                      faults=[{"kind": "errors", "target": "c", "probability": 1.0, "at": 0, "for": "1h"}])
    g = the_group(simulate(sc))
    assert g.lost == g.lost_failed == g.produced - g.in_flight > 400


def test_retention_deletes_old_messages_and_counts_them_lost():
    """No consumer for 40 s and a 10 s retention: what is older than 10 s when the consumer is back is gone."""
    comps = {"bus": broker({"g": group(delivery="at_most_once")}, topic={"retention": "10s"}), "c": service("1ms")}
    sc = produce_into(comps, duration="60s", workload=EVERY_10MS,
                      faults=[{"kind": "crash", "target": "c", "at": "10s", "for": "40s"}])
    result = simulate(sc)
    g = the_group(result)
    assert abs(g.lost_retention - 100 * 30) <= 2  # produced in [10 s, 40 s): older than 10 s at 50 s
    assert g.lag_seconds_max <= 10.0 + 1e-9  # nothing waits longer than the retention
    assert_conserved(result)


@pytest.mark.parametrize("when_full, expect", [("reject", "rejected_full"), ("drop", "lost_dropped"),
                                                ("block", "rejected_max_block")])
def test_a_full_partition(when_full, expect):
    """max_backlog 100 and no consumer for 10 s at 100/s: 900 messages do not fit."""
    comps = {"bus": broker({"g": group(delivery="at_most_once")},
                           topic={"max_backlog": 100, "when_full": when_full, "max_block": "0.5s"}),
             "c": service("1ms")}
    sc = produce_into(comps, duration="30s", workload=EVERY_10MS,
                      faults=[{"kind": "crash", "target": "c", "at": "5s", "for": "10s"}])
    result = simulate(sc)
    g, t = the_group(result), topics(result, "bus").iloc[0]
    count = getattr(g, expect, None)
    count = t[expect] if count is None else count
    if when_full == "block":  # each blocked producer waits 0.5 s, then gives up: about 10 s / 0.5 s of them
        assert 15 <= count <= 21
    else:
        assert abs(count - 900) <= 3
    status = result.summary()["components"]["bus"]
    if when_full == "reject":
        assert status["rejected"] == t.rejected_full
    assert_conserved(result)


def test_a_blocked_producer_whose_replica_crashes_gives_its_place_back():
    """Callers wait (call:) on a full partition (block); a crash of their replica interrupts them. They
    leave the line, and room handed to one of them goes to the next: the consumer (50/s) stays busy."""
    comps = {"web": service("1ms", steps=[{"call": "bus.t"}], workers=200, replicas=2),
             "bus": broker({"g": group()}, topic={"max_backlog": 20, "when_full": "block", "max_block": "5s"},
                           replicas=3, replication_factor=3, replication_lag="20ms"),
             "c": service("20ms")}
    sc = scenario(comps, entry="web", rate="100/s", duration="30s",
                  faults=[{"kind": "crash", "target": "web", "replicas": 1, "at": "5s", "for": "3s"},
                          {"kind": "crash", "target": "web", "replicas": 1, "at": "15.005s", "for": "3s"}])
    result = simulate(sc)
    g = the_group(result)
    assert g.processed >= 0.95 * 50 * 30
    assert facts(result)["errors"] > facts(result)["messages_rejected"]  # the interrupted produces failed too
    assert_conserved(result)


# ----------------------------------------------------------------------------- share groups, crashes


def test_a_share_group_releases_a_crashed_members_message_when_its_lock_expires():
    """The member holding a message dies with its replica: the message comes back after lock_duration
    (2 s, shorter than the session timeout) and another member processes it: nothing is lost. (3 messages/s
    for 2 members taking 1 s each: both are always busy, so one holds a message when its replica crashes.)"""
    comps = {"bus": broker({"g": group(type="share", lock_duration="2s")}), "c": service("1s", replicas=2)}
    sc = produce_into(comps, rate="3/s", duration="30s",
                      faults=[{"kind": "crash", "target": "c", "replicas": 1, "at": "10s", "for": "1000s"}])
    result = simulate(sc)
    g = the_group(result)
    assert g.lost == 0 and g.rebalances == 0 and g.redelivered >= 1
    assert_conserved(result)


def test_pub_sub_every_group_gets_every_message():
    comps = {"bus": broker({"a": group(), "b": {"consumer": "d.op", "consumers": 2}}, partitions=2),
             "c": service("1ms"), "d": service("2ms", workers=2)}
    result = simulate(produce_into(comps, rate="100/s", duration="20s"))
    rows = groups(result, "bus")
    assert rows.group.to_list() == ["a", "b"]
    assert (rows.produced == rows.processed + rows.in_flight + rows.backlog).all()
    assert facts(result)["messages_processed"] == rows.processed.sum()


def test_a_service_publishes_and_the_restarted_consumer_replica_rejoins():
    """A service step `publish: bus.t` produces; a crash and restart of a consumer replica rebalances
    twice at most (its members' session expiry, their return), and every message is accounted for."""
    comps = {"web": service("1ms", steps=[{"publish": "bus.t"}], workers=8),
             "bus": broker({"g": group(consumers=2)}, partitions=4), "c": service("5ms", replicas=2, workers=2)}
    sc = scenario(comps, entry="web", rate="100/s", duration="60s",
                  faults=[{"kind": "crash", "target": "c", "replicas": 1, "at": "10s", "for": "10s"}])
    result = simulate(sc)
    g = the_group(result)
    assert g.rebalances == 1  # the restart at 20 s comes before the session (45 s) expires: one rebalance
    assert g.lost == 0 and g.processed + g.in_flight + g.backlog == g.produced > 5000
    assert_conserved(result)


# ----------------------------------------------------------------------------- what a person sees


def test_full_and_summary_records_give_the_same_broker_metrics():
    sc = dead_letters(0.3)
    full, summary = simulate(sc, 3, records="full"), simulate(sc, 3, records="summary")
    keep = lambda s: {k: v for k, v in s.items() if k not in ("utilization", "wait_s", "p_wait")}  # noqa: E731
    assert keep(facts(full)) == keep(facts(summary))
    assert groups(full, "bus").equals(groups(summary, "bus"))
    assert summary.components["bus"].tables["messages"].count == len(full.components["bus"].table("messages"))


def test_objectives_read_the_broker_metrics():
    sc = dead_letters(0.3)
    data = sc.model_dump(by_alias=True)
    data["slos"] = [{"name": "nothing lost", "component": "bus", "metric": "messages_lost", "max": 0},
                    {"name": "fresh", "component": "bus", "metric": "consumer_lag_seconds_max", "max": 1}]
    result = simulate(Scenario.model_validate(data))
    verdicts = {v["name"]: v for v in result.summary()["slos"]}
    assert verdicts["nothing lost"]["passed"] and verdicts["fresh"]["passed"]
    lost = parse_objective("component.bus.dead_lettered<=0")
    check = judge(lost, [simulate(sc, seed).summary() for seed in (1, 2)])
    assert not check.met and check.mean > 0


def test_the_report_compare_and_sweep_records_carry_the_broker_metrics():
    """Declared metrics reach every consumer with no edit outside the kind's folder."""
    from simulator.compare import compare
    from simulator.experiments.runs import RunSpec, record
    from simulator.report import component_details

    path = EVENTS / "dead-letter.yaml"
    sc = load_scenario(path)
    result = simulate(sc, 3)
    f = facts(result)
    assert f["counts"]["dead_lettered"] == f["dead_lettered"] > 0  # no warm-up, nothing after the window
    assert f["dead_letter_ratio"] == f["dead_lettered"] / (f["messages_processed"] + f["dead_lettered"])
    [(_, kind, text)] = [row for row in component_details(result.summary()) if row[0] == "bus"]
    assert kind == "broker" and "dead letter ratio" in text and "messages lost 0" in text
    flat = record(RunSpec(str(path), (), (), 3, 0, 0), result)
    assert flat["component.bus.messages_lost"] == 0 and flat["component.bus.dead_lettered"] == f["dead_lettered"]
    assert flat["component.bus.dead_letter_ratio"] == f["dead_letter_ratio"]
    rows = {row["metric"]: row for row in compare(sc, sc, replications=2).rows()}
    assert rows["component.bus.loss_ratio"]["diff"] == 0.0 and rows["component.bus.dead_letter_ratio"]["a"] > 0


def test_the_lag_chart(tmp_path):
    result = simulate(crash_consumer(10.0, duration="30s"))
    fig = result.plot.consumer_lag()
    assert fig.axes and any(line.get_label().startswith("bus") for line in fig.axes[0].get_lines())
    fig.savefig(tmp_path / "lag.png")


def test_lag_per_partition_adds_up_and_the_hot_partitions_grow_at_offered_minus_served(golden_zscores):
    """hot-partition.yaml: 600/s with Zipf(0.99) keys over 1,000 characters, 8 partitions, one
    reader per partition serving 100/s (10 ms each). Partition p is offered 600 × Σ P(key) over
    the keys murmur2 puts on p (computed here from the Zipf weights, not read off the run); an
    overloaded one's lag grows at (offered − 100)/s (fluid), the others stay near 0. Every sample:
    the partitions' lags sum to the group's lag and the oldest age is the group's."""
    from simulator.components.broker.frames import partition_lag

    weights = np.array([1 / (i + 1) ** 0.99 for i in range(1000)])
    offered = np.zeros(8)
    for key, w in enumerate(weights / weights.sum()):
        offered[partition_for(key, 8)] += 600 * w
    hot = [p for p in range(8) if offered[p] > 100]
    assert hot == [4, 7]  # offered about 127/s and 119/s
    spec = load_scenario(EVENTS / "hot-partition.yaml")
    ends = {p: [] for p in hot}
    for seed in range(1, 11):
        result = simulate(spec, seed)
        per, total = partition_lag(result, "bus"), lag(result, "bus")
        summed = per.groupby("time").agg(lag=("lag", "sum"), age=("lag_seconds", "max"))
        assert np.array_equal(summed.lag.to_numpy(), total.lag.to_numpy())
        assert np.allclose(summed.age.to_numpy(), total.lag_seconds.to_numpy())
        last = per[per.time == per.time.max()].set_index("partition")
        for p in hot:
            ends[p].append(last.lag[p] / last.time[p])
        assert all(last.lag[p] < 100 for p in range(8) if p not in hot)
    for p in hot:
        assert_replications_within_3se(golden_zscores, ends[p], offered[p] - 100, f"hot partition {p} lag growth (/s)")


def test_the_partition_lag_chart(tmp_path):
    result = simulate(load_scenario(EVENTS / "hot-partition.yaml"))
    fig = result.plot.partition_lag("bus", "price-update")
    assert {line.get_label() for line in fig.axes[0].get_lines()} >= {f"p{i}" for i in range(8)}
    fig.savefig(tmp_path / "partitions.png")
    with pytest.raises(ValueError, match=r"no group 'nope' \(its groups: trades/price-update\)"):
        result.plot.partition_lag("bus", "nope")


def test_a_topic_of_many_partitions_keeps_only_the_groups_lag():
    from simulator.components.broker.frames import partition_lag
    from simulator.components.broker.runtime import PARTITION_LAG_MAX

    sc = scenario({"bus": {"kind": "broker", "topics": {"t": {"partitions": PARTITION_LAG_MAX + 1, "groups": {
        "g": {"consumer": "app.op"}}}}}, "app": service()}, entry="bus", operation="t", duration="5s")
    result = simulate(sc, 1)
    assert partition_lag(result, "bus").empty and not lag(result, "bus").empty


def test_the_cost_model_counts_broker_nodes():
    spec = Scenario.model_validate(replicated("all").model_dump(by_alias=True)).components["bus"]
    assert spec.instances() == 3 and spec.fault_units() == (3, "nodes")


# ----------------------------------------------------------------------------- bad input


def problems_of(components: dict[str, Any], entry: str = "bus", operation: str = "t") -> list[str]:
    return located_problems(components, entry=entry, operation=operation)


@pytest.mark.parametrize("change, where, message", [
    (lambda c: c["web"]["operations"]["op"]["steps"].append({"publish": "bus.trade"}),
     "components.web.operations.op.steps.0.publish", "'bus' has no operation 'trade' (it has: t, dlq)"),
    (lambda c: c["bus"]["topics"]["t"]["groups"]["g"].update(consumer="c.nope"),
     "components.bus.topics.t.groups.g.consumer", "'c' has no operation 'nope' (it has: op)"),
    (lambda c: c["bus"]["topics"]["t"]["groups"]["g"].update(consumer="x.op"),
     "components.bus.topics.t.groups.g.consumer", "consumer service 'x' does not exist"),
    (lambda c: c["bus"]["topics"]["t"].update(partitions=10_001),
     "components.bus.topics.t.partitions", "less than or equal to 10000"),
    (lambda c: c["bus"]["topics"]["t"]["groups"]["g"].update(dead_letter="t"),
     "components.bus.topics.t.groups.g.dead_letter", "is the topic itself"),
    (lambda c: c["bus"]["topics"]["t"]["groups"]["g"].update(dead_letter="nope"),
     "components.bus.topics.t.groups.g.dead_letter", "dead_letter topic 'nope' does not exist in 'bus'"),
    (lambda c: c["bus"]["topics"]["t"]["groups"]["g"].update(consumers=5000),
     "components.bus.topics.t.groups.g.consumers", "more than the 10,000 a group may have"),
    (lambda c: c["bus"].update(replication_factor=4),
     "components.bus", "replication_factor (4) cannot exceed the broker nodes"),
    (lambda c: c["bus"].update(replicas=3, replication_factor=2, min_insync_replicas=3),
     "components.bus", "min_insync_replicas (3) cannot exceed replication_factor (2)"),
    (lambda c: c["bus"]["topics"]["t"]["groups"]["g"].update(type="share", delivery="at_most_once"),
     "components.bus.topics.t.groups.g", "a share group acknowledges each message after processing it"),
    (lambda c: c["bus"]["topics"]["t"]["groups"]["g"].update(assignment="sticky"),
     "components.bus.topics.t.groups.g.assignment", "unknown assignment 'sticky' (valid assignments: range, round_robin)"),
    (lambda c: c["bus"]["topics"]["t"]["groups"]["g"].update(consumer="bus.t"),
     "components.bus.topics.t.groups.g.consumer", "consumer 'bus' is a broker (expected a service"),
])
def test_bad_input_is_located(change, where, message):
    comps = {"web": service(), "bus": broker({"g": group()}, extra_topics={"dlq": {}}), "c": service(replicas=3)}
    change(comps)
    found = problems_of(comps, entry="web", operation="op")
    assert any(where in p and message in p for p in found), found


def test_an_event_cycle_is_refused_by_the_loop_checker():
    """A consumer that publishes back into the topic it consumes: every message makes another, forever."""
    comps = {"bus": broker({"g": group()}), "c": service(steps=[{"publish": "bus.t"}])}
    found = problems_of(comps)
    assert any("feedback loop never ends" in p and "bus.t" in p and "c.op" in p for p in found), found


# ----------------------------------------------------------------------------- the README


def test_the_readme_example_is_a_valid_design_that_runs():
    """The README's broker block validates and runs (a workload around it, its faults squeezed into 60 s)."""
    import re

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    match = re.search(r"<!-- broker-example -->\s*```yaml\n(.+?)\n```", text, re.S)
    assert match, "README has no broker-example block"
    body = yaml.safe_load(match.group(1))
    body["faults"][0].update(at="10s", **{"for": "10s"})
    body["faults"][1].update(at="30s", **{"for": "5s"})
    doc = {"name": "readme-broker", "duration": "60s", **body,
           "workload": [{"name": "traders", "entry": "trading", "operation": "trade", "keys": "zipf(s=0.8, n=1000)",
                         "arrivals": {"kind": "poisson", "rate": "100/s"}}]}
    scenario_, warnings = check_scenario("readme.yaml", text=yaml.safe_dump(doc, sort_keys=False))
    assert warnings == []
    result = simulate(scenario_)
    rows = groups(result, "bus").set_index("group")
    assert rows.loc["notification", "processed"] > 4000 and rows.loc["analytics", "processed"] > 4000
    assert facts(result)["messages_lost"] == 0 and facts(result)["rebalances"] >= 1
    assert_conserved(result)


WITH_A_BROKER = sorted(p for p in EVENTS.glob("*.yaml") if "kind: broker" in p.read_text())


@pytest.mark.parametrize("path", WITH_A_BROKER, ids=lambda p: p.name)
def test_every_broker_scenario_accounts_for_every_message(path):
    result = simulate(load_scenario(path))
    brokers = [name for name, spec in result.scenario.components.items() if spec.kind == "broker"]
    assert brokers
    for name in brokers:
        assert_conserved(result, name)
        assert result.summary()["components"][name]["messages_produced"] > 1000


def test_the_broker_scenarios_are_there():
    assert {p.name for p in WITH_A_BROKER} >= {"queue-vs-direct.yaml", "at-least-vs-at-most-once.yaml",
                                                "hot-partition.yaml", "dead-letter.yaml"}
