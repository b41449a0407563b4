"""The spec of ``kind: gateway``: an API gateway with routes, authentication and rate limits (pure data)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Union

from pydantic import Field, model_validator

from ...metrics.descriptors import Counter, Fact, Metric, Ratio
from ...scenario.distributions import Distribution
from ...scenario.kinds import ComponentBase, ImplicitCall, Problems
from ...scenario.model import ZERO
from ...scenario.types import Duration, Name, PositiveDuration, Rate, Strict, tagged_union
from ...steps.base import Target

# -- rate limits (golden §2.1: the knob names of Envoy, nginx, redis-cell and resilience4j) -----------


class LimitBase(Strict):
    """What every limit has: whose requests share a counter, and where the counter lives.

    ``key``: ``client`` — one counter per client, a client being a workload's request key
    (the workload's ``keys:``; a workload without keys is one client); ``workload`` — one
    per workload; ``global`` — one for all. ``scope``: ``local`` — each gateway replica
    keeps its own counters (Envoy's local rate limit: no extra hop, but ``replicas``
    gateways admit up to ``replicas`` × the limit); ``shared`` — one counter for all
    replicas kept in ``store`` (``component.operation``, e.g. a Redis cache's ``incr``),
    called once per decision, its latency paid (Envoy's global rate limit service). A
    failed store call lets the request through (Envoy's ``failure_mode_deny: false``).
    """

    key: Literal["client", "workload", "global"] = "global"
    scope: Literal["local", "shared"] = "local"
    store: Target | None = None

    @model_validator(mode="after")
    def _scope(self):
        if self.scope == "shared" and self.store is None:
            raise ValueError("a shared limit keeps its counter in a store: give store (component.operation)")
        if self.scope == "local" and self.store is not None:
            raise ValueError("a local limit keeps its counter on each gateway replica: drop store, or set scope: shared")
        return self


def _positive_rate(limit):
    if limit.rate <= 0:
        raise ValueError(f"rate must be positive (got {limit.rate:g}/s)")
    return limit


class TokenBucketLimit(LimitBase):
    """A token bucket of ``burst`` tokens (Envoy's ``max_tokens``), starting full, refilled at ``rate``.

    Without ``fill_interval`` the refill is continuous; with it, ``rate`` × ``fill_interval``
    tokens arrive at once every ``fill_interval`` (Envoy's ``tokens_per_fill``: discrete).
    """

    algorithm: Literal["token_bucket"] = "token_bucket"
    rate: Rate
    burst: Annotated[int, Field(ge=1)]
    fill_interval: PositiveDuration | None = None

    _rate = model_validator(mode="after")(_positive_rate)


class GcraLimit(LimitBase):
    """redis-cell's GCRA: ``rate`` with bursts of ``burst`` beyond it (``max_burst``; the limit is ``burst`` + 1)."""

    algorithm: Literal["gcra"] = "gcra"
    rate: Rate
    burst: Annotated[int, Field(ge=0)] = 0

    _rate = model_validator(mode="after")(_positive_rate)


class NginxLimit(LimitBase):
    """nginx ``limit_req``: ``rate``, ``burst`` excess requests queued and released at the rate.

    ``nodelay`` forwards the burst at once; ``delay`` forwards the first ``delay`` excess
    requests at once and spaces the rest. Beyond the burst: refused (nginx's 503).
    """

    algorithm: Literal["nginx"] = "nginx"
    rate: Rate
    burst: Annotated[int, Field(ge=0)] = 0
    delay: Annotated[int, Field(ge=0)] = 0
    nodelay: bool = False

    @model_validator(mode="after")
    def _delay(self):
        _positive_rate(self)
        if self.nodelay and self.delay:
            raise ValueError("give delay or nodelay, not both (nodelay is delay = burst)")
        if self.delay > self.burst:
            raise ValueError(f"delay ({self.delay}) must not exceed burst ({self.burst})")
        return self


class FixedWindowLimit(LimitBase):
    """resilience4j's ``RateLimiter``: ``limit_for_period`` permits per cycle of ``limit_refresh_period``.

    A caller finding none waits for a later cycle up to ``timeout_duration`` (resilience4j's
    default is 5 s; a gateway's is 0: a 429 at once).
    """

    algorithm: Literal["fixed_window"] = "fixed_window"
    limit_for_period: Annotated[int, Field(ge=1)]
    limit_refresh_period: PositiveDuration
    timeout_duration: Duration = 0.0


class SlidingWindowLimit(LimitBase):
    """The sliding-window counter: at most ``limit`` requests in any ``window`` (estimated from two windows)."""

    algorithm: Literal["sliding_window"] = "sliding_window"
    limit: Annotated[int, Field(ge=1)]
    window: PositiveDuration


LIMITS = {"token_bucket": TokenBucketLimit, "gcra": GcraLimit, "nginx": NginxLimit,
          "fixed_window": FixedWindowLimit, "sliding_window": SlidingWindowLimit}
"""``algorithm:`` → its limit model (the algorithms: :mod:`simulator.ratelimit`)."""

Limit = tagged_union(LIMITS, "algorithm", "rate-limit algorithm")

# -- authentication (golden §2.3) ----------------------------------------------------------------------


class JwtAuth(Strict):
    """Local JWT verification (signature, ``exp``, ``aud``): ``work`` of CPU per request, no network hop."""

    kind: Literal["jwt"] = "jwt"
    work: Distribution


class IntrospectionAuth(Strict):
    """Opaque-token introspection (RFC 7662): a ``call`` to the auth service per request.

    With ``cache_ttl`` a client's positive answer is cached for that long after the call
    (expire after write), so a client sending λ requests per second hits the cache with
    probability λT/(1+λT) (golden §2.3, golden G6.2). A failed introspection fails the request.
    """

    kind: Literal["introspection"] = "introspection"
    call: Target
    cache_ttl: PositiveDuration | None = None


Auth = Annotated[Union[JwtAuth, IntrospectionAuth], Field(discriminator="kind")]

# -- the gateway ---------------------------------------------------------------------------------------


class Route(Strict):
    """Where an operation goes (``component.operation``) and the limits (names under ``limits``) it passes."""

    to: Target
    limit: Name | list[Name] = []

    @property
    def limit_names(self) -> list[str]:
        return [self.limit] if isinstance(self.limit, str) else list(self.limit)


def _has_introspection(spec, _) -> bool:
    return isinstance(spec.auth, IntrospectionAuth)


class GatewaySpec(ComponentBase):
    """An API gateway (Envoy, Kong, nginx) in front of services: it routes, authenticates and limits.

    Each key of ``routes`` is an operation callers name; its ``to`` is the
    ``component.operation`` the gateway forwards it to, and its ``limit`` the names of the
    ``limits`` it must pass, after those every route passes (``limit`` at the top). A
    limited request is refused, REJECTED (HTTP 429, counted ``throttled``, apart from
    failures), or for nginx with ``burst`` and no ``nodelay`` delayed (queued) to the rate.
    ``auth`` verifies the caller first: ``jwt`` costs CPU on the gateway worker;
    ``introspection`` calls an auth service, with a decision cache when ``cache_ttl`` is set.

    The gateway itself is ``replicas`` × ``workers`` doing ``work`` per request (an event
    loop: the worker is freed while the request waits on a limit or upstream) behind a
    ``queue``.
    """

    kind: Literal["gateway"] = "gateway"
    metrics: ClassVar[tuple[Metric, ...]] = (
        Counter("throttled"),
        Counter("delayed", when=lambda spec, _: spec.may_delay),
        Ratio("throttled_ratio", "throttled", ("admitted", "throttled")),
        Counter("admitted"),
        Counter("limit_store_calls", when=lambda spec, _: any(l.scope == "shared" for l in spec.limits.values())),
        Counter("limit_store_errors", when=lambda spec, _: any(l.scope == "shared" for l in spec.limits.values())),
        *(Counter(n, when=_has_introspection) for n in ("auth_cache_hits", "auth_cache_misses", "auth_failures")),
        Ratio("auth_cache_hit_ratio", "auth_cache_hits", ("auth_cache_hits", "auth_cache_misses"),
              when=_has_introspection),
        Fact("auth", in_words=True),
    )
    """Requests admitted and throttled by the limits (and delayed to the rate); the shared
    limits' store calls; the introspection cache's hits and misses."""
    replicas: Annotated[int, Field(ge=1)] = 1
    workers: Annotated[int, Field(ge=1)] = 1
    queue: Annotated[int, Field(ge=0)] | None = None
    work: Distribution = ZERO
    routes: Annotated[dict[Name, Route], Field(min_length=1)]
    auth: Auth | None = None
    limits: dict[Name, Limit] = {}
    limit: Name | list[Name] = []

    @property
    def queue_limit(self) -> int | None:
        return self.queue

    @property
    def may_delay(self) -> bool:
        """Whether a limit may delay a request rather than refuse it (nginx's queued burst, resilience4j's wait)."""
        return any(isinstance(limit, NginxLimit) and limit.burst > limit.delay and not limit.nodelay
                   or isinstance(limit, FixedWindowLimit) and limit.timeout_duration > 0
                   for limit in self.limits.values())

    @property
    def global_limit_names(self) -> list[str]:
        return [self.limit] if isinstance(self.limit, str) else list(self.limit)

    def limits_of(self, operation: str) -> list[str]:
        """The names of the limits *operation* passes, in order: the gateway's, then its route's."""
        return [*self.global_limit_names, *self.routes[operation].limit_names]

    def operation_names(self, components):
        return list(self.routes)

    def implicit_calls(self, components):
        calls = []
        for op, route in self.routes.items():
            target, _, target_op = route.to.partition(".")
            calls.append(ImplicitCall(operation=op, target=target, target_operation=target_op, field="routes"))
            if isinstance(self.auth, IntrospectionAuth):
                target, _, target_op = self.auth.call.partition(".")
                calls.append(ImplicitCall(operation=op, target=target, target_operation=target_op, field="auth"))
            for name in self.limits_of(op):
                limit = self.limits.get(name)
                if limit is not None and limit.store is not None:
                    target, _, target_op = limit.store.partition(".")
                    calls.append(ImplicitCall(operation=op, target=target, target_operation=target_op, field="limits"))
        return calls

    def check(self, name, components) -> Problems:
        """Every limit a route or the gateway names exists; no route leads back to the gateway."""
        problems: Problems = []
        known = ", ".join(self.limits) or "none: define them under limits"
        for i, limit in enumerate(self.global_limit_names):
            if limit not in self.limits:
                path = ("components", name, "limit") + ((i,) if isinstance(self.limit, list) else ())
                problems.append((path, f"limit {limit!r} is not defined (expected one of: {known})"))
        for op, route in self.routes.items():
            for i, limit in enumerate(route.limit_names):
                if limit not in self.limits:
                    path = ("components", name, "routes", op, "limit") + ((i,) if isinstance(route.limit, list) else ())
                    problems.append((path, f"limit {limit!r} is not defined (expected one of: {known})"))
            if route.to.partition(".")[0] == name:
                problems.append((("components", name, "routes", op, "to"),
                                 f"route {op!r} leads back to the gateway itself (expected another component)"))
        return problems

    def describe(self) -> str:
        parts = [f"{len(self.routes)} routes"]
        if self.auth is not None:
            parts.append(self.auth.kind)
        parts += [f"{n}: {l.algorithm}" for n, l in self.limits.items()]
        return " · ".join(parts)


SPEC = GatewaySpec
