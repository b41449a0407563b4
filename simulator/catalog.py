"""Instance classes: what a replica runs on, how fast it is and what it costs per hour.

Vertical scaling is choosing a bigger or faster class for a component (``instance:`` in a
service spec); horizontal scaling is choosing more ``replicas``. A class has:

* ``vcpus`` — virtual CPUs: a service on this class runs its workers' work on them
  (processor sharing, :mod:`simulator.components.cpu`; a service's ``vcpus`` overrides),
  so gunicorn's 2 × vCPU + 1 workers do not all compute at full speed at once;
* ``speed`` — how fast one request's work runs relative to the m7i baseline (work is
  divided by it);
* ``price_per_hour`` — USD, AWS us-east-1 on-demand, Linux.

Prices of the ``.large`` classes are AWS's on-demand list prices (read October 2026,
Typical numbers §7). Within an EC2 family the price doubles with each size
step and so do the vCPUs, so ``xlarge``/``2xlarge`` are derived from ``large``. Per-core
speed is the same across sizes of one family: a bigger m7i has more cores, not faster
ones, so it only helps if the service runs more workers. The ``fast`` classes model a
higher-clocked class for the vertical-scaling lesson; their speed and price are
illustrative (stated as such in their ``note``), not measured.

A lab may bring its own catalog (``instances:`` in ``lab.yaml``) to price or redefine them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InstanceClass:
    name: str
    vcpus: int
    speed: float
    price_per_hour: float
    note: str = ""


def _family(prefix: str, large_price: float, note: str) -> dict[str, InstanceClass]:
    sizes = {"large": 1, "xlarge": 2, "2xlarge": 4, "4xlarge": 8}
    return {f"{prefix}.{size}": InstanceClass(f"{prefix}.{size}", 2 * k, 1.0, round(large_price * k, 5), note)
            for size, k in sizes.items()}


INSTANCE_CLASSES: dict[str, InstanceClass] = {
    **_family("m7i", 0.1008, "general purpose; list price of .large, larger sizes scale linearly"),
    **_family("c7i", 0.08925, "compute optimised; list price of .large, larger sizes scale linearly"),
    "fast.large": InstanceClass("fast.large", 2, 2.0, 0.2016,
                                "illustrative: twice the per-request speed of m7i.large at twice the price"),
    "fast.xlarge": InstanceClass("fast.xlarge", 4, 2.0, 0.4032,
                                 "illustrative: twice the per-request speed of m7i.xlarge at twice the price"),
}


def instance_class(name: str) -> InstanceClass:
    try:
        return INSTANCE_CLASSES[name]
    except KeyError:
        raise KeyError(f"unknown instance class {name!r} (expected one of: {', '.join(INSTANCE_CLASSES)})") from None


def instance_speed(spec) -> float:
    """The work speed of a component's instance class (1.0 without one)."""
    name = getattr(spec, "instance", None)
    return 1.0 if name is None else instance_class(name).speed
