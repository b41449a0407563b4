"""Every scenario in the repository is valid, starts with the schema comment, and the
committed JSON Schema is what ``sdsim schema`` produces today."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from simulator import check_scenario
from simulator.scenario.schema import scenario_schema, scenario_schema_text

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "scenarios" / "scenario.schema.json"
SCENARIOS = sorted((ROOT / "scenarios").rglob("*.yaml"))
ALL_YAML = sorted(p for p in ROOT.rglob("*.yaml") if ".venv" not in p.parts and "site-packages" not in p.parts)


def test_committed_schema_is_current():
    assert SCHEMA.read_text() == scenario_schema_text(), "regenerate: sdsim schema --out scenarios/scenario.schema.json"


def test_there_are_scenarios():
    assert len(SCENARIOS) >= 8


def kind_of(path: Path) -> str:
    if path.name == "lab.yaml":
        return "lab"
    if path.name.startswith("answers"):
        return "answers"
    if "classroom" in path.parts:
        return "ci"
    return "scenario"


@pytest.mark.parametrize("path", ALL_YAML, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_yaml_in_the_repo_loads_without_problems(path):
    """Scenarios validate without warnings, lab specs load, answer files are mappings of numbers."""
    kind = kind_of(path)
    if kind == "scenario":
        _, warnings = check_scenario(path)
        assert warnings == []
        assert path.read_text().startswith("# yaml-language-server: $schema="), "scenario files name the schema"
    elif kind == "lab":
        from simulator.labs import load_lab

        assert load_lab(path.parent).checks
    elif kind == "answers":
        data = yaml.safe_load(path.read_text())
        assert isinstance(data, dict) and all(isinstance(v, (int, float)) for v in data.values())
    else:
        assert isinstance(yaml.safe_load(path.read_text()), dict)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: str(p.relative_to(ROOT)))
def test_scenario_files_point_editors_at_the_schema(path):
    first = path.read_text().splitlines()[0]
    relative = Path("../" * (len(path.relative_to(ROOT / "scenarios").parts) - 1) + "scenario.schema.json")
    assert first == f"# yaml-language-server: $schema={relative.as_posix()}"


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: str(p.relative_to(ROOT)))
def test_scenario_files_validate_against_the_json_schema(path):
    """As written, and (for a file that ``extends`` another) merged with its base as the loader does."""
    jsonschema = pytest.importorskip("jsonschema")
    from simulator.scenario.source import _merge

    validator = jsonschema.Draft202012Validator(scenario_schema())
    doc = yaml.safe_load(path.read_text())
    validator.validate(doc)
    folder = path.parent
    while "extends" in doc:
        base_path = folder / doc.pop("extends")
        doc, folder = _merge(yaml.safe_load(base_path.read_text()), doc), base_path.parent
    validator.validate(doc)


def test_schema_rejects_what_the_loader_rejects():
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    doc = yaml.safe_load((ROOT / "scenarios/theory/mm1.yaml").read_text())
    doc["components"]["server"]["workerz"] = 3
    assert not validator.is_valid(doc)
