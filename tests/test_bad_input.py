"""Bad input gets a located message and exit 3, never a traceback, a hang or a memory blow-up.

One regression test per class of damage found by mutating the repository's scenarios
(YAML reading, command-line values) plus the exit codes that keep their meaning: 3 for
bad input, 4 for an internal error (a bug), never 1 (which means "an SLO failed").
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from simulator.errors import ScenarioError
from simulator.scenario.load import check_scenario
from simulator.scenario.source import read_yaml
from simulator.scenario.yaml_guard import MAX_DEPTH, MAX_NODES

ROOT = Path(__file__).resolve().parent.parent
MM1 = ROOT / "scenarios" / "theory" / "mm1.yaml"
VALID = MM1.read_text(encoding="utf-8")


def problems(text: str, **kw) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        check_scenario("s.yaml", text=text, **kw)
    assert info.value.problems, "a refusal must say why"
    return [str(p) for p in info.value.problems]


def alias_bomb(levels: int) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- YAML reading

def test_nesting_a_thousand_deep_is_refused_where_it_goes_too_deep():
    (message,) = problems("name: x\ndeep: " + "[" * 1000 + "]" * 1000 + "\n")
    assert message.startswith("s.yaml:2:") and f"nest more than {MAX_DEPTH} deep" in message


def test_nesting_within_the_limit_reads():
    text = VALID + "description: " + "[" * 20 + "]" * 20 + "\n"  # read, then refused by the schema only
    assert not any("nest" in m for m in problems(text))


@pytest.mark.parametrize("text", ["x: &r [*r]\n", "x: &r {a: *r}\n"])
def test_a_recursive_alias_is_refused(text):
    (message,) = problems(text)
    assert message.startswith("s.yaml:1:") and "contains it" in message


@pytest.mark.parametrize("levels", [6, 9, 12])
def test_a_billion_laughs_is_refused_quickly(levels):
    started = time.perf_counter()
    (message,) = problems(alias_bomb(levels))
    assert f"more than {MAX_NODES:,} values" in message and message.startswith("s.yaml:")
    assert time.perf_counter() - started < 5  # refused while reading, never expanded


@pytest.mark.parametrize("tagged, shown", [("name: !custom 5", "!custom"), ("seed: !!int abc", "!!int"),
                                           ("name: !!python/name:os.system ''", "!!python/name:os.system"),
                                           ("? !!set {a, b}\n: 1", "!!set"), ("name: !!str 5", "!!str")])
def test_tags_are_refused_with_their_location(tagged, shown):
    (message,) = problems(tagged + "\n")
    assert message.startswith("s.yaml:1:") or message.startswith("s.yaml:2:")
    assert repr(shown) in message and "not accepted" in message


def test_merge_keys_merge_explicit_keys_win_and_merged_values_keep_their_place():
    text = ("base: &b {kind: service, workers: 2, replicas: 1}\n"
            "more: &m {workers: 9, zone: z}\n"
            "svc:\n  <<: [*b, *m]\n  replicas: 3\n")
    source = read_yaml(text, "s.yaml")
    assert source.problems == []
    assert source.data["svc"] == {"kind": "service", "workers": 2, "zone": "z", "replicas": 3}  # *b before *m
    assert source.locate(("svc", "workers")) == (1, 35)  # where the anchor wrote it: line 1, column 35
    assert source.locate(("svc", "replicas")) == (5, 13)


def test_a_merge_of_a_scalar_is_refused():
    (message,) = [str(p) for p in read_yaml("svc:\n  <<: 5\n", "s.yaml").problems]
    assert message.startswith("s.yaml:2:") and "merges a mapping" in message


@pytest.mark.parametrize("text, says", [("---\n", "an empty document"), ("null\n", "'null'"), ("~\n", "'~'"),
                                        ("", "empty")])
def test_a_file_of_nothing_says_so(text, says):
    (message,) = problems(text)
    assert message.startswith("s.yaml:") and says in message and "expected a scenario mapping" in message


def test_a_control_character_is_located_by_line_and_column():
    (message,) = problems("name: a\nduration: 1\x01s\n")
    assert message.startswith("s.yaml:2:12:") and "U+0001" in message


# ----------------------------------------------------------------------------- the command line

def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulator.cli", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=120)


@pytest.mark.parametrize("flag", ["--param", "--set"])
def test_an_assignment_without_a_name_is_a_usage_message(flag):
    done = cli("validate", str(MM1), flag, "=1")
    assert done.returncode == 3 and "Traceback" not in done.stderr
    assert f"{flag} '=1': expected NAME=VALUE" in done.stdout + done.stderr


def test_a_value_nested_thousands_deep_is_read_as_text_and_refused_shortly():
    done = cli("validate", str(MM1), "--set", "seed=" + "[" * 3000)
    out = done.stdout + done.stderr
    assert done.returncode == 3 and "Traceback" not in out
    assert "seed:" in out and "(3,005 characters)" not in out and "characters)" in out  # echoed cut short
    assert len(out) < 2000


@pytest.mark.parametrize("name", ["---\n", "x: &r [*r]\n", "seed: !!int abc\n"])
def test_validate_exits_3_with_one_located_line(tmp_path, name):
    path = tmp_path / "bad.yaml"
    path.write_text(name, encoding="utf-8")
    done = cli("validate", str(path))
    assert done.returncode == 3 and "Traceback" not in done.stdout + done.stderr
    assert f"{path}:1:" in done.stdout + done.stderr or f"{path}:2:" in done.stdout + done.stderr


BOOM = ("import sys, simulator.cli as cli\n"
        "@cli.app.command('boom')\n"
        "def boom():\n    raise RuntimeError('kaput')\n"
        "cli.main()\n")


def test_an_internal_error_exits_4_with_one_line_that_says_it_is_a_bug():
    done = subprocess.run([sys.executable, "-c", BOOM, "boom"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 4, done.stderr
    assert "Traceback" not in done.stderr and "internal error (RuntimeError: kaput)" in done.stderr
    assert "bug in sdsim" in done.stderr and "sdsim boom" in done.stderr and "--debug" in done.stderr


def test_debug_shows_the_traceback():
    done = subprocess.run([sys.executable, "-c", BOOM, "--debug", "boom"], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and done.returncode != 4
    assert "RuntimeError" in done.stderr and "kaput" in done.stderr and "bug in sdsim" not in done.stderr


# ----------------------------------------------------------------------------- what a run asks for

def test_a_rate_no_machine_can_simulate_is_refused_with_the_workload_named():
    (message,) = problems(VALID.replace('rate: "${arrival_rate}"', "rate: 1e57/s"))
    assert "workload.0.arrivals" in message and "requests" in message and "50,000,000" in message


def test_a_heavy_run_is_warned_about_not_refused():
    _, warnings = check_scenario("s.yaml", text=VALID.replace('rate: "${arrival_rate}"', "rate: 300/s")
                                 .replace("service_rate: {default: 1.0", "service_rate: {default: 1000.0"))
    assert any("expect it to take minutes" in str(w) for w in warnings)  # 300/s x 20,000 s = 6,000,000


def test_a_profile_is_integrated_for_the_estimate():
    """50/s for 100 s plus a 20 s spike at 1e6/s: 20,005,000 requests, under the limit; 60 s of it is over."""
    from simulator.scenario.budget import MAX_REQUESTS, expected_requests

    spike = VALID.replace("duration: 20000s", "duration: 100s").replace("warmup: 2000s", "warmup: 10s") \
        .replace('rate: "${arrival_rate}"}', 'rate: 50/s}\n    profile: [{at: 10s, rate: 1e6/s, for: 20s}]')
    scenario, _ = check_scenario("s.yaml", text=spike)
    assert expected_requests(scenario) == [(0, pytest.approx(50 * 80 + 1e6 * 20))]
    assert 50 * 80 + 1e6 * 20 < MAX_REQUESTS
    (message,) = problems(spike.replace("for: 20s", "for: 60s"))
    assert "60,002,000 requests" in message


def test_a_nanosecond_sample_interval_is_refused_with_the_smallest_allowed():
    (message,) = problems(VALID + "sample_interval: 1e-9s\n")
    assert message.startswith("s.yaml:") and "sample_interval" in message and "use at least 0.02s" in message


@pytest.mark.parametrize("field, value", [("replicas", 10 ** 9), ("replicas", 99991)])
def test_a_component_with_more_instances_than_a_run_can_hold_is_refused(field, value):
    text = VALID.replace("    workers: 1\n", f"    workers: 1\n    {field}: {value}\n")
    (message,) = problems(text)
    assert "'server' runs" in message and "10,000" in message


def test_a_closed_loop_that_never_moves_the_clock_stops_with_a_message(monkeypatch):
    from simulator import simulate
    from simulator.engine import clock
    from simulator.errors import SimulationStalled

    monkeypatch.setattr(clock, "CHECK_EVERY", 20_000)
    text = ("name: stall\nduration: 10s\nworkload:\n"
            "  - {name: u, entry: svc, operation: op, arrivals: {kind: closed, users: 2, think: 0s}}\n"
            "components:\n  svc: {kind: service, workers: 2, operations: {op: {work: 0s}}}\n")
    scenario, _ = check_scenario("s.yaml", text=text)
    with pytest.raises(SimulationStalled, match="stopped advancing at t = 0s"):
        simulate(scenario)


@pytest.mark.parametrize("keys, says", [("zipf(s=0.8, n=" + "1" + "0" * 30 + ")", "10000000"),
                                        ("zipf(s=1, n=1000000000)", "10000000"),
                                        ("uniform(n=1" + "0" * 21 + ")", "1000000000000000000")])
def test_key_spaces_no_table_or_integer_can_hold_are_refused(keys, says):
    text = VALID.replace('rate: "${arrival_rate}"}', 'rate: "${arrival_rate}"}\n    keys: "' + keys + '"')
    messages = problems(text)
    assert any("keys" in m and says in m for m in messages), messages


def test_a_million_closed_loop_users_are_refused():
    text = VALID.replace('arrivals: {kind: poisson, rate: "${arrival_rate}"}',
                         "arrivals: {kind: closed, users: 1000003, think: 7s}")
    assert any("workload.0.arrivals.users" in m and "100,000" in m for m in problems(text))


def test_a_400_digit_count_of_users_is_refused_not_a_crash():
    """The fuzzer's mutant (users = 10**400): the request estimate must not overflow a float."""
    text = VALID.replace('arrivals: {kind: poisson, rate: "${arrival_rate}"}',
                         "arrivals: {kind: closed, users: 1" + "0" * 400 + ", think: 7s}")
    assert any("workload.0.arrivals.users" in m and "100,000" in m for m in problems(text))


