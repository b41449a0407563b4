"""The broker's pure algorithms and the event-driven closed forms, against their published values.

Kafka's own murmur2 vectors (``UtilsTest.testMurmur2`` in the Java client) and the golden
results of §8 (brokers), §11 (projections) and §12 (sagas), each number copied here with
its source so nothing reads ../shared at test time.
"""

from __future__ import annotations

import math
from itertools import product

import pytest

from simulator import theory
from simulator.messaging import ASSIGNORS, assign, murmur2, partition_for, range_assignment, round_robin_assignment
from simulator.registry import UnknownName

# Apache Kafka, clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java, testMurmur2
KAFKA_MURMUR2 = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


@pytest.mark.parametrize("data, expected", list(KAFKA_MURMUR2.items()))
def test_murmur2_is_the_java_clients(data, expected):
    assert murmur2(data) == expected


def test_a_key_goes_to_the_java_clients_partition_and_always_the_same_one():
    # toPositive(-973932308) % 12 by hand: (-973932308 & 0x7fffffff) = 1173551340; % 12 = 0
    assert partition_for("21", 12) == 1173551340 % 12 == 0
    assert partition_for(21, 12) == partition_for(b"21", 12)  # integers travel as their text
    assert all(partition_for(k, 7) == partition_for(k, 7) for k in range(100))


def test_growing_12_to_13_partitions_remaps_twelve_thirteenths_of_the_keys():
    """Golden G8.6: mod hashing over a uniform hash keeps a key only if h % 12 == h % 13."""
    keys = range(200_000)
    moved = sum(partition_for(k, 12) != partition_for(k, 13) for k in keys) / len(keys)
    # a binomial proportion: 3 standard errors of 200,000 draws is about 0.0018
    assert abs(moved - 12 / 13) < 3 * math.sqrt(12 / 13 / 13 / len(keys))


def test_range_assignment_of_12_partitions_to_5_consumers_is_3_3_2_2_2():
    """Golden G8.1."""
    members = [f"consumer-{i}" for i in range(5)]
    got = range_assignment(12, members)
    assert [len(got[m]) for m in sorted(members)] == [3, 3, 2, 2, 2]
    assert got["consumer-0"] == [0, 1, 2] and got["consumer-4"] == [10, 11]


@pytest.mark.parametrize("strategy, partitions, consumers", list(product(["range", "round_robin"], [1, 5, 12], [1, 3, 12, 20])))
def test_every_partition_has_exactly_one_reader_and_extra_consumers_idle(strategy, partitions, consumers):
    members = [f"m{i:02d}" for i in range(consumers)]
    got = assign(strategy, partitions, members)
    owned = sorted(p for parts in got.values() for p in parts)
    assert owned == list(range(partitions))
    busy = sum(1 for parts in got.values() if parts)
    assert busy == min(partitions, consumers)  # parallelism is min(P, C)
    sizes = [len(parts) for parts in got.values()]
    assert max(sizes) - min(sizes) <= 1


def test_round_robin_deals_partitions_in_turn():
    assert round_robin_assignment(5, ["b", "a"]) == {"a": [0, 2, 4], "b": [1, 3]}


def test_an_unknown_assignor_lists_the_valid_ones():
    with pytest.raises(UnknownName, match="range.*round_robin|round_robin.*range"):
        assign("sticky", 3, ["a"])
    assert set(ASSIGNORS) == {"range", "round_robin"}


def test_broker_closed_forms_are_the_golden_numbers():
    assert theory.catch_up_time(60_000, 2000, 1500) == pytest.approx(120)                 # G8.4
    assert theory.lag_before_reassignment(100, 45) == pytest.approx(4500)                 # G8.3
    assert theory.auto_commit_duplicates(2000, 5) == pytest.approx((5000, 10_000))        # G8.2
    assert theory.acks_all_write_availability(3, 2, 0.99) == pytest.approx(0.999702, abs=5e-7)  # G8.5


def test_projection_closed_forms_are_the_golden_numbers():
    """Golden G11.1: λ = 800/s, μ = 1000/s."""
    assert theory.projection_lag_mean(800, 1000) == pytest.approx(0.005)
    assert theory.projection_lag_quantile(0.99, 800, 1000) == pytest.approx(0.02303, abs=1e-5)
    for delay, stale in [(0.001, 0.8187), (0.005, 0.3679), (0.010, 0.1353), (0.020, 0.0183)]:
        assert theory.stale_read_probability(delay, 800, 1000) == pytest.approx(stale, abs=1e-4)
    assert theory.projection_lag_mean(800, 1000, poll_interval=0.1) == pytest.approx(0.055)


def test_saga_closed_forms_are_the_golden_numbers():
    """Golden G12.1-G12.3: n = 4 steps at p = 0.95."""
    complete, fail_at = theory.saga_outcomes(4, 0.95)
    assert complete == pytest.approx(0.814506, abs=1e-6)
    assert fail_at == pytest.approx([0.05, 0.0475, 0.045125, 0.042869], abs=1e-6)
    assert complete + sum(fail_at) == pytest.approx(1)
    assert theory.saga_expected_compensations(4, 0.95) == pytest.approx(0.266356, abs=1e-6)
    assert theory.saga_messages(4, "orchestration") == 8 and theory.saga_messages(4, "choreography") == 4
    assert theory.saga_messages(4, "orchestration", failed_at=3) == 6 + 4
    assert theory.saga_messages(4, "choreography", failed_at=3) == 3 + 2
    assert theory.saga_latency([1, 2, 3, 4]) == 10
    assert theory.saga_latency([1, 2, 3, 4], [0.5, 0.25, 0.125], failed_at=3) == 1 + 2 + 3 + 0.5 + 0.25


def test_replay_time_counts_the_events_since_the_last_snapshot():
    assert theory.replay_time(10_000, 0.001) == pytest.approx(10)
    assert theory.replay_time(10_050, 0.001, snapshot_every=100, snapshot_load=0.02) == pytest.approx(0.05 + 0.02)
    assert theory.replay_time(99, 0.001, snapshot_every=100, snapshot_load=0.02) == pytest.approx(0.099)


@pytest.mark.parametrize("call", [
    lambda: theory.catch_up_time(10, 1, 2),
    lambda: theory.projection_lag_mean(10, 5),
    lambda: theory.saga_outcomes(0, 0.5),
    lambda: theory.saga_messages(3, "gossip"),
    lambda: theory.saga_latency([1, 2], failed_at=2),
    lambda: partition_for(1, 0),
])
def test_invalid_inputs_say_why(call):
    with pytest.raises(ValueError):
        call()
