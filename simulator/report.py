"""Human-readable rendering of a run summary (rich tables). Pure presentation: reads a summary dict."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from . import present
from .declared import metrics_of
from .metrics.descriptors import Ratio, Share


def summary_renderable(summary: dict[str, Any]) -> Group:
    """Tables for a summary: headline, operations, components (busiest first), SLOs."""
    req, lat = summary["requests"], summary["latency_s"]
    # names from the scenario are Text: printed as written by any console (no markup, no emoji codes)
    head = Table(title=Text(f"{summary['scenario']} · seed {summary['seed']} · "
                            f"window {present.latency(summary['duration_s'] - summary['warmup_s'])}"),
                 title_justify="left")
    for col in ("issued", "ok", "error", "timeout", "rejected", "throughput", "goodput", "availability"):
        head.add_column(col, justify="right")
    head.add_row(str(req["issued"]), str(req["ok"]), str(req["error"]), str(req["timeout"]), str(req["rejected"]),
                 present.rate(summary["throughput_rps"]), present.rate(summary["goodput_rps"]),
                 present.percent(summary["availability"], 3))

    ops = Table(title="latency of successful requests", title_justify="left")
    for col in ("operation", "issued", "availability", "mean", "p50", "p90", "p95", "p99", "p99.9", "max"):
        ops.add_column(col, justify="left" if col == "operation" else "right")
    rows = [("all", req["issued"], summary["availability"], lat)]
    rows += [(name, o["issued"], o["availability"], o["latency_s"]) for name, o in summary["operations"].items()]
    for name, issued, avail, l in rows if len(rows) > 2 else rows[:1]:
        ops.add_row(Text(name), str(issued), present.percent(avail, 3), *[present.latency(l[k]) for k in ("mean", "p50", "p90", "p95", "p99", "p999", "max")])

    comps = Table(title="components (busiest first)", title_justify="left")
    for col in ("component", "kind", "utilization", "P(wait)", "wait mean", "wait p99", "sojourn mean", "visits/req",
                "queue mean", "served", "errors", "rejected"):
        comps.add_column(col, justify="left" if col in ("component", "kind") else "right")
    ordered = sorted(summary["components"].items(), key=lambda kv: -(kv[1]["utilization"] or 0))
    for name, c in ordered:
        comps.add_row(Text(name), c["kind"], present.percent(c["utilization"], 1), present.percent(c["p_wait"], 1), present.latency(c["wait_s"]["mean"]),
                      present.latency(c["wait_s"]["p99"]), present.latency(c["sojourn_s"]["mean"]),
                      present.number(c["visits_per_request"]), f"{c['queue_len_mean']:.2f}", str(c["served"]),
                      str(c["errors"]), str(c["rejected"]))
    comps.caption = ("sojourn mean: per visit, wait + own work, downstream calls left out; visits/req: visits per "
                     "request issued in the window")
    comps.caption_justify = "left"
    parts: list[Any] = [head, ops, comps]
    details = component_details(summary)
    if details:
        table = Table(title="component details (measurement window)", title_justify="left")
        for col in ("component", "kind", "details"):
            table.add_column(col, overflow="fold")
        for name, kind, text in details:
            table.add_row(Text(name), kind, Text(text))
        parts.append(table)
    sagas = present.saga_rows(summary)
    if sagas:
        table = Table(title="sagas started in the measurement window (p50, p99: completed ones)", title_justify="left")
        for col in present.SAGA_COLUMNS:
            table.add_column(col, justify="left" if col in ("component", "saga", "partial effects") else "right",
                             overflow="fold")
        for row in sagas:
            table.add_row(*map(Text, row))
        parts.append(table)
    if summary["slos"]:
        slos = Table(title="SLOs", title_justify="left")
        for col in ("SLO", "metric", "value", "target", "verdict"):
            slos.add_column(col)
        for s in summary["slos"]:
            verdict = Text("pass", style="green") if s["passed"] else Text("FAIL", style="bold red")
            metric, value, target = present.slo_cells(s)
            slos.add_row(Text(s["name"]), Text(metric), value, target, verdict)
        parts.append(slos)
    return Group(*parts)


BASIC_KEYS = {"kind", "utilization", "p_wait", "wait_s", "sojourn_s", "queue_len_mean", "in_system_mean", "visits",
              "visits_per_request", "served", "errors", "rejected", "capacity", "capacity_mean", "reads", "writes",
              "counts"}
"""Keys every component has (or any kind may have): the queueing table shows them, not the details."""


def component_details(summary: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(component, kind, text) for components with more to say than the queueing table: the ratios
    their kind declares (hit ratio, stale reads), non-zero event counts, how declared shares split
    (per replica / per shard), the mean provisioned workers, then every other fact."""
    rows = []
    for name, c in summary["components"].items():
        declared = metrics_of(c["kind"])
        ratios = [m for m in declared if isinstance(m, Ratio)]
        shares = [m for m in declared if isinstance(m, Share)]
        bits = [f"{r.text} {present.percent(c[r.name], 1)}" for r in ratios if c.get(r.name) is not None]
        counts = c.get("counts", {})
        bits += [f"{k.replace('_', ' ')} {v}" for k, v in counts.items()
                 if v and not any(share.owns(k) for share in shares)]
        for share in shares:
            split = share.split(counts)
            if sum(split):
                bits.append(f"per {share.over} " + " / ".join(f"{100 * v / sum(split):.0f}%" for v in split))
        if c.get("capacity_mean") is not None:
            bits.append(f"mean workers provisioned {c['capacity_mean']:.1f}")
        shown = BASIC_KEYS | {r.name for r in ratios} | present.SAGA_KEYS  # sagas: a table of their own
        for key, value in c.items():
            if key in shown:
                continue
            bits.append(f"{key.replace('_', ' ')} {_detail(key, value)}")
        if bits:
            rows.append((name, c["kind"], ", ".join(bits)))
    return rows


