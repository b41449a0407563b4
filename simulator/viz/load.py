"""Chart of offered load: what each component was asked to do, what got through, and what was refused.

:func:`plot_load` draws one panel per component on the run's time axis, per bucket:

* **offered** — the component's arrivals per second (``arrivals_rps`` of
  ``Result.component_timeseries_at``): every visit, each attempt, retry and hedge copy
  included, whatever became of it;
* **goodput** — the workloads' ok requests per second (``goodput_rps`` of
  ``Result.timeseries_at``, by completion time), the same line in every panel;
* **refused** — the component's refusals per second by cause, stacked from 0: the tallies of
  :data:`REFUSALS` it keeps (``shed``, ``expired``, ``throttled``, …, from
  ``Result.tally_timeseries_at``).

Warm-up and faults are shaded and circuit-breaker open intervals hatched as on the other
time-series charts. Refusals the run counts only in total (a caller's breaker and bulkhead
rejections, its retries and hedge copies towards the component: record tables, no times)
are written in the panel as run totals.

By default the panels are the components where one of these mechanisms acted
(:func:`load_components`): those that refused work, and the targets of calls that were
retried, hedged, or rejected by a breaker or a bulkhead; else the busiest few.
:func:`shows_load` tells whether a run has any such mechanism at all (``sdsim run --out``
draws ``load.png`` then). Both records modes give the same chart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, Sequence

import numpy as np

from .charts import MAX_POINTS, _bucket_text, _bucketing, _figure, _legend, _shade, _t_end, _time_axis
from .style import OKABE_ITO, ROLES, no_data, style_axes, time_scale, title_for

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..metrics.result import Result

REFUSALS: dict[str, tuple[str, str]] = {
    "shed": ("shed (load shedding)", OKABE_ITO["vermillion"]),
    "expired": ("expired (past the caller's deadline)", OKABE_ITO["orange"]),
    "throttled": ("throttled (rate limit, 429)", OKABE_ITO["reddish_purple"]),
    "pool_timeouts": ("pool timeouts (no connection in time)", OKABE_ITO["sky_blue"]),
    "over_max_connections": ("over max connections", OKABE_ITO["yellow"]),
    "no_healthy_upstream": ("no healthy upstream", OKABE_ITO["black"]),
}
"""Tally name → (legend label, colour) of each refusal drawn per bucket, in stacking order."""

POLICIES = ("retry", "hedge", "circuit_breaker", "bulkhead")
"""The call-step fields whose presence makes a run's load worth a chart of its own."""

BUSIEST = 3
"""Panels drawn when no mechanism acted: the busiest components."""


def _policy_calls(result: "Result") -> Iterator[tuple[str, str, str]]:
    """``(caller, target component, policy field)`` of every call step with one of :data:`POLICIES`."""
    from ..scenario.topology import iter_steps  # the scenario's walk of nested steps

    for caller, spec in result.scenario.components.items():
        for steps in spec.operation_steps().values():
            for step, _, _ in iter_steps(steps, ()):
                call = getattr(step, "call", None)
                if isinstance(call, str):
                    for policy in POLICIES:
                        if getattr(step, policy, None) is not None:
                            yield caller, call.split(".", 1)[0], policy


def shows_load(result: "Result") -> bool:
    """Whether the run has something the load chart shows: a mechanism that refuses work when asked
    for (a tally of :data:`REFUSALS` other than ``no_healthy_upstream``, which every balancer keeps),
    a call step with one of :data:`POLICIES`, or a refusal that happened."""
    asked = {name for rec in result.components.values() for name in rec.tally_names
             if name in REFUSALS and name != "no_healthy_upstream"}
    return bool(asked) or next(_policy_calls(result), None) is not None or any(
        _refused(result, name) for name in result.components)


def _entries(result: "Result", component: str, table: str, key: str) -> dict:
    """The per-site blocks of *component*'s digested record *table* (its summary entry's *key*)."""
    rec = result.components.get(component)
    found = rec.tables.get(table) if rec is not None else None
    return dict((found.entries or {}).get(key, {})) if found is not None else {}


def _site_target(site: str) -> str:
    """The target component of a call site's name: ``web->db.read#2`` or ``db.read`` → ``db``."""
    return site.split("->", 1)[-1].split(".", 1)[0]


def counted_totals(result: "Result", component: str) -> list[str]:
    """The run totals, for calls to *component*, of what is counted without times: rejections by the
    callers' breakers and bulkheads, retries and hedge copies (one line each where not zero)."""
    lines = []
    policies: dict[str, set[str]] = {}
    for caller, target, policy in _policy_calls(result):
        if target == component and caller in result.components:
            policies.setdefault(caller, set()).add(policy)
    for caller, used in policies.items():
        for table, key, what in (("breakers", "breakers", "rejected by its breaker"),
                                 ("bulkheads", "bulkheads", "rejected by its bulkhead")):
            for site, block in _entries(result, caller, table, key).items():
                if _site_target(site) == component and block.get("rejected"):
                    lines.append(f"{site}: {block['rejected']:,} {what}")
        for site, block in _entries(result, caller, "retries", "retry_sites").items():
            if _site_target(site) == component and block.get("retries"):
                lines.append(f"{caller}->{site}: {block['retries']:,} retries")
        if "hedge" in used:
            sent = _all_run(result, caller).get("hedges_sent", 0)
            if sent:
                lines.append(f"{caller}: {sent:,} hedge copies sent")
    return lines


