"""Distributed tracing (``tracing:``): trace context per request, spans per hop and visit,
where the time went, the waterfall, and the OTLP/JSON export parsed by OpenTelemetry's schema.

Deterministic models are checked exactly (times built by hand from the scenario's numbers);
queueing against M/M/1's closed form (golden §1: Wq = ρ/(μ − λ)) over independent
replications, 3-SE band (tests/bands.py).
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from bands import assert_replications_within_3se
from helpers import scenario, service
from simulator import simulate
from simulator.cli import app
from simulator.scenario.load import ScenarioError, check_scenario
from simulator.theory import mm1
from simulator.tracing.traces import CATEGORIES

ONE_USER = {"arrivals": {"kind": "closed", "users": 1, "think": "100ms"}}
"""One closed-loop user thinking 100 ms: requests never overlap, so nothing queues."""


CHAIN_YAML = """
name: chain
duration: 10s
tracing: {ratio: 1.0}
network: {local: 1ms}
workload:
  - {name: clients, entry: api, operation: op, arrivals: {kind: closed, users: 1, think: 100ms}}
components:
  api: {kind: service, operations: {op: {work: 10ms, steps: [{call: db.op}]}}}
  db: {kind: service, operations: {op: {work: 20ms}}}
"""
"""The same chain as a scenario file."""


def chain(ratio: float = 1.0, **extra):
    """client → api (work 10 ms) → db (work 20 ms); every link 1 ms one way."""
    comps = {"api": service(work="10ms", steps=[{"call": "db.op"}]), "db": service(work="20ms")}
    return scenario(comps, entry="api", duration="10s", workload=ONE_USER, network={"local": "1ms"},
                    tracing={"ratio": ratio}, **extra)


def test_a_request_is_one_trace_of_spans_linked_by_parent_ids():
    traces = simulate(chain(), seed=1).traces
    first = traces.slowest(len(traces))[-1]
    tree = traces.tree(first)
    assert list(tree["kind"]) == ["root", "client", "server", "client", "server"]
    assert list(tree["depth"]) == [0, 1, 2, 3, 4]
    assert list(tree["component"] + "." + tree["operation"]) == ["api.op", "api.op", "api.op", "db.op", "db.op"]
    assert (tree["trace"] == first).all()
    spans = list(tree["span"])
    assert list(tree["parent"]) == [0, *spans[:-1]]  # each span the child of the one above it
    assert tree["workload"].iloc[0] == "clients"
    # exact times: hop 1 ms, api works 10 ms, hop 1 ms, db works 20 ms, back 1 ms, back 1 ms
    root, hop, api, call, db = (tree.iloc[i] for i in range(5))
    assert hop["duration"] == pytest.approx(0.034) and root["duration"] == pytest.approx(0.034)
    assert api["duration"] == pytest.approx(0.032) and api["work"] == pytest.approx(0.010)
    assert call["duration"] == pytest.approx(0.022) and db["duration"] == pytest.approx(0.020)
    assert api["queueing"] == 0 and db["queueing"] == 0
    assert (tree["status"] == "ok").all()


def test_the_breakdown_of_a_deterministic_chain_is_exact():
    traces = simulate(chain(), seed=1).traces
    frame = traces.breakdown(list(traces.ids()))
    assert len(frame) == len(traces) > 50
    assert frame["latency"].to_numpy() == pytest.approx(np.full(len(frame), 0.034))
    assert frame["work"].to_numpy() == pytest.approx(np.full(len(frame), 0.030))
    assert frame["network"].to_numpy() == pytest.approx(np.full(len(frame), 0.004))
    assert (frame[["queueing", "retries", "gave_up", "waiting"]].abs() < 1e-12).all().all()


def test_tracing_draws_nothing_from_the_run_and_changes_no_number():
    """Same scenario and seed with and without tracing: the same summary, in both records modes."""
    comps = {"api": service(work="exp(5ms)", steps=[{"call": "db.op", "timeout": "50ms", "retry": {}}], workers=2),
             "db": service(work="exp(8ms)")}
    base = dict(entry="api", rate="80/s", duration="30s", network={"local": "exp(1ms)"},
                faults=[{"kind": "errors", "target": "db", "probability": 0.2, "at": "5s", "for": "10s"}])
    for records in ("full", "summary"):
        plain = simulate(scenario(comps, **base), seed=4, records=records).summary()
        traced = simulate(scenario(comps, tracing={"ratio": 0.5}, **base), seed=4, records=records)
        assert traced.summary() == plain
        assert len(traced.traces) > 1000


def test_the_ratio_traces_that_share_of_requests_by_request_number():
    """A quarter of about 10,000 requests, and which ones depends on the request's number only."""
    def traced(rate: str, seed: int) -> set[int]:
        model = scenario({"api": service(work="1ms")}, entry="api", rate=rate, duration="20s",
                         tracing={"ratio": 0.25})
        return set(int(i) for i in simulate(model, seed=seed).traces.ids())

    a, b = traced("500/s", 2), traced("300/s", 5)
    assert abs(len(a) - 0.25 * 10_000) < 100
    first = set(range(1, 5_001))
    assert a & first == b & first and len(a & first) > 1_200


