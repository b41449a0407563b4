"""``security:`` — zero trust per hop: workload identities, mTLS modes, authorization policies (pure data).

::

    security:
      mtls: {mode: strict, tls: "1.3", requests_per_connection: 100}   # the mesh default
      components:
        gateway: {mtls: permissive}            # takes plaintext from outside
        trading: {identity: cluster.local/ns/markets/sa/trading}
      policies:
        - {target: character, action: ALLOW, rules: [{from: [trading], operations: [get]}]}
        - {target: admin, action: DENY, rules: [{from: [trading]}]}
        - {target: user-db, action: CUSTOM, provider: authz.check, cache_ttl: 30s}

Istio's semantics (golden G20.1, golden G20.2, golden G20.3), adopted as they are:

* **Identity.** Each component has a workload identity, a SPIFFE-style principal (default
  ``cluster.local/ns/default/sa/<component>``). A request carries its caller's principal
  only over mTLS; over plaintext (a caller whose mode is ``disable``, or a workload's
  request from outside the mesh) it has none (``""``), which no ``from`` entry matches.
* **PeerAuthentication** ``mtls.mode``: ``unset`` (inherit the mesh default), ``disable``
  (plaintext in and out), ``permissive`` (accepts both; Istio's default), ``strict``
  (mTLS only). A caller sends mTLS unless its own mode is ``disable``; a workload sends
  plaintext. Plaintext to ``strict`` is refused, mTLS to ``disable`` fails its handshake,
  and a handshake with an expired certificate (fault ``cert_expired``) fails: each is an
  ``ERROR`` for the caller (golden G20.2).
* **Connections.** A new connection costs 1 RTT (TCP) plus, over mTLS, 1 RTT (TLS 1.3) or
  2 RTT (TLS 1.2) and ``handshake_cpu``; the RTT is the hop's two one-way link delays.
  One pooled connection per (caller, callee) carries ``requests_per_connection`` requests
  (Envoy's ``max_requests_per_connection``; unset: unlimited) before the next handshake.
  Concurrency does not open more connections (a model convention). Without ``security:``
  no connection is modelled (an ideal warm pool), and nothing of this runs.
* **AuthorizationPolicy** on a ``target`` (deny by default once it has an ALLOW policy):
  CUSTOM deny → deny; any DENY matches → deny; no ALLOW policy → allow; an ALLOW matches
  → allow; else deny. AUDIT never changes the decision (it is counted). A denied request is
  ``REJECTED`` (HTTP 403) at the callee's sidecar, before its queue. A policy matches when
  any of its ``rules`` matches (no ``rules``: ALLOW/DENY/AUDIT match nothing, as in Istio,
  where an empty ALLOW policy denies everything; CUSTOM matches every request); a rule
  matches when each field it has matches (``from``: component names, principals, or
  ``"*"`` for any authenticated caller; ``operations``: names or ``"*"``).
* **CUSTOM** (Envoy ``ext_authz``): one extra call per request to ``provider``
  (``component.operation``) from the callee's sidecar; its ``OK`` allows, anything else
  denies (``failure_mode_allow: true`` allows when the check fails). Decisions are cached
  per (principal, operation) for ``cache_ttl`` (0: no cache).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Mapping

from pydantic import Field

from ..scenario.types import Duration, Name, Strict

MODES = ("unset", "disable", "permissive", "strict")
Mode = Literal["unset", "disable", "permissive", "strict"]
TRUST_DOMAIN = "cluster.local"


def default_principal(component: str) -> str:
    """The principal of *component* without an ``identity``: ``cluster.local/ns/default/sa/<component>``."""
    return f"{TRUST_DOMAIN}/ns/default/sa/{component}"


class Mtls(Strict):
    """The mesh-wide PeerAuthentication and how connections are made."""

    mode: Mode = Field("permissive", description="the mesh default mtls mode (Istio's default: permissive)")
    tls: Literal["1.2", "1.3"] = Field("1.3", description="TLS version: a full handshake is 1 RTT (1.3) or 2 RTT (1.2)")
    requests_per_connection: Annotated[int, Field(ge=1)] | None = Field(
        None, description="requests a pooled connection carries before a new handshake (Envoy's "
                          "max_requests_per_connection; unset: unlimited)")
    handshake_cpu: Duration = Field(0.0, description="extra time per mTLS handshake (key exchange and signatures)")


class Peer(Strict):
    """One component's identity and PeerAuthentication override."""

    identity: str | None = Field(None, description="its workload principal (default cluster.local/ns/default/sa/<name>)")
    mtls: Mode = Field("unset", description="its mtls mode; unset inherits the mesh default")