@pytest.mark.parametrize("value", ["1" + "0" * 400, "1" + "0" * 400 + "s"])
def test_a_number_of_four_hundred_digits_is_refused_shortly(value):
    done = cli("validate", str(MM1), "--set", f"duration={value}")
    out = done.stdout + done.stderr
    assert done.returncode == 3 and "Traceback" not in out and "duration" in out and len(out) < 400


def test_workers_beyond_any_machine_are_refused_not_an_overflow():
    """Found by the fuzzer (seed 11): 10^48 workers overflowed a float in the recorder."""
    text = VALID.replace("    workers: 1\n", "    workers: " + "1" + "0" * 48 + "\n")
    assert any("components.server.workers" in m and "1,000,000" in m for m in problems(text))


# ----------------------------------------------------------------------------- one per class, the rest of the issue
# The classes the mutation run found that the sections above do not already cover.

HOT_SHARD = ROOT / "scenarios" / "sharding" / "hot-shard.yaml"
READ_REPLICAS = ROOT / "scenarios" / "sharding" / "read-replicas.yaml"
LB_POLICIES = ROOT / "scenarios" / "lb" / "policies.yaml"


def refused(*args: str, says: str, within: float = 30) -> str:
    """``sdsim ARGS`` exits 3 within *within* seconds, without a traceback, saying *says*."""
    started = time.perf_counter()
    done = cli(*args)
    out = done.stdout + done.stderr
    assert done.returncode == 3 and "Traceback" not in out and says in out, out
    assert time.perf_counter() - started < within
    return out


