"""The monitoring dashboard of a run: RED and USE panels drawn from its scraped series.

:func:`plot_monitoring` reads :meth:`Result.scrape` (:mod:`simulator.monitoring.scrape`), as
a Grafana board over Prometheus would, one point per scrape:

* **RED** (the clients' view, per workload): the *rate* of answered requests
  (``rate(sdsim_client_requests_total)``), the share of *errors* among them (error, timeout,
  rejected), and the *duration* p50 and p99 estimated from the histogram
  (``histogram_quantile`` over each scrape interval's bucket increases);
* **USE** (per component): *utilization* (``sdsim_utilization_ratio``), *saturation*
  (``sdsim_queue_length``) and *errors* (failed visits per second).

With ``monitoring.rules``, each alert's firing interval is a band along the top of every
panel (:meth:`Result.alerts`). Points are the full scrape intervals (a last, shorter one at the run's end would make a rate
spike out of a few requests). Summary records keep no per-request rows: the RED panels then say so, the USE panels stay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .charts import _figure, _legend, _shade, _t_end, _time_axis
from .style import CYCLE, ROLES, no_data, style_axes, time_scale, title_for

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..metrics.result import Result

FAILED = ("error", "timeout", "rejected")


def plot_monitoring(result: "Result", *, figsize=(12, 6.5), title: str | None = None,
                    show_drain: bool = True) -> "Figure":
    """RED (rate, errors, duration; per workload) above USE (utilization, saturation, errors; per component)."""
    from ..monitoring.queries import histogram_quantile, increase, rate

    scrape = result.scrape()
    times = scrape.times
    fig = _figure(figsize)
    axes = fig.subplots(2, 3, sharex=True)
    t_end = _t_end(result, show_drain)
    tscale, tunit = time_scale(t_end)
    full = np.diff(times, prepend=0.0) >= scrape.interval * (1 - 1e-9)
    x = (times / tscale)[full]
    for ax in axes.flat:
        _shade(ax, result, tscale, t_end, label=ax is axes[0, 2] or ax is axes[1, 2])
        style_axes(ax)
    red = [s for s in scrape.series if s.family.name == "sdsim_client_requests"]
    hist = [h for h in scrape.histograms if h.family.name == "sdsim_client_request_duration_seconds"]
    workloads = sorted({dict(s.labels)["workload"] for s in red})
    for i, name in enumerate(workloads):
        colour = CYCLE[i % len(CYCLE)]
        mine = [s for s in red if dict(s.labels)["workload"] == name]
        answered = sum(increase(s.values) for s in mine)
        failed = sum((increase(s.values) for s in mine if dict(s.labels)["status"] in FAILED), np.zeros(times.size))
        axes[0, 0].plot(x, sum(rate(s.values, times) for s in mine)[full], color=colour, label=name)
        with np.errstate(invalid="ignore", divide="ignore"):
            axes[0, 1].plot(x, np.where(answered > 0, failed / answered, np.nan)[full], color=colour, label=name)
        buckets = sum(h.buckets for h in hist if dict(h.labels)["workload"] == name)
        if isinstance(buckets, np.ndarray):
            per_interval = np.diff(buckets, axis=0, prepend=0)
            for q, style in ((0.5, "-"), (0.99, "--")):
                axes[0, 2].plot(x, histogram_quantile(q, hist[0].bounds, per_interval)[full] * 1e3, style, color=colour,
                                label=f"{name} p{round(q * 100)}")
    if not workloads:
        for ax in axes[0]:
            no_data(ax, "per-request series need full records")
    for i, (component, rec) in enumerate(result.components.items()):
        colour = CYCLE[i % len(CYCLE)]
        for ax, metric in ((axes[1, 0], "sdsim_utilization_ratio"), (axes[1, 1], "sdsim_queue_length")):
            for s in scrape.series:
                if s.family.name == metric and dict(s.labels).get("component") == component:
                    ax.plot(x, s.values[full], color=colour, label=component)
        visits = [s for s in scrape.series if s.family.name == "sdsim_requests"
                  and dict(s.labels).get("component") == component and dict(s.labels)["status"] in FAILED]
        if visits:
            axes[1, 2].plot(x, sum(rate(s.values, times) for s in visits)[full], color=colour, label=component)
    for ax, label in zip(axes.flat, ("requests/s", "error share", "latency (ms)", "utilization",
                                     "queue length (mean)", "failed visits/s")):
        ax.set_ylabel(label)
        ax.set_ylim(bottom=0)
    axes[0, 0].set_title("rate", loc="left", fontsize=10)
    axes[0, 1].set_title("errors", loc="left", fontsize=10)
    axes[0, 2].set_title("duration (histogram p50, p99 --)", loc="left", fontsize=10)
    axes[1, 0].set_title("utilization", loc="left", fontsize=10)
    axes[1, 1].set_title("saturation", loc="left", fontsize=10)
    axes[1, 2].set_title("errors", loc="left", fontsize=10)
    axes[1, 0].axhline(1.0, color=ROLES.get("limit", "#999999"), lw=0.8, ls=":")
    for ax in axes[1]:
        _time_axis(ax, t_end, tscale, tunit)
    _mark_alerts(axes, result, tscale, t_end)
    _legend(axes[0, 2], title="workloads")
    _legend(axes[1, 2], title="components")
    every = f"scraped every {scrape.interval:g} s"
    fig.suptitle(title_for(result, title or f"monitoring: RED (clients) and USE (components), {every}"),
                 fontsize=11, x=0.01, ha="left")
    return fig


def _mark_alerts(axes, result: "Result", tscale: float, t_end: float) -> None:
    """With ``monitoring.rules``: each alert's firing interval (to its resolution or the end) as a band along
    the top of every panel, labelled once."""
    monitoring = result.scenario.monitoring
    if monitoring is None or not monitoring.rules:
        return
    alerts = result.alerts()
    fired = alerts[alerts["firing"].notna()]
    for i, ax in enumerate(axes.flat):
        for j, row in enumerate(fired.itertuples(index=False)):
            end = t_end if np.isnan(row.resolved) else min(row.resolved, t_end)
            ax.axvspan(row.firing / tscale, end / tscale, ymin=0.94, ymax=1.0, color=ROLES["failed"], alpha=0.7,
                       lw=0, label="alert firing" if i == 1 and j == 0 else None)
    if len(fired):
        _legend(axes[0, 1], outside=False)
