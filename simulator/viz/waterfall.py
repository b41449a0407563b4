"""The waterfall of one trace: every span of a traced request on one time axis.

:func:`plot_trace` draws the spans of one of ``result.traces`` (``tracing:``, :mod:`simulator.tracing`)
top to bottom in tree order, indented by depth, from the request's issue (0 ms):

* the **request** (root span) as a dark bar;
* a **hop** (client span) as a thin bar: the network both ways around its callee's span;
* a **visit** (server span) as three segments: **queueing** (waiting for a worker),
  **work** (its own), and its **downstream** time (the calls it waited on) outlined;
* a span that did not end ``ok`` gets a red edge and its status at its right end.

The title gives the request's latency and where it went along the critical path
(:meth:`~simulator.tracing.traces.Traces.breakdown`). Default: the slowest traced request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .style import GREY, OKABE_ITO, ROLES, latency_scale, new_figure, no_data, style_axes, title_for

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..metrics.result import Result

COLOURS = {"request": OKABE_ITO["black"], "hop": OKABE_ITO["sky_blue"], "queueing": ROLES["queue"],
           "work": OKABE_ITO["blue"], "downstream": "#ffffff"}


def plot_trace(result: "Result", trace: int | None = None, *, figsize: tuple[float, float] | None = None,
               title: str | None = None) -> "Figure":
    """The waterfall of request *trace* (its number; default: the slowest traced request)."""
    traces = result.traces
    if traces is None:
        raise ValueError("this run traced nothing: add `tracing: {ratio: 1.0}` to the scenario "
                         "(simulator.tracing)")
    ids = traces.slowest(1) if trace is None else [trace]
    if not ids:
        fig = new_figure(figsize=figsize or (10, 3), layout="constrained")
        ax = fig.add_subplot()
        no_data(ax, "no traced request ended")
        return fig
    spans = traces.tree(ids[0])
    t0 = float(spans["start"].iloc[0])
    scale, unit = latency_scale(float(spans["end"].max() - t0))
    fig = new_figure(figsize=figsize or (10, 1.2 + 0.32 * len(spans)), layout="constrained")
    ax = fig.add_subplot()
    labels = []
    for y, span in enumerate(spans.itertuples(index=False)):
        start, end = (span.start - t0) * scale, (span.end - t0) * scale
        failed = span.status != "ok"
        edge = dict(edgecolor=ROLES["failed"] if failed else "none", linewidth=1.2 if failed else 0)
        if span.kind == "server":
            begin, done = start + span.queueing * scale, start + (span.queueing + span.work) * scale
            ax.barh(y, begin - start, left=start, height=0.6, color=COLOURS["queueing"], label="queueing", gid="queueing")
            ax.barh(y, done - begin, left=begin, height=0.6, color=COLOURS["work"], label="work", gid="work")
            ax.barh(y, end - done, left=done, height=0.6, color=COLOURS["downstream"], edgecolor=GREY, linewidth=0.8,
                    label="downstream (its calls)", gid="downstream")
            if failed:
                ax.barh(y, end - start, left=start, height=0.6, fill=False, **edge)
            name = f"{span.component}.{span.operation}"
        elif span.kind == "client":
            ax.barh(y, end - start, left=start, height=0.25, color=COLOURS["hop"], label="hop (network + callee)",
                    gid="hop", **edge)
            name = f"→ {span.component}.{span.operation}"
        else:
            ax.barh(y, end - start, left=start, height=0.6, color=COLOURS["request"], label="request", gid="request",
                    **edge)
            name = f"{span.workload}: {span.component}.{span.operation}"
        if failed:
            ax.text(end, y, f" {span.status}", va="center", fontsize=8, color=ROLES["failed"])
        labels.append("  " * int(span.depth) + name)
    ax.set_yticks(range(len(spans)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(left=0)
    ax.set_xlabel(f"time since the request was issued ({unit})")
    style_axes(ax)
    handles, names = ax.get_legend_handles_labels()
    unique = dict(zip(names, handles))
    ax.legend(unique.values(), unique.keys(), fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    parts = traces.breakdown([ids[0]]).iloc[0]
    where = ", ".join(f"{c} {parts[c] * scale:.3g}" for c in ("queueing", "work", "network", "retries",
                                                               "gave_up", "waiting") if parts[c] > 0)
    what = title or (f"trace of request {ids[0]} ({parts['status']}): {parts['latency'] * scale:.3g} {unit}\n"
                     f"= {where or 'nothing'} ({unit}, along its critical path)")
    ax.set_title(title_for(result, what), fontsize=10, loc="left")
    return fig
