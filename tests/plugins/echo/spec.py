"""The spec of ``kind: echo`` (pure data: imports only the scenario's base types)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from simulator.scenario.kinds import ComponentBase
from simulator.scenario.types import Name, PositiveDuration


class EchoSpec(ComponentBase):
    """Answers each of its ``operations`` after ``delay``: no workers, no queue, never fails."""

    kind: Literal["echo"] = "echo"
    delay: PositiveDuration = 0.001
    operations: Annotated[list[Name], Field(min_length=1)] = ["echo"]
    replicas: Annotated[int, Field(ge=1)] = 1

    def describe(self) -> str:
        return f"echoes after {self.delay * 1000:g} ms"


SPEC = EchoSpec
