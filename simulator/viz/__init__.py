"""Charts: matplotlib figures of runs, comparisons and architectures.

Every function returns a fresh :class:`matplotlib.figure.Figure` built without pyplot
(works headless, nothing leaks between calls). Colours and titles follow
:mod:`simulator.viz.style`.

* :func:`plot_latency`, :func:`plot_throughput`, :func:`plot_components`,
  :func:`plot_distribution` — one run (also ``Result.plot_*``);
* :func:`plot_replicas`, :func:`plot_hit_ratio`, :func:`plot_shares` — autoscaling, caches,
  how a balancer or a sharded database spread its requests;
* :func:`plot_comparison` — several designs overlaid;
* :func:`plot_topology` — the architecture of a scenario, optionally coloured by utilization.
"""

from .capacity import plot_hit_ratio, plot_replicas, plot_shares
from .charts import plot_comparison, plot_components, plot_distribution, plot_latency, plot_throughput

from .topology import plot_topology

__all__ = ["plot_comparison", "plot_components", "plot_distribution", "plot_hit_ratio", "plot_latency",
           "plot_replicas", "plot_shares", "plot_throughput", "plot_topology"]
