"""Capacity planning: the knee of an SLO along a load, and the cheapest knob values meeting it.

Every verdict is on a 95 % confidence bound over up to R replications with common random
numbers (simulator.experiments.planning; adaptive: 2, 4, … R, stopping once settled). Runs are short (a few hundred seconds of M/M/c at 90 req/s,
or a few thousand of M/M/1 at under 1 req/s) so the file stays well under a minute.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simulator import theory
from simulator.cli import app
from simulator.experiments import SerialExecutor
from simulator.experiments.planning import Objective, knee, parse_knob, parse_range, parse_slo, plan
from simulator.stats import t_quantile_975

ROOT = Path(__file__).resolve().parents[1]
MM1 = ROOT / "scenarios/theory/mm1.yaml"
MMC = ROOT / "scenarios/theory/mmc.yaml"
GOLDEN_SETS = ["params.arrival_rate.max=100", "workload.0.arrivals.rate=90", "duration=300s", "warmup=30s"]
MM1_SHORT = ["duration=2000s", "warmup=200s"]


def test_plan_finds_the_golden_server_count():
    """λ = 90 req/s, S = 100 ms exponential, P(wait) ≤ 0.2 needs 13 servers (Erlang C: 0.266 at
    12, 0.1575 at 13), and the planner finds exactly 13 by binary search on servers=10:20.

    Robustness: 300 s runs (≈ 24 000 requests after a 30 s warm-up) give P(wait) a per-point
    standard error of about 0.005–0.007 over R = 5 replications, so the judged upper bound
    (mean + 2.78 SE) is ≈ 0.17 at 13 servers — 0.03 below 0.2, about 6 SE of margin — and
    ≈ 0.29 at 12, where meeting 0.2 would need the mean to be off by more than 10 SE.
    """
    assert theory.servers_for_wait_probability(90, 10, 0.2) == 13
    result = plan(MMC, {"servers": (10, 20)}, ["component.station.p_wait<=0.2"], replications=5,
                  params=["service_rate=10"], sets=GOLDEN_SETS, workers=2)
    assert result.found and result.exact
    assert result.config == {"servers": 13} and result.cost == 13
    by_servers = {e.values["servers"]: e for e in result.evaluations}
    assert by_servers[20].met and not by_servers[12].met and by_servers[13].met
    assert len(result.evaluations) <= 1 + math.ceil(math.log2(11))  # binary search, not a scan
    check = result.chosen.checks[0]
    assert check.n in (2, 4, 5)  # adaptive: judged at the first stage that settled it, or on all R
    assert check.confidence_bound == pytest.approx(check.mean + t_quantile_975(check.n - 1) * check.se)
    assert abs(check.mean - 0.1575) < 4 * check.se + 0.01  # the simulation agrees with Erlang C
    data = result.to_dict()
    assert data["config"] == {"servers": 13} and data["method"] == "binary search"
    assert json.loads(json.dumps(data, allow_nan=False)) == data


def test_knee_of_mm1_mean_latency_brackets_the_closed_form():
    """M/M/1 with μ = 1: W = 1/(1 − λ) ≤ 2 s ⇔ λ ≤ 0.5. The reported bracket [last_ok,
    first_broken] is narrower than the tolerance and contains 0.5 up to a few standard errors
    turned into λ through the slope dW/dλ = 1/(1 − λ)² = 4 at the knee; the upper-bound rule
    only moves the knee down (by about t·SE/4), never up."""
    tolerance = 0.02
    result = knee(MM1, "arrival_rate", 0.3, 0.7, ["latency_mean<=2s"], replications=5, tolerance=tolerance,
                  sets=["duration=10000s", "warmup=1000s"], workers=2)
    assert result.found, result.reason
    assert result.broken == ["latency_mean<=2s"]
    assert 0 < result.first_broken - result.last_ok <= tolerance
    probes = {p.values["arrival_rate"]: p for p in result.probes}
    assert probes[0.3].met and not probes[0.7].met
    se = max(probes[v].checks[0].se for v in (result.last_ok, result.first_broken))
    slack = (t_quantile_975(4) + 3) * se / 4
    assert result.last_ok <= 0.5 + 3 * se / 4
    assert result.first_broken >= 0.5 - slack - tolerance
    # same seeds at every probe (common random numbers)
    assert result.seeds[0] == 1 and len(result.seeds) == 5


def test_knee_outside_the_range_is_reported_not_raised():
    """A range whose low end already breaks, or whose high end still meets, gives found=False
    with the side in `reason` (and the CLI exits 1 with that message, no traceback)."""
    below = knee(MM1, "arrival_rate", 0.6, 0.8, ["latency_mean<=2s"], replications=3, sets=MM1_SHORT,
                 executor=SerialExecutor())
    assert not below.found and "below the range" in below.reason
    assert below.last_ok is None and below.first_broken == 0.6 and len(below.probes) == 1
    above = knee(MM1, "arrival_rate", 0.1, 0.2, ["latency_mean<=2s"], replications=3, sets=MM1_SHORT,
                 executor=SerialExecutor())
    assert not above.found and "above the range" in above.reason
    assert above.last_ok == 0.2 and above.first_broken is None and len(above.probes) == 2


def test_plan_knob_may_be_a_dotted_field_path():
    """A knob with a dot is a field path (--set): components.station.workers is the same design
    as the servers parameter, so, with the same seeds, the plans agree evaluation by evaluation.
    When even the high end breaks, found is False and no configuration is chosen."""
    sets = ["duration=300s", "warmup=30s"]
    slo = ["component.station.p_wait<=0.3"]
    by_param = plan(MMC, {"servers": (10, 16)}, slo, replications=3, sets=sets, executor=SerialExecutor())
    by_path = plan(MMC, {"components.station.workers": (10, 16)}, slo, replications=3, sets=sets,
                   executor=SerialExecutor())
    assert by_param.found and by_path.found
    assert by_param.config["servers"] == by_path.config["components.station.workers"]
    assert [e.checks for e in by_param.evaluations] == [e.checks for e in by_path.evaluations]
    none = plan(MMC, {"servers": (10, 11)}, ["component.station.p_wait<=0.01"], replications=2, sets=sets,
                executor=SerialExecutor())
    assert not none.found and none.config is None and none.chosen is None


def test_parse_slo_accepts_metrics_operations_components_and_units():
    """`METRIC[.OPERATION](<=|>=)VALUE` with units, and component.NAME.METRIC."""
    assert parse_slo("latency_p99<=500ms") == Objective("latency_p99<=500ms", "latency_p99", "max", 0.5)
    assert parse_slo("availability >= 0.99") == Objective("availability >= 0.99", "availability", "min", 0.99)
    assert parse_slo("latency_p99.buy_character<=300ms").column == "op.buy_character.latency_p99"
    assert parse_slo("latency_p99.buy_character<=300ms").target == pytest.approx(0.3)
    assert parse_slo("throughput>=100/s") == Objective("throughput>=100/s", "throughput_rps", "min", 100.0)
    assert parse_slo("goodput.buy>=6000/m").column == "op.buy.goodput_rps"
    assert parse_slo("component.station.p_wait<=0.2") == Objective("component.station.p_wait<=0.2",
                                                                   "component.station.p_wait", "max", 0.2)
    assert parse_slo("component.db.wait_mean<=20ms").target == pytest.approx(0.02)
    rate = parse_slo("error_rate<=0.01")
    assert rate.value({"availability": 0.995}) == pytest.approx(0.005) and rate.bound == "max"
    assert parse_range("rate=10:500") == ("rate", 10.0, 500.0)
    assert parse_knob("components.web.replicas=1:64") == ("components.web.replicas", (1, 64))


@pytest.mark.parametrize("text", ["latency_p99", "latency_p99<500ms", "latency_p99<=fast", "latency_p99<=2parsecs",
                                  "speed<=1", "component.station<=0.2", "component.station.hit-ratio<=1",
                                  "availability>=high", "latency_p90.buy<=1s", "<=1s"])
def test_parse_slo_rejects_bad_strings(text):
    """Bad SLO strings raise ValueError naming the string (the CLI turns it into exit 2)."""
    with pytest.raises(ValueError, match="--slo"):
        parse_slo(text)


@pytest.mark.parametrize("text", ["servers", "servers=1", "servers=1:x", "servers=5:5", "servers=1.5:4"])
def test_parse_knob_rejects_bad_ranges(text):
    """A knob is NAME=LOW:HIGH with whole numbers LOW < HIGH."""
    with pytest.raises(ValueError, match="--knob"):
        parse_knob(text)


def _cli(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_cli_knee_and_plan_json_contract_and_exit_codes():
    """--json prints only one JSON document; exit 0 when a knee/plan is found, 1 when none is
    within the range, 2 for a bad --slo or no SLO at all, 3 for an invalid scenario."""
    short = [a for s in MM1_SHORT for a in ("--set", s)]
    ok = _cli("knee", MM1, "--param", "arrival_rate=0.2:0.8", "--slo", "latency_mean<=2s", *short, "-r", "3",
              "--tolerance", "0.1", "-w", "1", "--json")
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.stdout)
    assert data["found"] is True and data["param"] == "arrival_rate"
    assert data["first_broken"] - data["last_ok"] <= 0.1
    assert {"value", "met", "checks", "broken"} <= set(data["probes"][0])

    outside = _cli("knee", MM1, "--param", "arrival_rate=0.6:0.8", "--slo", "latency_mean<=2s", *short, "-r", "2",
                   "-w", "1", "--json")
    assert outside.exit_code == 1 and json.loads(outside.stdout)["found"] is False

    table = _cli("knee", MM1, "--param", "arrival_rate=0.6:0.8", "--slo", "latency_mean<=2s", *short, "-r", "2",
                 "-w", "1")
    assert table.exit_code == 1 and "below the range" in table.stdout

    none = _cli("plan", MMC, "--knob", "servers=10:11", "--slo", "component.station.p_wait<=0.01",
                "--set", "duration=200s", "--set", "warmup=20s", "-r", "2", "-w", "1", "--json")
    assert none.exit_code == 1 and json.loads(none.stdout)["config"] is None

    found = _cli("plan", MMC, "--knob", "servers=10:14", "--slo", "component.station.p_wait<=0.5",
                 "--set", "duration=200s", "--set", "warmup=20s", "-r", "2", "-w", "1")
    assert found.exit_code == 0 and "cheapest: servers=" in found.stdout

    assert _cli("knee", MM1, "--param", "arrival_rate=0.2:0.8", *short).exit_code == 2  # mm1 has no slos:
    assert _cli("knee", MM1, "--param", "arrival_rate=0.2:0.8", "--slo", "latency<=1s", *short).exit_code == 2
    assert _cli("plan", MMC, "--knob", "servers=10", "--slo", "latency_mean<=1s").exit_code == 2
    invalid = _cli("plan", MMC, "--knob", "servers=10:12", "--set", "duration=soon")
    assert invalid.exit_code == 3 and "duration" in invalid.stderr


def test_knee_of_an_integer_parameter_probes_whole_numbers(tmp_path):
    """Closed-loop users must be whole: the bisection probes integers and stops at a bracket of 1.
    N users thinking exp(1 s) in front of one exp(10 ms) server: the mean response time passes
    50 ms where exact MVA says (about N = 90: the server saturates near N* = (1 s + 10 ms) / 10 ms)."""
    path = tmp_path / "users.yaml"
    path.write_text("""
