"""The spec of ``kind: cache``: a key-value cache in front of an origin (pure data)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from ...caching.policies import POLICIES
from ...metrics.descriptors import Counter, Fact, Metric, Ratio
from ...scenario.distributions import Distribution
from ...scenario.kinds import ComponentBase, ImplicitCall, Problems
from ...scenario.model import ZERO
from ...scenario.types import Name, PositiveDuration

Policy = Literal[tuple(POLICIES)]  # type: ignore[valid-type]
"""A replacement policy's name: a key of :data:`simulator.caching.POLICIES`."""


class CacheSpec(ComponentBase):
    """A cache of ``capacity`` entries in front of an ``origin`` (Redis, memcached, Caffeine).

    Operations ``read`` and ``write`` look up the request's key. ``pattern``:

    * ``cache_aside`` — a read miss loads from ``origin.origin_read`` and fills the entry; a
      write goes to ``origin.origin_write`` and then deletes the entry (invalidation);
    * ``read_through`` — as cache-aside, but the cache does the load, so concurrent misses on
      one key share one load (``coalesce`` defaults to true);
    * ``write_through`` — a write goes to the origin, then updates the entry;
    * ``write_behind`` — a write updates the entry and is acknowledged at once; the origin
      write follows ``write_behind_delay`` later (writes to one key inside the delay are
      merged; those still pending when the cache crashes are lost).

    ``policy`` picks the victim when full (``tinylfu`` evicts a newcomer instead when it is
    less popular than the victim: an admission refusal); ``expire_after_write`` / ``expire_after_access`` are Caffeine's TTLs.
    A hit on an entry older than the origin's latest write is a stale read. The cache is
    a component with ``replicas`` × ``workers`` and ``work`` per look-up (Redis: one
    worker, exp(12us)); each worker has a CPU of its own (no ``vcpus``).
    """

    kind: Literal["cache"] = "cache"
    metrics: ClassVar[tuple[Metric, ...]] = (
        *(Counter(n) for n in ("hits", "misses", "stale_reads", "evictions", "expirations", "rejections",
                               "origin_loads", "coalesced", "writes", "origin_writes", "writes_merged",
                               "lost_writes")),
        Ratio("hit_ratio", "hits", ("hits", "misses"), headline=True),
        Ratio("stale_ratio", "stale_reads", ("hits",)),
        Fact("policy", in_words=True), Fact("pattern", in_words=True), Fact("capacity_entries"),
    )
    """Tallies per look-up and write; the hit ratio and the share of hits that were stale."""
    store = True  # drawn at the bottom of its tier
    origin: Name
    origin_read: Name = "read"
    origin_write: Name | None = "write"
    pattern: Literal["cache_aside", "read_through", "write_through", "write_behind"] = "cache_aside"
    policy: Policy = "lru"
    capacity: Annotated[int, Field(ge=1)]
    expire_after_write: PositiveDuration | None = None
    expire_after_access: PositiveDuration | None = None
    coalesce: bool | None = None
    write_behind_delay: PositiveDuration = 1.0
    replicas: Annotated[int, Field(ge=1)] = 1
    workers: Annotated[int, Field(ge=1)] = 1
    queue: Annotated[int, Field(ge=0)] | None = None
    work: Distribution = ZERO

    @property
    def queue_limit(self) -> int | None:
        return self.queue

    @property
    def coalescing(self) -> bool:
        return self.coalesce if self.coalesce is not None else self.pattern == "read_through"

    def writes_through_to(self, components) -> bool:
        """Whether the cache has a ``write`` operation: ``origin_write`` set explicitly, or the
        default ``write`` and the origin has such an operation (a read-only origin gets a read-only cache)."""
        if self.origin_write is None:
            return False
        if "origin_write" in self.model_fields_set:
            return True
        origin = components.get(self.origin)
        return origin is None or self.origin_write in origin.operation_names(components)

    def operation_names(self, components):
        return ["read", "write"] if self.writes_through_to(components) else ["read"]

    def implicit_calls(self, components):
        calls = [ImplicitCall(operation="read", target=self.origin, target_operation=self.origin_read,
                              field="origin_read")]
        if self.writes_through_to(components):
            calls.append(ImplicitCall(operation="write", target=self.origin, target_operation=self.origin_write,
                                      sync=self.pattern != "write_behind", field="origin_write"))
        return calls

    def check(self, name, components) -> Problems:
        """The origin exists, and has a write operation when the pattern writes to it."""
        if self.origin not in components:
            return [(("components", name, "origin"), f"origin {self.origin!r} does not exist "
                                                     f"(expected one of: {', '.join(components)})")]
        if self.pattern in ("write_through", "write_behind") and not self.writes_through_to(components):
            return [(("components", name, "origin_write"), f"a {self.pattern} cache writes to its origin: "
                     f"{self.origin!r} needs a write operation (name it with origin_write)")]
        return []

    def describe(self) -> str:
        return f"{self.policy} · {self.capacity:,} entries · {self.pattern.replace('_', '-')}"


SPEC = CacheSpec
