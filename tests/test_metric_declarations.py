"""Kinds declare their metrics; every consumer reads the declarations (none names a kind).

The declarations decide what a component's summary entry reports: every declared metric that
applies to its settings (``when``), 0 or ``None`` when nothing was emitted; a runtime that
emits a name its spec does not report is an error.

The plug-in kind ``echo`` (``tests/plugins/echo/``) declares two counters, a ratio and a
fact, and fills a record table: they show up in the summary, the terminal report,
``compare``, sweep records and the record-table API, with no edit outside its folder.
Also here: the formatting vocabulary, ``json_safe`` and the chart accessor.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from simulator import load_scenario, objectives, present, register_kind, simulate
from simulator.errors import ScenarioError
from simulator.scenario.slo import component_metrics
from simulator.compare import compare
from simulator.components import KINDS
from simulator.declared import declared, headline_ratios, metrics_of
from simulator.experiments.runs import RunSpec, record
from simulator.jsonsafe import json_safe
from simulator.metrics import plots
from simulator.metrics.descriptors import Counter, Fact, Ratio, Share
from simulator.metrics.grid import FullRecordsRequired
from simulator.metrics.recorder import Recorder
from simulator.metrics.streaming import StreamingRecorder
from simulator.report import component_details

from helpers import scenario, service
from test_kinds import ECHO_YAML


@pytest.fixture
def echo(tmp_path):
    """A scenario using the plug-in kind, with it registered for one test."""
    register_kind("echo", "plugins.echo")
    path = tmp_path / "echo.yaml"
    path.write_text(ECHO_YAML)
    yield path
    KINDS.remove("echo")


# ----------------------------------------------------------------------------- declarations


def test_built_in_kinds_declare_what_they_emit():
    assert [r.name for r in declared("cache", Ratio)] == ["hit_ratio", "stale_ratio"]
    assert [s.over for s in declared("load_balancer", Share)] == ["replica"]
    assert [s.over for s in declared("database", Share)] == ["shard"]
    assert [f.name for f in declared("database", Fact) if f.record] == ["keys_moved_adding_a_shard"]
    # an event-sourced service's, a shedding one's, one dropping expired work, one hedging its calls, the
    # hedged copies cancelled at one (when=)
    # … and what every kind reports with `security:` (ComponentBase.shared_metrics, simulator.security.metrics)
    security = ("handshakes", "mtls_rejected", "authz_denied", "authz_audited", "ext_authz_checks", "ext_authz_cache_hits")
    assert [c.name for c in declared("service", Counter)] == ["replays", "shed", "expired", "hedges_sent", "hedges_won",
                                                              "hedges_cancelled", "cancelled", *security]
    assert declared("database", Counter)[0] == Counter("pool_timeouts")
    assert headline_ratios() == {"hit_ratio": "hit ratio"}
    assert metrics_of("no such kind") == ()


def test_descriptors_compute_what_they_declare():
    ratio = Ratio("hit_ratio", "hits", ("hits", "misses"))
    assert ratio.of({"hits": 3, "misses": 1}) == 0.75 and ratio.of({}) is None and ratio.text == "hit ratio"
    share = Share("sent", over="replica")
    counts = {"sent:1": 5, "sent:0": 3, "sent_other": 9, "shard:0": 1}
    assert share.items(counts) == [(0, 3), (1, 5)] and share.split(counts) == [3, 5]
    assert share.owns("sent:7") and not share.owns("sent_other")


def test_a_plug_in_kinds_metrics_reach_every_consumer(echo):
    scenario = load_scenario(echo)
    result = simulate(scenario, 3)
    e = result.summary()["components"]["e"]
    visits = e["visits"]
    assert e["counts"] == {"first_operation": visits, "other_operations": 0}
    assert e["first_share"] == 1.0 and e["delay_ms"] == pytest.approx(2.0)

    [(name, kind, text)] = [row for row in component_details(result.summary()) if row[0] == "e"]
    assert kind == "echo" and text.startswith(f"first-operation share 100.0%, first operation {visits}")
    assert "delay ms 2" in text

    rows = {row["metric"]: row for row in compare(scenario, scenario, replications=2).rows()}
    assert rows["component.e.first_share"]["a"] == 1.0 and rows["component.e.first_share"]["diff"] == 0.0

    flat = record(RunSpec(str(echo), (), (), 3, 0, 0), result)
    assert flat["component.e.first_share"] == 1.0
    assert flat["component.e.delay_ms"] == pytest.approx(2.0)
    assert flat["component.e.count.first_operation"] == visits


# ----------------------------------------------------------------------------- the declarations decide


def _counts(summary, name):
    entry = summary["components"][name]
    return list(entry.get("counts", {})), entry


def test_the_declarations_decide_what_a_component_reports():
    """What applies to a component's settings is reported, 0 or None when nothing happened; what does
    not apply (a balancer's retries without ``retries``) is not there at all."""
    lb = {"kind": "load_balancer", "backend": "app"}
    app = service(replicas=2)
    plain = simulate(scenario({"lb": lb, "app": app}, entry="lb", duration="5s"), 1).summary()
    assert _counts(plain, "lb")[0] == ["panic", "no_healthy_upstream", "sent:0", "sent:1"]
    assert "counts" not in plain["components"]["app"]  # a service declares nothing of its own
    busy = simulate(scenario({"lb": {**lb, "retries": 2, "max_connections": 50}, "app": app}, entry="lb",
                             duration="5s"), 1).summary()
    names, entry = _counts(busy, "lb")
    assert names == ["panic", "no_healthy_upstream", "over_max_connections", "retries", "sent:0", "sent:1"]
    assert entry["counts"]["retries"] == entry["counts"]["over_max_connections"] == 0

    db = {"kind": "database", "read_replicas": 1, "pool_timeout": "1s", "operations": {"get": {"work": "1ms"}}}
    unkeyed = simulate(scenario({"db": db}, entry="db", operation="get", duration="5s"), 1).summary()
    names, entry = _counts(unkeyed, "db")
    assert names[0] == "pool_timeouts" and entry["counts"]["pool_timeouts"] == 0
    assert "stale_ratio" not in entry and entry["staleness"] == "not tracked: no workload has keys"
    assert "strategy" not in entry and entry["shards"] == 1
    keyed = simulate(scenario({"db": {**db, "read_from": "primary"}}, entry="db", operation="get", duration="5s",
                              workload={"keys": "uniform(n=10)"}), 1).summary()["components"]["db"]
    assert keyed["stale_ratio"] is None and "staleness" not in keyed  # tracked, but no replica read to divide by


def test_a_declared_metric_with_no_event_is_zero_or_none(echo, monkeypatch):
    from plugins.echo.spec import EchoSpec

    monkeypatch.setattr(EchoSpec, "metrics", EchoSpec.metrics + (
        Counter("never"), Ratio("never_share", "never", ("never",)), Fact("colour")))
    e = simulate(load_scenario(echo), 1).summary()["components"]["e"]
    assert list(e["counts"]) == ["first_operation", "other_operations", "never"] and e["counts"]["never"] == 0
    assert e["never_share"] is None and e["colour"] is None and e["first_share"] == 1.0


@pytest.mark.parametrize("kept", ["tally", "fact"])
def test_emitting_an_undeclared_metric_is_an_error(echo, monkeypatch, kept):
    from plugins.echo.spec import EchoSpec
    from simulator.metrics.result import UndeclaredMetric

    dropped = "other_operations" if kept == "tally" else "delay_ms"
    monkeypatch.setattr(EchoSpec, "metrics", tuple(m for m in EchoSpec.metrics if m.name != dropped))
    with pytest.raises(UndeclaredMetric, match=f"component 'e' \\(kind echo\\) emitted '{dropped}', which its spec "
                                               "does not report here"):
        simulate(load_scenario(echo), 1)


def test_a_metric_declared_for_another_setting_is_not_reported(echo, monkeypatch):
    """``when`` says where a declaration applies; emitting it elsewhere is as wrong as not declaring it."""
    from plugins.echo.spec import EchoSpec
    from simulator.metrics.descriptors import reported
    from simulator.metrics.result import UndeclaredMetric

    scenario = load_scenario(echo)
    only_slow = tuple(Fact(m.name, when=lambda spec, _: spec.delay > 1) if m.name == "delay_ms" else m
                      for m in EchoSpec.metrics)
    monkeypatch.setattr(EchoSpec, "metrics", only_slow)
    assert [m.name for m in reported(scenario.components["e"], scenario)] == [
        "first_operation", "other_operations", "first_share"]
    with pytest.raises(UndeclaredMetric, match="emitted 'delay_ms'"):
        simulate(scenario, 1)


# ----------------------------------------------------------------------------- record tables


def test_a_kinds_record_table_in_both_modes(echo):
    """Full records keep every row; the table's summary rule (``count``) keeps only the count."""
    scenario = load_scenario(echo)
    full, summary = simulate(scenario, 5, records="full"), simulate(scenario, 5, records="summary")
    table = full.components["e"].table("echoes")
    assert list(table.columns) == ["time", "operation"]
    assert len(table) == full.components["e"].tables["echoes"].count == summary.components["e"].tables["echoes"].count
    assert len(table) == len(full.components["e"].end)  # one row per visit
    with pytest.raises(FullRecordsRequired, match="table 'echoes' needs full records"):
        summary.components["e"].table("echoes")
    with pytest.raises(KeyError, match=r"component 'e' has no record table 'nope' \(tables: echoes\)"):
        full.components["e"].table("nope")


@pytest.mark.parametrize("recorder", [Recorder(), StreamingRecorder(0.0, 10.0, 1.0)], ids=["full", "summary"])
def test_run_wide_tables_follow_their_rule(recorder):
    alerts = recorder.table("alerts", ("time", "level"), summary="keep")
    messages = recorder.table("messages", ("sent", "delivered"))
    for t in range(3):
        alerts(float(t), 1.0)
        messages(float(t), t + 0.5)
    tables = recorder.tables.finish()
    assert tables["alerts"].rows.tolist() == [[0.0, 1.0], [1.0, 1.0], [2.0, 1.0]]
    assert tables["messages"].count == 3
    assert (tables["messages"].rows is None) == (not recorder.FULL)
    with pytest.raises(ValueError, match="declared twice"):
        recorder.table("alerts", ("time",))
    with pytest.raises(ValueError, match="summary must be one of keep, count"):
        recorder.table("traces", ("time",), summary="sample")


def test_a_table_row_needs_one_value_per_field():
    recorder = Recorder()
    add = recorder.table("moves", ("time", "key", "shard"))
    add(1.0, 2.0)
    with pytest.raises(ValueError, match="one value per field"):
        recorder.tables.finish()


# ----------------------------------------------------------------------------- presentation


def test_the_formatting_vocabulary():
    assert present.latency(0.0000394) == "39.4 µs" and present.latency(None) == "–"
    assert present.percent(0.99873, 3) == "99.873%" and present.percent(0.5, 1, present.HTML) == "50.0 %"
    assert present.percent(float("nan")) == "–"
    assert present.rate(1234.56) == "1234.6/s" and present.rate(1234.56, 2, present.HTML) == "1,234.56 req/s"
    assert present.money(1.254) == "$1.25/h" and present.count(12300) == "12,300"
    assert present.significant(0.04512) == "0.0451" and present.significant(12.0) == "12.0"
    assert present.metric_value("latency_p99", 0.0123) == "12.3 ms"
    assert present.metric_value("availability", 0.5) == "50.000%"
    assert present.metric_value("component.c.hit_ratio", 0.25) == "25.00%"
    assert present.metric_value("throughput", 10.0, present.HTML) == "10.0 req/s"
    # component metrics by their names: counts, durations, probabilities, plain numbers (never a rate)
    assert present.metric_value("component.bus.messages_lost", 0.0) == "0"
    assert present.metric_value("consumer_lag", 1234.0) == "1,234"  # messages
    assert present.metric_value("consumer_lag_seconds_max", 41.2) == "41.2 s"
    assert present.metric_value("projection_lag_p99", 0.023) == "23 ms"
    assert present.metric_value("message_latency_p99", 0.5) == "500 ms"
    assert present.metric_value("p_wait", 0.5) == "50.00%"
    assert present.metric_value("visits_per_request", 2.5) == "2.5"
    assert present.metric_value("throughput_rps", 12.34) == "12.3/s"


def test_json_safe_cleans_what_json_cannot_hold():
    value = {1: [np.float64("nan"), (np.int64(3), math.inf)], "ok": np.bool_(True), "s": "x"}
    assert json_safe(value) == {"1": [None, [3, None]], "ok": True, "s": "x"}
    assert type(json_safe(np.int64(3))) is int


def test_charts_come_through_one_accessor(echo, monkeypatch):
    """``result.plot.<name>`` draws what the chart module lists; the ``plot_*`` shortcuts route through it."""
    import simulator.viz as viz

    result = simulate(load_scenario(echo), 1)
    drawn = []
    monkeypatch.setitem(viz.RESULT_CHARTS, "echoes", lambda r, *args, **kw: drawn.append((r, args, kw)) or "fig")
    monkeypatch.setitem(viz.RESULT_CHARTS, "latency", lambda r, **kw: drawn.append((r, (), kw)) or "latency fig")
    assert "echoes" in dir(result.plot)
    assert result.plot.echoes(1, x=2) == "fig" and drawn[-1] == (result, (1,), {"x": 2})
    assert result.plot_latency(width=3) == "latency fig" and drawn[-1] == (result, (), {"width": 3})
    with pytest.raises(AttributeError, match="no chart 'nope' of a run"):
        result.plot.nope
    assert plots.CHARTS == "simulator.viz"


# ----------------------------------------------------------------------------- what an objective can read


SCENARIOS = sorted((Path(__file__).resolve().parent.parent / "scenarios").rglob("*.yaml"))


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_metrics_an_slo_may_name_are_the_ones_the_summary_has(path):
    """What the loader lets an SLO name on a component (:func:`component_metrics`, from the spec) is
    exactly what the summary entry offers after the run: an SLO is refused at load, not after it."""
    short = ["duration=3s", "warmup=0s", "faults=[]", "slos=[]"]
    spec = load_scenario(path, sets=short)
    summary = simulate(spec, 1).summary()
    for name, entry in summary["components"].items():
        offered = set(objectives.component_metrics(entry)) | {"capacity_mean"}
        assert set(component_metrics(spec.components[name], spec)) == offered, name


def test_an_slo_on_a_metric_the_component_does_not_report_is_refused_at_load(tmp_path):
    text = """\
name: x
duration: 5s
components:
  db: {kind: database, operations: {get_user: {work: 1ms}}}
workload:
  - {name: users, entry: db, operation: get_user, arrivals: {kind: poisson, rate: 50/s}}
slos:
  - {name: x, component: db, metric: hit_ratio, min: 0.9}
"""
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert "s.yaml:8:38:" in message and "slos.0.metric" in message
    assert "'db' (database) does not report 'hit_ratio'" in message
    assert "reads" in message and "failovers" in message and "wait_p99" in message  # what it does report
    assert "strategy" not in message  # a text fact is no objective's metric
    path.write_text(text.replace("hit_ratio", "reads").replace("min: 0.9", "min: 1"))
    assert simulate(load_scenario(path), 1).summary()["slos"][0]["value"] > 0


def test_capacity_mean_is_the_capacity_when_it_never_changed():
    spec = scenario({"app": service(replicas=3)}, entry="app", duration="5s")
    summary = simulate(spec, 1).summary()
    assert "capacity_mean" not in summary["components"]["app"]
    assert objectives.component_value(summary, "app", "capacity_mean") == summary["components"]["app"]["capacity"]
