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
  incidents: {count: 2, between: [2m, 12m], gap: 2m, pool: [...]}   # drawn per run (simulator.labs.incidents)
prices: {service: 0.1008, database: 0.159, cache: 0.149, load_balancer: 0.0225}  # USD per instance-hour, every kind
fixed:                         # the platform's physics: not the student's to choose
  components:                  # by name: these fields and a closed table of operations
    trading: {kind: service, workers: 5, vcpus: 2, speeds: null, instance: null,
              operations: {buy_character: {work: "lognormal(median=4ms, p99=25ms)"}}}
  kinds:                       # every other component of that kind ("*": any operation name)
    service: {workers: 2, vcpus: 2, operations: {"*": {work: "lognormal(median=1ms, p99=6ms)"}}}
    database: {connections: 2, operations: {read_character: {work: "lognormal(median=1ms, p99=8ms)"}}}
  rules:                       # structural rules a design must meet to be graded at all
    - {rule: operations_served_by, value: {buy_character: [trading, trading-db]}}
checks:
  - {id: buy-p99, points: 25, required: true, slo: {metric: latency_p99, operation: buy_character, max: 500ms}}
  - {id: budget, points: 10, budget: {max_per_hour: 2.5}}
  - {id: own-dbs, points: 10, structure: {rule: no_shared_database}}
  - {id: knee, points: 15, answer: {key: monolith_capacity_rps, expected: 120, tolerance: 0.2}}
```
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from ..components import KINDS
from .incidents import Incidents
from ..scenario.model import Slo
from ..scenario.types import Duration, PositiveDuration

ANY_OPERATION = "*"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RunSpec(_Strict):
    """What the grader imposes on every submission."""

    duration: PositiveDuration
    warmup: Duration = 0.0
    drain: Duration = 120.0
    workload: Annotated[list[dict[str, Any]], Field(min_length=1)]
    faults: list[dict[str, Any]] = []
    incidents: Incidents | None = None  # drawn per replication (simulator.labs.incidents)


class SloCheck(_Strict):
    """An objective judged on the runs (the fields of a scenario ``Slo``: :mod:`simulator.scenario.slo`)."""

    metric: str
    operation: str | None = None
    component: str | None = None
    max: float | str | None = None
    min: float | str | None = None
    window: dict[str, Any] | None = None
    during: int | str | None = None
    after: int | str | None = None
    grace: float | str | None = None
    recovery: dict[str, Any] | None = None

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


class FixedComponent(_Strict):
    """What the lab fixes on a component: field values and, optionally, a closed table of operations.

    ``fields`` are the component's own spec fields (``workers``, ``vcpus``, ``connections``,
    ``speeds``, ``instance``, a cache's ``work``…) with the value the lab imposes. With
    ``operations``, the component may only offer the operations listed, each with the
    listed ``work``; ``"*"`` gives the work of any operation not listed by name.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    kind: str | None = None
    operations: dict[str, dict[str, Any]] | None = None

    @property
    def fields(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    def resolved(self, kind: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """``(field values, operation works)`` validated by the kind's own field types."""
        spec = KINDS[kind].spec
        values = {}
        for name, raw in self.fields.items():
            info = spec.model_fields.get(name)
            if info is None or name in ("kind", "operations"):
                raise ValueError(f"{kind} has no field {name!r} to fix (its fields: "
                                 f"{', '.join(f for f in spec.model_fields if f not in ('kind', 'operations'))})")
            annotation = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
            try:
                values[name] = TypeAdapter(annotation).validate_python(raw)
            except ValidationError as exc:
                raise ValueError(f"{kind}.{name}: {exc.errors()[0]['msg']} (got {raw!r})") from None
        if self.operations is None:
            return values, None
        if "operations" not in spec.model_fields:
            raise ValueError(f"{kind} has no operations of its own to fix")
        op_model = spec.model_fields["operations"].annotation.__args__[1]  # dict[Name, OperationModel]
        works = {}
        for op, fields in self.operations.items():
            if set(fields) != {"work"}:
                raise ValueError(f"operation {op!r}: the lab fixes only its work (got {', '.join(fields)})")
            try:
                works[op] = op_model.model_validate({"work": fields["work"]}).work
            except ValidationError as exc:
                raise ValueError(f"operation {op!r}: {exc.errors()[0]['msg']}") from None
        return values, works


class FixedRule(_Strict):
    rule: str
    value: Any = None


class Fixed(_Strict):
    """The platform's physics and interface: what the lab imposes and the student may not change.

    ``components`` by name (with their ``kind``); ``kinds`` for every other component of a
    kind. With a ``fixed`` section, a component of a kind listed in neither cannot be
    added. ``rules`` are structural rules (:data:`simulator.labs.rules.RULES`) a design must
    meet to be graded at all (e.g. which service owns which operation). ``network``, when
    given, replaces the design's network in the graded runs (its zones and latencies are
    the data centre's, not the student's). ``settings`` fixes fields of the scenario's
    sections by dotted path (``monitoring.evaluation_interval: 15s``,
    ``security.mtls.handshake_cpu: 0.5ms``: :mod:`simulator.labs.settings`).
    """

    components: dict[str, FixedComponent] = {}
    kinds: dict[str, FixedComponent] = {}
    rules: list[FixedRule] = []
    network: dict[str, Any] | None = None  # replaces the design's network (zones and link latencies)
    settings: dict[str, Any] = {}  # dotted paths into the scenario's sections: monitoring.scrape_interval

    @model_validator(mode="after")
    def _valid(self):
        from .settings import check_paths

        check_paths(self.settings, self.component_kinds)
        for name, fixed in self.components.items():
            if fixed.kind not in KINDS:
                raise ValueError(f"fixed.components.{name}: kind must be one of {', '.join(KINDS)} "
                                 f"(got {fixed.kind!r})")
            fixed.resolved(fixed.kind)
        for kind, fixed in self.kinds.items():
            if kind not in KINDS:
                raise ValueError(f"fixed.kinds: unknown kind {kind!r} (expected one of {', '.join(KINDS)})")
            fixed.resolved(kind)
        from .rules import RULES  # the registry imports the scenario model only

        for r in self.rules:
            if r.rule not in RULES:
                raise ValueError(f"fixed.rules: unknown rule {r.rule!r} (known: {', '.join(sorted(RULES))})")
        if self.network is not None:
            from ..scenario.model import Network

            Network.model_validate(self.network)
        return self

    @property
    def component_kinds(self) -> dict[str, str]:
        """The kind of each component the lab fixes by name."""
        return {name: fixed.kind for name, fixed in self.components.items()}

    @property
    def allowed_kinds(self) -> set[str]:
        return set(self.kinds) | {c.kind for c in self.components.values()}


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
    fixed: Fixed | None = None
    checks: Annotated[list[Check], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_ids(self):
        ids = [c.id for c in self.checks]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate check ids: {', '.join(duplicates)}")
        if any(c.budget is not None for c in self.checks):
            kinds = self.fixed.allowed_kinds if self.fixed is not None else set(KINDS)
            unpriced = sorted(kinds - set(self.prices))
            if unpriced:
                raise ValueError(f"a budget check needs a price for every component kind a design may use; "
                                 f"missing: {', '.join(unpriced)}")
        for check in self.checks:
            if check.structure is not None:
                from .rules import RULES

                if check.structure.rule not in RULES:
                    raise ValueError(f"check {check.id}: unknown structural rule {check.structure.rule!r} "
                                     f"(known: {', '.join(sorted(RULES))})")
        return self

    @property
    def total_points(self) -> float:
        return sum(c.points for c in self.checks)
