"""Files a run (or a comparison) leaves behind: data tables, charts and one self-contained HTML report.

:func:`write_run` writes into a directory (created if missing):

==================  ===========================================================================
``summary.json``    exactly :meth:`Result.summary`, non-finite floats as ``null``, indent 2
``requests.*``      one row per request (:attr:`Result.requests`; full records only — with
                    ``records: summary`` there are no rows to write and the file is left out)
``timeseries.*``    per sample interval (:attr:`Result.timeseries`)
``components.*``    per component and sample interval (:attr:`Result.component_timeseries`)
``faults.csv``      one row per fault (:attr:`Result.faults`)
``*.png``           latency, throughput, components, distribution (+ ``.svg`` with ``svg=True``);
                    ``replicas`` / ``hit_ratio`` / ``shares-<name>`` when the run has autoscaling,
                    caches, balancers or shards
``topology.png``    the architecture coloured by utilization (when :mod:`simulator.viz` has it)
``report.html``     one page, no external references: tables, SLO verdicts, every chart inline
==================  ===========================================================================

Tables (``*``) are Parquet when ``pyarrow`` is importable, else CSV (``tables="auto"``);
force either with ``tables="csv"`` / ``tables="parquet"``.

:func:`write_comparison` writes ``comparison.json``, ``comparison.png`` and a
self-contained ``comparison.html``.

Every file is written to a temporary name in the same directory and renamed into place,
so a failure never leaves a half-written report or summary behind.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import itertools
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .metrics.result import Result

CHARTS = ("latency", "throughput", "components", "distribution")
"""Chart files of a run, in report order (each ``<name>.png`` from ``simulator.viz.plot_<name>``)."""

Tables = Literal["auto", "csv", "parquet"]


def optional_charts(result: "Result") -> list[str]:
    """Charts drawn only when the run has something to show: ``replicas`` (a component was resized)
    and ``hit_ratio`` (a cache). ``shares-<component>`` is drawn per balancer or sharded database."""
    names = []
    if any(rec.capacity_steps.shape[0] > 1 for rec in result.components.values()):
        names.append("replicas")
    if any("hit_ratio" in rec.ratios for rec in result.components.values()):
        names.append("hit_ratio")
    return names

__all__ = ["CHARTS", "json_safe", "table_format", "write_comparison", "write_run"]


# ----------------------------------------------------------------------------- helpers


def json_safe(value: Any) -> Any:
    """*value* with NaN/±inf floats replaced by ``None`` (recursively; numpy scalars made plain)."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item"):  # numpy scalar
        return json_safe(value.item())
    return value


def table_format(tables: Tables = "auto") -> str:
    """``"parquet"`` or ``"csv"``: what *tables* means here (auto = parquet if pyarrow imports)."""
    if tables not in ("auto", "csv", "parquet"):
        raise ValueError(f"tables must be 'auto', 'csv' or 'parquet', not {tables!r}")
    if tables != "auto":
        return tables
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return "csv"
    return "parquet"


_TMP_IDS = itertools.count()


