"""Hidden incident schedules: faults a lab draws afresh for every graded run.

A lab that grades alert rules must not let a student learn *when* things break. Its
``run.incidents`` gives a pool of faults without a start time; every replication draws
``count`` of them (without replacement while the pool lasts) and places them at random in
the window ``between``, in a random order, at least ``gap`` apart and each ending inside the
window::

    incidents:
      count: 2
      between: [2m, 12m]
      gap: 2m
      pool:
        - {kind: errors, target: user, probability: 0.5, for: 3m}
        - {kind: crash, target: character, for: 2m}

The draw depends only on the replication's seed (its own random stream, so it leaves
every other stream of the run untouched): the same seed gives the same schedule on any
machine, and an instructor who grades with a secret seed (``sdsim grade --seed``) grades on
schedules nobody has seen. The starts are the order statistics of ``count`` uniform draws
over the slack (the window minus the incidents and gaps), each shifted by what comes before
it: every placement that fits is as likely as any other.

The drawn faults follow the lab's fixed ``run.faults``, so those keep their indices
(``during: 2`` names the same fault in every run).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..core.rng import stream
from ..scenario.types import Duration
from ..units import parse_duration

STREAM = "lab.incidents"


class Incidents(BaseModel):
    """``run.incidents`` of a lab (module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    count: Annotated[int, Field(ge=1, le=100)]
    between: tuple[Duration, Duration]
    gap: Duration = 0.0
    pool: Annotated[list[dict[str, Any]], Field(min_length=1)]

    @model_validator(mode="after")
    def _fits(self):
        start, end = self.between
        if end <= start:
            raise ValueError("incidents.between: the window's end must be after its start")
        for i, fault in enumerate(self.pool):
            if "at" in fault:
                raise ValueError(f"incidents.pool.{i}: no `at`: each run draws when it starts")
            if "for" not in fault:
                raise ValueError(f"incidents.pool.{i}: `for` is required (how long the incident lasts)")
            if not isinstance(fault.get("kind"), str):
                raise ValueError(f"incidents.pool.{i}: `kind` is required (a fault kind)")
            try:
                parse_duration(fault["for"], require_unit=False)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"incidents.pool.{i}.for: {exc}") from None
        longest = sorted(self.durations(), reverse=True)
        worst = [longest[i % len(longest)] for i in range(self.count)]  # with replacement past the pool
        needed = sum(worst) + (self.count - 1) * self.gap
        if needed > end - start:
            raise ValueError(f"incidents: {self.count} incidents and their gaps may need {needed:g} s, the window "
                             f"between is {end - start:g} s")
        return self

    def durations(self) -> list[float]:
        return [parse_duration(f["for"], require_unit=False) for f in self.pool]

    def draw(self, seed: int) -> list[dict[str, Any]]:
        """The faults of the run with *seed*: ``count`` pool entries, each with its drawn ``at``, in time order."""
        rng = stream(seed, STREAM)
        picked = rng.choice(len(self.pool), size=self.count, replace=self.count > len(self.pool))
        durations = self.durations()
        start, end = self.between
        busy = sum(durations[i] for i in picked) + (self.count - 1) * self.gap
        offsets = sorted(rng.uniform(0.0, end - start - busy, size=self.count))
        faults, used = [], 0.0
        for i, offset in zip(picked, offsets):
            at = start + float(offset) + used
            faults.append({**self.pool[int(i)], "at": at})
            used += durations[i] + self.gap
        return faults

    def examples(self) -> list[dict[str, Any]]:
        """Every pool entry placed at the window's start: to check once that the design can take each."""
        return [{**fault, "at": self.between[0]} for fault in self.pool]
