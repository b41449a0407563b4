"""Papercuts a class hit, each pinned by a test: literal output (no emoji, no markup), units on
every duration, one clear error per mistake, inequalities with units, warnings instead of
silent grey graphs, numbers for people."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simulator import load_scenario
from simulator.cli import app
from simulator.errors import ScenarioError

ROOT = Path(__file__).resolve().parents[1]

GOOD = """\
name: t
duration: 20s
params:
  rate: 5
  t: {default: 500ms, description: the call's timeout}
  secs: 0.5
workload:
  - name: clients
    entry: web
    operation: get
    arrivals: {kind: poisson, rate: "${rate}"}
components:
  web:
    kind: service
    workers: 2
    operations:
      get:
        work: exp(10ms)
        steps: [{call: db.read, timeout: "${t}"}]
  db:
    kind: database
    operations:
      read: {work: 2ms}
slos:
  - {name: fast, metric: latency_p99, max: 1s}
"""


@pytest.fixture
def runner():
    return CliRunner()


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems(tmp_path: Path, text: str, **kwargs) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, **kwargs)
    return [str(p).replace(str(path), "s.yaml") for p in info.value.problems]


# ----------------------------------------------------------------------------- 2. durations need a unit


def test_the_baseline_loads_and_a_param_with_a_unit_keeps_working(tmp_path):
    scenario = load_scenario(write(tmp_path, GOOD))
    assert scenario.components["web"].operations["get"].steps[0].timeout == pytest.approx(0.5)


@pytest.mark.parametrize("old, new, where", [
    ("work: exp(10ms)", "work: 5", "18:15: components.web.operations.get.work"),
    ('timeout: "${t}"', "timeout: 500", "19:42: components.web.operations.get.steps.0.timeout"),
    ("duration: 20s", "duration: 600", "2:11: duration"),
    ("max: 1s", "max: 1", "25:44: slos.0.max"),
    ("read: {work: 2ms}", 'read: {work: "3"}', "23:20: components.db.operations.read.work"),
])
def test_a_bare_number_where_a_duration_is_expected_is_a_located_error(tmp_path, old, new, where):
    got = problems(tmp_path, GOOD.replace(old, new))
    number = re.search(r"[\d.]+", new).group()
    assert got == [f"s.yaml:{where}: {number}: a duration needs a unit (expected e.g. {number}s or {number}ms)"]


def test_zero_needs_no_unit(tmp_path):
    scenario = load_scenario(write(tmp_path, GOOD.replace("read: {work: 2ms}", "read: {work: 0}")))
    assert scenario.components["db"].operations["read"].work.mean() == 0
    assert load_scenario(write(tmp_path, GOOD + "warmup: 0\n")).warmup == 0


def test_overrides_and_params_give_the_same_error(tmp_path):
    assert problems(tmp_path, GOOD, sets=["duration=600"]) == [
        "<command line>: duration: 600: a duration needs a unit (expected e.g. 600s or 600ms)"]
    assert load_scenario(write(tmp_path, GOOD), sets=["duration=600s"]).duration == 600
    # a numeric parameter substituted into a duration field
    got = problems(tmp_path, GOOD.replace('timeout: "${t}"', 'timeout: "${secs}"'))
    assert got == ["s.yaml:19:42: components.web.operations.get.steps.0.timeout: 0.5: a duration needs a unit "
                   "(expected e.g. 0.5s or 0.5ms)"]
    # ... also inside a distribution
    got = problems(tmp_path, GOOD.replace("work: exp(10ms)", 'work: "exp(${secs})"'))
    assert len(got) == 1 and "0.5: a duration needs a unit" in got[0]
    # a bare number given to a parameter whose default has a unit takes that unit
    scenario = load_scenario(write(tmp_path, GOOD), params=["t=300"])
    assert scenario.components["web"].operations["get"].steps[0].timeout == pytest.approx(0.3)
    assert scenario.params["t"].default == "300ms"


def test_cli_validate_and_run_refuse_a_bare_duration(runner, tmp_path):
    path = write(tmp_path, GOOD)
    result = runner.invoke(app, ["validate", str(path), "--set", "duration=600"])
    assert result.exit_code == 3
    assert "duration: 600: a duration needs a unit (expected e.g. 600s or 600ms)" in result.stderr


def test_python_models_still_take_seconds():
    """Only scenario files must spell units: a model built (or dumped and rebuilt) in Python holds seconds."""
    from helpers import scenario, service

    built = scenario({"svc": service(work=0.01)}, duration=60)
    assert built.duration == 60
    from simulator import Scenario

    assert Scenario.model_validate(built.model_dump(by_alias=True)).duration == 60


def test_every_scenario_in_the_repo_spells_its_units():
    """The loader refuses bare durations; the repository's own files load (the theory files
    write ``exp(${service_time}s)``)."""
    for path in sorted((ROOT / "scenarios").rglob("*.yaml")):
        load_scenario(path)


def test_sweep_and_knee_give_duration_params_their_unit(tmp_path):
    from simulator.experiments.planning import knee
    from simulator.experiments.sweep import sweep

    path = write(tmp_path, GOOD)
    result = sweep(path, {"t": [100, 200]}, replications=1, workers=1)
    assert [r["t"] for r in result.records] == [100, 200]  # the records keep the numbers
    # a dotted field written with a unit is probed in that unit
    found = knee(path, "components.db.operations.read.work", 1, 400, ["latency_p99<=300ms"], replications=1,
                 workers=1, tolerance="25%", sets=["duration=5s"])
    assert found.found and found.unit == "ms"
    assert 1 <= found.last_ok < found.first_broken <= 400


# ----------------------------------------------------------------------------- 1. text prints as written


def test_validate_prints_line_100_and_brackets_literally(runner, tmp_path):
    """Rich turned ``FILE:100:COL`` into ``FILE💯COL``; and ``[bold]`` in a name or message vanished."""
    text = "# padding\n" * 85 + GOOD.replace("workers: 2", "workers: two")
    path = write(tmp_path, text, "[bold]s.yaml")
    assert text.splitlines()[99].strip() == "workers: two"
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 3
    assert f"{path}:100:14: components.web.workers:" in result.stderr and "💯" not in result.stderr
    assert "[bold]s.yaml" in result.stderr
    ok = write(tmp_path, GOOD.replace("name: t", "name: '[bold]t:1234:'"), "[red]ok.yaml")
    result = runner.invoke(app, ["validate", str(ok)])
    assert result.exit_code == 0 and f"ok  {ok}" in result.stdout
    result = runner.invoke(app, ["validate", str(write(tmp_path, GOOD.replace("    workers: 2", '    "[bold]x": 2')))])
    assert "unknown field '[bold]x'" in result.stderr


def test_every_cli_console_prints_text_as_written():
    from simulator import cli

    for console in (cli.out, cli.err):
        with console.capture() as captured:
            console.print("grade.yaml:1234:5: [bold]feedback[/bold] :thumbs_up:")
        assert captured.get() == "grade.yaml:1234:5: [bold]feedback[/bold] :thumbs_up:\n"


def test_grade_table_shows_feedback_as_written_on_any_console():
    from types import SimpleNamespace

    from rich.console import Console

    from simulator.report import grade_renderable

    check = SimpleNamespace(title="p99 [bold]x[/bold]", score=0, points=5, required=True, passed=False, bound=0.5,
                            target=0.3, margin=-0.2, feedback=["see design.yaml:100:3 [red]here[/red]"], unit="s",
                            kind="slo")
    report = SimpleNamespace(title="lab :100:", score=0, total=5, malformed=False, passed=False, checks=[check],
                             replications=5, seeds=[1, 2], diagnosis=None)
    console = Console(record=True, width=200)  # markup and emoji on, as a notebook's would be
    console.print(grade_renderable(report))
    text = console.export_text()
    assert "design.yaml:100:3 [red]here[/red]" in text and "p99 [bold]x[/bold]" in text and "lab :100:" in text


# ----------------------------------------------------------------------------- 3. an unquoted call in { }


def test_an_unquoted_distribution_in_a_flow_map_is_one_error_with_the_fix(tmp_path):
    got = problems(tmp_path, GOOD.replace("read: {work: 2ms}", "read: {work: lognormal(median=1ms, p99=6ms)}"))
    assert got == ["s.yaml:23:20: components.db.operations.read.work: 'lognormal(median=1ms' is cut short: inside { } "
                   "YAML splits unquoted text at each comma; quote the distribution, e.g. "
                   'work: "lognormal(median=1ms, p99=6ms)"']
    got = problems(tmp_path, GOOD.replace("read: {work: 2ms}", "read: {work: 2ms}\n      write: {work: "
                                          "hyperexp(p=0.9, mean1=1ms, mean2=9ms), type: write}"))
    assert len(got) == 1 and 'work: "hyperexp(p=0.9, mean1=1ms, mean2=9ms)"' in got[0]
    # in a block mapping the same text is fine, and quoted it is fine everywhere
    block = GOOD.replace("read: {work: 2ms}", "read:\n        work: lognormal(median=1ms, p99=6ms)")
    assert load_scenario(write(tmp_path, block)).components["db"].operations["read"].work.dist == "lognormal"
    quoted = GOOD.replace("read: {work: 2ms}", 'read: {work: "lognormal(median=1ms, p99=6ms)"}')
    assert load_scenario(write(tmp_path, quoted)).components["db"].operations["read"].work.dist == "lognormal"


def test_an_unquoted_call_in_a_flow_sequence_is_one_error(tmp_path):
    from simulator.scenario.source import read_yaml

    source = read_yaml("values: [exp(1ms), lognormal(median=1ms, p99=6ms), 2ms]\n", "f.yaml")
    assert source.data == {"values": ["exp(1ms)", "lognormal(median=1ms, p99=6ms)", "2ms"]}
    assert [str(p) for p in source.problems] == [
        "f.yaml:1:20: values.1: 'lognormal(median=1ms' is cut short: inside [ ] YAML splits unquoted text at each "
        'comma; quote the distribution, e.g. ["lognormal(median=1ms, p99=6ms)"]']


# ----------------------------------------------------------------------------- 4. did you mean


@pytest.mark.parametrize("old, new, expected", [
    ("kind: database", "kind: databse",
     "components.db.kind: unknown kind 'databse' (did you mean 'database'? valid kinds: service, database, "
     "load_balancer, cache, broker, projection, event_store, registry, kv_store, gateway, regional_database)"),
    ("slos:", "faults: [{kind: crsh, target: db, at: 5s, for: 5s}]\nslos:",
     "faults.0.kind: unknown kind 'crsh' (did you mean 'crash'? valid kinds: crash, stop, slowdown, latency, errors, "
     "partition, outage, failures, cert_expired, compromised)"),
    ("work: exp(10ms)", "work: expo(10ms)", "components.web.operations.get.work: unknown distribution 'expo' "
     "(did you mean 'exp'? valid distributions: const, exp,"),
    ("work: exp(10ms)", "work: {dist: lognormall, median: 1ms, p99: 5ms}", "components.web.operations.get.work.dist: "
     "unknown distribution 'lognormall' (did you mean 'lognormal'?"),
    ("kind: poisson", "kind: poison", "workload.0.arrivals.kind: unknown kind 'poison' (did you mean 'poisson'?"),
    ("slos:", "  lb: {kind: load_balancer, backend: web, policy: round_robbin}\nslos:",
     "components.lb.policy: unknown policy 'round_robbin' (did you mean 'round_robin'? valid policies: round_robin,"),
    ("slos:", "  c: {kind: cache, origin: db, capacity: 10, policy: lfru}\nslos:",
     "components.c.policy: unknown policy 'lfru' (did you mean 'lru'? valid policies: lru, lfu, fifo, tinylfu)"),
    ("metric: latency_p99", "metric: latency_p999x", "slos.0.metric: unknown metric 'latency_p999x' (did you mean "
     "'latency_p999'?"),
])
def test_a_misspelt_name_is_echoed_with_the_closest_valid_one(tmp_path, old, new, expected):
    got = problems(tmp_path, GOOD.replace(old, new, 1))
    assert any(expected in g for g in got), got


def test_no_suggestion_when_nothing_is_close():
    from simulator.errors import unknown_name

    assert unknown_name("kind", "zzz", ["service", "database"]) == "unknown kind 'zzz' (valid kinds: service, database)"


# ----------------------------------------------------------------------------- 5. knee/plan inequalities


def test_checks_show_the_true_relation_with_units():
    from simulator.cli import _checks_cells
    from simulator.experiments.planning import Check, parse_slo

    assert parse_slo("latency_p99<=2s").unit == "s" and parse_slo("availability>=0.99").unit == "%"
    assert parse_slo("throughput>=100/s").unit == "req/s" and parse_slo("component.db.queue_len_mean<=2").unit == ""
    cells = _checks_cells([
        Check("p99", 2.0, "max", 1.9, 0.05, 2.006, 5, False, "s"),       # the class's "bound 2.006 ≤ 2 | breaks"
        Check("p99", 0.5, "max", 0.31, 0.01, 0.3449, 5, True, "s"),
        Check("avail", 0.99, "min", 0.991, 0.001, 0.9872, 5, False, "%"),
        Check("avail", 0.99, "min", 0.999, 0.0001, 0.9985, 5, True, "%"),
        Check("tput", 100.0, "min", 120.0, 1.0, 118.5, 5, True, "req/s"),
        Check("q", 2.0, "max", None, None, None, 5, False, ""),
    ])
    assert cells == ["1.9 s (bound 2.01 s > 2 s)", "310 ms (bound 345 ms ≤ 500 ms)",
                     "99.1 % (bound 98.72 % < 99 %)", "99.9 % (bound 99.85 % ≥ 99 %)",
                     "120 req/s (bound 118.5 req/s ≥ 100 req/s)", "– (nothing measured: fails)"]


def test_knee_table_has_units_and_never_claims_a_broken_bound_meets(runner, tmp_path):
    result = runner.invoke(app, ["knee", str(ROOT / "scenarios/theory/mm1.yaml"), "-p", "arrival_rate=0.3:0.9",
                                 "--slo", "latency_mean<=2s", "-r", "2", "-w", "1", "--tolerance", "20%",
                                 "--set", "duration=1000s", "--set", "warmup=100s"])
    assert result.exit_code == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if "bound" in line]
    assert rows and all(("≤ 2 s" in r) == ("meets" in r) and ("> 2 s" in r) == ("breaks" in r) for r in rows)


# ----------------------------------------------------------------------------- 6. graph --from another run


def test_graph_from_a_run_of_another_scenario_warns(runner, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    summary = {"scenario": "mmc", "components": {"station": {"utilization": 0.9}}}
    (run / "summary.json").write_text(json.dumps(summary))
    scenario = write(tmp_path, GOOD)
    result = runner.invoke(app, ["graph", str(scenario), "--from", str(run), "--out", str(tmp_path / "g.png")])
    assert result.exit_code == 0
    assert "warning: none of the components of" in result.stderr and "(web, db)" in result.stderr
    assert "scenario 'mmc'" in result.stderr and "station" in result.stderr
    summary["components"]["web"] = {"utilization": 0.5}
    (run / "summary.json").write_text(json.dumps(summary))
    result = runner.invoke(app, ["graph", str(scenario), "--from", str(run), "--out", str(tmp_path / "g.png")])
    assert "warning: 1 of the 2 components" in result.stderr and "drawn grey: db" in result.stderr
    summary["components"]["db"] = {"utilization": 0.1}
    (run / "summary.json").write_text(json.dumps(summary))
    result = runner.invoke(app, ["graph", str(scenario), "--from", str(run), "--out", str(tmp_path / "g.png")])
    assert "warning" not in result.stderr


def test_the_readme_graph_example_draws_the_run_it_made():
    readme = (ROOT / "README.md").read_text()
    runs = dict(re.findall(r"sdsim run (\S+)\.yaml --out (\S+)", readme))
    for scenario, run_dir in re.findall(r"sdsim graph (\S+)\.yaml --from (\S+)", readme):
        assert runs.get(scenario) == run_dir, f"graph {scenario} --from {run_dir}: that run is of another scenario"


# ----------------------------------------------------------------------------- 7. numbers for people


def test_human_numbers_never_use_scientific_notation():
    from simulator.units import human_duration, human_number, human_percent

    assert human_duration(3.94e-05) == "39.4 µs" and human_duration(0.0123) == "12.3 ms"
    assert human_duration(4.2) == "4.2 s" and human_duration(0.9995) == "1 s" and human_duration(None) == "–"
    assert human_number(3.94e-05) == "0.0000394" and human_number(12345.0, 6) == "12,345"
    assert human_percent(0.99951) == "99.95 %"


def test_html_report_leads_with_verdicts_and_folds_the_description(tmp_path):
    from helpers import scenario, service

    from simulator import simulate
    from simulator.artifacts import write_run

    spec = scenario({"svc": service("exp(20us)")}, rate="50/s", duration="20s", warmup="2s",
                    description="A long text.\n[1] A citation, https://example.invalid/paper",
                    slos=[{"name": "tiny p99", "metric": "latency_p99", "max": "1us"},
                          {"name": "up", "metric": "availability", "min": 0.9}])
    write_run(simulate(spec), tmp_path, tables="csv", charts=False)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"\d[eE][-+]\d", page), "scientific notation in the report"
    assert "µs" in page
    assert page.index("1 of 2 SLOs FAIL") < page.index("<h2>Headline</h2>") < page.index("<h2>Latency")
    details = page.index("<details>")
    assert details > page.index("<h2>Components") and page.index("A citation") > details
    assert "</details>" in page and page.rstrip().endswith("</html>")


def test_terminal_tables_never_use_scientific_notation(runner, tmp_path):
    path = write(tmp_path, GOOD.replace("read: {work: 2ms}", "read: {work: exp(15us)}"))
    result = runner.invoke(app, ["run", str(path)])
    assert result.exit_code == 0, result.stderr
    assert not re.search(r"\d[eE][-+]\d", result.stdout) and "µs" in result.stdout


# ----------------------------------------------------------------------------- 9. the README breaks it


def test_readme_break_command_shows_a_failure(runner):
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- break-command -->\s*```sh\n(.+?)\n```", text, re.S)
    assert block, "README has no break-command block"
    args = block.group(1).strip().split()
    assert args[:2] == [".venv/bin/sdsim", "run"]
    result = runner.invoke(app, ["run", str(ROOT / args[2]), *args[3:], "--json"])
    assert result.exit_code == 1  # an SLO failed
    summary = json.loads(result.stdout)
    assert any(not s["passed"] for s in summary["slos"])
    assert summary["operations"]["buy_character"]["availability"] < 0.99  # trading fails with character
    assert summary["operations"]["login"]["availability"] == 1.0
