"""The spec of ``kind: regional_database``: a primary, a cross-region standby or backups, failover (pure data).

The AWS disaster-recovery vocabulary (golden §19): replication to a ``standby`` in
another region (``async`` with a ``lag``, or ``sync``), or periodic ``backup`` snapshots
restored elsewhere; ``failover`` detects the loss of the primary with Route 53's health
checks (``request_interval`` × ``failure_threshold``), then promotes (or restores), then
clients move after the DNS ``ttl`` and the new primary warms up.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Iterable, Literal, Mapping

from pydantic import Field, model_validator

from ...metrics.descriptors import Counter, Fact, Metric
from ...scenario.distributions import Const, Distribution
from ...scenario.kinds import ComponentBase
from ..database.spec import ReadsAndWrites
from ...scenario.model import ZERO
from ...scenario.types import Duration, Name, PositiveDuration, Strict


class RegionalOperation(Strict):
    """An operation: a ``read`` or a ``write`` holding one connection of the primary for ``work``."""

    type: Literal["read", "write"] | None = None
    work: Distribution = ZERO


class Standby(Strict):
    """A standby copy in ``zone`` (another region) that the primary replicates every write to.

    ``replication: async``: a write is acknowledged when the primary commits it and reaches
    the standby ``lag`` later, in commit order (a replication log: never before the write
    before it, so a variable lag acts as its running maximum); the writes acknowledged but
    not yet there when the primary is lost are lost. ``lag`` is ignored by ``sync``. ``sync``: a write is acknowledged
    only after the round trip to the standby (the inter-region latency twice); none is lost,
    and while the standby cannot be reached writes fail.
    """

    zone: Name
    replication: Literal["async", "sync"] = "async"
    lag: Distribution = Const(value=1.0)


class Backup(Strict):
    """A snapshot every ``interval`` (at interval, 2·interval, … from the start), restored in ``zone``
    in ``restore_time`` when the primary is lost: the writes since the last snapshot are lost."""

    interval: PositiveDuration
    restore_time: PositiveDuration
    zone: Name


class Failover(Strict):
    """How traffic moves once the primary is lost (golden G19.2, Route 53's knobs).

    Health checks every ``request_interval`` (at multiples of it from the start; Route 53:
    30 s, or 10 s "fast") declare the primary down after ``failure_threshold`` consecutive
    failures (3); the standby is promoted in ``promotion`` (a restore from backup takes
    ``backup.restore_time`` instead); clients switch after the DNS record's ``ttl``; the new
    primary then needs ``warm_up`` before it serves.
    """

    request_interval: PositiveDuration = 30.0
    failure_threshold: Annotated[int, Field(ge=1, le=10)] = 3
    promotion: Duration = 60.0
    ttl: Duration = 60.0
    warm_up: Duration = 0.0

    @property
    def detection(self) -> float:
        """The longest detection: ``failure_threshold`` × ``request_interval``."""
        return self.failure_threshold * self.request_interval


class RegionalDatabaseSpec(ReadsAndWrites, ComponentBase):
    """A database whose primary is in zone ``primary`` and whose data survives losing that region.

    ``standby`` (replication to another region) or ``backup`` (snapshots restored in another
    region) says how; ``failover`` says how fast traffic moves. Without either, losing the
    primary's zone stops the database until the zone is back (and loses nothing).
    """

    kind: Literal["regional_database"] = "regional_database"
    metrics: ClassVar[tuple[Metric, ...]] = (
        *(Counter(n) for n in ("lost_writes", "unavailable", "failovers", "restores")),
        Fact("rpo_s"), Fact("rto_s"), Fact("primary", in_words=True),
    )
    """``lost_writes``: acknowledged writes lost when the primary was; ``rpo_s``: the longest time window they
    spanned (from the oldest lost write to the loss); ``rto_s``: the longest time from losing the primary to
    the first operation answered again; ``unavailable``: operations refused while no primary served; ``primary``:
    the primary's zone at the end."""
    store = True
    primary: Name
    standby: Standby | None = None
    backup: Backup | None = None
    failover: Failover = Failover()
    connections: Annotated[int, Field(ge=1)] = 10
    operations: Annotated[dict[Name, RegionalOperation], Field(min_length=1)]

    @model_validator(mode="after")
    def _one_recovery(self):
        if self.zone is not None:
            raise ValueError("a regional_database names its zones in primary, standby.zone and backup.zone, not zone")
        if self.standby is not None and self.backup is not None:
            raise ValueError("choose one recovery: a standby (replication) or a backup (snapshots), not both")
        for where in (self.standby, self.backup):
            if where is not None and where.zone == self.primary:
                raise ValueError(f"the recovery copy must be in another zone than the primary ({self.primary!r})")
        return self

    @property
    def queue_limit(self) -> int | None:
        return None

    @property
    def recovery_zone(self) -> str | None:
        where = self.standby or self.backup
        return None if where is None else where.zone

    def placed_zones(self) -> list[tuple[tuple, str]]:
        """``(field path, zone)`` of every zone this spec names (the scenario checks they are declared)."""
        out: list[tuple[tuple, str]] = [(("primary",), self.primary)]
        if self.standby is not None:
            out.append((("standby", "zone"), self.standby.zone))
        if self.backup is not None:
            out.append((("backup", "zone"), self.backup.zone))
        return out

    def fault_units(self) -> tuple[int, str]:
        return self.nodes, "nodes"

    @property
    def nodes(self) -> int:
        """The primary, plus the standby (or the restore target) when there is one."""
        return 1 if self.recovery_zone is None else 2

    def describe(self) -> str:
        if self.standby is not None:
            return f"standby in {self.standby.zone} ({self.standby.replication})"
        if self.backup is not None:
            return f"backups → {self.backup.zone}"
        return ""

    def instances(self, measured: Iterable[Mapping[str, Any]] = ()) -> float:
        """The primary and a standby; a backup's restore target runs only after a loss (not counted)."""
        return 1 + (self.standby is not None)


SPEC = RegionalDatabaseSpec