def _all_run(result: "Result", component: str) -> dict[str, int]:
    """*component*'s tallies over the whole run, drain included."""
    return result.components[component].tally_counts(0.0, float(np.nextafter(result.end_time, np.inf)))


def _refused(result: "Result", component: str) -> bool:
    return any(count for name, count in _all_run(result, component).items() if name in REFUSALS)


def load_components(result: "Result") -> list[str]:
    """The components the load chart shows by default, in scenario order: those that refused work
    (a tally of :data:`REFUSALS` above 0) or whose callers' retries, hedges, breakers or bulkheads
    acted on calls to them; else the :data:`BUSIEST` busiest (mean utilization in the window)."""
    chosen = {name for name in result.components if _refused(result, name)}
    chosen |= {target for target in {t for _, t, _ in _policy_calls(result)}
               if target in result.components and counted_totals(result, target)}
    if chosen:
        return [name for name in result.components if name in chosen]
    summary = result.summary()["components"]
    ranked = sorted(summary, key=lambda name: -(summary[name].get("utilization") or 0.0))
    return ranked[:BUSIEST]


def plot_load(result: "Result", components: Sequence[str] | None = None, *, max_components: int = 6,
              figsize: tuple[float, float] | None = None, title: str | None = None, show_drain: bool = False,
              max_points: int = MAX_POINTS) -> "Figure":
    """Offered load (arrivals/s) of *components* (default :func:`load_components`) against the
    workloads' goodput (ok/s), with each component's refusals per second by cause stacked below.
    One panel per component, at most *max_components* (the title says how many were left out)."""
    t_end = _t_end(result, show_drain)
    _, bucket = _bucketing(result, t_end, max_points)
    names = list(components) if components is not None else load_components(result)
    unknown = [n for n in names if n not in result.components]
    if unknown:
        raise ValueError(f"no component {unknown[0]!r} (components: {', '.join(result.components)})")
    shown = names[:max(1, max_components)]
    fig = _figure(figsize or (10, max(3.6, 2.3 * len(shown) + 1.0)))
    axes = fig.subplots(max(1, len(shown)), 1, sharex=True, squeeze=False)[:, 0]
    tscale, tunit = time_scale(t_end)
    if not shown:
        no_data(axes[0], "no components")
    loads = result.component_timeseries_at(bucket, until=t_end)
    series = result.timeseries_at(bucket, until=t_end)
    tallies = result.tally_timeseries_at(bucket, until=t_end)
    goodput = series["goodput_rps"].to_numpy(dtype=float)
    for row, (ax, name) in enumerate(zip(axes, shown)):
        _shade(ax, result, tscale, t_end, label=row == 0)
        own = loads[loads["component"] == name]
        x = own["time"].to_numpy() / tscale
        base = np.zeros(x.size)
        mine = tallies[tallies["component"] == name]
        for cause, (label, colour) in REFUSALS.items():
            rows = mine[mine["name"] == cause]
            if rows.empty or not rows["count"].any():
                continue
            top = base + rows["value"].to_numpy(dtype=float)
            ax.fill_between(x, base, top, step="post", color=colour, alpha=0.45, lw=0, zorder=2, label=label,
                            gid=f"refused:{name}:{cause}")
            base = top
        ax.step(x, own["arrivals_rps"].to_numpy(dtype=float), where="post", color=ROLES["throughput"], lw=1.2,
                zorder=4, label="offered (arrivals/s)", gid=f"offered:{name}")
        ax.step(series["time"].to_numpy() / tscale, goodput, where="post", color=ROLES["goodput"], lw=1.2,
                zorder=5, label="goodput (workloads' ok/s)", gid=f"goodput:{name}")
        totals = counted_totals(result, name)
        if totals:
            ax.text(0.01, 0.97, "run totals: " + "; ".join(totals), transform=ax.transAxes, va="top",
                    fontsize=7.5, color=OKABE_ITO["black"], gid=f"totals:{name}", zorder=6)
        ax.set_ylim(bottom=0)
        ax.set_ylabel(f"{name}\n(per s)", fontsize=8.5)
        _time_axis(ax, t_end, tscale, tunit, label=row == len(shown) - 1)
        style_axes(ax)
    for ax in axes:
        _legend(ax, title=f"per {_bucket_text(bucket)} bucket" if ax is axes[0] else None)
    left_out = len(names) - len(shown)
    what = title or "offered load, goodput and refusals" + (f" ({left_out} more not shown)" if left_out else "")
    fig.suptitle(title_for(result, what), fontsize=11, x=0.01, ha="left")
    return fig