@pytest.mark.parametrize("base, says", [('"\\0"', "embedded null byte"), ('"/dev/zero"', "not a regular file"),
                                        ('"/dev/urandom"', "not a regular file"),
                                        (f'"{sys.executable}"', "not UTF-8 text")])
def test_extends_to_what_is_no_scenario_file_is_one_located_line(tmp_path, base, says):
    file = tmp_path / "child.yaml"
    file.write_text(f"extends: {base}\nname: child\n", encoding="utf-8")
    out = refused("validate", str(file), says=says)
    assert out.startswith(f"{file}:1:10: extends: cannot use")
    assert "required field" not in out  # what the base would give is unknown: no "missing" noise


def test_a_default_outside_its_own_declared_range_is_refused():
    text = VALID.replace("arrival_rate: {default: 0.9,", "arrival_rate: {default: 1.5,")
    assert any("params.arrival_rate" in m and "default 1.5 is outside the declared range [0.05, 0.99]" in m
               for m in problems(text))
    text = VALID.replace("min: 0.05, max: 0.99", "min: 0.99, max: 0.05")
    assert any("min 0.99 is greater than max 0.05" in m for m in problems(text))


def test_a_femtosecond_sample_interval_with_summary_records_is_refused():
    refused("run", str(MM1), "--set", "sample_interval=1e-300s", "--set", "records=summary",
            says="use at least 0.02s")