def _detail(key: str, value: Any) -> str:
    """A detail of a component's entry as text: a number by its name, a block per call site or
    breaker (``{"web->db.read": {"opens": 2, …}}``) as ``web->db.read: opens 2, …``, anything else as is."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return present.metric_value(key, value)
    if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
        return "; ".join(f"{name}: " + ", ".join(f"{k.replace('_', ' ')} {_detail(k, v)}" for k, v in block.items())
                         for name, block in value.items())
    if isinstance(value, dict) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value.values()):
        return "(" + ", ".join(f"{k} {present.metric_value(key, v)}" for k, v in value.items()) + ")"  # by its name
    return str(value)


def _metric_value(metric: str, value: float | None) -> str:
    return present.metric_value(metric, value, rate_digits=2)


def comparison_renderable(names: tuple[str, str], rows: list[dict[str, Any]], replications: int) -> Table:
    """Side by side: A, B, the mean paired difference B − A with its 95 % interval, and significance."""
    table = Table(title=Text(f"{names[0]}  vs  {names[1]}  ·  {replications} paired replications (same seeds)"),
                  title_justify="left")
    for col in ("metric", "A", "B", "B − A", "95% CI of B − A", "significant"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for row in rows:
        metric = row["metric"]
        diff = row["diff"]
        sign = "+" if diff is not None and diff == diff and diff > 0 else ""
        ci = (f"[{_metric_value(metric, row['ci_low'])}, {_metric_value(metric, row['ci_high'])}]"
              if row["ci_low"] is not None and row["ci_low"] == row["ci_low"] else "–")
        verdict = Text("yes", style="bold") if row["significant"] else Text("no", style="dim")
        table.add_row(metric, _metric_value(metric, row["a"]), _metric_value(metric, row["b"]),
                      sign + _metric_value(metric, diff), ci, verdict)
    return table


def grade_renderable(report) -> Group:
    """A lab grade: one row per check with verdict, measured bound vs target, margin and feedback."""
    title = f"{report.title} — {report.score:g}/{report.total:g} points"
    if report.malformed:
        verdict = "[bold red]MALFORMED submission: 0 points[/bold red]"
    elif report.passed:
        verdict = "[bold green]PASS[/bold green]: every required check passed"
    else:
        verdict = "[bold red]FAIL[/bold red]: a required check failed"
    table = Table(title=Text(title), title_justify="left", show_lines=True)  # Text: printed as written
    for col in ("check", "points", "verdict", "measured", "target", "margin", "feedback"):
        table.add_column(col, justify="right" if col in ("points", "measured", "target", "margin") else "left",
                         overflow="fold")
    for c in report.checks:
        fmt = _grade_value(c)
        mark = Text("pass", style="green") if c.passed else Text("FAIL", style="bold red")
        points = f"{c.score:g}/{c.points:g}" + (" *" if c.required else "")
        table.add_row(Text(c.title), points, mark, fmt(c.bound), fmt(c.target), fmt(c.margin),
                      Text("\n".join(c.feedback)))
    notes = Text(f"{report.replications} replications per design (seeds {report.seeds}); SLO verdicts use the 95% "
                 "confidence bound; * = required", style="dim")
    diagnosis = getattr(report, "diagnosis", None)  # each distinct cause of the failed SLOs, once
    if diagnosis:
        cause = Text("diagnosis (the first replication):", style="bold")
        return Group(Text.from_markup(verdict), table, cause, *(Text(f"  • {line}") for line in diagnosis), notes)
    return Group(Text.from_markup(verdict), table, notes)


def _grade_value(check):
    def fmt(value):
        if present.missing(value):
            return present.MISSING
        if check.unit == "s":
            return present.latency(value)
        if check.unit == "USD/h":
            return present.money(value)
        if check.unit == "req/s":
            return present.rate(value)
        if check.kind == "slo" and check.metric:
            return present.metric_value(check.metric, value)
        if check.kind == "slo":
            return present.percent(value, 2)
        return present.number(value, 6)

    return fmt
