"""A bad scenario file is reported as located problems — every one at once, never a traceback.

Each problem reads ``FILE:LINE:COL: dotted.path: message``; the CLI prints them on stderr
and exits with code 3.
"""

from __future__ import annotations

import textwrap

import pytest

from simulator import load_scenario
from simulator.errors import ScenarioError

GOOD = """\
name: t
duration: 100s
params:
  rate: 5
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
        steps: [{call: db.read}]
  db:
    kind: database
    operations:
      read: {work: 2ms}
"""


def problems(tmp_path, text: str, **kwargs) -> list[str]:
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(text))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, **kwargs)
    return [str(p).replace(str(path), "s.yaml") for p in info.value.problems]


def test_the_good_file_loads(tmp_path):
    """The baseline used below is valid; each test breaks one thing."""
    path = tmp_path / "s.yaml"
    path.write_text(GOOD)
    scenario = load_scenario(path)
    assert scenario.workload[0].arrivals.rate == 5.0
    assert scenario.components["web"].operations["get"].work.mean() == pytest.approx(0.010)


def test_bad_yaml_syntax_names_the_line(tmp_path):
    got = problems(tmp_path, GOOD.replace("workers: 2", "workers: [2"))
    assert len(got) == 1 and got[0].startswith("s.yaml:14:") and "invalid YAML" in got[0]


def test_wrong_type(tmp_path):
    got = problems(tmp_path, GOOD.replace("workers: 2", "workers: two"))
    assert got == ["s.yaml:13:14: components.web.workers: Input should be a valid integer, "
                   "unable to parse string as an integer (got 'two')"]


def test_bad_unit(tmp_path):
    got = problems(tmp_path, GOOD.replace("duration: 100s", "duration: 100 parsecs"))
    assert len(got) == 1 and got[0].startswith("s.yaml:2:11: duration: ")
    assert "unknown time unit 'parsecs'" in got[0] and "expected one of" in got[0]


def test_unknown_distribution(tmp_path):
    got = problems(tmp_path, GOOD.replace("work: exp(10ms)", "work: poisson(10ms)"))
    assert len(got) == 1 and got[0].startswith("s.yaml:16:15: components.web.operations.get.work: ")
    assert "unknown distribution 'poisson'" in got[0] and "lognormal" in got[0]


def test_negative_rate(tmp_path):
    got = problems(tmp_path, GOOD.replace('rate: "${rate}"', "rate: -5/s"))
    assert got == ["s.yaml:9:37: workload.0.arrivals.rate: a rate must not be negative (got -5)"]


def test_probabilities_must_sum_to_one(tmp_path):
    text = GOOD.replace("operation: get", "mix: {get: 0.7, put: 0.2}")
    got = problems(tmp_path, text)
    assert len(got) == 1 and got[0].startswith("s.yaml:6:5: workload.0: ")
    assert "mix weights sum to 0.9 (expected 1)" in got[0]
    branch = GOOD.replace("steps: [{call: db.read}]", "steps: [{branch: [{p: 0.5, steps: []}, {p: 0.4}]}]")
    got = problems(tmp_path, branch)
    assert len(got) == 1 and "branch probabilities sum to 0.9 (expected 1)" in got[0]
    assert got[0].startswith("s.yaml:17:26: components.web.operations.get.steps.0.branch: ")


def test_dangling_references(tmp_path):
    text = GOOD.replace("call: db.read", "call: db.write").replace("entry: web", "entry: website")
    got = problems(tmp_path, text)
    assert got == [
        "s.yaml:7:12: workload.0.entry: entry component 'website' does not exist (expected one of: web, db)",
        "s.yaml:17:24: components.web.operations.get.steps.0.call: 'db' has no operation 'write' (it has: read)",
    ]


def test_unknown_param(tmp_path):
    got = problems(tmp_path, GOOD.replace('"${rate}"', '"${rat}"'))
    assert got == ["s.yaml:9:37: workload.0.arrivals.rate: unknown parameter ${rat} "
                   "(declare it under params:; declared: rate)"]


def test_unknown_field_points_at_the_key(tmp_path):
    got = problems(tmp_path, GOOD.replace("    workers: 2", "    workerz: 2"))
    assert got == ["s.yaml:13:5: components.web.workerz: unknown field 'workerz' (not allowed here; check the spelling)"]


def test_duplicate_keys_are_rejected(tmp_path):
    got = problems(tmp_path, GOOD.replace("    workers: 2\n", "    workers: 2\n    workers: 3\n"))
    assert got == ["s.yaml:14:5: components.web.workers: duplicate key 'workers' (first defined on line 13)"]


def test_synchronous_cycle_is_rejected(tmp_path):
    text = GOOD.replace("read: {work: 2ms}", "read: {work: 2ms}") .replace(
        "kind: database\n    operations:\n      read: {work: 2ms}",
        "kind: service\n    operations:\n      read: {work: 2ms, steps: [{call: web.get}]}")
    got = problems(tmp_path, text)
    assert len(got) == 1 and "cycle of synchronous calls never ends" in got[0]
    assert "web.get → db.read → web.get" in got[0] or "db.read → web.get → db.read" in got[0]


def test_probabilistic_feedback_loop_is_allowed(tmp_path):
    """A loop through a branch with p < 1 ends with probability one (a Jackson feedback network)."""
    text = GOOD.replace("kind: database\n    operations:\n      read: {work: 2ms}",
                        "kind: service\n    operations:\n      read: {work: 2ms, steps: "
                        "[{branch: [{p: 0.5, steps: [{call: web.get}]}, {p: 0.5}]}]}")
    path = tmp_path / "s.yaml"
    path.write_text(text)
    assert load_scenario(path).components["db"].kind == "service"


