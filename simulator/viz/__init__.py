"""Charts: matplotlib figures of runs, comparisons and architectures.

Every function returns a fresh :class:`matplotlib.figure.Figure` built without pyplot
(works headless, nothing leaks between calls). Colours and titles follow
:mod:`simulator.viz.style`.

* :func:`plot_latency`, :func:`plot_throughput`, :func:`plot_components`,
  :func:`plot_distribution` — one run (also ``Result.plot_*``);
* :func:`plot_replicas`, :func:`plot_hit_ratio`, :func:`plot_shares` — autoscaling, caches,
  how a balancer or a sharded database spread its requests;
* :func:`plot_consumer_lag` — a broker's consumer lag (messages and seconds) per group;
* :func:`plot_breakers` — when each circuit breaker was open or half-open;
* :func:`plot_load` — offered load per component against goodput, refusals by cause;
* :func:`plot_trace` — the waterfall of one traced request (``tracing:``);
* :func:`plot_monitoring` — the RED/USE dashboard of the scraped series (``monitoring:``);
* :func:`plot_comparison` — several designs overlaid;
* :func:`plot_topology` — the architecture of a scenario, optionally coloured by utilization.

:data:`RESULT_CHARTS` names the charts of one run for ``result.plot.<name>``.
"""

from .breakers import plot_breakers
from .capacity import plot_hit_ratio, plot_replicas, plot_shares
from .charts import plot_comparison, plot_components, plot_distribution, plot_latency, plot_throughput
from .load import plot_load
from .messaging import plot_consumer_lag, plot_partition_lag
from .monitoring import plot_monitoring
from .security import plot_security
from .waterfall import plot_trace

from .topology import plot_topology

RESULT_CHARTS = {
    "latency": plot_latency,
    "throughput": plot_throughput,
    "components": plot_components,
    "distribution": plot_distribution,
    "replicas": plot_replicas,
    "hit_ratio": plot_hit_ratio,
    "shares": plot_shares,
    "consumer_lag": plot_consumer_lag,
    "partition_lag": plot_partition_lag,
    "breakers": plot_breakers,
    "load": plot_load,
    "monitoring": plot_monitoring,
    "trace": plot_trace,
    "security": plot_security,
}
"""The charts of one run: ``result.plot.<name>(...)`` calls ``RESULT_CHARTS[name](result, ...)``.
A new chart of a run is one function here and one entry in this mapping
(:mod:`simulator.metrics.plots`); the ``Result.plot_*`` methods are the frozen shortcuts."""

__all__ = ["RESULT_CHARTS", "plot_breakers", "plot_comparison", "plot_components", "plot_consumer_lag", "plot_distribution",
           "plot_hit_ratio", "plot_latency", "plot_load", "plot_monitoring", "plot_partition_lag", "plot_replicas",
           "plot_security", "plot_shares", "plot_throughput", "plot_topology", "plot_trace"]