name: users
duration: 300s
warmup: 30s
params:
  users: {default: 10}
workload:
  - {name: w, entry: svc, operation: op, arrivals: {kind: closed, users: "${users}", think: exp(1s)}}
components:
  svc: {kind: service, operations: {op: {work: exp(10ms)}}}
""")
    result = knee(path, "users", 10, 200, ["latency_mean<=50ms"], replications=2, tolerance=1,
                  executor=SerialExecutor())
    assert result.found
    assert len(result.probes) > 3 and all(float(p.values["users"]).is_integer() for p in result.probes)
    assert isinstance(result.last_ok, (int, float)) and float(result.last_ok).is_integer()
    assert result.first_broken - result.last_ok == 1
    # MVA: the smallest N whose mean response time exceeds 50 ms (one station, demand 10 ms, Z = 1 s)
    first_over = next(n for n in range(10, 201) if theory.mva(n, 1.0, {"svc": 0.01}).response_time > 0.05)
    assert abs(result.first_broken - first_over) <= 8  # two 270 s replications: a few users of noise


# ----------------------------------------------------------------------------- adaptive replications


def _records(column: str, values: list[float | None]) -> list[dict]:
    return [{column: v} for v in values]


def test_a_verdict_settles_only_when_the_whole_interval_is_on_one_side():
    """`settled`: an objective breaks whatever comes when its interval lies wholly on the wrong
    side (or a run measured nothing); a configuration meets for good only when every
    objective's interval lies wholly on the right side. One run never settles anything."""
    from simulator.experiments.evaluation import settled

    at_most = parse_slo("latency_mean<=2s")
    at_least = parse_slo("availability>=0.99")
    col = at_most.column
    assert settled([at_most], _records(col, [1.0, 1.1]))          # 1.05 ± 12.706·0.05 = [0.415, 1.685] < 2 s
    assert not settled([at_most], _records(col, [1.0, 1.3]))      # mean 1.15 ± 12.7·0.15: straddles 2 s
    assert settled([at_most], _records(col, [3.0, 3.01]))         # wholly above: breaks
    assert not settled([at_most], _records(col, [1.5]))           # one run: no interval
    assert settled([at_most], _records(col, [1.0, None]))         # a run measured nothing: fails anyway
    assert settled([at_most], _records(col, [2.0, 2.0]))          # no spread: the point itself decides
    a = at_least.column
    assert settled([at_least], [{a: 0.999}, {a: 0.9991}])
    assert settled([at_least], [{a: 0.5}, {a: 0.51}])
    assert not settled([at_least], [{a: 0.98}, {a: 0.999}])
    # several objectives: one settled break decides; one open question among met ones does not
    both = [{col: 1.0, a: 0.5}, {col: 1.3, a: 0.51}]
    assert settled([at_most, at_least], both)
    open_ = [{col: 1.0, a: 0.999}, {col: 1.3, a: 0.9991}]
    assert not settled([at_most, at_least], open_)


