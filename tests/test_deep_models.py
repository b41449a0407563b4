"""Valid deep models run, and the summary reads each station of a queueing network off directly.

M/M/1 with Bernoulli feedback (golden: Jackson networks): external Poisson λ, one
exponential server μ, after each service the job returns with probability p. Visits per
job V = 1/(1-p); the station sees λV and behaves as M/M/1 at that rate: per visit the
mean sojourn is 1/(μ - λV), and a job's mean time in the system is V / (μ - λV). With
p = 0.99 a job makes 100 visits on average and some make over a thousand: before, each
visit nested a call in Python and the run died of RecursionError past about 250.

Per station the summary gives ``sojourn_s`` (arrival to the station's own work done, the
downstream calls left out) and ``visits_per_request`` (visits arriving in the window per
request issued in it). They are checked here against the closed forms of the feedback
queue, the Jackson network of golden G5.7 and the central-server model (a CPU and two
disks), open (Jackson) and closed (exact MVA), with independent replications and a
3-standard-error band (tests/bands.py).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

from bands import assert_replications_within_3se
from simulator import load_scenario, simulate, theory
from simulator.scenario.load import check_scenario

THEORY = Path(__file__).resolve().parents[1] / "scenarios" / "theory"

LAM, MU, P = 0.05, 10.0, 0.99
FEEDBACK = f"""
name: mm1-feedback
seed: 1
duration: 20000s
warmup: 1000s
workload:
  - {{name: jobs, entry: cpu, operation: serve, arrivals: {{kind: poisson, rate: {LAM}/s}}}}
components:
  cpu:
    kind: service
    workers: 1
    io: async
    operations:
      serve:
        work: exp({1000 / MU:g}ms)
        steps: [{{branch: [{{p: {P}, steps: [{{call: cpu.serve}}]}}, {{p: {1 - P:.2f}, steps: []}}]}}]
"""


@pytest.mark.slow
def test_feedback_099_runs_for_any_seed_and_matches_jackson(golden_zscores):
    """Seeds 1-10 (1-5 died of RecursionError before): per visit W = 1/(μ - λV) = 0.2 s,
    V = 100 visits per request, end to end T = V W = 20 s, ρ = λV/μ = 0.5."""
    scenario, _ = check_scenario("feedback.yaml", text=FEEDBACK)
    summaries = [simulate(scenario, seed).summary() for seed in range(1, 11)]
    for s in summaries:
        assert s["requests"]["ok"] == s["requests"]["issued"] > 700
    v = 1 / (1 - P)
    cpu = [s["components"]["cpu"] for s in summaries]
    expected = {"sojourn per visit": ([c["sojourn_s"]["mean"] for c in cpu], 1 / (MU - LAM * v)),
                "visits per request": ([c["visits_per_request"] for c in cpu], v),
                "latency": ([s["latency_s"]["mean"] for s in summaries], v / (MU - LAM * v)),
                "utilization": ([c["utilization"] for c in cpu], LAM * v / MU)}
    for name, (values, exact) in expected.items():
        assert_replications_within_3se(golden_zscores, values, exact, f"M/M/1 feedback p=0.99 {name}")


def test_a_loop_deeper_than_the_nesting_limit_runs_and_a_shallow_one_is_unchanged(monkeypatch):
    """With the limit at 3 every 4th nested visit starts a fresh process; results stay valid."""
    from simulator.core import process

    scenario, _ = check_scenario("feedback.yaml", text=FEEDBACK.replace("duration: 20000s", "duration: 3000s"))
    baseline = simulate(scenario, 4).summary()
    monkeypatch.setattr(process, "NESTED_LIMIT", 3)
    monkeypatch.setattr(process.unnested, "__defaults__", (3,))
    shallow = simulate(scenario, 4).summary()
    assert shallow["requests"] == baseline["requests"]
    assert shallow["components"]["cpu"]["served"] == baseline["components"]["cpu"]["served"]


def test_a_loop_that_never_ends_on_average_is_refused_with_the_loop_named():
    from simulator.errors import ScenarioError

    twice = FEEDBACK.replace("steps: [{branch", "steps: [{publish: cpu.serve}, {publish: cpu.serve}]\n        x: [{branch")
    twice = twice.split("\n        x:")[0] + "\n"
    with pytest.raises(ScenarioError) as info:
        check_scenario("loop.yaml", text=twice)
    (message,) = [str(p) for p in info.value.problems]
    assert "cpu.serve → cpu.serve makes 2 calls round the loop per visit" in message
    at_one = FEEDBACK.replace(f"p: {P}, steps", "p: 1.0, steps").replace(f"p: {1 - P:.2f}, steps: []", "p: 0.0, steps: []")
    with pytest.raises(ScenarioError, match="never ends"):
        check_scenario("loop.yaml", text=at_one)


def test_the_mean_visits_are_the_closed_form():
    from simulator.scenario.loops import mean_calls

    scenario, _ = check_scenario("feedback.yaml", text=FEEDBACK)
    assert mean_calls(scenario)[("cpu", "serve")][("cpu", "serve")] == pytest.approx(P)


def test_a_blocking_feedback_loop_is_warned_about_with_the_loop_named():
    _, warnings = check_scenario("feedback.yaml", text=FEEDBACK.replace("io: async", "io: blocking"))
    assert any("blocking operation on a feedback loop (cpu.serve → cpu.serve)" in str(w) and "(1 per replica)" in str(w)
               for w in warnings)
    _, quiet = check_scenario("feedback.yaml", text=FEEDBACK)
    assert not any("feedback loop" in str(w) for w in quiet)


# ----------------------------------------------------------------------------- the definitions

DOWNSTREAM = """
name: downstream
seed: 3
duration: 200s
warmup: 20s
workload:
  - {name: clients, entry: front, operation: get, arrivals: {kind: poisson, rate: 20/s}}
