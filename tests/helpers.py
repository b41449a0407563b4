"""Small builders for scenarios written inline in tests."""

from __future__ import annotations

from typing import Any

from simulator import Scenario


def scenario(components: dict[str, Any], *, rate: Any = "10/s", operation: str = "op", entry: str = "svc",
             duration: Any = "100s", warmup: Any = 0, workload: dict[str, Any] | None = None, **extra: Any) -> Scenario:
    """A one-workload scenario: Poisson *rate* into ``entry.operation`` unless *workload* says otherwise."""
    wl = {"name": "clients", "entry": entry, "operation": operation, "arrivals": {"kind": "poisson", "rate": rate}}
    wl.update(workload or {})
    return Scenario.model_validate({"name": "test", "duration": duration, "warmup": warmup, "workload": [wl],
                                    "components": components, **extra})


def service(work: Any = "10ms", steps: list | None = None, **kw: Any) -> dict[str, Any]:
    return {"kind": "service", "operations": {"op": {"work": work, "steps": steps or []}}, **kw}