def test_stages_depend_on_r_alone():
    """2, 4, 8, … R: the same for every executor, so a search is reproducible anywhere."""
    from simulator.experiments.evaluation import Evaluator

    def stages(r: int, adaptive: bool = True) -> list[int]:
        return Evaluator(MMC, [], r, [], [], SerialExecutor(), None, None, 0, {}, adaptive).stages()

    assert stages(1) == [1] and stages(2) == [2] and stages(3) == [2, 3] and stages(5) == [2, 4, 5]
    assert stages(10) == [2, 4, 8, 10] and stages(16) == [2, 4, 8, 16]
    assert stages(5, adaptive=False) == [5]


def test_adaptive_plan_reaches_the_same_answer_with_fewer_runs_and_common_seeds():
    """The golden sizing (13 servers) again, adaptive and not: the same configuration, every
    configuration at most R runs and at least 2, fewer runs in all; an early verdict is the
    verdict of exactly the first n replications of the full search (the same seeds: a sweep of
    n replications at that configuration gives the same mean)."""
    from simulator.experiments.sweep import sweep

    kwargs = dict(replications=5, params=["service_rate=10"], sets=GOLDEN_SETS, workers=2)
    adaptive = plan(MMC, {"servers": (10, 20)}, ["component.station.p_wait<=0.2"], **kwargs)
    full = plan(MMC, {"servers": (10, 20)}, ["component.station.p_wait<=0.2"], adaptive=False, **kwargs)
    assert adaptive.config == full.config == {"servers": 13}
    assert adaptive.adaptive and not full.adaptive and adaptive.to_dict()["adaptive"] is True
    counts = [e.checks[0].n for e in adaptive.evaluations]
    assert all(n in (2, 4, 5) for n in counts) and all(e.checks[0].n == 5 for e in full.evaluations)
    assert sum(counts) < 5 * len(full.evaluations)
    early = next(e for e in adaptive.evaluations if e.checks[0].n < 5)
    first = sweep(MMC, {"servers": [early.values["servers"]], "service_rate": [10]}, early.checks[0].n,
                  sets=GOLDEN_SETS, workers=2)
    values = [r["component.station.p_wait"] for r in first.records]
    assert early.checks[0].mean == pytest.approx(sum(values) / len(values), rel=1e-12)


