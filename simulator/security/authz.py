"""Authorization decisions: Istio's evaluation order over a target's policies (pure, golden G20.1).

:func:`verdict` is what can be decided before the run, for one caller principal and one
operation of a target: the CUSTOM policy that applies (its external authorizer decides at
run time), then DENY, then ALLOW, and whether an AUDIT policy matches. :func:`decide`
finishes it with the authorizer's answer. :func:`blast_radius` lists what a component's
principal can reach (the ``compromised`` fault reports it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .spec import Policy, Rule, Security

ALLOW, DENY = "allow", "deny"


def _principal_matches(entries: list[str], principal: str, security: Security) -> bool:
    if not principal:  # plaintext: no peer identity, nothing in `from` matches it
        return False
    for who in entries:
        if who == "*" or who == principal or ("/" not in who and security.principal(who) == principal):
            return True
    return False


def rule_matches(rule: Rule, principal: str, operation: str, security: Security) -> bool:
    """Whether *rule* matches a request from *principal* to *operation* (each field it has must match)."""
    if rule.from_ is not None and not _principal_matches(rule.from_, principal, security):
        return False
    if rule.operations is not None and "*" not in rule.operations and operation not in rule.operations:
        return False
    return True


def policy_matches(policy: Policy, principal: str, operation: str, security: Security) -> bool:
    """Whether *policy* matches: any rule does. Without rules, a CUSTOM policy matches every request and
    the others none (an ALLOW policy without rules allows nothing: Istio's allow-nothing policy)."""
    if policy.rules is None:
        return policy.action == "CUSTOM"
    return any(rule_matches(rule, principal, operation, security) for rule in policy.rules)


@dataclass(frozen=True)
class Verdict:
    """The decision for one (principal, operation) of a target, as far as it is known before the run.

    ``custom``: the CUSTOM policy whose authorizer must be asked first (``None``: none applies);
    ``allowed``: the decision of steps 2–5 (DENY, no ALLOW, ALLOW, else deny); ``audited``:
    an AUDIT policy matches (counted, never deciding)."""

    custom: Policy | None
    allowed: bool
    audited: bool


def verdict(security: Security, target: str, principal: str, operation: str) -> Verdict:
    """Istio's evaluation order for a request from *principal* to ``target.operation``."""
    policies = [p for p in security.policies if p.target == target]
    custom = next((p for p in policies if p.action == "CUSTOM" and policy_matches(p, principal, operation, security)),
                  None)
    audited = any(p.action == "AUDIT" and policy_matches(p, principal, operation, security) for p in policies)
    if any(p.action == "DENY" and policy_matches(p, principal, operation, security) for p in policies):
        allowed = False
    else:
        allows = [p for p in policies if p.action == "ALLOW"]
        allowed = not allows or any(policy_matches(p, principal, operation, security) for p in allows)
    return Verdict(custom, allowed, audited)


def decide(security: Security, target: str, principal: str, operation: str, custom_allows: bool = True) -> str:
    """The decision, ``"allow"`` or ``"deny"``, given the external authorizer's answer (*custom_allows*)."""
    v = verdict(security, target, principal, operation)
    if v.custom is not None and not custom_allows:
        return DENY
    return ALLOW if v.allowed else DENY


def blast_radius(scenario: Any, component: str) -> dict[str, list[str]]:
    """What *component*'s principal can reach if it is compromised: ``{"allowed": [...], "custom": [...],
    "denied": [...]}`` of ``target.operation`` for every other component, given the policies and mTLS.

    ``custom``: allowed by the static policies, left to an external authorizer at run time. A callee
    its connection cannot reach (golden G20.2: its plaintext to ``strict``, its mTLS to ``disable``)
    is denied. Without ``security:`` everything is allowed (no policy, no mTLS)."""
    from .mtls import connects

    security: Security | None = getattr(scenario, "security", None)
    comps = scenario.components
    out: dict[str, list[str]] = {"allowed": [], "custom": [], "denied": []}
    for name, spec in comps.items():
        if name == component:
            continue
        for op in spec.operation_names(comps):
            where = f"{name}.{op}"
            if security is None:
                out["allowed"].append(where)
                continue
            mtls, ok = connects(security.mode(component), security.mode(name))
            principal = security.principal(component) if mtls else ""
            v = verdict(security, name, principal, op)
            if not ok or not v.allowed:
                out["denied"].append(where)
            else:
                out["custom" if v.custom is not None else "allowed"].append(where)
    return out
