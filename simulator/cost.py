"""The cost model: what a design costs per hour to run.

A component runs some instances (its kind says how many: :meth:`ComponentBase.instances`,
replicas, primaries plus read replicas, an autoscaled service's mean ready replicas), each
at a unit price in USD per instance-hour: the given price of its instance class, else the
catalog's (:data:`simulator.catalog.INSTANCE_CLASSES`), else the given price of its kind.
Labs price designs with it (budget checks, ``max_instances``) and ``sdsim plan --minimise
dollars`` searches on it.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .catalog import INSTANCE_CLASSES
from .scenario.model import Scenario

__all__ = ["hourly_cost", "instances", "unit_price"]


def instances(scenario: Scenario, runs: Sequence[Any] = ()) -> dict[str, float]:
    """Running instances per component, as each kind counts them (its spec's ``instances()``).

    Replicas for services, balancers and caches; primaries plus read replicas for
    databases (1 for a plain one). An autoscaled service counts its time-average ready
    replicas over the measurement window, averaged over *runs* (simulation results); with
    no runs, its ``max_replicas`` (what it may cost at worst).
    """
    return {name: spec.instances(run.summary()["components"][name] for run in runs)
            for name, spec in scenario.components.items()}


def unit_price(spec: Any, prices: Mapping[str, float]) -> float | None:
    """USD per instance-hour: the lab's price for the instance class, else the catalog's, else the kind's."""
    name = getattr(spec, "instance", None)
    if name is not None:
        if name in prices:
            return prices[name]
        if name in INSTANCE_CLASSES:
            return INSTANCE_CLASSES[name].price_per_hour
    return prices.get(spec.kind)


def hourly_cost(scenario: Scenario, prices: Mapping[str, float], runs: Sequence[Any] = ()) -> tuple[float, list[str]]:
    """USD per hour: instances × their unit price; also the kinds with no price (counted as free)."""
    counts = instances(scenario, runs)
    total, unpriced = 0.0, set()
    for name, spec in scenario.components.items():
        price = unit_price(spec, prices)
        if price is None:
            unpriced.add(spec.kind)
        else:
            total += counts[name] * price
    return total, sorted(unpriced)