def test_every_problem_is_reported_at_once(tmp_path):
    text = (GOOD.replace("workers: 2", "workers: -1").replace("duration: 100s", "duration: 10xs")
            .replace("work: 2ms", "work: nope(1)"))
    got = problems(tmp_path, text)
    assert [g.split(": ")[1] for g in got] == ["duration", "components.web.workers", "components.db.operations.read.work"]


def test_overrides_are_checked_too(tmp_path):
    got = problems(tmp_path, GOOD, params=["rat=3"], sets=["components.web.nothing.x=1"])
    assert any(g.startswith("<command line>: components.web.nothing.x: --set: no field 'nothing'") for g in got)
    assert any("--param: unknown parameter 'rat' (expected one of: rate)" in g for g in got)
    got = problems(tmp_path, GOOD, sets=["components.web.workers=0"])
    assert got == ["<command line>: components.web.workers: Input should be greater than or equal to 1 (got 0)"]


def test_empty_and_non_mapping_files(tmp_path):
    assert problems(tmp_path, "") == ["s.yaml:1:1: the file is empty (expected a scenario mapping)"]
    assert problems(tmp_path, "- 1\n- 2\n") == ["s.yaml:1:1: expected a mapping of scenario fields at the top level"]


def test_missing_file():
    with pytest.raises(ScenarioError) as info:
        load_scenario("does/not/exist.yaml")
    assert "cannot read the file" in str(info.value)


def test_params_and_sets_override(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(GOOD)
    scenario = load_scenario(path, params=["rate=12"], sets=["components.web.workers=8", "duration=5m",
                                                           "workload.0.arrivals.rate=${rate}"])
    assert scenario.workload[0].arrivals.rate == 12.0
    assert scenario.components["web"].workers == 8
    assert scenario.duration == 300.0
    assert scenario.params["rate"].default == 12


def test_unreachable_component_is_a_warning(tmp_path):
    from simulator import check_scenario

    path = tmp_path / "s.yaml"
    path.write_text(GOOD + "  orphan:\n    kind: service\n    operations: {x: {}}\n")
    _, warnings = check_scenario(path)
    assert [str(w).replace(str(path), "s.yaml") for w in warnings] == [
        "s.yaml:22:3: components.orphan: component 'orphan' is unreachable: no workload or call leads to it"]


def test_param_overrides_respect_declared_bounds(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(GOOD.replace("  rate: 5\n", "  rate: {default: 5, min: 1, max: 50}\n"))
    assert load_scenario(path, params=["rate=50"]).workload[0].arrivals.rate == 50
    got = problems(tmp_path, GOOD.replace("  rate: 5\n", "  rate: {default: 5, min: 1, max: 50}\n"), params=["rate=51"])
    assert got == ["<command line>: params.rate: --param: 51 is outside the declared range [1, 50]"]


def test_extends_merges_mappings_and_replaces_the_rest(tmp_path):
    (tmp_path / "base.yaml").write_text(GOOD)
    child = tmp_path / "child.yaml"
    child.write_text("extends: base.yaml\nname: child\nparams: {rate: 9}\ncomponents:\n  web: {workers: 6}\n"
                     "faults: [{kind: crash, target: db, at: 10s, for: 5s}]\n")
    scenario = load_scenario(child)
    assert scenario.name == "child" and scenario.workload[0].arrivals.rate == 9.0
    web = scenario.components["web"]
    assert web.workers == 6 and web.operations["get"].steps[0].call == "db.read"  # merged, not replaced
    assert len(scenario.faults) == 1 and scenario.extends is None


def test_extends_problems_point_into_the_right_file(tmp_path):
    (tmp_path / "base.yaml").write_text(GOOD.replace("duration: 100s", "duration: 100 parsecs"))
    child = tmp_path / "child.yaml"
    child.write_text("extends: base.yaml\ncomponents:\n  web: {workers: none}\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(child)
    got = [str(p).replace(str(tmp_path) + "/", "") for p in info.value.problems]
    assert got[0].startswith("base.yaml:2:11: duration: unknown time unit 'parsecs'")
    assert got[1].startswith("child.yaml:3:18: components.web.workers: Input should be a valid integer")


def test_extends_loops_and_missing_files_are_reported(tmp_path):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\nname: a\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\nname: b\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "a.yaml")
    assert "extends loops back to a.yaml" in str(info.value)
    got = problems(tmp_path, "extends: nowhere.yaml\nname: x\n")
    assert any(g.startswith("s.yaml:1:10: extends: cannot use nowhere.yaml as a base: cannot read the file: No such file")
               for g in got), got


@pytest.mark.parametrize("make_base, words", [
    (lambda tmp: "bad\0name.yaml", "cannot use"),
    (lambda tmp: (tmp / "loop.yaml").symlink_to(tmp / "loop.yaml") or "loop.yaml", "cannot"),
    (lambda tmp: (tmp / "sub").mkdir() or "sub", "it is a folder, not a file"),
    (lambda tmp: (tmp / "bin.yaml").write_bytes(b"name: \xff\xfe\n") and "bin.yaml", "not UTF-8 text"),
])
def test_a_base_that_cannot_be_read_is_one_located_problem(tmp_path, make_base, words):
    base = make_base(tmp_path)
    child = tmp_path / "child.yaml"
    child.write_text(f'extends: "{base.replace(chr(0), chr(92) + "0")}"\nname: x\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(child)
    text = str(info.value)
    assert "child.yaml:1:10: extends:" in text and words in text, text
