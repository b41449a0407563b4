"""The spec of ``kind: echo`` (pure data: imports only the scenario's base types and the metric vocabulary)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from simulator.metrics.descriptors import Counter, Fact, Metric, Ratio
from simulator.scenario.kinds import ComponentBase
from simulator.scenario.types import Name, PositiveDuration


class EchoSpec(ComponentBase):
    """Answers each of its ``operations`` after ``delay``: no workers, no queue, never fails."""

    kind: Literal["echo"] = "echo"
    delay: PositiveDuration = 0.001
    operations: Annotated[list[Name], Field(min_length=1)] = ["echo"]
    replicas: Annotated[int, Field(ge=1)] = 1
    metrics: ClassVar[tuple[Metric, ...]] = (
        Counter("first_operation"), Counter("other_operations"),
        Ratio("first_share", "first_operation", ("first_operation", "other_operations"), label="first-operation share"),
        Fact("delay_ms", record=True),
    )
    """Visits to its first operation and to the others, the share of the first, and its delay."""

    def describe(self) -> str:
        return f"echoes after {self.delay * 1000:g} ms"


SPEC = EchoSpec