def test_a_service_publishing_to_itself_twice_is_refused_with_the_loop_named():
    text = """
name: self-publish
duration: 10s
workload: [{name: w, entry: a, operation: o, arrivals: {kind: poisson, rate: 1/s}}]
components:
  a: {kind: service, operations: {o: {work: 1ms, steps: [{publish: a.o}, {publish: a.o}]}}}
"""
    assert any("a.o → a.o makes 2 calls round the loop" in m for m in problems(text))


@pytest.mark.parametrize("scenario, field", [(HOT_SHARD, "components.trading-db.sharding.shards"),
                                             (READ_REPLICAS, "components.db.read_replicas")])
def test_ten_million_shards_or_read_replicas_are_refused_before_any_is_built(scenario, field):
    refused("validate", str(scenario), "--set", f"{field}=10000000", says="more than the 10,000 a component may have")


def test_a_huge_prime_maglev_table_is_refused_quickly():
    refused("validate", str(LB_POLICIES), "--set", "components.lb.policy=maglev",
            "--set", "components.lb.table_size=1000000000039", says="table_size", within=10)


def test_reshard_over_a_hundred_billion_keys_is_a_usage_error_not_a_hang():
    started = time.perf_counter()
    done = cli("reshard", str(HOT_SHARD), "--keys", "100000000000")
    assert done.returncode == 2 and "less than or equal to 10000000" in done.stdout + done.stderr
    assert time.perf_counter() - started < 30


@pytest.mark.parametrize("field, value", [("health_check.interval", "1e-300s"), ("health_check.interval", "1us")])
def test_a_health_check_every_femtosecond_is_refused_not_a_hang(field, value):
    """Found by the fuzzer (seed 20261206, mutant 1899 once scenarios/events/ existed): it hung."""
    file = ROOT / "scenarios" / "lb" / "replica-crash-health.yaml"
    out = refused("validate", str(file), "--set", f"components.lb.{field}={value}", says="timer events", within=30)
    assert "components.lb.health_check.interval" in out and "use at least" in out


def test_an_autoscaler_evaluating_every_nanosecond_is_refused():
    file = ROOT / "scenarios" / "lb" / "autoscaling.yaml"
    messages = problems(file.read_text(encoding="utf-8"), sets=["components.api.autoscaling.interval=1us"])
    assert any("autoscaling.interval" in m and "timer events" in m for m in messages), messages
# ----------------------------------------------------------------------------- the command line: text and paths


