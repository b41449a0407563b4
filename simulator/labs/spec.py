"""``lab.yaml``: what a lab imposes, what it checks and how many points each check is worth.

A lab folder holds ``README.md`` (story, tasks, hints), ``starter/`` (what the student
edits), ``solution/`` (the reference, used by the project's tests) and ``lab.yaml``:

```yaml
name: lab1-decomposition
title: "Lab 1: from monolith to microservices"
submission: design.yaml        # the scenario file the student edits
answers: answers.yaml          # numeric answers (optional)
seed: 2024                     # replication seeds derive from it: verdicts are deterministic
replications: 5
run:                           # imposed on every submission, whatever it says
  duration: 10m
  warmup: 1m
  workload: [...]              # workloads; a missing `entry` takes the submission's entry
  faults: [...]
prices: {service: 0.1008, database: 0.159}   # USD per replica-hour, by component kind
checks:
  - {id: buy-p99, points: 25, required: true, slo: {metric: latency_p99, operation: buy_character, max: 500ms}}
  - {id: budget, points: 10, budget: {max_per_hour: 2.5}}
  - {id: own-dbs, points: 10, structure: {rule: no_shared_database}}
  - {id: knee, points: 15, answer: {key: monolith_capacity_rps, expected: 120, tolerance: 0.2}}
```
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..scenario.model import Slo
from ..scenario.types import Duration, PositiveDuration


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RunSpec(_Strict):
    """What the grader imposes on every submission."""

    duration: PositiveDuration
    warmup: Duration = 0.0
    drain: Duration = 120.0
    workload: Annotated[list[dict[str, Any]], Field(min_length=1)]
    faults: list[dict[str, Any]] = []


class SloCheck(_Strict):
    metric: str
    operation: str | None = None
    max: float | str | None = None
    min: float | str | None = None

    def as_slo(self, name: str) -> Slo:
        return Slo.model_validate({"name": name, **self.model_dump(exclude_none=True)})


class BudgetCheck(_Strict):
    max_per_hour: Annotated[float, Field(gt=0)]


class StructureCheck(_Strict):
    rule: str
    value: Any = None


class AnswerCheck(_Strict):
    key: str
    expected: float
    tolerance: Annotated[float, Field(ge=0)] = 0.1  # relative
    question: str = ""


class Check(_Strict):
    """One graded check; exactly one of ``slo``, ``budget``, ``structure``, ``answer``."""

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    title: str = ""
    points: Annotated[float, Field(ge=0)] = 1.0
    required: bool = False
    slo: SloCheck | None = None
    budget: BudgetCheck | None = None
    structure: StructureCheck | None = None
    answer: AnswerCheck | None = None

    @model_validator(mode="after")
    def _one_kind(self):
        kinds = [k for k in ("slo", "budget", "structure", "answer") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("a check needs exactly one of slo, budget, structure or answer")
        if self.slo is not None:
            self.slo.as_slo(self.id)  # validates metric, units and bound now, not at grading time
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ("slo", "budget", "structure", "answer") if getattr(self, k) is not None)


class LabSpec(_Strict):
    name: str
    title: str
    summary: str = ""
    submission: str = "design.yaml"
    answers: str | None = None
    seed: int = 1
    replications: Annotated[int, Field(ge=1)] = 5
    run: RunSpec
    prices: dict[str, Annotated[float, Field(ge=0)]] = {}
    checks: Annotated[list[Check], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_ids(self):
        ids = [c.id for c in self.checks]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate check ids: {', '.join(duplicates)}")
        return self

    @property
    def total_points(self) -> float:
        return sum(c.points for c in self.checks)