class Rule(Strict):
    """Matches a request when each field it has matches."""

    from_: list[str] | None = Field(None, alias="from", description="callers: component names, principals, or "
                                                                    "'*' (any authenticated caller)")
    operations: list[str] | None = Field(None, description="operations of the target ('*': any)")


class Policy(Strict):
    """An AuthorizationPolicy on component ``target``."""

    target: Name
    action: Literal["ALLOW", "DENY", "CUSTOM", "AUDIT"]
    rules: list[Rule] | None = Field(None, description="matches if any rule matches; none: ALLOW/DENY/AUDIT match "
                                                       "nothing, CUSTOM matches every request")
    provider: str | None = Field(None, description="CUSTOM: the external authorizer, component.operation")
    cache_ttl: Duration = Field(0.0, description="CUSTOM: how long a decision is cached per (principal, operation)")
    failure_mode_allow: bool = Field(False, description="CUSTOM: allow when the authorizer's call fails")


class Security(Strict):
    """The ``security:`` section (see the module docstring)."""

    mtls: Mtls = Mtls()
    components: dict[Name, Peer] = {}
    policies: list[Policy] = []

    def mode(self, component: str) -> str:
        """The effective mtls mode of *component* (``unset`` resolved to the mesh default)."""
        peer = self.components.get(component)
        mode = peer.mtls if peer is not None else "unset"
        return self.mtls.mode if mode == "unset" else mode

    def principal(self, component: str) -> str:
        peer = self.components.get(component)
        return peer.identity if peer is not None and peer.identity else default_principal(component)


def check(scenario: Any) -> list[tuple[tuple, str]]:
    """What ``security:`` (and the faults that need it) require of the scenario's components."""
    problems: list[tuple[tuple, str]] = []
    comps: Mapping[str, Any] = scenario.components
    security: Security | None = getattr(scenario, "security", None)
    for i, fault in enumerate(scenario.faults):
        if fault.kind == "cert_expired" and security is None:
            problems.append((("faults", i, "kind"), "a cert_expired fault needs a `security:` section "
                                                    "(without it no certificate is modelled)"))
    if security is None:
        return problems
    names = ", ".join(comps)
    for name in security.components:
        if name not in comps:
            problems.append((("security", "components", name), f"component {name!r} does not exist "
                                                               f"(expected one of: {names})"))
    for i, policy in enumerate(security.policies):
        where = ("security", "policies", i)
        if policy.target not in comps:
            problems.append((where + ("target",), f"policy target {policy.target!r} does not exist "
                                                  f"(expected one of: {names})"))
            continue
        ops = comps[policy.target].operation_names(comps)
        for j, rule in enumerate(policy.rules or ()):
            for k, op in enumerate(rule.operations or ()):
                if op != "*" and op not in ops:
                    problems.append((where + ("rules", j, "operations", k),
                                     f"{policy.target!r} has no operation {op!r} (it has: {', '.join(ops)}, or '*')"))
            for k, who in enumerate(rule.from_ or ()):
                if who != "*" and "/" not in who and who not in comps:
                    problems.append((where + ("rules", j, "from", k),
                                     f"caller {who!r} is neither a component ({names}) nor a principal "
                                     f"(like {default_principal('name')}) nor '*'"))
        if policy.action == "CUSTOM":
            if policy.provider is None:
                problems.append((where + ("provider",), "a CUSTOM policy needs a provider "
                                                        "(the external authorizer, component.operation)"))
            else:
                target, _, op = policy.provider.partition(".")
                if target not in comps or op not in comps[target].operation_names(comps):
                    problems.append((where + ("provider",), f"provider {policy.provider!r} is not an operation of "
                                                            f"a component (expected component.operation; "
                                                            f"components: {names})"))
                elif target == policy.target:
                    problems.append((where + ("provider",), "the authorizer cannot be the policy's own target"))
        elif policy.provider is not None or policy.cache_ttl or policy.failure_mode_allow:
            problems.append((where + ("action",), "provider, cache_ttl and failure_mode_allow are for "
                                                  "action CUSTOM only"))
    return problems
