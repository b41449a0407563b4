"""The spec of ``kind: load_balancer``: a balancer spreading a service's traffic over its replicas (pure data)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Mapping

from pydantic import Field

from ...balancing.hashing import MAX_RING_POINTS, is_prime
from ...balancing.policies import POLICIES
from ...metrics.descriptors import Counter, Metric, Share
from ...scenario.distributions import Distribution
from ...scenario.kinds import ComponentBase, ImplicitCall, Problems
from ...scenario.source import Path
from ...scenario.model import ZERO
from ...scenario.types import Name, PositiveDuration, Probability, Strict
from ..service.spec import ServiceSpec

Policy = Literal[tuple(POLICIES)]  # type: ignore[valid-type]
"""A balancing policy's name: a key of :data:`simulator.balancing.POLICIES`."""


class HealthCheck(Strict):
    """Active health checking (Envoy names): probe every host each ``interval``.

    A probe fails when the host is down or does not answer within ``timeout``; after
    ``unhealthy_threshold`` consecutive failures the host gets no traffic, after
    ``healthy_threshold`` consecutive successes it gets traffic again.
    """

    interval: PositiveDuration = 5.0
    timeout: PositiveDuration = 1.0
    unhealthy_threshold: Annotated[int, Field(ge=1)] = 3
    healthy_threshold: Annotated[int, Field(ge=1)] = 2


class OutlierDetection(Strict):
    """Passive health (Envoy ``outlier_detection``): eject a host after ``consecutive_errors`` failed answers.

    An ejected host gets no traffic for ``base_ejection_time`` × the number of times it has
    been ejected; at most ``max_ejection_percent`` of the hosts are ejected at once (but at
    least one may be). ``failures: any`` counts every error or rejection (Envoy's
    ``consecutive_5xx``); ``gateway`` only refused connections and 503s
    (``consecutive_gateway_failure``), so application errors do not eject a host.
    """

    consecutive_errors: Annotated[int, Field(ge=1)] = 5
    failures: Literal["any", "gateway"] = "any"
    base_ejection_time: PositiveDuration = 30.0
    max_ejection_percent: Annotated[float, Field(ge=0, le=100)] = 10.0


class LoadBalancerSpec(ComponentBase):
    """A load balancer in front of the replicas of ``backend`` (nginx, Envoy, an ALB).

    It forwards every operation of its backend: ``lb.op`` reaches ``backend.op`` on the
    replica ``policy`` picks (Envoy names: ``round_robin`` is nginx's smooth weighted round
    robin with ``weights`` per replica; ``least_request`` is power of ``choice_count``
    choices; ``least_connections`` scans every host; ``ring_hash`` and ``maglev`` hash the
    request's key). It is itself a component with ``replicas`` × ``workers``, ``work`` per
    request (its own latency; each worker is an event loop with a CPU of its own, as nginx's
    ``worker_processes auto``, so there is no ``vcpus``) and a ``queue``, so it can be the bottleneck; at most
    ``max_connections`` requests may be outstanding upstream (more are rejected, a 503).
    ``retries`` tries another host after a refused connection or a 503 (nginx's
    ``proxy_next_upstream``), at most that many times per request.

    Without ``health_check`` or ``outlier_detection`` it keeps sending to a crashed
    replica, and those requests fail. When fewer than ``panic_threshold`` of the hosts are
    healthy it ignores health and balances over all of them (Envoy's panic mode).
    """

    kind: Literal["load_balancer"] = "load_balancer"
    metrics: ClassVar[tuple[Metric, ...]] = (
        Counter("panic"), Counter("no_healthy_upstream"),
        Counter("over_max_connections", when=lambda spec, _: spec.max_connections),
        Counter("retries", when=lambda spec, _: spec.retries),
        Counter("ejections", when=lambda spec, _: spec.outlier_detection is not None),
        *(Counter(n, when=lambda spec, _: spec.health_check is not None)
          for n in ("marked_unhealthy", "marked_healthy")),
        Share("sent", over="replica"),
    )
    """Routing events (panic mode, refusals, retries, ejections, health flips: each with the setting that
    makes it happen) and the per-replica split."""
    backend: Name
    policy: Policy = "round_robin"
    weights: Annotated[list[Annotated[float, Field(gt=0)]], Field(min_length=1)] | None = None
    choice_count: Annotated[int, Field(ge=1, le=100)] = 2
    active_request_bias: Annotated[float, Field(ge=0)] = 1.0
    virtual_nodes: Annotated[int, Field(ge=1, le=10_000)] = 100  # ring points per member: memory
    table_size: Annotated[int, Field(ge=2, le=10_000_000)] = 65537  # a row per backend: memory
    health_check: HealthCheck | None = None
    outlier_detection: OutlierDetection | None = None
    panic_threshold: Probability = 0.5
    replicas: Annotated[int, Field(ge=1)] = 1
    workers: Annotated[int, Field(ge=1)] = 1
    queue: Annotated[int, Field(ge=0)] | None = None
    work: Distribution = ZERO
    max_connections: Annotated[int, Field(ge=1)] | None = None
    retries: Annotated[int, Field(ge=0)] = 0

    @property
    def queue_limit(self) -> int | None:
        return self.queue

    def operation_names(self, components):
        backend = components.get(self.backend)
        return [] if backend is None or backend is self else backend.operation_names(components)

    def timers(self, components: Mapping[str, ComponentBase]) -> list[tuple[Path, float, float]]:
        if self.health_check is None:
            return []
        backend = components.get(self.backend)
        hosts = backend.fault_units()[0] if backend is not None and backend is not self else 1
        return [(("health_check", "interval"), self.health_check.interval, hosts)]

    def implicit_calls(self, components):
        return [ImplicitCall(operation=op, target=self.backend, target_operation=op, field="backend")
                for op in self.operation_names(components)]

    def check(self, name, components) -> Problems:
        """The backend exists and is a service (with one weight per replica); a Maglev table size is prime."""
        problems: Problems = []
        backend = components.get(self.backend)
        if backend is None:
            problems.append((("components", name, "backend"), f"backend {self.backend!r} does not exist "
                                                               f"(expected one of: {', '.join(components)})"))
        elif not isinstance(backend, ServiceSpec):
            problems.append((("components", name, "backend"), f"backend {self.backend!r} is a {backend.kind} "
                             "(expected a service, whose replicas the balancer spreads load over)"))
        elif self.policy == "ring_hash" and backend.replicas * self.virtual_nodes > MAX_RING_POINTS:
            problems.append((("components", name, "virtual_nodes"),
                             f"{backend.replicas:,} replicas of {self.backend!r} × {self.virtual_nodes:,} virtual_nodes "
                             f"is a ring of {backend.replicas * self.virtual_nodes:,} points, more than the "
                             f"{MAX_RING_POINTS:,} allowed: use fewer virtual_nodes"))
        elif self.weights is not None and len(self.weights) != backend.replicas:
            problems.append((("components", name, "weights"), f"{len(self.weights)} weights for "
                                                               f"{backend.replicas} replicas of {self.backend!r}"))
        if self.policy == "maglev" and not is_prime(self.table_size):
            problems.append((("components", name, "table_size"),
                             f"table_size {self.table_size} is not prime (Maglev needs a prime, e.g. 65537)"))
        return problems

    def describe(self) -> str:
        checks = [w for w, on in (("health checks", self.health_check), ("ejection", self.outlier_detection)) if on]
        return " · ".join([self.policy, *checks])


SPEC = LoadBalancerSpec
