"""What a run's folder and a comparison's folder hold (the file list is in :mod:`simulator.artifacts`).

Which charts a run gets follows from its records and its kinds' declarations: the four
charts every run has (:data:`CHARTS`), ``replicas`` when a component was resized,
``hit_ratio`` when a cache reported one, and ``shares-<component>`` for every component
whose kind declares a :class:`~simulator.metrics.descriptors.Share` it recorded.
"""

from __future__ import annotations

import json

import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..declared import declared
from ..jsonsafe import json_safe
from ..metrics.descriptors import Share
from . import files
from .files import Tables, table_format
from .folders import staged
from .html import comparison_html, report_html

if TYPE_CHECKING:
    from ..metrics.result import Result

__all__ = ["CHARTS", "kept_tables", "optional_charts", "write_comparison", "write_run"]

CHARTS = ("latency", "throughput", "components", "distribution")
"""Chart files of a run, in report order (each ``<name>.png`` from ``simulator.viz.plot_<name>``)."""


def optional_charts(result: "Result") -> list[str]:
    """Charts drawn only when the run has something to show: ``replicas`` (a component was resized),
    ``hit_ratio`` (a cache), ``breakers`` (a circuit breaker) and ``load`` (a component that may
    refuse work — shedding, expired deadlines, rate limits — or a call with retries, hedging,
    a breaker or a bulkhead). ``shares-<component>`` is drawn per component whose kind declares a
    :class:`~simulator.metrics.descriptors.Share` it tallied (a balancer, a sharded database)."""
    names = []
    if any(rec.capacity_steps.shape[0] > 1 for rec in result.components.values()):
        names.append("replicas")
    if any("hit_ratio" in rec.ratios for rec in result.components.values()):
        names.append("hit_ratio")
    if any("breaker_states" in rec.tables for rec in result.components.values()):
        names.append("breakers")  # a circuit breaker (simulator.steps.breaker)
    from ..viz.load import shows_load

    if shows_load(result):
        names.append("load")  # shedding, deadlines, rate limits or a call policy: offered load vs goodput
    if result.traces is not None and len(result.traces):
        names.append("trace")  # the slowest traced request's waterfall (simulator.tracing)
    if result.scenario.monitoring is not None:
        names.append("monitoring")  # the RED/USE dashboard of the scraped series (simulator.monitoring)
    return names


def kept_tables(result: "Result") -> list[tuple[str, Any]]:
    """The record tables whose rows the run kept (every table with full records, ``"keep"`` tables
    with summary records), as (file name stem, table): ``table.<name>`` for the run's own
    (:attr:`Result.tables`), ``table.<component>.<name>`` for a component's."""
    kept = [(f"table.{name}", table) for name, table in sorted(result.tables.items()) if table.rows is not None]
    for component, rec in result.components.items():
        kept += [(f"table.{component}.{name}", table) for name, table in sorted(rec.tables.items())
                 if table.rows is not None]
    return kept


def write_run(result: "Result", out_dir: str | os.PathLike[str], *, svg: bool = False, tables: Tables = "auto",
              charts: bool = True) -> list[Path]:
    """Write a run's summary, tables, charts and HTML report into *out_dir*; return the paths written.

    ``summary.json`` is :meth:`Result.summary` with non-finite floats as null. Tables are
    Parquet or CSV per *tables* (see :func:`table_format`); ``faults.csv`` is always CSV.
    With ``charts=False`` no pictures are drawn (the report then has tables only).
    The folder is built aside and moved into place whole (:func:`~.folders.staged`): a
    failure or Ctrl-C leaves *out_dir* as it was.
    """
    out = Path(out_dir)
    with staged(out) as stage:
        written = _write_run(result, stage, svg, tables, charts)
    return [out / path.name for path in written]


