"""Files a run (or a comparison) leaves behind: data tables, charts and one self-contained HTML report.

:func:`write_run` writes into a directory (created if missing):

==================  ===========================================================================
``summary.json``    exactly :meth:`Result.summary`, non-finite floats as ``null``, indent 2
``requests.*``      one row per request (:attr:`Result.requests`; full records only — with
                    ``records: summary`` there are no rows to write and the file is left out)
``timeseries.*``    per sample interval (:attr:`Result.timeseries`)
``components.*``    per component and sample interval (:attr:`Result.component_timeseries`)
``faults.csv``      one row per fault (:attr:`Result.faults`)
``table.*``         the record tables the kinds and steps fill (a broker's ``messages``, a saga's
                    ``sagas``, a call policy's ``retries``, …) whose rows the run kept:
                    ``table.<name>.*`` for the run's own, ``table.<component>.<name>.*`` for a
                    component's, one column per field (names as their codes; :func:`kept_tables`)
``traces.*``        with ``tracing:``, one row per span (``result.traces.frame()``), and the same
                    spans as OTLP/JSON in ``traces.otlp.json`` (:mod:`simulator.tracing.otlp`)
``*.png``           latency, throughput, components, distribution (+ ``.svg`` with ``svg=True``);
                    ``replicas`` / ``hit_ratio`` / ``shares-<name>`` / ``breakers`` / ``load`` when the
                    run has autoscaling, caches, balancers or shards, circuit breakers, load that may
                    be refused, retried or hedged; ``trace`` (the slowest traced request's waterfall)
                    with ``tracing:``
``topology.png``    the architecture coloured by utilization (when :mod:`simulator.viz` has it)
``metrics.om``      the scraped series as OpenMetrics text (:mod:`simulator.monitoring`), when the
                    scenario has ``monitoring:``; ``monitoring.png`` is their RED/USE dashboard
``rules.yml``       with ``monitoring.rules``, the alert rules as a Prometheus rule file
                    (``promtool check rules``; :mod:`simulator.monitoring.rulefile`), and
                    ``alerts.csv``, each alert's pending, firing and resolved times
``report.html``     one page, no external references: tables, SLO verdicts, every chart inline
==================  ===========================================================================

Tables (``*``) are Parquet when ``pyarrow`` is importable, else CSV (``tables="auto"``);
force either with ``tables="csv"`` / ``tables="parquet"``.

:func:`write_comparison` writes ``comparison.json``, ``comparison.png`` and a
self-contained ``comparison.html``.

Both folders appear whole (:mod:`.folders`): the content is built in a staging folder and
moved into place at the end, so a failure or Ctrl-C never leaves a half-written folder
(a new folder is one rename; an existing one keeps its other files and changes only at
the end). :func:`check_output` tells, before any work, whether a path can be written.

Four modules, one concept each: :mod:`.files` (atomic writes of text, JSON, tables and
charts: public, the sweep and the planner write through them too), :mod:`.folders`
(output paths checked early, folders staged and committed), :mod:`.html` (the pages)
and :mod:`.bundle` (what a run's or a comparison's folder holds).
"""

from ..jsonsafe import json_safe
from .bundle import CHARTS, kept_tables, optional_charts, write_comparison, write_run
from .files import (Tables, atomic, save_chart, table_format, write_bytes, write_json, write_table,
                    write_text)
from .folders import FolderNotEmpty, check_output, staged
from .html import comparison_html, report_html

# the names the sweep and the planner used before the split (kept so their imports still hold)
_atomic, _save_chart, _write_json, _write_table, _write_text = atomic, save_chart, write_json, write_table, write_text

__all__ = ["CHARTS", "FolderNotEmpty", "Tables", "atomic", "check_output", "comparison_html", "json_safe",
           "kept_tables", "optional_charts", "report_html", "save_chart", "staged", "table_format", "write_bytes",
           "write_comparison", "write_json", "write_run", "write_table", "write_text"]
