"""The HTML pages of a run and of a comparison: one self-contained file each (styles and charts inline).

Numbers are written with :mod:`simulator.present` (``HTML`` typography); every text from
the scenario is escaped.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from typing import Any

from .. import present
from ..jsonsafe import json_safe
from ..present import HTML

__all__ = ["CHART_CAPTIONS", "CSS", "comparison_html", "report_html"]


def _percent(value: float | None, digits: int = 2) -> str:
    return present.percent(value, digits, HTML)


CSS = """
:root { --fg:#1b1b1b; --muted:#5b5b5b; --line:#d9d9d9; --head:#f3f3f3; --pass:#00734d; --fail:#b23c00; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color: var(--fg); margin: 0 auto; padding: 24px 28px 48px; max-width: 1240px; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
p.meta { color: var(--muted); margin: 0 0 16px; }
table { border-collapse: collapse; margin: 6px 0 10px; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
th { background: var(--head); font-weight: 600; }
th:first-child, td:first-child, td.text { text-align: left; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 8px 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 120px; }
.card .v { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .k { color: var(--muted); font-size: 12px; }
.pass { color: var(--pass); font-weight: 700; }
.fail { color: var(--fail); font-weight: 700; }
figure { margin: 14px 0 22px; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: 12.5px; margin-top: 4px; }
.note { color: var(--muted); font-size: 12.5px; }
.strong { font-weight: 700; }
p.verdict { font-size: 16px; margin: 6px 0; }
details { margin: 28px 0 0; border-top: 1px solid var(--line); padding-top: 8px; }
details summary { cursor: pointer; color: var(--muted); }
details p { white-space: pre-wrap; }
""".strip()


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _num(value: Any, digits: int = 4) -> str:
    """A table cell: ``yes``/``no``, a count, or a number to *digits* significant digits."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return present.count(value)
    if value is None or isinstance(value, float):
        return present.number(value, digits)  # plain decimals: 0.0000394, never 3.94e-05
    return str(value)


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, text_cols: int = 1,
           raw: bool = False) -> str:
    """An HTML table; cells escaped unless *raw* (then the caller escaped them)."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            content = cell if raw else _e(cell)
            cells.append(f'<td class="text">{content}</td>' if i < text_cols else f"<td>{content}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _img(png: bytes, alt: str, caption: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure><img alt="{_e(alt)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _page(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{_e(title)}</title><style>{CSS}</style></head>\n<body>\n{body}\n</body></html>\n")


CHART_CAPTIONS = {
    "latency": "Latency percentiles of successful requests over simulated time, by completion time. "
               "Grey: warm-up (not measured); coloured bands: faults.",
    "throughput": "Requests ending per second (throughput, any outcome) and ok ones (goodput), failures shaded "
                  "between them; availability (ok / ended) below. By completion time.",
    "components": "Per component, busiest first: utilization (busy workers / workers) and mean queue length.",
    "distribution": "Latency of successful requests in the measurement window: histogram and cumulative "
                    "distribution on a log axis, with p50/p95/p99.",
    "topology": "Architecture; components coloured by utilization over the measurement window.",
    "replicas": "Offered load and ready replicas of each resized component; dotted lines are autoscaler decisions, "
                "the gap before the step is the provisioning delay (cold start).",
    "hit_ratio": "Hit ratio of each cache over time (dashed: share of hits that served stale data).",
    "breakers": "Each circuit breaker's state over time: open (calls rejected) and half_open (trial calls); "
                "the open intervals are hatched on the other time-series charts too.",
    "load": "Per component where load was refused, retried or hedged: its offered load (arrivals per second, "
            "every attempt and copy) against the workloads' goodput (ok per second), with its refusals per second "
            "by cause stacked below; totals counted without times (breaker and bulkhead rejections, retries) "
            "written in the panel.",
    "monitoring": "Monitoring dashboard from the scraped series (one point per scrape_interval; metrics.om has "
                  "them as OpenMetrics): RED per workload (request rate, error share, histogram p50/p99) above USE "
                  "per component (utilization, mean queue length, failed visits per second).",
}


def report_html(summary: Mapping[str, Any], charts: Mapping[str, bytes], *, description: str = "",
                faults: Sequence[Mapping[str, Any]] = (), alerts: Sequence[Mapping[str, Any]] | None = None,
                alert_scores: Sequence[Mapping[str, Any]] | None = None) -> str:
    """The run report page for *summary* with PNG *charts* (name → bytes) inline. No external references.
    *alerts* and *alert_scores* (when the scenario has alert rules) are tables after the faults."""
    s = json_safe(summary)
    req, lat = s["requests"], s["latency_s"]
    window = s["duration_s"] - s["warmup_s"]
    title = f"{s['scenario']} · seed {s['seed']}"
    duration, warmup = f"{s['duration_s']:g}", f"{s['warmup_s']:g}"
    parts = [f"<h1>{_e(title)}</h1>",
             f'<p class="meta">duration {_e(duration)} s · warm-up {_e(warmup)} s · measurement window '
             f"[{_e(warmup)} s, {_e(duration)} s) = {_e(f'{window:g}')} s</p>"]
    if s["slos"]:  # the verdicts lead
        failed = [v["name"] for v in s["slos"] if not v["passed"]]
        n = len(s["slos"])
        verdict = (f'<span class="fail">{len(failed)} of {n} SLO{"s" if n != 1 else ""} FAIL</span>: '
                   + _e(", ".join(failed)) if failed else
                   f'<span class="pass">{"every" if n > 1 else "the"} SLO passes</span> ({n} of {n})')
        rows = []
        for v in s["slos"]:
            metric, value, target = present.slo_cells(v, HTML)
            mark = '<span class="pass">pass</span>' if v["passed"] else '<span class="fail">FAIL</span>'
            rows.append([_e(v["name"]), _e(metric), _e(value), _e(target), mark])
        parts.append(f'<h2>SLOs</h2><p class="verdict">{verdict}</p>'
                     + _table(["SLO", "metric", "value", "target", "verdict"], rows, text_cols=2, raw=True))

    cards = [("issued", _num(req["issued"])), ("ok", _num(req["ok"])), ("error", _num(req["error"])),
             ("timeout", _num(req["timeout"])), ("rejected", _num(req["rejected"])),
             ("throughput", present.rate(s["throughput_rps"], 2, HTML)), ("goodput", present.rate(s["goodput_rps"], 2, HTML)),
             ("availability", _percent(s["availability"], 3))]
    if s["slos"]:
        passed = sum(1 for v in s["slos"] if v["passed"])
        cards.append(("SLOs passed", f"{passed} / {len(s['slos'])}"))
    parts.append("<h2>Headline</h2><div class=\"cards\">" + "".join(
        f'<div class="card"><div class="v">{_e(v)}</div><div class="k">{_e(k)}</div></div>' for k, v in cards)
        + "</div>")
    parts.append('<p class="note">Requests issued in the window. Throughput counts answered requests (ok, error, '
                 "rejected) and goodput ok ones, by completion time in the window; availability = ok / issued.</p>")

    keys = ("mean", "p50", "p90", "p95", "p99", "p999", "max")
    rows = [["all", _num(req["issued"]), _percent(s["availability"], 3), *[present.latency(lat[k]) for k in keys]]]
    if len(s["operations"]) > 1:
        rows += [[name, _num(o["issued"]), _percent(o["availability"], 3), *[present.latency(o["latency_s"][k]) for k in keys]]
                 for name, o in s["operations"].items()]
    parts.append("<h2>Latency of successful requests</h2>"
                 + _table(["operation", "issued", "availability", "mean", "p50", "p90", "p95", "p99", "p99.9",
                           "max"], rows))

    comps = sorted(s["components"].items(), key=lambda kv: -(kv[1].get("utilization") or 0.0))
    rows = [[name, c.get("kind", ""), _percent(c.get("utilization"), 1), _percent(c.get("p_wait"), 1),
             present.latency(c.get("wait_s", {}).get("mean")), present.latency(c.get("wait_s", {}).get("p99")),
             present.latency(c.get("sojourn_s", {}).get("mean")), _num(c.get("visits_per_request"), 3),
             _num(c.get("queue_len_mean"), 3), _num(c.get("served")), _num(c.get("errors")),
             _num(c.get("rejected"))] for name, c in comps]
    parts.append("<h2>Components (busiest first)</h2>"
                 + _table(["component", "kind", "utilization", "P(wait)", "wait mean", "wait p99", "sojourn mean",
                           "visits/req", "queue mean", "served", "errors", "rejected"], rows, text_cols=2)
                 + '<p class="note">Sojourn mean: the time per visit at the component, wait + its own work, '
                 "downstream calls left out. Visits/req: visits arriving in the window per request issued in it.</p>")

    sagas = present.saga_rows(s, HTML)
    if sagas:
        parts.append("<h2>Sagas (started in the measurement window)</h2>"
                     + _table(list(present.SAGA_COLUMNS), sagas, text_cols=2))

    if faults:
        rows = [[f.get("kind", ""), f.get("target", ""), _num(f.get("start")), _num(f.get("end")),
                 f.get("detail", "") or ""] for f in faults]
        parts.append("<h2>Faults</h2>" + _table(["kind", "target", "start (s)", "end (s)", "detail"], rows,
                                                text_cols=2))
    if alert_scores is not None:
        parts.append(_alerts_html(alerts or (), alert_scores))

    if charts:
        parts.append("<h2>Charts</h2>")
        for name, png in charts.items():
            caption = CHART_CAPTIONS.get(name) or (
                f"Share of {name.removeprefix('shares-')}'s requests per replica or shard in the measurement window "
                "(dashed: an even split)." if name.startswith("shares-") else name)
            parts.append(_img(png, f"{name} chart", caption))
    if description:  # long text and citations: folded away at the bottom
        parts.append("<details><summary>About this scenario: description and sources</summary>"
                     f'<p class="note">{_e(description)}</p></details>')
    return _page(f"{title} — sdsim report", "\n".join(parts))


def _alerts_html(alerts: Sequence[Mapping[str, Any]], scores: Sequence[Mapping[str, Any]]) -> str:
    """The alerting tables: each episode's pending, firing and resolved times, then the scores per rule."""
    rows = [[a["alert"], a["severity"] or "", a["labels"], _num(a["pending"]), _num(a["firing"]),
             _num(a["resolved"])] for a in alerts]
    episodes = (_table(["alert", "severity", "labels", "pending (s)", "firing (s)", "resolved (s)"], rows,
                       text_cols=3) if rows else '<p class="note">No alert was ever pending.</p>')
    rows = [[s["alert"], _num(s["incidents"]), _num(s["detected"]), _percent(s["recall"], 0), _num(s["firings"]),
             _num(s["false_alerts"]), _percent(s["precision"], 0), present.latency(s["time_to_detect_mean"]),
             present.latency(s["time_to_detect_max"])] for s in scores]
    return ("<h2>Alerts</h2>" + episodes + "<h3>Alerts scored against the faults</h3>"
            + _table(["alert", "incidents", "detected", "recall", "firings", "false alerts", "precision",
                      "time to detect (mean)", "(max)"], rows)
            + '<p class="note">Each fault is an incident; a firing detects it when it starts between the fault\'s '
            "start and its end plus monitoring.detection_grace. rules.yml holds the rules for promtool.</p>")


def comparison_html(rows: Sequence[Mapping[str, Any]], chart: bytes | None, *, title: str) -> str:
    """The comparison page: *rows* as a table (columns = keys in order of appearance) and the chart inline."""
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    cells = []
    for row in rows:
        line = []
        for col in columns:
            value = row.get(col)
            text = _e(_num(json_safe(value)))
            if col == "significant" and isinstance(value, bool):
                text = f'<span class="strong">{text}</span>' if value else text
            line.append(text)
        cells.append(line)
    parts = [f"<h1>{_e(title)}</h1>"]
    if rows:
        parts.append("<h2>Differences</h2>" + _table(columns, cells, raw=True))
    else:
        parts.append('<p class="note">no rows</p>')
    if chart is not None:
        parts.append("<h2>Chart</h2>" + _img(chart, "comparison chart", "p99 latency over time and latency CDFs "
                                                                        "of each design (first replication)."))
    return _page(f"{title} — sdsim comparison", "\n".join(parts))
