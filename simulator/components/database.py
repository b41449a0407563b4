"""``kind: database`` — a database behind a connection pool.

A service with one replica whose workers are the pool's ``connections``. Operations are
reads or writes (counted separately in the spans' labels). A request that waits longer
than ``pool_timeout`` for a connection fails, as with HikariCP's ``connectionTimeout``;
``queue`` bounds how many may wait at all. Read replicas, failover and sharding build on
this later.
"""

from __future__ import annotations

from .base import register
from .service import Service


@register
class Database(Service):
    kind = "database"

    def replica_count(self) -> int:
        return 1

    def worker_count(self) -> int:
        return self.spec.connections

    def wait_limit(self) -> float | None:
        return self.spec.pool_timeout

    def operation_labels(self) -> dict[str, str]:
        return {name: self.spec.op_type(name) for name in self.spec.operations}