def ascii_cli(*args, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """sdsim on a terminal that can show only ASCII (``LANG=C``, ``PYTHONIOENCODING=ascii``)."""
    import os

    env = {**os.environ, "LANG": "C", "LC_ALL": "C", "PYTHONIOENCODING": "ascii"}
    return subprocess.run([sys.executable, "-m", "simulator.cli", *args], capture_output=True, cwd=cwd or ROOT,
                          env=env, timeout=120)


SHORT_RUN = ("--set", "duration=200s", "--set", "warmup=0s")


def test_names_beyond_ascii_print_escaped_on_an_ascii_terminal(tmp_path):
    text = VALID.replace("name: mm1", 'name: "café ☃"') + 'slos:\n  - {name: "fást ≤", metric: latency_p99, max: 1h}\n'
    assert "café" in text and "slos:" not in VALID
    path = tmp_path / "scénario.yaml"
    path.write_text(text, encoding="utf-8")
    run, validate = ascii_cli("run", str(path), *SHORT_RUN), ascii_cli("validate", str(path))
    for done in (run, validate):
        assert done.returncode == 0, done.stderr
        assert b"Traceback" not in done.stderr and b"UnicodeEncodeError" not in done.stdout + done.stderr
        (done.stdout + done.stderr).decode("ascii")  # nothing but ASCII reached the terminal
    assert b"caf\\xe9 \\u2603" in run.stdout and b"f\\xe1st \\u2264" in run.stdout  # the title, the SLO table
    assert validate.stdout.startswith(b"ok  ") and b"sc\\xe9nario.yaml" in validate.stdout


@pytest.mark.parametrize("terminal", ["ascii", "utf-8"])
def test_a_lone_surrogate_is_refused_where_it_is_written(tmp_path, terminal):
    """A "\\udc80" escape in YAML (or a non-UTF-8 byte on the command line) is half a character."""
    import os

    path = tmp_path / "s.yaml"
    path.write_text(VALID.replace("name: mm1", 'name: "mm1 \\udc80"'), encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": terminal}
    for args in ([str(path)], [str(MM1), "--set", os.fsdecode(b"name=a\xffb")]):
        done = subprocess.run([sys.executable, "-m", "simulator.cli", "validate", *args], capture_output=True,
                              cwd=ROOT, env=env, timeout=120)
        err = done.stderr.decode(terminal)
        assert done.returncode == 3 and "Traceback" not in err
        assert "name: " in err and "holds a lone surrogate, which is not a character" in err
        assert err.startswith((f"{path}:2:7: name: 'mm1 \\udc80'", "<command line>: name: 'a\\udcffb'"))


def test_a_lone_surrogate_in_a_key_is_located_once():
    messages = problems(VALID + '"k\\udc81": 1\n')
    assert [m for m in messages if "surrogate" in m or "unicode" in m] == \
        [f"s.yaml:{VALID.count(chr(10)) + 1}:1: the key 'k\\udc81' holds a lone surrogate, which is not a character"]


@pytest.mark.parametrize("make, says", [
    (lambda tmp: "/dev/zero", "it is not a regular file (a device, a pipe or a socket): refused before reading"),
    (lambda tmp: os_mkfifo(tmp / "pipe.yaml"), "it is not a regular file (a device, a pipe or a socket)"),
    (lambda tmp: str(tmp), "it is a folder, not a file"),
    (lambda tmp: str(tmp / "missing.yaml"), "cannot read the file: No such file or directory"),
    (lambda tmp: (tmp / "bin.yaml").write_bytes(bytes(range(256)) * 4) and str(tmp / "bin.yaml"), "not UTF-8 text"),
])
def test_validate_refuses_what_is_no_scenario_file_quickly(tmp_path, make, says):
    if make(tmp_path) is None:
        pytest.skip("no FIFOs here")
    target = make(tmp_path)
    started = time.perf_counter()
    done = cli("validate", target)
    assert done.returncode == 3 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"{target}: ") and says in done.stderr and "1 of 1 file invalid" in done.stderr
    assert time.perf_counter() - started < 60  # refused, never read to the end


def os_mkfifo(path: Path) -> str | None:
    import os

    if not hasattr(os, "mkfifo"):
        return None
    if not path.exists():
        os.mkfifo(path)
    return str(path)


# ----------------------------------------------------------------------------- the command line: values


def test_reshard_of_a_key_space_too_large_to_place_key_by_key_is_refused(tmp_path):
    path = tmp_path / "shard.yaml"
    path.write_text("name: shard\nduration: 10s\nworkload:\n"
                    "  - {name: u, entry: db, operation: get, arrivals: {kind: poisson, rate: 5/s},"
                    " keys: \"uniform(n=1000000000000000)\"}\n"
                    "components:\n  db: {kind: database, sharding: {shards: 4, strategy: consistent},"
                    " operations: {get: {work: 1ms}}}\n", encoding="utf-8")
    done = cli("reshard", str(path))
    assert done.returncode == 2 and "1,000,000,000,000,000 keys" in done.stderr and "10,000,000" in done.stderr


@pytest.mark.parametrize("args, says", [(["--from", "100000"], "less than or equal to 10000"),
                                        (["--from", "10000", "--virtual-nodes", "10000"], "1,000,000 points")])
def test_reshard_refuses_rings_no_memory_holds(args, says):
    done = cli("reshard", *args)
    assert done.returncode == 2 and says in " ".join(done.stderr.replace("│", " ").split())


def test_a_sweep_of_more_runs_than_it_can_plan_is_refused():
    done = cli("sweep", str(MM1), "--param", "arrival_rate=0.1,0.2", "-r", "10000", "--param", "service_rate=1:10:1")
    assert done.returncode == 2 and "200,000 runs" in " ".join(done.stderr.replace("│", " ").split())


@pytest.mark.parametrize("price", ["service=nan", "service=inf", "service=-1"])
def test_a_price_is_a_finite_number_of_dollars(price):
    done = cli("plan", str(MM1), "--knob", "components.server.workers=1:3", "--slo", "latency_mean<=2s",
               "--price", price)
    assert done.returncode == 2 and "a price is a finite number" in " ".join(done.stderr.replace("│", " ").split())


@pytest.mark.parametrize("summary", ['{"components": {"server": {"utilization": "x"}}}', "[1]", '{"components": [1]}'])
def test_graph_from_a_damaged_run_folder_says_so(tmp_path, summary):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "summary.json").write_text(summary)
    done = cli("graph", str(MM1), "--from", str(tmp_path / "run"), "--out", str(tmp_path / "g.png"))
    assert done.returncode == 3 and "cannot read component utilization" in done.stderr
    assert not (tmp_path / "g.png").exists()