components:
  front:
    kind: service
    workers: 100
    io: blocking
    operations:
      get: {work: 10ms, steps: [{call: back.read}, {call: back.read}]}
  back:
    kind: service
    workers: 100
    operations:
      read: {work: 30ms}
"""


@pytest.mark.parametrize("io", ["blocking", "async"])
@pytest.mark.parametrize("records", ["full", "summary"])
def test_sojourn_per_visit_leaves_out_the_downstream_calls(io, records):
    """A front (10 ms of work, enough workers that nobody waits) calls a back end (30 ms) twice:
    per visit the front's sojourn is its own 10 ms whether it holds its worker through the
    calls or not, the back's 30 ms; a request takes 70 ms. The front is visited exactly once
    per request; the back twice, up to the requests in flight at the window's two edges."""
    scenario, _ = check_scenario("downstream.yaml", text=DOWNSTREAM.replace("io: blocking", f"io: {io}"))
    result = simulate(scenario, records=records)
    s = result.summary()
    front, back = s["components"]["front"], s["components"]["back"]
    alpha = 0.01 if records == "summary" else 1e-9  # the summary's percentiles come from a sketch
    for stats, own in ((front, 0.010), (back, 0.030)):
        assert stats["sojourn_s"]["mean"] == pytest.approx(own, rel=1e-9)
        for q in ("p50", "p95", "p99"):
            assert stats["sojourn_s"][q] == pytest.approx(own, rel=alpha)
        assert stats["wait_s"]["mean"] == 0
    assert s["latency_s"]["mean"] == pytest.approx(0.070, rel=1e-9)
    issued = s["requests"]["issued"]
    assert issued > 3000 and front["visits_per_request"] == 1.0
    if records == "full":  # the requests whose calls straddle an edge of the window: at most 2 visits each
        lo, hi = s["warmup_s"], s["duration_s"]
        t = result.t_issue
        edge = int((((t >= lo - 0.07) & (t < lo)) | ((t >= hi - 0.07) & (t < hi))).sum())
        assert abs(back["visits"] - 2 * issued) <= 2 * edge
        spans = result.spans
        mine = spans[spans["component"] == "front"]
        assert (mine["sojourn"] == mine["done"] - mine["arrival"]).all()
        held = (mine["release"] - mine["arrival"]).mean()  # the worker: through the calls only when blocking
        assert held == pytest.approx(0.070 if io == "blocking" else 0.010, rel=1e-6)
    else:
        assert back["visits_per_request"] == pytest.approx(2.0, abs=0.01)


