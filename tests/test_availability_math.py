"""Availability arithmetic (:mod:`simulator.theory.availability`) against golden §7 and §18.

Every number below is copied from the shipped reference sheet (simulator/docs/golden.md)
and compared at the digits printed there: golden G7.1 (majority-quorum availability),
golden G7.2 (PBS stale-read probability of partial quorums), golden G18.1 (serial,
parallel, k-of-n, steady state), golden G18.2 (the nines table). Golden G18.3 is checked
twice: by an independent alternating-renewal Monte Carlo (the formulas), and through the
engine's ``kind: failures`` fault (random up/down alternation per replica): the down periods
it records, and the availability the requests see through replicas and a chain.
"""

from __future__ import annotations

import numpy as np
import pytest

from bands import assert_replications_within_3se
from simulator import Scenario, simulate, theory
from simulator.theory import availability as A


def printed(value: float, text: str) -> bool:
    """*value* rounds to *text* at the number of decimals printed in *text*."""
    decimals = len(text.partition(".")[2])
    return round(value, decimals) == float(text)


# golden G7.1: N, p -> P(majority available), as printed.
G7_1 = [(1, 0.99, "0.99"), (1, 0.999, "0.999"), (3, 0.99, "0.999702"), (3, 0.999, "0.999997002"),
        (5, 0.99, "0.99999015"), (5, 0.999, "0.99999999")]


@pytest.mark.parametrize("n, p, expected", G7_1)
def test_majority_quorum_availability_golden_g7_1(n, p, expected):
    assert printed(A.majority_quorum(n, p), expected)


def test_a_majority_is_the_smallest_k_that_tolerates_floor_n_minus_1_over_2_failures():
    """golden G7.1: a majority tolerates 1, 2, 3 failures for N = 3, 5, 7: with exactly that many
    replicas down it is still up, one more and it is down (p = 0 or 1 per replica, by hand)."""
    for n, tolerated in ((3, 1), (5, 2), (7, 3)):
        quorum = n // 2 + 1
        assert n - quorum == tolerated
        assert A.k_of_n(quorum, n, 1.0) == 1.0 and A.majority_quorum(n, 0.0) == 0.0


# golden G7.2: N, R, W -> P(stale), as printed.
G7_2 = [(3, 1, 1, "0.6667"), (3, 2, 1, "0.3333"), (3, 1, 2, "0.3333"), (3, 2, 2, "0"),
        (5, 1, 1, "0.8"), (5, 2, 2, "0.3"), (5, 1, 3, "0.4")]


@pytest.mark.parametrize("n, r, w, expected", G7_2)
def test_partial_quorum_stale_read_probability_golden_g7_2(n, r, w, expected):
    assert printed(A.stale_read_probability(n, r, w), expected)


def test_intersecting_quorums_never_read_stale():
    """golden G7.2: 0 whenever R + W > N."""
    for n in range(1, 8):
        for r in range(1, n + 1):
            for w in range(1, n + 1):
                assert (A.stale_read_probability(n, r, w) == 0) == (r + w > n)


def test_serial_parallel_k_of_n_and_steady_state_golden_g18_1():
    assert printed(A.serial(0.999, 0.999, 0.9995), "0.997502")
    assert printed(A.parallel(0.99, 0.99), "0.9999")
    assert printed(A.parallel(0.99, 0.99, 0.99), "0.999999")
    assert printed(A.k_of_n(2, 3, 0.99), "0.999702")
    assert printed(A.steady_state(720, 1), "0.998613")
    assert A.majority_quorum(3, 0.99) == A.k_of_n(2, 3, 0.99)  # golden G8.5 is the same number


# golden G18.2: availability -> downtime per (365 d, 30 d, week, day), as printed with its unit.
MIN, HOUR = 60.0, 3600.0
G18_2 = [
    (0.99, [("87.6", HOUR), ("432", MIN), ("100.8", MIN), ("14.4", MIN)]),
    (0.999, [("8.76", HOUR), ("43.2", MIN), ("10.08", MIN), ("86.4", 1.0)]),
    (0.9999, [("52.56", MIN), ("4.32", MIN), ("60.5", 1.0), ("8.64", 1.0)]),
    (0.99999, [("5.26", MIN), ("25.9", 1.0), ("6.05", 1.0), ("0.864", 1.0)]),
]


@pytest.mark.parametrize("availability, row", G18_2)
def test_nines_downtime_table_golden_g18_2(availability, row):
    for period, (expected, unit) in zip(("365d", "30d", "7d", "1d"), row):
        assert printed(A.nines_downtime(availability, period) / unit, expected), (availability, period)


