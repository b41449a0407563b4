"""The cost model and vertical scaling: what a design costs per hour, and what a bigger instance buys.

Specification (simulator/labs/rules.py, simulator/catalog.py):

* a service, balancer or cache costs ``replicas`` × its unit price; a database
  ``shards × (1 + read_replicas)`` nodes; an autoscaled service its mean ready replicas
  over the measurement window of the given runs (``max_replicas`` without runs);
* the unit price is the lab's price for the instance class, else the catalog's, else
  the lab's price for the kind; kinds without a price are reported and count as free;
* an instance class's ``speed`` divides the work: on ``fast.large`` (speed 2) an M/M/1
  behaves as if μ were doubled; an unknown class is a located scenario error.
"""

from __future__ import annotations

import pytest
from helpers import scenario, service

from simulator import ScenarioError, check_scenario, simulate, theory
from simulator.catalog import INSTANCE_CLASSES, instance_class
from simulator.labs.rules import hourly_cost, instances, unit_price

PRICES = {"service": 0.1, "database": 0.2, "cache": 0.15}


def design(**app):
    return scenario({"svc": service("1ms", replicas=3, steps=[{"call": "db.read"}], **app),
                     "db": {"kind": "database", "read_replicas": 2, "sharding": {"shards": 4},
                            "operations": {"read": {"work": "1ms"}}},
                     "lb": {"kind": "load_balancer", "backend": "svc"}}, entry="lb")


def test_databases_count_every_node_and_unpriced_kinds_are_reported():
    spec = design()
    assert instances(spec) == {"svc": 3, "db": 12, "lb": 1}
    cost, unpriced = hourly_cost(spec, PRICES)
    assert cost == pytest.approx(3 * 0.1 + 12 * 0.2)
    assert unpriced == ["load_balancer"]


def test_instance_class_prices_come_from_the_lab_then_the_catalog():
    big = design(instance="m7i.xlarge")
    assert unit_price(big.components["svc"], PRICES) == INSTANCE_CLASSES["m7i.xlarge"].price_per_hour
    assert INSTANCE_CLASSES["m7i.xlarge"].price_per_hour == pytest.approx(2 * INSTANCE_CLASSES["m7i.large"].price_per_hour)
    assert unit_price(big.components["svc"], {**PRICES, "m7i.xlarge": 0.5}) == 0.5
    assert unit_price(design().components["svc"], PRICES) == 0.1


def test_autoscaled_services_cost_their_measured_mean_replicas():
    spec = scenario({"svc": service("exp(100ms)", replicas=2, workers=1,
                                    autoscaling={"min_replicas": 2, "max_replicas": 10, "target": 0.5,
                                                 "provisioning_delay": "10s"})},
                    rate="30/s", duration="300s", warmup="60s")
    assert instances(spec)["svc"] == 10  # no runs: the worst case
    run = simulate(spec, seed=2)
    mean_ready = run.summary()["components"]["svc"]["capacity_mean"]  # 1 worker per replica
    assert instances(spec, [run])["svc"] == pytest.approx(mean_ready)
    assert 4 < mean_ready < 10  # 30/s × 100 ms = 3 busy workers at a 50 % target: about 6
    cost, _ = hourly_cost(spec, PRICES, [run])
    assert cost == pytest.approx(mean_ready * 0.1)


def test_a_faster_instance_class_divides_the_work(golden_zscores):
    """M/M/1 at λ = 4/s with work exp(200 ms): on m7i.large ρ = 0.8 (W = 1 s); on fast.large
    (speed 2) the service rate doubles, ρ = 0.4 and W = 1/(10 − 4) s. Means of 10 runs, 3 SE."""
    import numpy as np

    fast = instance_class("fast.large")
    assert fast.speed == 2.0
    for instance, mu in (("m7i.large", 5.0), ("fast.large", 10.0)):
        spec = scenario({"svc": service("exp(200ms)", instance=instance)}, rate="4/s", duration="2000s",
                        warmup="200s")
        means = np.array([simulate(spec, seed=s).summary()["latency_s"]["mean"] for s in range(1, 11)])
        exact = theory.mm1(4.0, mu).W
        se = means.std(ddof=1) / np.sqrt(means.size)
        assert abs(means.mean() - exact) <= 3 * se, (instance, means.mean(), se, exact)


def test_an_unknown_instance_class_is_a_located_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("""name: bad
duration: 10s
workload: [{name: w, entry: svc, operation: op, arrivals: {kind: poisson, rate: 1/s}}]
components:
  svc: {kind: service, instance: m9z.huge, operations: {op: {work: 1ms}}}
""")
    with pytest.raises(ScenarioError) as caught:
        check_scenario(path)
    text = str(caught.value)
    assert "bad.yaml:5:" in text and "components.svc.instance" in text and "unknown instance class 'm9z.huge'" in text
