"""Property-based tests (Hypothesis) over the loader, the units and the scenario model:
whatever the input, the outcome is a value or a located refusal, never another exception.

Derandomized and without an example database, so CI is reproducible and writes nothing.
The mutation fuzzer (tests/fuzzing.py, tests/test_fuzz.py) covers whole scenarios run end to end.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.errors import ScenarioError
from simulator.scenario.load import check_scenario
from simulator.scenario.source import read_yaml
from simulator.units import parse_duration, parse_rate

from fuzzing import value_paths

ROOT = Path(__file__).resolve().parent.parent
MM1 = yaml.safe_load((ROOT / "scenarios" / "theory" / "mm1.yaml").read_text(encoding="utf-8"))
PROPERTY = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10 ** 30), max_value=10 ** 30),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
                    st.sampled_from(["5ms", "1e400s", "-1s", "0", "3/s", "exp(1s)", "zipf(s=1, n=10)",
                                     "lognormal(median=1ms, p99=5ms)", "${x}", "1e-300s", "nan"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=10), inner, max_size=4)),
                      max_leaves=20)


@PROPERTY
@given(st.text(max_size=400))
def test_any_text_reads_to_data_or_problems(text):
    source = read_yaml(text, "f.yaml")
    assert source.data is not None or source.problems or text.strip() == ""


@PROPERTY
@given(values)
def test_any_yaml_document_is_a_scenario_or_a_located_refusal(data):
    try:
        text = yaml.safe_dump(data, allow_unicode=True)
    except (yaml.YAMLError, ValueError):
        return
    try:
        check_scenario("s.yaml", text=text)
    except ScenarioError as error:
        assert error.problems and all(p.message for p in error.problems)


MM1_PATHS = [p for p, _ in value_paths(MM1) if p]


@PROPERTY
@given(st.sampled_from(MM1_PATHS), values)
def test_any_field_of_a_real_scenario_replaced_by_anything_is_valid_or_refused_with_its_path(path, value):
    data = yaml.safe_load(yaml.safe_dump(MM1))
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    try:
        text = yaml.safe_dump(data, allow_unicode=True)
    except (yaml.YAMLError, ValueError):
        return
    try:
        scenario, _ = check_scenario("s.yaml", text=text)
    except ScenarioError as error:
        assert error.problems and all(p.message for p in error.problems)
        return
    assert scenario.duration > 0 and math.isfinite(scenario.duration)


@PROPERTY
@given(st.one_of(st.text(max_size=40), st.integers(min_value=-(10 ** 400), max_value=10 ** 400),
                 st.floats(allow_nan=True, allow_infinity=True)))
@pytest.mark.parametrize("parse", [parse_duration, parse_rate])
def test_units_give_a_finite_number_or_a_value_error(parse, value):
    try:
        number = parse(value)
    except ValueError:
        return
    assert math.isfinite(number)
