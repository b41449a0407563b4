"""What grading a submission produces: one :class:`CheckResult` per check, gathered in a :class:`GradeReport`.

Plain data (the grader fills it, feedback adds the diagnosis, the CLI, JUnit and JSON
render it), kept apart from the grading so that those readers need not import the grader.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class CheckResult:
    id: str
    kind: str
    title: str
    points: float
    required: bool
    passed: bool
    score: float
    value: float | None = None  # the measured value (mean over replications for SLOs)
    bound: float | None = None  # the confidence bound the verdict is taken on
    target: float | None = None
    margin: float | None = None  # how far inside (+) or outside (−) the target the bound is
    unit: str = ""
    feedback: list[str] = field(default_factory=list)
    metric: str = ""  # an SLO check's metric: how its numbers read (a count, a share, a duration)


@dataclass
class GradeReport:
    lab: str
    title: str
    submission: str
    malformed: bool
    checks: list[CheckResult]
    replications: int
    seeds: list[int]
    problems: list[str] = field(default_factory=list)
    diagnosis: list[str] = field(default_factory=list)  # each distinct cause of the failed SLOs, once

    @property
    def score(self) -> float:
        return sum(c.score for c in self.checks)

    @property
    def total(self) -> float:
        return sum(c.points for c in self.checks)

    @property
    def passed(self) -> bool:
        """All required checks pass (and the submission could be read)."""
        return not self.malformed and all(c.passed for c in self.checks if c.required)

    def to_dict(self) -> dict[str, Any]:
        return {"lab": self.lab, "title": self.title, "submission": self.submission, "malformed": self.malformed,
                "passed": self.passed, "score": self.score, "total": self.total,
                "replications": self.replications, "seeds": self.seeds, "problems": self.problems,
                "diagnosis": self.diagnosis,
                "checks": [asdict(c) for c in self.checks]}