def test_a_consistent_ring_of_a_hundred_million_points_is_refused():
    """10,000 shards × 10,000 virtual nodes passed validation and then built a 10⁸-point ring."""
    out = refused("validate", str(HOT_SHARD), "--set", "components.trading-db.sharding.shards=9000",
                  "--set", "components.trading-db.sharding.strategy=consistent",
                  "--set", "components.trading-db.sharding.virtual_nodes=10000", says="virtual_nodes")
    assert "90,000,000 points, more than the 1,000,000 allowed" in out


def test_a_ring_hash_balancer_over_too_many_points_is_refused():
    out = refused("validate", str(LB_POLICIES), "--set", "components.lb.policy=ring_hash",
                  "--set", "components.lb.virtual_nodes=10000", "--set", "components.pool.replicas=200",
                  says="components.lb.virtual_nodes")
    assert "2,000,000 points" in out


@pytest.mark.parametrize("think", ["normal(mean=1s, sd=1e300ms)", "lognormal(mu=800, sigma=30)",
                                   "uniform(low=0s, high=1e300s)"])
def test_a_think_time_of_astronomical_spread_is_read_not_an_overflow(think):
    """Found by the fuzzer: ``sd ** 2`` and ``exp(mu + sigma²/2)`` raised OverflowError."""
    text = VALID.replace('arrivals: {kind: poisson, rate: "${arrival_rate}"}',
                         f'arrivals: {{kind: closed, users: 3, think: "{think}"}}')
    scenario, _ = check_scenario("s.yaml", text=text)
    think_time = scenario.workload[0].arrivals.think
    assert think_time.mean() > 0 and think_time.scv() >= 0  # finite or inf, never an exception


def test_a_feedback_loop_of_a_hundred_visits_at_a_high_rate_is_warned_about_as_visits():
    """Found by the fuzzer: p = 0.99 feedback through a balancer at 36,000 req/s ran for minutes
    (28.8 million visits from 144,000 requests) with no word; now the estimate counts visits."""
    text = """
name: feedback-behind-a-balancer
duration: 4s
warmup: 1s
workload: [{name: w, entry: lb, operation: get, arrivals: {kind: poisson, rate: 36000/s}}]
components:
  lb: {kind: load_balancer, backend: app, workers: 1, work: 0.03ms}
  app:
    kind: service
    replicas: 4
    io: async
    operations:
      get: {work: 0.1ms, steps: [{branch: [{p: 0.99, steps: [{call: lb.get}]}, {p: 0.01, steps: []}]}]}
"""
    _, warnings = check_scenario("s.yaml", text=text)
    assert any("28,800,000 visits" in str(w) and "200 visits per request" in str(w) for w in warnings), warnings
    refused_text = text.replace("duration: 4s", "duration: 40s").replace("p: 0.99", "p: 0.999").replace(
        "p: 0.01", "p: 0.001")
    assert any("visits to operations" in m and "more than the 200,000,000" in m for m in problems(refused_text))


def test_a_count_too_large_for_a_float_is_refused_located():
    """Fuzz seed 20261206, mutant #1684: ``workers`` of 400 digits crashed the run budget's message
    (``math.isfinite`` of an int beyond a float: OverflowError, exit 4). It is refused, located."""
    assert VALID.count("workers: 1\n") == 1
    found = [m for m in problems(VALID.replace("workers: 1\n", "workers: 1" + "0" * 400 + "\n"))
             if "workers per replica" in m]
    assert found and found[0].startswith("s.yaml:22:") and "more than the 1,000,000" in found[0], found