@pytest.mark.parametrize("rho", [0.5, 0.8])
def test_queueing_in_the_traces_is_m_m_1_s_wait(golden_zscores, rho):
    """Server spans of an M/M/1 station (μ = 100/s): mean queueing Wq = ρ/(μ − λ), mean work 1/μ."""
    lam = rho * 100.0
    comps = {"db": service(work="exponential(mean=10ms)")}
    model = scenario(comps, entry="db", rate=f"{lam}/s", duration="200s", warmup="20s", tracing={"ratio": 1.0})
    queueing, work = [], []
    for seed in range(1, 11):
        frame = simulate(model, seed=seed).traces.frame()
        server = frame[(frame["kind"] == "server") & (frame["start"] >= 20.0) & (frame["start"] < 200.0)]
        queueing.append(server["queueing"].mean())
        work.append(server["work"].mean())
    exact = mm1(lam, 100.0)
    assert_replications_within_3se(golden_zscores, queueing, exact.Wq, f"traced M/M/1 Wq rho={rho}")
    assert_replications_within_3se(golden_zscores, work, 0.010, f"traced M/M/1 work rho={rho}")


def test_failed_attempts_and_their_back_off_are_retries():
    """db fails every call after its 20 ms of work; api tries 3 times, 5 ms apart. Each attempt is a
    hop of 22 ms; the first two and their back-off are retries, the last one's time is its own."""
    retry = {"max_attempts": 3, "backoff": {"kind": "constant", "base": "5ms", "jitter": "none"}}
    comps = {"api": service(work="10ms", steps=[{"call": "db.op", "retry": retry}]), "db": service(work="20ms")}
    model = scenario(comps, entry="api", duration="10s", workload=ONE_USER, network={"local": "1ms"},
                     tracing={"ratio": 1.0}, faults=[{"kind": "errors", "target": "db", "probability": 1.0,
                                                      "at": "0s", "for": "1h"}])
    traces = simulate(model, seed=1).traces
    frame = traces.breakdown(list(traces.ids()))
    assert (frame["status"] == "error").all()
    # 1 + 10 + 3 × 22 + 2 × 5 + 1 = 88 ms: retries 2 × (22 + 5), then the last attempt: 2 + 20 of work
    assert frame["latency"].to_numpy() == pytest.approx(np.full(len(frame), 0.088))
    assert frame["retries"].to_numpy() == pytest.approx(np.full(len(frame), 0.054))
    assert frame["work"].to_numpy() == pytest.approx(np.full(len(frame), 0.030))
    assert frame["network"].to_numpy() == pytest.approx(np.full(len(frame), 0.004))
    tree = traces.tree(int(traces.ids()[0]))
    assert list(tree["kind"]).count("client") == 4  # the request's hop and three attempts
    assert (tree.loc[tree["component"] == "db", "status"] == "error").all()


