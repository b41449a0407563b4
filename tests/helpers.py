"""Small builders for scenarios written inline in tests."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from simulator import Scenario
from simulator.errors import ScenarioError
from simulator.scenario.load import check_scenario


def scenario(components: dict[str, Any], *, rate: Any = "10/s", operation: str = "op", entry: str = "svc",
             duration: Any = "100s", warmup: Any = 0, workload: dict[str, Any] | None = None, **extra: Any) -> Scenario:
    """A one-workload scenario: Poisson *rate* into ``entry.operation`` unless *workload* says otherwise."""
    wl = {"name": "clients", "entry": entry, "operation": operation, "arrivals": {"kind": "poisson", "rate": rate}}
    wl.update(workload or {})
    return Scenario.model_validate({"name": "test", "duration": duration, "warmup": warmup, "workload": [wl],
                                    "components": components, **extra})


def service(work: Any = "10ms", steps: list | None = None, **kw: Any) -> dict[str, Any]:
    return {"kind": "service", "operations": {"op": {"work": work, "steps": steps or []}}, **kw}


def located_problems(components: dict[str, Any], *, entry: str, operation: str = "op", **extra: Any) -> list[str]:
    """The problems loading refuses a scenario file with *components* for, each located
    (``s.yaml:LINE:COL: path: message``); fails the test if the file loads."""
    data = {"name": "bad", "duration": "10s",
            "workload": [{"name": "w", "entry": entry, "operation": operation,
                          "arrivals": {"kind": "poisson", "rate": "1/s"}}],
            "components": components, **extra}
    with pytest.raises(ScenarioError) as caught:
        check_scenario("s.yaml", text=yaml.safe_dump(data, sort_keys=False))
    found = [str(p) for p in caught.value.problems]
    assert found and all(re.match(r"s\.yaml:\d+:\d+: ", p) for p in found), found
    return found


def simulate_yaml(tmp_path, text: str, monkeypatch, patches: tuple = ()):
    """Run the scenario *text* (written to a file under *tmp_path*) with each ``(owner, name, value)``
    of *patches* set for the run only: the same scenario run two ways, to compare them."""
    from simulator import load_scenario, simulate

    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    with monkeypatch.context() as patch:
        for owner, name, value in patches:
            patch.setattr(owner, name, value)
        return simulate(load_scenario(path))