def test_a_sweep_can_add_the_later_replications_of_a_point():
    """first_replication=k runs replications k … R − 1 with the seeds of a full sweep, so the
    first k and the rest together are the full sweep's runs."""
    from simulator.experiments.sweep import sweep

    sets = ["duration=500s", "warmup=50s"]
    whole = sweep(MM1, {"arrival_rate": [0.5]}, 4, sets=sets, executor=SerialExecutor())
    head = sweep(MM1, {"arrival_rate": [0.5]}, 2, sets=sets, executor=SerialExecutor())
    tail = sweep(MM1, {"arrival_rate": [0.5]}, 4, sets=sets, executor=SerialExecutor(), first_replication=2)
    key = "latency_mean"
    assert [r[key] for r in head.records + tail.records] == [r[key] for r in whole.records]
    assert [r["seed"] for r in tail.records] == whole.seeds[2:]
    with pytest.raises(ValueError, match="first_replication"):
        sweep(MM1, {"arrival_rate": [0.5]}, 2, sets=sets, executor=SerialExecutor(), first_replication=2)


def test_the_forecast_counts_what_the_search_may_run():
    """The forecast's arithmetic: E configurations × the stages' waves over the workers × one
    run's time; announced once, before the first run, and the search stays within it."""
    from simulator.experiments.forecast import Forecast

    f = Forecast("plan", 5, (2, 4, 5), 300.0, 2, 2.0)
    assert f.runs() == (10, 25)
    assert f.seconds() == (10.0, 30.0)          # waves 1 + 1 + 1 of 2 workers
    assert Forecast("plan", 5, (5,), 300.0, 2, 2.0).seconds() == (30.0, 30.0)   # ⌈5/2⌉ = 3 waves
    assert Forecast("plan", 3, (2, 4, 8), 1.0, 8, 1.0).seconds() == (3.0, 9.0)
    assert "5 configurations at most" in f.text() and "10–25 runs" in f.text()

    seen: list = []
    progress: list[tuple[int, int]] = []
    result = knee(MM1, "arrival_rate", 0.3, 0.7, ["latency_mean<=2s"], replications=3, tolerance=0.05,
                  sets=MM1_SHORT, executor=SerialExecutor(), announce=lambda fc: seen.append((fc, len(progress))),
                  progress=lambda done, total: progress.append((done, total)))
    (forecast, progress_before), = seen
    assert progress_before == 0 and forecast.run_s > 0 and forecast.stages == (2, 3)
    runs = sum(max(c.n for c in p.checks) for p in result.probes)
    assert len(result.probes) <= forecast.evaluations
    assert forecast.runs()[0] <= runs <= forecast.runs()[1]
    assert progress[-1][0] == runs and all(done <= total for done, total in progress)


def test_cli_says_what_it_will_run_first_and_all_replications_turns_adaptivity_off():
    """The forecast is on stderr (stdout stays the result); --all-replications judges every
    configuration on R runs, and the table has a runs column either way."""
    args = ["plan", MMC, "--knob", "servers=10:14", "--slo", "component.station.p_wait<=0.5",
            "--set", "duration=200s", "--set", "warmup=20s", "-r", "3", "-w", "1"]
    adaptive = _cli(*args)
    assert adaptive.exit_code == 0, adaptive.output
    assert "configurations at most" in adaptive.stderr and "configurations" not in adaptive.stdout
    assert "R≤3" in adaptive.stdout and "runs" in adaptive.stdout
    full = _cli(*args, "--all-replications", "--json")
    data = json.loads(full.stdout)
    assert data["adaptive"] is False and all(c["n"] == 3 for e in data["evaluations"] for c in e["checks"])
    assert "3 replications each" in full.stderr