def test_a_call_the_client_gave_up_on_is_gave_up():
    """The client waits 25 ms for a 1 + 10 + 2 + 20 + ... ms chain: its span ends at 25 ms and the hop
    goes on (the reply still comes); the time after the client's own work is given up."""
    model = scenario({"api": service(work="10ms", steps=[{"call": "db.op"}]), "db": service(work="20ms")},
                     entry="api", duration="10s", workload={**ONE_USER, "timeout": "25ms"}, network={"local": "1ms"},
                     tracing={"ratio": 1.0})
    traces = simulate(model, seed=1).traces
    spans = traces.frame()
    unfinished = set(spans.loc[spans["status"] == "unfinished", "trace"])
    assert len(unfinished) == 1  # the last request: the run ended as its client gave up, its spans still open
    frame = traces.breakdown([t for t in traces.ids() if t not in unfinished])
    assert (frame["status"] == "timeout").all()
    assert frame["latency"].to_numpy() == pytest.approx(np.full(len(frame), 0.025))
    assert frame["gave_up"].to_numpy() == pytest.approx(np.full(len(frame), 0.025))
    tree = traces.tree(int(traces.ids()[0]))
    assert tree["duration"].iloc[1] == pytest.approx(0.034)  # the hop: the reply came at 34 ms


def test_the_categories_add_up_to_the_latency_under_load_retries_and_timeouts():
    comps = {"api": service(work="exp(2ms)", workers=4, steps=[
                 {"call": "svc.op", "timeout": "80ms", "retry": {"max_attempts": 3}},
                 {"call": "cache.op"}]),
             "svc": service(work="exp(10ms)", workers=2, steps=[{"call": "db.op"}]),
             "cache": service(work="1ms"), "db": service(work="exp(15ms)", workers=2)}
    model = scenario(comps, entry="api", rate="60/s", duration="30s", network={"local": "exp(0.5ms)"},
                     workload={"timeout": "300ms"}, tracing={"ratio": 1.0},
                     faults=[{"kind": "errors", "target": "db", "probability": 0.2, "at": "0s", "for": "1h"}])
    traces = simulate(model, seed=9).traces
    frame = traces.breakdown(list(traces.ids()))
    total = frame[list(CATEGORIES)].sum(axis=1)
    assert np.allclose(total, frame["latency"], atol=1e-9)
    assert (frame[list(CATEGORIES)] >= -1e-12).all().all()
    assert frame["retries"].gt(0).any() and frame["queueing"].gt(0).any() and frame["gave_up"].gt(0).any()


def test_the_otlp_export_parses_with_opentelemetry_s_schema(tmp_path):
    """OTLP/JSON carries trace and span ids as hex (not protobuf-JSON's base64): converted as the
    OTLP/JSON spec says, the document is a valid ``TracesData``."""
    trace_pb2 = pytest.importorskip("opentelemetry.proto.trace.v1.trace_pb2",
                                    reason="opentelemetry-proto is in the dev extra")
    from google.protobuf import json_format

    traces = simulate(chain(ratio=0.5), seed=3).traces
    doc = traces.to_otlp()
    text = json.dumps(doc)

    def b64(match):
        return f'"{match.group(1)}":"{base64.b64encode(bytes.fromhex(match.group(2))).decode()}"'

    data = json_format.Parse(re.sub(r'"(traceId|spanId|parentSpanId)":\s*"([0-9a-f]+)"', b64, text),
                             trace_pb2.TracesData())
    spans = [span for rs in data.resource_spans for ss in rs.scope_spans for span in ss.spans]
    assert len(spans) == traces.rows.shape[0]
    services = {rs.resource.attributes[0].value.string_value for rs in data.resource_spans}
    assert services == {"clients", "api", "db"}
    ids = {span.span_id for span in spans}
    assert all(len(span.trace_id) == 16 and len(span.span_id) == 8 for span in spans)
    assert all(span.parent_span_id in ids for span in spans if span.parent_span_id)
    roots = [span for span in spans if not span.parent_span_id]
    assert len(roots) == len(traces)
    assert all(span.end_time_unix_nano - span.start_time_unix_nano == 34_000_000 for span in roots)
    assert {span.kind for span in spans} == {trace_pb2.Span.SPAN_KIND_CLIENT, trace_pb2.Span.SPAN_KIND_SERVER}
    assert all(span.status.code == trace_pb2.Status.STATUS_CODE_OK for span in spans)