# ----------------------------------------------------------------------------- closed forms per station


@lru_cache(maxsize=None)
def _summaries(name: str, sets: tuple[str, ...], replications: int) -> tuple[dict, ...]:
    """Summaries of independent replications (seeds 1..R) of theory scenario *name*; cached so that
    several checks share the runs."""
    scenario = load_scenario(THEORY / f"{name}.yaml", sets=list(sets))
    return tuple(simulate(scenario, seed).summary() for seed in range(1, replications + 1))


def _station(summaries, component: str, *keys: str) -> list[float]:
    out = []
    for s in summaries:
        value = s["components"][component]
        for key in keys:
            value = value[key]
        out.append(value)
    return out


JACKSON_RUNS = ("jackson", ("duration=1000s", "warmup=100s"), 10)  # arrival_rate: 10/s by default


@pytest.mark.slow
@pytest.mark.parametrize("component", ["gateway", "app", "db"])
def test_jackson_per_station_sojourn_and_visits(component, golden_zscores):
    """Golden G5.7 (gateway 50/s → app 30/s ⇄ db 40/s with p = 0.5, 10 req/s): per visit
    W = 25, 100, 33.3 ms and visits 1, 2, 1 per request, read off the summary (T = Σ V W =
    258.33 ms is tests/test_golden.py's). The gateway is the entry: exactly one visit per request."""
    net = theory.jackson({"gateway": 10.0}, {"gateway": {"app": 1.0}, "app": {"db": 0.5}, "db": {"app": 1.0}},
                         {"gateway": 50.0, "app": 30.0, "db": 40.0})
    golden_w = {"gateway": 0.025, "app": 0.100, "db": 0.033333}  # golden G5.7
    golden_v = {"gateway": 1.0, "app": 2.0, "db": 1.0}
    assert net.stations[component].W == pytest.approx(golden_w[component], rel=1e-4)
    assert net.visit_ratios[component] == pytest.approx(golden_v[component], rel=1e-12)
    runs = _summaries(*JACKSON_RUNS)
    assert_replications_within_3se(golden_zscores, _station(runs, component, "sojourn_s", "mean"),
                                   net.stations[component].W, f"Jackson W per visit [{component}]")
    visits = _station(runs, component, "visits_per_request")
    if component == "gateway":
        assert visits == [1.0] * len(runs)
    else:
        assert_replications_within_3se(golden_zscores, visits, golden_v[component], f"Jackson visits [{component}]")


# The central-server model (scenarios/theory/central-server*.yaml): a CPU (5 ms) and two disks
# (8 ms, 12 ms); after a burst a job reads disk1 (p 0.6) or disk2 (p 0.35) and comes back, or
# leaves (p 0.05). Visit ratios 20, 12, 7. The comparisons of one model share its runs, and
# through the visit draws they move together (more visits per job, more load, longer
# sojourns everywhere), so a family of 7-8 correlated comparisons is judged on one set of
# replications: 40 short ones (t with 39 degrees of freedom, whose tail beyond 3 is
# lighter than with 10 or 20) rather than fewer long ones of the same total length.
CENTRAL_VISITS = {"cpu": 20.0, "disk1": 12.0, "disk2": 7.0}
CENTRAL_TIMES = {"cpu": 0.005, "disk1": 0.008, "disk2": 0.012}
CENTRAL_WINDOW = ("duration=500s", "warmup=50s")
CENTRAL_R = 40


