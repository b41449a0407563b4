"""Charts: matplotlib figures of runs, comparisons and architectures.

Every function returns a fresh :class:`matplotlib.figure.Figure` built without pyplot
(works headless, nothing leaks between calls). Colours and titles follow
:mod:`simulator.viz.style`.

* :func:`plot_latency`, :func:`plot_throughput`, :func:`plot_components`,
  :func:`plot_distribution` — one run (also ``Result.plot_*``);
* :func:`plot_comparison` — several designs overlaid;
* :func:`plot_topology` — the architecture of a scenario, optionally coloured by utilization.
"""

from .charts import plot_comparison, plot_components, plot_distribution, plot_latency, plot_throughput

from .topology import plot_topology

__all__ = ["plot_comparison", "plot_components", "plot_distribution", "plot_latency", "plot_throughput",
           "plot_topology"]