def test_the_waterfall_draws_every_span_and_run_out_writes_the_traces(tmp_path):
    result = simulate(chain(), seed=1)
    fig = result.plot.trace()
    ax = fig.axes[0]
    tree = result.traces.tree(result.traces.slowest(1)[0])
    assert len(ax.get_yticks()) == len(tree) == 5
    work = [p for p in ax.patches if p.get_gid() == "work"]
    assert sorted(round(p.get_width(), 6) for p in work) == [10.0, 20.0]  # ms
    assert "34 ms" in ax.get_title(loc="left")
    path = tmp_path / "s.yaml"
    path.write_text(CHAIN_YAML)
    out = tmp_path / "run"
    cli = CliRunner().invoke(app, ["run", str(path), "--out", str(out)])
    assert cli.exit_code == 0, cli.stderr
    assert {"traces.csv", "traces.otlp.json", "trace.png"} <= {p.name for p in out.iterdir()}
    doc = json.loads((out / "traces.otlp.json").read_text())
    assert sum(len(ss["spans"]) for rs in doc["resourceSpans"] for ss in rs["scopeSpans"]) == result.traces.rows.shape[0]


def test_no_tracing_no_traces_and_the_chart_says_how():
    result = simulate(scenario({"svc": service()}, duration="5s"), seed=1)
    assert result.traces is None
    with pytest.raises(ValueError, match="tracing"):
        result.plot.trace()


@pytest.mark.parametrize("tracing, expected", [
    ({"ratio": 0}, "tracing.ratio"), ({"ratio": 1.5}, "tracing.ratio"), ({"rate": 0.1}, "tracing.rate"),
])
def test_bad_tracing_settings_are_located(tracing, expected):
    text = yaml.safe_dump({"name": "t", "duration": "10s", "tracing": tracing,
                           "workload": [{"name": "w", "entry": "svc", "operation": "op",
                                         "arrivals": {"kind": "poisson", "rate": "1/s"}}],
                           "components": {"svc": service()}})
    with pytest.raises(ScenarioError) as caught:
        check_scenario("s.yaml", text=text)
    assert any(re.match(r"s\.yaml:\d+:\d+: ", str(p)) and expected in str(p) for p in caught.value.problems), \
        caught.value.problems


def test_tracing_every_request_of_a_long_run_is_refused_before_it_starts(tmp_path):
    data = {"name": "t", "duration": "2h", "tracing": {"ratio": 1.0},
            "workload": [{"name": "w", "entry": "svc", "operation": "op",
                          "arrivals": {"kind": "poisson", "rate": "1000/s"}}],
            "components": {"svc": service(steps=[{"call": "db.op"}]), "db": service()}}
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    cli = CliRunner().invoke(app, ["validate", str(path)])
    assert cli.exit_code == 3 and "Traceback" not in cli.stderr
    assert "tracing.ratio" in cli.stderr and "spans" in cli.stderr and "ratio of at most 0.056" in cli.stderr  # 7.2 M requests × 5 spans


def test_the_readme_tracing_example_runs_and_its_breakdown_adds_up(tmp_path):
    from simulator.scenario.load import load_scenario

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    match = re.search(r"<!-- tracing-example -->\s*```yaml\n(.+?)\n```", text, re.S)
    assert match, "README has no tracing-example block"
    path = tmp_path / "traced.yaml"
    path.write_text(match.group(1))
    result = simulate(load_scenario(str(path)), seed=1)
    traces = result.traces
    assert abs(len(traces) - 0.1 * 50 * 60) < 30
    frame = traces.breakdown()
    assert len(frame) == 10 and np.allclose(frame[list(CATEGORIES)].sum(axis=1), frame["latency"])