@pytest.mark.slow
def test_central_server_open_matches_jackson(golden_zscores):
    """Poisson jobs at 5/s: per station W_i = 1/(μ_i - λ V_i) = 10, 15.38, 20.69 ms per visit,
    V_i = 20, 12, 7 visits per job, end to end T = Σ V_i W_i = 529.4 ms (theory.jackson)."""
    net = theory.jackson({"cpu": 5.0}, {"cpu": {"disk1": 0.6, "disk2": 0.35}, "disk1": {"cpu": 1.0},
                                        "disk2": {"cpu": 1.0}},
                         {k: 1 / t for k, t in CENTRAL_TIMES.items()})
    runs = _summaries("central-server", CENTRAL_WINDOW, CENTRAL_R)
    for s in runs:
        assert s["requests"]["ok"] == s["requests"]["issued"] > 2000
    for k, v in CENTRAL_VISITS.items():
        assert net.visit_ratios[k] == pytest.approx(v, rel=1e-12)
        assert_replications_within_3se(golden_zscores, _station(runs, k, "sojourn_s", "mean"), net.stations[k].W,
                                       f"central server (open) W per visit [{k}]")
        assert_replications_within_3se(golden_zscores, _station(runs, k, "visits_per_request"), v,
                                       f"central server (open) visits [{k}]")
    assert net.response_time == pytest.approx(sum(v * net.stations[k].W for k, v in CENTRAL_VISITS.items()))
    assert_replications_within_3se(golden_zscores, [s["latency_s"]["mean"] for s in runs], net.response_time,
                                   "central server (open) T")


@pytest.mark.slow
def test_central_server_closed_matches_mva(golden_zscores):
    """10 jobs, think time Exp(1 s): exact MVA with demands D_i = V_i S_i = 100, 96, 84 ms gives
    X = 6.362 jobs/s, R = 571.8 ms and per visit R_i / V_i = 10.81, 16.63, 22.29 ms."""
    exact = theory.mva(10, 1.0, {k: CENTRAL_VISITS[k] * t for k, t in CENTRAL_TIMES.items()})
    runs = _summaries("central-server-closed", CENTRAL_WINDOW, CENTRAL_R)
    assert_replications_within_3se(golden_zscores, [s["throughput_rps"] for s in runs], exact.throughput,
                                   "central server (closed) X")
    assert_replications_within_3se(golden_zscores, [s["latency_s"]["mean"] for s in runs], exact.response_time,
                                   "central server (closed) R")
    for k, v in CENTRAL_VISITS.items():
        assert_replications_within_3se(golden_zscores, _station(runs, k, "sojourn_s", "mean"),
                                       exact.residence_times[k] / v, f"central server (closed) W per visit [{k}]")
        assert_replications_within_3se(golden_zscores, _station(runs, k, "visits_per_request"), v,
                                       f"central server (closed) visits [{k}]")


def test_the_run_budgets_mean_visits_are_the_visit_ratios():
    """``loops.mean_visits`` solves v = e + vM: the central server's 20 CPU bursts, 12 and 7 disk
    reads per job (its header's routing), the Jackson network G5.7's 1, 2, 1, and an endless loop inf."""
    from pathlib import Path

    from simulator.scenario.loops import mean_visits

    root = Path(__file__).resolve().parent.parent / "scenarios" / "theory"
    for file, expected in [("central-server.yaml", [20, 12, 7]), ("jackson.yaml", [1, 2, 1])]:
        scenario, _ = check_scenario(root / file)
        w = scenario.workload[0]
        assert list(mean_visits(scenario, (w.entry, w.operation)).values()) == pytest.approx(expected)
    scenario, _ = check_scenario("feedback.yaml", text=FEEDBACK)
    assert mean_visits(scenario, ("cpu", "serve")) == {("cpu", "serve"): pytest.approx(1 / (1 - P))}