def test_nines_downtime_takes_seconds_and_the_year_in_minutes():
    """golden G18.2 prints a year's budget twice: 87.6 h is 5256 min, 8.76 h is 525.6 min."""
    assert printed(A.nines_downtime(0.99, 365 * 86400) / MIN, "5256")
    assert printed(A.nines_downtime(0.999, 365 * 86400.0) / MIN, "525.6")


@pytest.mark.parametrize("call, message", [
    (lambda: A.stale_read_probability(3, 4, 1), "r (4) must be <= n (3)"),
    (lambda: A.stale_read_probability(3, 1, 0), "w must be an integer >= 1"),
    (lambda: A.majority_quorum(0, 0.9), "n must be an integer >= 1"),
    (lambda: A.majority_quorum(3, 1.5), "availability must be a probability"),
    (lambda: A.nines_downtime(0.999, "30"), "unit"),
    (lambda: A.nines_downtime(0.999, -1.0), "period must be a positive"),
    (lambda: A.steady_state(0, 1), "mtbf must be a positive"),
])
def test_bad_arguments_are_refused_by_name(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_theory_re_exports_the_new_names():
    assert theory.majority_quorum is A.majority_quorum and theory.nines_downtime is A.nines_downtime
    assert theory.k_of_n is A.k_of_n and theory.steady_state is A.steady_state
    assert "majority_quorum" in theory.__all__


# --------------------------------------------------------------------------- golden G18.3

MTBF, MTTR = 1000.0, 10.0  # hours
HORIZON = 1e7  # simulated hours per replication (golden G18.3: "over 10^7 simulated hours")
REPLICATIONS = 20


def down_intervals(rng: np.random.Generator, horizon: float) -> np.ndarray:
    """An alternating renewal process starting up: Exp(MTBF) up, Exp(MTTR) down; its down
    intervals clipped to [0, horizon], as rows (start, end)."""
    cycles = int(horizon / (MTBF + MTTR) * 1.2) + 100
    while True:
        up, down = rng.exponential(MTBF, cycles), rng.exponential(MTTR, cycles)
        ends = np.cumsum(up + down)
        if ends[-1] >= horizon:
            break
        cycles *= 2
    starts = ends - down
    keep = starts < horizon
    return np.column_stack([starts[keep], np.minimum(ends[keep], horizon)])


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Total length of the intersection of two sorted lists of disjoint intervals."""
    i = j = 0
    total = 0.0
    while i < len(a) and j < len(b):
        low, high = max(a[i, 0], b[j, 0]), min(a[i, 1], b[j, 1])
        if high > low:
            total += high - low
        if a[i, 1] < b[j, 1]:
            i += 1
        else:
            j += 1
    return total


def test_alternating_renewal_availability_golden_g18_3(golden_zscores):
    """golden G18.3: up Exp(1000 h), down Exp(10 h): one unit 0.990099, two in parallel
    0.999902, two in series 0.980296, each within ±0.1 % absolute and within 3 SE over
    R = 20 independent replications of 10^7 hours. Compared as unavailabilities (1 − A),
    so the 3-SE band is not vacuous. Checks the formulas (steady_state, parallel, serial)
    with an independent Monte Carlo, not the engine."""
    pairs = []
    for seed in range(REPLICATIONS):
        rng = np.random.default_rng(seed)
        pairs.append((down_intervals(rng, HORIZON), down_intervals(rng, HORIZON)))
    unit = A.steady_state(MTBF, MTTR)
    assert printed(unit, "0.990099")
    assert printed(A.parallel(unit, unit), "0.999902") and printed(A.serial(unit, unit), "0.980296")
    assert_g18_3(golden_zscores, pairs, "golden G18.3 unavailability, {}, up Exp(1000h) down Exp(10h)")


def assert_g18_3(golden_zscores, pairs, label: str) -> None:
    """Per replication, two units' down intervals *pairs*: one unit's, both's (parallel) and either's
    (series) unavailability over HORIZON, each within ±0.1 % absolute and 3 SE of golden G18.3."""
    single, both_down, any_down = [], [], []
    for a, b in pairs:
        down_a, down_b = float((a[:, 1] - a[:, 0]).sum()), float((b[:, 1] - b[:, 0]).sum())
        common = overlap(a, b)
        single.append(down_a / HORIZON)
        both_down.append(common / HORIZON)
        any_down.append((down_a + down_b - common) / HORIZON)
    unit = A.steady_state(MTBF, MTTR)
    for values, exact, name in ((single, unit, "one unit"), (both_down, A.parallel(unit, unit), "parallel"),
                                (any_down, A.serial(unit, unit), "series")):
        assert abs((1 - np.mean(values)) - exact) <= 0.001
        assert_replications_within_3se(golden_zscores, values, 1 - exact, label.format(name))


# --------------------------------------------------------------------------- golden G18.3 through the engine


def failing(replicas: int, horizon: float, *, chain: bool = False, rate: str = "1/s", sample: str = "1s",
            scale: float = 1.0) -> Scenario:
    """``web`` (with *replicas*; with *chain*, calling a one-replica ``db``) whose replicas fail and are
    repaired at random: up Exp(MTBF), down Exp(MTTR), in seconds times *scale* (golden G18.3's hours,
    rescaled: the availabilities depend on their ratio only)."""
    work = {"steps": [{"call": "db.get"}]} if chain else {"work": "const(1ms)"}
    components = {"web": {"kind": "service", "replicas": replicas, "workers": 4, "operations": {"get": work}}}
    faults = [{"kind": "failures", "target": "web", "mtbf": MTBF * scale, "mttr": MTTR * scale, "at": 0,
               "for": horizon}]
    if chain:
        components["db"] = {"kind": "service", "workers": 4, "operations": {"get": {"work": "const(1ms)"}}}
        faults.append({"kind": "failures", "target": "db", "mtbf": MTBF * scale, "mttr": MTTR * scale, "at": 0,
                       "for": horizon})
    return Scenario.model_validate({
        "name": "g18.3", "duration": horizon, "warmup": 0, "drain": 100, "records": "summary",
        "sample_interval": sample, "components": components, "faults": faults,
        "workload": [{"name": "users", "entry": "web", "operation": "get",
                      "arrivals": {"kind": "poisson", "rate": rate}}]})


def recorded_downs(result, target: str, replica: int, horizon: float) -> np.ndarray:
    faults = result.faults
    rows = faults[(faults["kind"] == "failures") & (faults["target"] == target)
                  & (faults["detail"] == f"replica {replica}")]
    return np.column_stack([rows["start"].to_numpy(), np.minimum(rows["end"].to_numpy(), horizon)])


def test_the_failures_fault_is_golden_g18_3s_alternating_renewal(golden_zscores):
    """golden G18.3 through the engine: a two-replica service under ``kind: failures`` (up Exp(1000 s),
    down Exp(10 s), 10^7 s per replication, R = 10): the down periods it records give one replica's
    unavailability, both down (parallel) and either down (series) within 3 SE and ±0.1 % absolute."""
    pairs = []
    for seed in range(1, 11):
        result = simulate(failing(2, HORIZON, rate="0.0001/s", sample="10000s"), seed)
        a, b = (recorded_downs(result, "web", i, HORIZON) for i in (0, 1))
        assert len(a) > 9000 and np.all(np.diff(a[:, 0]) > 0) and np.all(a[:, 1] > a[:, 0])
        pairs.append((a, b))
    assert_g18_3(golden_zscores, pairs, "golden G18.3 engine (kind: failures) unavailability, {}")


@pytest.mark.parametrize("label, replicas, chain, exact", [
    ("one replica", 1, False, "0.990099"), ("a chain of two", 1, True, "0.980296")])
def test_requests_see_the_availability_of_golden_g18_3(golden_zscores, label, replicas, chain, exact):
    """The requests' availability (Poisson arrivals see time averages) under ``kind: failures``: one
    replica 0.990099, a chain of two 0.980296 (golden G18.3; up Exp(100 s), down Exp(1 s): more cycles
    per run), R = 10 runs of 5·10^4 s at 1 request/s, as unavailabilities within 3 SE. (Two replicas in parallel, 0.999902, is down 10^-4 of the time:
    too rare for requests to measure to 5 %; the recorded down periods above check it.)"""
    values = [1 - simulate(failing(replicas, 5e4, chain=chain, scale=0.1), seed).summary()["availability"]
              for seed in range(1, 11)]
    assert_replications_within_3se(golden_zscores, values, 1 - float(exact),
                                   f"golden G18.3 requests through {label} (kind: failures)")


def test_failures_are_reproducible_and_located_when_wrong():
    first = simulate(failing(2, 2e4, rate="0.1/s", sample="100s"), 3).faults
    assert first.equals(simulate(failing(2, 2e4, rate="0.1/s", sample="100s"), 3).faults) and len(first) > 20
    data = failing(2, 100).model_dump(by_alias=True, exclude_unset=True)
    for change, message in (({"target": "nope"}, "fault target 'nope' does not exist"),
                            ({"replicas": 3}, "cannot fail 3 replicas of 'web': it has 2"),
                            ({"mttr": 0}, "mttr")):
        bad = {**data, "faults": [{**data["faults"][0], **change}]}
        with pytest.raises(Exception, match=message):
            from simulator.scenario.topology import check

            errors, _ = check(Scenario.model_validate(bad))
            raise ValueError("; ".join(m for _, m in errors))
