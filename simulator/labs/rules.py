"""Structural rules a lab can require of a design.

A rule is a small function ``rule(scenario, value) -> list[str]`` returning what is wrong
(empty when the design complies), registered by name in :data:`RULES`. The cost model
(:func:`hourly_cost`, :func:`instances`, :func:`unit_price`) lives in :mod:`simulator.cost`.
"""

from __future__ import annotations

from typing import Any, Callable

from ..cost import hourly_cost, instances, unit_price  # noqa: F401  (the labs price designs)
from ..scenario.model import Scenario
from ..scenario.topology import call_graph, edges

Rule = Callable[[Scenario, Any], list[str]]
RULES: dict[str, Rule] = {}
STORE_KINDS = ("database",)


def rule(name: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        RULES[name] = fn
        return fn

    return register


@rule("no_shared_database")
def no_shared_database(scenario: Scenario, _value: Any) -> list[str]:
    """Each database is called by at most one service (database-per-service)."""
    graph = call_graph(scenario)
    problems = []
    for name, spec in scenario.components.items():
        if spec.kind in STORE_KINDS:
            callers = sorted(p for p in graph.predecessors(name) if graph.nodes[p].get("role") == "component")
            if len(callers) > 1:
                problems.append(f"database {name!r} is shared by {', '.join(callers)}")
    return problems


@rule("max_instances")
def max_instances(scenario: Scenario, value: Any) -> list[str]:
    """At most *value* running instances in total (autoscaled services at their maximum)."""
    total = sum(instances(scenario).values())
    return [f"{total:g} instances in total, at most {value} allowed"] if total > int(value) else []


@rule("required_components")
def required_components(scenario: Scenario, value: Any) -> list[str]:
    """Components with these names must exist (the lab's workload and faults refer to them)."""
    return [f"no component named {name!r}" for name in value if name not in scenario.components]


@rule("min_components")
def min_components(scenario: Scenario, value: Any) -> list[str]:
    """At least *value* components (a decomposition, not a monolith)."""
    n = len(scenario.components)
    return [f"{n} components, at least {value} expected"] if n < int(value) else []


def reached_by(scenario: Scenario, entry: str, operation: str) -> set[str]:
    """Components an ``entry.operation`` request visits (any branch, sync or async)."""
    calls: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for e in edges(scenario):
        calls.setdefault((e.caller, e.operation), []).append((e.target, e.target_op))
    seen, todo = {(entry, operation)}, [(entry, operation)]
    while todo:
        for nxt in calls.get(todo.pop(), []):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return {component for component, _ in seen}


@rule("operations_served_by")
def operations_served_by(scenario: Scenario, value: Any) -> list[str]:
    """``{operation: component or [components]}``: each entry operation must reach them, on some path,
    synchronously or not (proper boundaries)."""
    problems = []
    for op, wanted in value.items():
        entries = [w.entry for w in scenario.workload if op in w.operations()]
        if not entries:
            problems.append(f"no workload sends {op!r}")
            continue
        reached = set().union(*(reached_by(scenario, entry, op) for entry in entries))
        for component in [wanted] if isinstance(wanted, str) else wanted:
            if component not in reached:
                problems.append(f"{op!r} is not served by {component!r}")
    return problems


# ----------------------------------------------------------------------------- Lab 2: load balancing


def _fronted(value: Any) -> dict[str, int]:
    """``balanced``'s value as ``{component: minimum replicas}`` (a bare name or list means 2)."""
    if isinstance(value, dict):
        return {str(name): int(n) for name, n in value.items()}
    names = [value] if isinstance(value, str) else list(value or [])
    return {str(name): 2 for name in names}


@rule("balanced")
def balanced(scenario: Scenario, value: Any) -> list[str]:
    """``{component: n}``: *component* runs at least *n* replicas, all of its traffic through a load balancer.

    Every caller of the component (a step, a cache's ``origin``, a workload's ``entry``)
    must be a ``load_balancer`` whose ``backend`` it is; a direct call bypasses the
    balancer's policy and health checks. An autoscaled component counts its
    ``min_replicas``. A bare name (or a list of names) means at least 2 replicas.
    """
    problems = []
    components = scenario.components
    for name, least in _fronted(value).items():
        spec = components.get(name)
        if spec is None:
            problems.append(f"no component named {name!r}")
            continue
        fronts = sorted(n for n, s in components.items()
                        if s.kind == "load_balancer" and getattr(s, "backend", None) == name)
        if not fronts:
            problems.append(f"{name!r} is not behind a load balancer (no load_balancer has `backend: {name}`)")
        for w in scenario.workload:
            if w.entry == name:
                problems.append(f"the clients ({w.name}) call {name!r} directly, not through a load balancer")
        direct = sorted({(e.caller, e.operation) for e in edges(scenario)
                         if e.target == name and components[e.caller].kind != "load_balancer"})
        for caller, op in direct:
            problems.append(f"{caller}.{op} calls {name!r} directly, bypassing the load balancer")
        autoscaling = getattr(spec, "autoscaling", None)
        replicas = autoscaling.min_replicas if autoscaling is not None else getattr(spec, "replicas", 1)
        if replicas < least:
            problems.append(f"{name!r} runs {replicas} replica(s), at least {least} expected behind the load balancer")
    return problems


@rule("max_cache_ttl")
def max_cache_ttl(scenario: Scenario, value: Any) -> list[str]:
    """Every ``cache`` bounds staleness: ``expire_after_write`` at most *value* (a duration, e.g. ``60s``).

    ``expire_after_access`` alone does not bound it (a popular entry is never reloaded).
    A design without a cache complies (it serves nothing stale).
    """
    from ..units import parse_duration

    limit = parse_duration(value)
    problems = []
    for name, spec in scenario.components.items():
        if spec.kind != "cache":
            continue
        ttl = getattr(spec, "expire_after_write", None)
        if ttl is None:
            problems.append(f"cache {name!r} has no expire_after_write: its entries may be arbitrarily old "
                            f"(at most {limit:g} s allowed)")
        elif ttl > limit:
            problems.append(f"cache {name!r} keeps entries {ttl:g} s (expire_after_write), at most {limit:g} s allowed")
    return problems


# ----------------------------------------------------------------------------- every path


def reached_on_every_path(scenario: Scenario, entry: str, operation: str) -> set[str]:
    """Components an ``entry.operation`` request visits whatever its branches choose.

    Every step of a sequence runs, every arm of a ``parallel`` runs, a ``publish`` still
    does its work, and a ``branch`` reaches only what all of its options reach (an option
    that skips a component means some requests never visit it). Fallbacks are left out:
    they run only when a call fails. A kind's own calls (a balancer to its backend, a
    cache to its origin on a miss) count as made: a cached answer came from the origin.
    """
    components = scenario.components
    memo: dict[tuple[str, str], set[str]] = {}

    def of_operation(name: str, op: str) -> set[str]:
        key = (name, op)
        if key in memo:
            return memo[key]
        memo[key] = {name}  # a cycle reaches nothing more than itself
        spec = components.get(name)
        found = {name}
        if spec is not None:
            operation_spec = getattr(spec, "operations", {}).get(op)
            for step in getattr(operation_spec, "steps", []) or []:
                found |= of_step(step)
            for call in spec.implicit_calls(components):
                if call.operation == op:
                    found |= of_operation(call.target, call.target_operation)
        memo[key] = found
        return found

    def of_step(step: Any) -> set[str]:
        target = getattr(step, "call", None) or getattr(step, "publish", None)
        if target is not None:
            name, _, op = target.partition(".")
            return of_operation(name, op)
        if hasattr(step, "parallel"):
            return set().union(*(of_step(s) for s in step.parallel))
        if hasattr(step, "branch"):
            arms = [set().union(*(of_step(s) for s in option.steps)) for option in step.branch]
            return set.intersection(*arms) if arms else set()
        return set()

    return of_operation(entry, operation)


@rule("served_on_every_path")
def served_on_every_path(scenario: Scenario, value: Any) -> list[str]:
    """``{operation: component or [components]}``: every request of that entry operation visits them.

    Stricter than ``operations_served_by``: a branch that skips the owner (answering from
    nowhere) breaks it. Fallbacks do not count against it (they run only on failure).
    """
    problems = []
    for op, wanted in value.items():
        wanted = [wanted] if isinstance(wanted, str) else list(wanted)
        entries = sorted({w.entry for w in scenario.workload if op in w.operations()})
        if not entries:
            problems.append(f"no workload sends {op!r}")
            continue
        for entry in entries:
            reached = reached_on_every_path(scenario, entry, op)
            missing = [c for c in wanted if c not in reached]
            if missing:
                problems.append(f"not every {op!r} request reaches {', '.join(map(repr, missing))} "
                                f"(from {entry!r}; a branch or a shortcut skips it)")
    return problems


# ----------------------------------------------------------------------------- Lab 3: event-driven


@rule("consumes")
def consumes(scenario: Scenario, value: Any) -> list[str]:
    """``{component.operation: broker.topic}``: a consumer group of that topic delivers to that operation
    (the work happens from the events, asynchronously, not in a call on the request's path)."""
    problems = []
    for consumer, source in value.items():
        broker, _, topic = source.partition(".")
        spec = scenario.components.get(broker)
        topics = getattr(spec, "topics", None)
        if spec is None or topics is None or topic not in topics:
            problems.append(f"there is no broker topic {source!r} (a broker {broker!r} with a topic {topic!r})")
            continue
        if not any(group.consumer == consumer for group in topics[topic].groups.values()):
            problems.append(f"no consumer group of {source} delivers to {consumer!r}: add one "
                            f"(groups: {{<name>: {{consumer: {consumer}}}}})")
    return problems


@rule("mtls_strict")
def mtls_strict(scenario: Scenario, value: Any) -> list[str]:
    """Every component refuses plaintext (mTLS mode ``strict``), except those in *value* (the edge, which
    takes the clients' plaintext), which may be ``permissive`` but not ``disable``."""
    security = getattr(scenario, "security", None)
    if security is None:
        return ["no `security:` section: every hop is plaintext (add security.mtls.mode: strict)"]
    edge = set(value or ())
    problems = []
    for name in scenario.components:
        mode = security.mode(name)
        if mode == "strict" or (name in edge and mode == "permissive"):
            continue
        allowed = "strict or permissive" if name in edge else "strict"
        problems.append(f"{name!r} has mTLS mode {mode} (expected {allowed})")
    return problems


@rule("least_privilege")
def least_privilege(scenario: Scenario, _value: Any) -> list[str]:
    """Each component's identity may call only what its own operations call: its blast radius
    (:func:`simulator.security.authz.blast_radius`, the allowed and the custom-authorized operations)
    is within its calls in the design."""
    from ..security.authz import blast_radius

    if getattr(scenario, "security", None) is None:
        return ["no `security:` section: every component may call every operation (add authorization policies)"]
    needed: dict[str, set[str]] = {name: set() for name in scenario.components}
    for e in edges(scenario):
        if e.target not in scenario.components:
            continue
        ops = [e.target_op] if e.target_op else scenario.components[e.target].operation_names(scenario.components)
        needed[e.caller].update(f"{e.target}.{op}" for op in ops)
    problems = []
    for name in scenario.components:
        radius = blast_radius(scenario, name)
        extra = sorted((set(radius["allowed"]) | set(radius["custom"])) - needed[name])
        if extra:
            shown = ", ".join(extra[:6]) + (f" and {len(extra) - 6} more" if len(extra) > 6 else "")
            problems.append(f"{name!r} may call {len(extra)} operation(s) it never calls: {shown}")
    return problems