def _write_run(result: "Result", out: Path, svg: bool, tables: Tables, charts: bool) -> list[Path]:
    from .. import viz

    fmt = table_format(tables)
    ext = "parquet" if fmt == "parquet" else "csv"
    written: list[Path] = []
    summary = json_safe(result.summary())
    written.append(files.write_json(out / "summary.json", summary))
    if result.records_mode == "full":
        written.append(files.write_table(result.requests, out / f"requests.{ext}", fmt))
    written.append(files.write_table(result.timeseries, out / f"timeseries.{ext}", fmt))
    written.append(files.write_table(result.component_timeseries, out / f"components.{ext}", fmt))
    faults = result.faults
    written.append(files.write_table(faults, out / "faults.csv", "csv"))
    for stem, table in kept_tables(result):  # the kinds' own records: messages, sagas, replays, …
        written.append(files.write_table(table.frame(), out / f"{stem}.{ext}", fmt))
    if result.traces is not None:  # tracing: the spans as a table and as OTLP/JSON (simulator.tracing.otlp)
        written.append(files.write_table(result.traces.frame(), out / f"traces.{ext}", fmt))
        written.append(files.write_text(out / "traces.otlp.json",
                                        json.dumps(result.traces.to_otlp(), separators=(",", ":")) + "\n"))
    if result.scenario.monitoring is not None:  # the scraped series, for promtool and Prometheus
        from ..monitoring.openmetrics import render

        written.append(files.write_text(out / "metrics.om", render(result.scrape())))
    alert_rows = score_rows = None
    if result.scenario.monitoring is not None and result.scenario.monitoring.rules:  # alerting (issue 17)
        from ..monitoring import rulefile

        alerts = result.alerts()
        written.append(files.write_text(out / "rules.yml", rulefile.render(result.scenario.monitoring,
                                                                            result.scenario.name)))
        written.append(files.write_table(alerts, out / "alerts.csv", "csv"))
        alert_rows = json_safe(alerts.to_dict("records"))
        score_rows = json_safe(result.alert_scores().to_dict("records"))

    pngs: dict[str, bytes] = {}
    if charts:
        for name in CHARTS:
            pngs[name] = files.save_chart(getattr(viz, f"plot_{name}")(result), out, name, svg, written)
        for name in optional_charts(result):
            pngs[name] = files.save_chart(getattr(viz, f"plot_{name}")(result), out, name, svg, written)
        for name, rec in result.components.items():
            shares = declared(rec.kind, Share)
            if any(share.owns(t) for share in shares for t in rec.tally_names):
                pngs[f"shares-{name}"] = files.save_chart(viz.plot_shares(result, name), out, f"shares-{name}", svg,
                                                     written)
        plot_topology = getattr(viz, "plot_topology", None)
        if plot_topology is not None:
            utilization = {name: c["utilization"] for name, c in summary["components"].items()}
            try:
                figure = plot_topology(result.scenario, utilization=utilization)
            except Exception as exc:  # a broken picture must not cost the run's other files
                warnings.warn(f"topology chart skipped: {exc!r}", RuntimeWarning, stacklevel=3)  # write_run's caller
            else:
                # sized by its own layout (small for small systems): save sharper, like `sdsim graph`
                pngs["topology"] = files.save_chart(figure, out, "topology", svg, written, dpi=150, tight=True)

    fault_rows = json_safe(faults.to_dict("records"))
    page = report_html(summary, pngs, description=result.scenario.description.strip(), faults=fault_rows,
                       alerts=alert_rows, alert_scores=score_rows)
    written.append(files.write_text(out / "report.html", page))
    return written


def write_comparison(results: Mapping[str, "Result"], table_rows: Sequence[Mapping[str, Any]],
                     out_dir: str | os.PathLike[str], svg: bool = False) -> list[Path]:
    """Write ``comparison.json`` (*table_rows*), ``comparison.png`` (+ ``.svg``) and ``comparison.html``.

    *results* maps design name → one run of it (drawn by :func:`simulator.viz.plot_comparison`);
    *table_rows* are dicts such as ``{"metric", "a", "b", "diff", "ci_low", "ci_high",
    "significant"}``, rendered generically (one column per key). The folder appears whole,
    as with :func:`write_run`.
    """
    out = Path(out_dir)
    with staged(out) as stage:
        written = _write_comparison(results, table_rows, stage, svg)
    return [out / path.name for path in written]


def _write_comparison(results: Mapping[str, "Result"], table_rows: Sequence[Mapping[str, Any]], out: Path,
                      svg: bool) -> list[Path]:
    from ..viz import plot_comparison
    from ..viz.charts import comparison_title

    written = [files.write_json(out / "comparison.json", list(table_rows))]
    png = files.save_chart(plot_comparison(results), out, "comparison", svg, written) if results else None
    same_run = len({(r.scenario.name, r.seed) for r in results.values()}) == 1
    names = " vs ".join(str(k) for k in results)
    what = f"design comparison: {names}" if same_run else "design comparison"
    title = comparison_title(results, what) if results else "design comparison"
    written.append(files.write_text(out / "comparison.html", comparison_html(list(table_rows), png, title=title)))
    return written