def _atomic(path: Path, write: Callable[[Path], None]) -> Path:
    """Run ``write(tmp)`` on a temporary file next to *path*, then rename it to *path*.

    The writer creates the temporary file itself, so it gets the usual permissions (umask).
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{next(_TMP_IDS)}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _write_bytes(path: Path, data: bytes) -> Path:
    return _atomic(path, lambda tmp: tmp.write_bytes(data))


def _write_text(path: Path, text: str) -> Path:
    return _atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _write_json(path: Path, value: Any) -> Path:
    return _write_text(path, json.dumps(json_safe(value), indent=2, allow_nan=False) + "\n")


def _write_table(frame: Any, path: Path, fmt: str) -> Path:
    if fmt == "parquet":
        return _atomic(path, lambda tmp: frame.to_parquet(tmp, index=False))
    return _atomic(path, lambda tmp: frame.to_csv(tmp, index=False))


def _close(fig: "Figure") -> None:
    """Release a figure: drop it from pyplot if pyplot knows it, and clear it."""
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close(fig)
    fig.clear()


def _save_chart(fig: "Figure", out: Path, name: str, svg: bool, written: list[Path], *, dpi: float | None = None,
                tight: bool = False) -> bytes:
    """Write ``<name>.png`` (and ``.svg``), close *fig*, return the PNG bytes (for embedding)."""
    from .viz.style import DPI

    extra = {"bbox_inches": "tight", "pad_inches": 0.15} if tight else {}
    try:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi or DPI, facecolor="white", **extra)
        png = buffer.getvalue()
        written.append(_write_bytes(out / f"{name}.png", png))
        if svg:
            buffer = io.BytesIO()
            fig.savefig(buffer, format="svg", facecolor="white", **extra)
            written.append(_write_bytes(out / f"{name}.svg", buffer.getvalue()))
    finally:
        _close(fig)
    return png


# ----------------------------------------------------------------------------- HTML

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


def _ms(seconds: float | None) -> str:
    """A duration for people, with its unit: ``39.4 µs``, ``12.3 ms``, ``4.2 s`` (never ``3.94e-05``)."""
    from .units import human_duration

    return human_duration(seconds)


def _pct(value: float | None, digits: int = 2) -> str:
    return "–" if value is None or value != value else f"{100 * value:.{digits}f} %"


def _num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        from .units import human_number

        return human_number(value, digits)  # plain decimals: 0.0000394, never 3.94e-05
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


def _slo_text(metric: str, value: float | None) -> str:
    if value is None or value != value:
        return "–"
    if metric.startswith("latency"):
        return _ms(value)
    if metric in ("availability", "error_rate"):
        return _pct(value, 3)
    return f"{value:,.1f} req/s"


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
}


def report_html(summary: Mapping[str, Any], charts: Mapping[str, bytes], *, description: str = "",
                faults: Sequence[Mapping[str, Any]] = ()) -> str:
    """The run report page for *summary* with PNG *charts* (name → bytes) inline. No external references."""
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
            metric = v["metric"] + (f" ({v['operation']})" if v.get("operation") else "")
            bound = "≤ " if v.get("bound") == "max" else "≥ "
            mark = '<span class="pass">pass</span>' if v["passed"] else '<span class="fail">FAIL</span>'
            rows.append([_e(v["name"]), _e(metric), _e(_slo_text(v["metric"], v["value"])),
                         _e(bound + _slo_text(v["metric"], v["target"])), mark])
        parts.append(f'<h2>SLOs</h2><p class="verdict">{verdict}</p>'
                     + _table(["SLO", "metric", "value", "target", "verdict"], rows, text_cols=2, raw=True))

    cards = [("issued", _num(req["issued"])), ("ok", _num(req["ok"])), ("error", _num(req["error"])),
             ("timeout", _num(req["timeout"])), ("rejected", _num(req["rejected"])),
             ("throughput", f"{s['throughput_rps']:,.2f} req/s"), ("goodput", f"{s['goodput_rps']:,.2f} req/s"),
             ("availability", _pct(s["availability"], 3))]
    if s["slos"]:
        passed = sum(1 for v in s["slos"] if v["passed"])
        cards.append(("SLOs passed", f"{passed} / {len(s['slos'])}"))
    parts.append("<h2>Headline</h2><div class=\"cards\">" + "".join(
        f'<div class="card"><div class="v">{_e(v)}</div><div class="k">{_e(k)}</div></div>' for k, v in cards)
        + "</div>")
    parts.append('<p class="note">Requests issued in the window. Throughput counts answered requests (ok, error, '
                 "rejected) and goodput ok ones, by completion time in the window; availability = ok / issued.</p>")

    keys = ("mean", "p50", "p90", "p95", "p99", "p999", "max")
    rows = [["all", _num(req["issued"]), _pct(s["availability"], 3), *[_ms(lat[k]) for k in keys]]]
    if len(s["operations"]) > 1:
        rows += [[name, _num(o["issued"]), _pct(o["availability"], 3), *[_ms(o["latency_s"][k]) for k in keys]]
                 for name, o in s["operations"].items()]
    parts.append("<h2>Latency of successful requests</h2>"
                 + _table(["operation", "issued", "availability", "mean", "p50", "p90", "p95", "p99", "p99.9",
                           "max"], rows))

    comps = sorted(s["components"].items(), key=lambda kv: -(kv[1].get("utilization") or 0.0))
    rows = [[name, c.get("kind", ""), _pct(c.get("utilization"), 1), _pct(c.get("p_wait"), 1),
             _ms(c.get("wait_s", {}).get("mean")), _ms(c.get("wait_s", {}).get("p99")),
             _num(c.get("queue_len_mean"), 3), _num(c.get("served")), _num(c.get("errors")),
             _num(c.get("rejected"))] for name, c in comps]
    parts.append("<h2>Components (busiest first)</h2>"
                 + _table(["component", "kind", "utilization", "P(wait)", "wait mean", "wait p99",
                           "queue mean", "served", "errors", "rejected"], rows, text_cols=2))

    if faults:
        rows = [[f.get("kind", ""), f.get("target", ""), _num(f.get("start")), _num(f.get("end")),
                 f.get("detail", "") or ""] for f in faults]
        parts.append("<h2>Faults</h2>" + _table(["kind", "target", "start (s)", "end (s)", "detail"], rows,
                                                text_cols=2))

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


# ----------------------------------------------------------------------------- entry points


def write_run(result: "Result", out_dir: str | os.PathLike[str], *, svg: bool = False, tables: Tables = "auto",
              charts: bool = True) -> list[Path]:
    """Write a run's summary, tables, charts and HTML report into *out_dir*; return the paths written.

    ``summary.json`` is :meth:`Result.summary` with non-finite floats as null. Tables are
    Parquet or CSV per *tables* (see :func:`table_format`); ``faults.csv`` is always CSV.
    With ``charts=False`` no pictures are drawn (the report then has tables only).
    """
    from . import viz

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fmt = table_format(tables)
    ext = "parquet" if fmt == "parquet" else "csv"
    written: list[Path] = []
    summary = json_safe(result.summary())
    written.append(_write_json(out / "summary.json", summary))
    if result.records_mode == "full":
        written.append(_write_table(result.requests, out / f"requests.{ext}", fmt))
    written.append(_write_table(result.timeseries, out / f"timeseries.{ext}", fmt))
    written.append(_write_table(result.component_timeseries, out / f"components.{ext}", fmt))
    faults = result.faults
    written.append(_write_table(faults, out / "faults.csv", "csv"))

    pngs: dict[str, bytes] = {}
    if charts:
        for name in CHARTS:
            pngs[name] = _save_chart(getattr(viz, f"plot_{name}")(result), out, name, svg, written)
        for name in optional_charts(result):
            pngs[name] = _save_chart(getattr(viz, f"plot_{name}")(result), out, name, svg, written)
        for name, rec in result.components.items():
            if any(t.startswith(("sent:", "shard:")) for t in rec.tally_names):
                pngs[f"shares-{name}"] = _save_chart(viz.plot_shares(result, name), out, f"shares-{name}", svg,
                                                     written)
        plot_topology = getattr(viz, "plot_topology", None)
        if plot_topology is not None:
            utilization = {name: c["utilization"] for name, c in summary["components"].items()}
            try:
                figure = plot_topology(result.scenario, utilization=utilization)
            except Exception as exc:  # a broken picture must not cost the run's other files
                warnings.warn(f"topology chart skipped: {exc!r}", RuntimeWarning, stacklevel=2)
            else:
                # sized by its own layout (small for small systems): save sharper, like `sdsim graph`
                pngs["topology"] = _save_chart(figure, out, "topology", svg, written, dpi=150, tight=True)

    fault_rows = json_safe(faults.to_dict("records"))
    page = report_html(summary, pngs, description=result.scenario.description.strip(), faults=fault_rows)
    written.append(_write_text(out / "report.html", page))
    return written


def write_comparison(results: Mapping[str, "Result"], table_rows: Sequence[Mapping[str, Any]],
                     out_dir: str | os.PathLike[str], svg: bool = False) -> list[Path]:
    """Write ``comparison.json`` (*table_rows*), ``comparison.png`` (+ ``.svg``) and ``comparison.html``.

    *results* maps design name → one run of it (drawn by :func:`simulator.viz.plot_comparison`);
    *table_rows* are dicts such as ``{"metric", "a", "b", "diff", "ci_low", "ci_high",
    "significant"}``, rendered generically (one column per key).
    """
    from .viz import plot_comparison
    from .viz.charts import comparison_title

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [_write_json(out / "comparison.json", list(table_rows))]
    png = _save_chart(plot_comparison(results), out, "comparison", svg, written) if results else None
    same_run = len({(r.scenario.name, r.seed) for r in results.values()}) == 1
    names = " vs ".join(str(k) for k in results)
    what = f"design comparison: {names}" if same_run else "design comparison"
    title = comparison_title(results, what) if results else "design comparison"
    written.append(_write_text(out / "comparison.html", comparison_html(list(table_rows), png, title=title)))
    return written
