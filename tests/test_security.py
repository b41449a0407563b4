"""Zero trust per hop (``security:``), against golden.md §20 (golden G20.1–G20.3) and G6.2.

Golden numbers copied with their source (simulator/docs/golden.md §20, the course's
reference sheet): golden G20.1 Istio's authorization truth table (CUSTOM deny, then DENY,
then "no ALLOW policy allows", then ALLOW, else deny; AUDIT never decides); golden G20.2
the mTLS mode matrix (plaintext → STRICT refused, plaintext → PERMISSIVE accepted, mTLS →
DISABLE fails, an expired certificate → refused); golden G20.3 a new connection costs
1 RTT (TCP) + 1 RTT (TLS 1.3) or 2 RTT (TLS 1.2): over a 4-hop chain with 1 ms RTT and no
reuse TLS 1.3 adds exactly 4 ms, TLS 1.2 8 ms; 100 requests per connection amortise it
to 0.04 ms per request over the chain. Golden G6.2: a TTL (expire-after-write) cache of a key
asked at Poisson rate λ hits λT/(1+λT) (λ = 1/s, T = 5 s: 0.833333).

Deterministic checks use constant link delays and closed-loop users with a constant think
time; the decision cache's hit ratio uses R independent replications (tests/bands.py).
"""

from __future__ import annotations

import functools
import math

import pytest

from bands import assert_replications_within_3se
from helpers import located_problems, scenario, service
from simulator import simulate
from simulator.security.authz import blast_radius, decide
from simulator.security.mtls import connects
from simulator.security.spec import Security, default_principal

ONE_BY_ONE = {"arrivals": {"kind": "closed", "users": 1, "think": "10ms"}}
A, B = default_principal("a"), default_principal("b")


def sec(**kw) -> Security:
    return Security.model_validate(kw)


def counts(result, name):
    return result.summary()["components"][name]["counts"]


def statuses(result) -> dict[str, int]:
    """How many requests ended with each status (``ok``, ``error``, ``rejected``, ``timeout``)."""
    return {str(k): int(v) for k, v in result.requests["status"].value_counts().items() if v}


# -- golden G20.1: the authorization truth table ------------------------------------------

def test_golden_g20_1_truth_table():
    allow_a = {"target": "t", "action": "ALLOW", "rules": [{"from": [A]}]}
    assert decide(sec(), "t", B, "op") == "allow"  # no policies: allow
    assert decide(sec(policies=[allow_a]), "t", B, "op") == "deny"  # ALLOW policies exist, none matches
    assert decide(sec(policies=[allow_a]), "t", A, "op") == "allow"
    deny_admin = {"target": "t", "action": "DENY", "rules": [{"operations": ["admin"]}]}
    assert decide(sec(policies=[allow_a, deny_admin]), "t", A, "admin") == "deny"  # DENY first
    custom = {"target": "t", "action": "CUSTOM", "provider": "authz.check"}
    assert decide(sec(policies=[custom, allow_a]), "t", A, "op", custom_allows=False) == "deny"
    assert decide(sec(policies=[custom, allow_a]), "t", A, "op", custom_allows=True) == "allow"
    audit = {"target": "t", "action": "AUDIT", "rules": [{}]}
    assert decide(sec(policies=[audit]), "t", B, "op") == "allow"  # AUDIT only: allowed (audited)
    # an ALLOW policy without rules allows nothing (Istio's allow-nothing); a component name stands
    # for its principal; plaintext ("" principal) matches no `from`, not even "*"
    assert decide(sec(policies=[{"target": "t", "action": "ALLOW"}]), "t", A, "op") == "deny"
    assert decide(sec(policies=[{"target": "t", "action": "ALLOW", "rules": [{"from": ["a"]}]}]), "t", A, "op") == "allow"
    assert decide(sec(policies=[{"target": "t", "action": "ALLOW", "rules": [{"from": ["*"]}]}]), "t", "", "op") == "deny"


def authz_chain(policies, *, mode="permissive", faults=(), callee_work="1ms") -> object:
    """Workload → front (permissive) → back; front calls back.op (and back.admin when asked)."""
    comps = {"front": service(work="0ms", steps=[{"call": "back.op"}]),
             "back": {"kind": "service", "operations": {"op": {"work": callee_work}, "admin": {"work": callee_work}}}}
    return scenario(comps, entry="front", workload=ONE_BY_ONE, duration="2s", faults=list(faults),
                    security={"mtls": {"mode": mode}, "policies": policies})


def test_a_denied_call_is_rejected_at_the_sidecar_and_counted_apart():
    only_a = [{"target": "back", "action": "ALLOW", "rules": [{"from": ["someone-else"]}]}]
    r = simulate(authz_chain(only_a))
    n = len(r.requests)
    # the caller's step fails (its callee said 403), and the callee never queued the request
    assert counts(r, "back")["authz_denied"] == n > 100
    assert r.summary()["components"]["back"]["visits"] == 0
    assert statuses(r) == {"error": n}
    allowed = [{"target": "back", "action": "ALLOW", "rules": [{"from": ["front"], "operations": ["op"]}]},
               {"target": "back", "action": "AUDIT", "rules": [{"from": ["*"]}]}]
    r = simulate(authz_chain(allowed))
    n = len(r.requests)
    assert statuses(r) == {"ok": n}
    assert counts(r, "back")["authz_denied"] == 0 and counts(r, "back")["authz_audited"] == n


def test_a_workload_request_denied_at_the_entry_is_rejected_403():
    comps = {"front": service(work="0ms")}
    sc = scenario(comps, entry="front", workload=ONE_BY_ONE, duration="1s",
                  security={"policies": [{"target": "front", "action": "ALLOW", "rules": [{"from": ["*"]}]}]})
    r = simulate(sc)
    assert statuses(r) == {"rejected": len(r.requests)}  # plaintext from outside: no principal
    assert counts(r, "front")["authz_denied"] == len(r.requests)


# -- golden G20.2: the mTLS matrix --------------------------------------------------------

def test_golden_g20_2_mode_matrix():
    assert connects("disable", "strict") == (False, False)  # plaintext to STRICT: refused
    assert connects("disable", "permissive") == (False, True)  # plaintext to PERMISSIVE: accepted
    assert connects("permissive", "disable") == (True, False)  # mTLS to DISABLE: handshake failure
    assert connects("strict", "strict") == (True, True)
    assert connects(None, "strict") == (False, False)  # a workload from outside speaks plaintext


@pytest.mark.parametrize("front, back, outcome", [("disable", "strict", "error"), ("disable", "permissive", "ok"),
                                                  ("permissive", "disable", "error"), ("permissive", "strict", "ok")])
def test_golden_g20_2_in_a_run(front, back, outcome):
    comps = {"front": service(work="0ms", steps=[{"call": "back.op"}]), "back": service(work="1ms")}
    sc = scenario(comps, entry="front", workload=ONE_BY_ONE, duration="1s",
                  security={"components": {"front": {"mtls": front}, "back": {"mtls": back}}})
    r = simulate(sc)
    n = len(r.requests)
    assert statuses(r) == {outcome: n}
    assert counts(r, "back")["mtls_rejected"] == (n if outcome == "error" else 0)
    assert counts(r, "back")["handshakes"] == (0 if outcome == "error" else 1)  # one pooled connection
    assert counts(r, "front")["mtls_rejected"] == 0  # the workload's plaintext is welcome at a permissive front
    if front == "disable":
        assert r.summary()["components"]["front"]["counts"]["handshakes"] == 1


def test_golden_g20_2_expired_certificate_is_refused_while_it_lasts():
    comps = {"front": service(work="0ms", steps=[{"call": "back.op"}]), "back": service(work="1ms")}
    sc = scenario(comps, entry="front", workload=ONE_BY_ONE, duration="3s",
                  faults=[{"kind": "cert_expired", "target": "back", "at": "1s", "for": "1s"}],
                  security={"components": {"back": {"mtls": "strict"}}})
    r = simulate(sc)
    req = r.requests
    during = (req["t_issue"] >= 1.0) & (req["t_issue"] < 2.0)
    assert (req.loc[during, "status"] == "error").all() and during.sum() > 50
    assert (req.loc[req["t_issue"] < 0.99, "status"] == "ok").all()
    assert (req.loc[req["t_issue"] > 2.01, "status"] == "ok").all()
    assert counts(r, "back")["handshakes"] == 2  # the first, and the new one after renewal
    assert counts(r, "back")["mtls_rejected"] == int(during.sum())


# -- golden G20.3: the handshake's price --------------------------------------------------

def chain(security, hops=4):
    """A workload into s0, then *hops* calls s0 → s1 → … (1 ms RTT: 0.5 ms each way), no work."""
    comps = {f"s{i}": service(work="0ms", steps=[{"call": f"s{i + 1}.op"}] if i < hops else [])
             for i in range(hops + 1)}
    return scenario(comps, entry="s0", workload={"arrivals": {"kind": "closed", "users": 1, "think": "10ms"}},
                    duration="20s", network={"local": {"dist": "const", "value": "0.5ms"}}, security=security)


def mean_latency(result) -> float:
    return float(result.requests["latency"].mean())


@pytest.mark.parametrize("tls, extra_ms", [("1.3", 4.0), ("1.2", 8.0)])
def test_golden_g20_3_no_reuse(tls, extra_ms):
    plain = simulate(chain({"mtls": {"mode": "disable", "requests_per_connection": 1}}))
    tls_run = simulate(chain({"mtls": {"mode": "permissive", "tls": tls, "requests_per_connection": 1}}))
    # the first hop (workload → s0) is plaintext in both: TCP's RTT alike; the 4 mesh hops pay TLS too
    assert math.isclose(mean_latency(tls_run) - mean_latency(plain), extra_ms / 1000, abs_tol=1e-12)
    assert counts(tls_run, "s4")["handshakes"] == len(tls_run.requests)


def test_golden_g20_3_pooled_connections():
    plain = simulate(chain({"mtls": {"mode": "disable", "requests_per_connection": 100}}))
    tls_run = simulate(chain({"mtls": {"mode": "permissive", "requests_per_connection": 100}}))
    n_plain, n = len(plain.requests), len(tls_run.requests)
    for r, count in ((plain, n_plain), (tls_run, n)):
        assert all(counts(r, f"s{i}")["handshakes"] == math.ceil(count / 100) for i in range(5))
    # each connection's TCP RTT is spread over its 100 requests; TLS adds 1 RTT per mesh hop and connection
    tcp = lambda count: 5 * 1e-3 * math.ceil(count / 100) / count  # noqa: E731
    assert math.isclose(mean_latency(plain), 5 * 1e-3 + tcp(n_plain), rel_tol=1e-9)  # 5 hops of 1 ms RTT
    # TLS 1.3 over the 4 mesh hops: 4 ms per 100 requests, 0.04 ms per request (n/100 connections, rounded up)
    tls_extra = 0.04e-3 * math.ceil(n / 100) * 100 / n
    assert math.isclose(mean_latency(tls_run), 5 * 1e-3 + tcp(n) + tls_extra, rel_tol=1e-9)


def test_handshake_cpu_is_paid_per_mtls_handshake_only():
    base = simulate(chain({"mtls": {"mode": "permissive", "requests_per_connection": 1}}, hops=1))
    cpu = simulate(chain({"mtls": {"mode": "permissive", "requests_per_connection": 1, "handshake_cpu": "2ms"}},
                         hops=1))
    assert math.isclose(mean_latency(cpu) - mean_latency(base), 2e-3, abs_tol=1e-12)  # one mTLS hop


# -- ext_authz and its decision cache (golden G20.3 with G6.2) ----------------------------

def ext_authz(ttl, *, rate=None, think="1s", duration="20s", seed=1, authz_work="10ms", one_way="1ms"):
    comps = {"api": service(work="0ms", zone="a"),
             "authz": {"kind": "service", "zone": "b", "operations": {"check": {"work": authz_work}}}}
    workload = {"zone": "a"} | ({"arrivals": {"kind": "poisson", "rate": rate}} if rate
                                else {"arrivals": {"kind": "closed", "users": 1, "think": think}})
    return scenario(comps, entry="api", workload=workload, duration=duration, seed=seed,
                    network={"links": [{"between": ["a", "b"], "latency": {"dist": "const", "value": one_way}}]},
                    security={"policies": [{"target": "api", "action": "CUSTOM", "provider": "authz.check",
                                            "cache_ttl": ttl}]})


def test_ext_authz_costs_rtt_plus_service_time_per_miss():
    r = simulate(ext_authz(0))
    n = len(r.requests)
    assert counts(r, "api")["ext_authz_checks"] == n and counts(r, "api")["ext_authz_cache_hits"] == 0
    assert math.isclose(mean_latency(r), 2e-3 + 10e-3, rel_tol=1e-9)  # 1 RTT + S, every request
    cached = simulate(ext_authz("2500ms"))
    c = cached.summary()["components"]["api"]["counts"]
    n = len(cached.requests)
    assert c["ext_authz_checks"] + c["ext_authz_cache_hits"] == n and c["ext_authz_cache_hits"] > 0
    assert math.isclose(mean_latency(cached), c["ext_authz_checks"] / n * 12e-3, rel_tol=1e-9)  # (1 − hit)(RTT + S)


@pytest.mark.parametrize("fail_open", [False, True])
def test_ext_authz_failure_denies_with_a_403_unless_failure_mode_allow(fail_open):
    """The authorizer fails every check (an errors fault): deny (403), or allow with failure_mode_allow."""
    data = ext_authz(0).model_dump(by_alias=True, exclude_unset=True)
    data["faults"] = [{"kind": "errors", "target": "authz", "probability": 1.0, "at": 0, "for": "100s"}]
    data["security"]["policies"][0]["failure_mode_allow"] = fail_open
    r = simulate(type(ext_authz(0)).model_validate(data))
    n = len(r.requests)
    assert statuses(r) == ({"ok": n} if fail_open else {"rejected": n})
    assert counts(r, "api")["authz_denied"] == (0 if fail_open else n)


def test_golden_g6_2_decision_cache_hit_ratio(golden_zscores):
    ratios = []
    for seed in range(1, 11):
        r = simulate(ext_authz(5, rate="1/s", duration="20000s", seed=seed, authz_work="0ms",
                                one_way="0ms"))
        c = counts(r, "api")
        ratios.append(c["ext_authz_cache_hits"] / (c["ext_authz_cache_hits"] + c["ext_authz_checks"]))
    # an instant check (no RTT, no work): each miss starts a window of exactly T, as in G6.2's expireAfterWrite
    assert_replications_within_3se(golden_zscores, ratios, 5 / 6, "G6.2 ext_authz decision cache, λ=1, T=5")


# -- the compromised service ---------------------------------------------------------------

def locked_down():
    comps = {"gateway": service(work="0ms", steps=[{"call": "trading.op"}]),
             "trading": service(work="0ms", steps=[{"call": "character.op"}]),
             "character": {"kind": "service", "operations": {"op": {"work": "1ms"}, "admin": {"work": "1ms"}}},
             "userdb": service(work="1ms"), "legacy": service(work="1ms")}
    security = {"mtls": {"mode": "strict"},
                "components": {"gateway": {"mtls": "permissive"}, "legacy": {"mtls": "disable"}},
                "policies": [{"target": "character", "action": "ALLOW",
                              "rules": [{"from": ["trading"], "operations": ["op"]}]},
                             {"target": "userdb", "action": "ALLOW", "rules": [{"from": ["gateway"]}]},
                             {"target": "trading", "action": "ALLOW", "rules": [{"from": ["gateway"]}]},
                             {"target": "gateway", "action": "DENY", "rules": [{"from": ["*"]}]}]}
    return scenario(comps, entry="gateway", workload=ONE_BY_ONE, duration="2s", security=security,
                    faults=[{"kind": "compromised", "target": "trading", "at": "1s", "for": "500ms"}])


def test_blast_radius_of_a_compromised_service():
    sc = locked_down()
    radius = blast_radius(sc, "trading")
    # character.op only: not character.admin (operation), not userdb (principal), not gateway (DENY),
    # not legacy (its mode is disable: trading's mTLS fails there)
    assert radius == {"allowed": ["character.op"], "custom": [],
                      "denied": ["gateway.op", "character.admin", "userdb.op", "legacy.op"]}
    r = simulate(sc)
    assert statuses(r) == {"ok": len(r.requests)}  # the run itself is unchanged
    end = r.faults.iloc[0]
    assert end["kind"] == "compromised" and "blast radius 1 of 5 operations: character.op" in end["detail"]
    open_mesh = scenario({"a": service(), "b": service()}, entry="a")
    assert blast_radius(open_mesh, "a") == {"allowed": ["b.op"], "custom": [], "denied": []}


# -- cost nothing when unused; bad input ----------------------------------------------------

def test_without_security_the_hop_is_compiled_as_before():
    from simulator.engine.build import build

    world = build(scenario({"a": service(steps=[{"call": "b.op"}]), "b": service()}, entry="a"))
    assert world.security is None
    call = world.caller(None, "b.op", "a")
    # the bare visit: the callee's handle with its operation bound, no sidecar, no connection around it
    assert isinstance(call, functools.partial) and not call.keywords
    assert call.func == world.components["b"].handle and call.args == (world.components["b"].operation("op"),)


def test_bad_security_input_is_located():
    found = located_problems({"a": service()}, entry="a", security={
        "components": {"nope": {"mtls": "strict"}},
        "policies": [{"target": "ghost", "action": "ALLOW"},
                     {"target": "a", "action": "ALLOW", "rules": [{"from": ["who"], "operations": ["missing"]}]},
                     {"target": "a", "action": "CUSTOM"},
                     {"target": "a", "action": "CUSTOM", "provider": "a.op"},
                     {"target": "a", "action": "DENY", "cache_ttl": "5s"}]})
    text = "\n".join(found)
    for expected in ("security.components.nope: component 'nope' does not exist",
                     "security.policies.0.target: policy target 'ghost' does not exist",
                     "security.policies.1.rules.0.operations.0: 'a' has no operation 'missing'",
                     "security.policies.1.rules.0.from.0: caller 'who' is neither a component",
                     "security.policies.2.provider: a CUSTOM policy needs a provider",
                     "security.policies.3.provider: the authorizer cannot be the policy's own target",
                     "security.policies.4.action: provider, cache_ttl and failure_mode_allow are for action CUSTOM"):
        assert expected in text, text
    found = located_problems({"a": service()}, entry="a", security={"mtls": {"mode": "strikt"}})
    assert any("security.mtls.mode" in p for p in found), found
    found = located_problems({"a": service()}, entry="a",
                             faults=[{"kind": "cert_expired", "target": "a", "at": 0, "for": "1s"}])
    assert any("faults.0.kind: a cert_expired fault needs a `security:` section" in p for p in found), found


# -- the README's example and the One Piece scenario ---------------------------------------

def test_readme_security_example_validates_and_runs(tmp_path):
    """The README's security block, with components and a workload around it, loads and runs."""
    import re
    from pathlib import Path

    import yaml

    from simulator import check_scenario

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    match = re.search(r"<!-- security-example -->\s*```yaml\n(.+?)\n```", text, re.S)
    assert match, "README has no security-example block"
    body = yaml.safe_load(match.group(1))
    ops = lambda *names, steps=(): {n: {"work": "1ms", "steps": list(steps)} for n in names}  # noqa: E731
    doc = {"name": "readme-security", "duration": "150s", **body,
           "workload": [{"name": "w", "entry": "api", "operation": "buy", "arrivals": {"kind": "poisson", "rate": "20/s"}}],
           "components": {"api": {"kind": "service", "operations": ops("buy", steps=[{"call": "orders.place"}])},
                          "orders": {"kind": "service", "operations": ops("place", steps=[{"call": "payments.charge"}])},
                          "payments": {"kind": "service", "operations": ops("charge", "refund")},
                          "authz": {"kind": "service", "operations": ops("check")}}}
    path = tmp_path / "readme-security.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    scenario_, _ = check_scenario(path)
    r = simulate(scenario_)
    c = counts(r, "payments")
    assert c["ext_authz_checks"] > 0 and c["ext_authz_cache_hits"] > c["ext_authz_checks"]
    assert c["authz_audited"] > 0 and c["mtls_rejected"] > 0  # the expired certificate's 10 s
    assert statuses(r)["ok"] > 0.9 * len(r.requests)
    # orders may call api and the authorizer (no policy guards them); payments.charge is left to ext_authz,
    # payments.refund is denied
    detail = r.faults.set_index("kind").loc["compromised", "detail"]
    assert "blast radius 2 of 4 operations: api.buy, authz.check; left to ext_authz: payments.charge" in detail


def test_locked_down_one_piece():
    from pathlib import Path

    from simulator import load_scenario

    sc = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "security" / "locked-down.yaml")
    radius = blast_radius(sc, "trading")
    assert "user-db.read_user" in radius["denied"] and "admin.dashboard" in radius["denied"]
    assert not any(op.startswith("gateway.") for op in radius["allowed"])
    assert "character.get_character" in radius["allowed"] and len(radius["allowed"]) == 10


def test_the_security_chart_and_an_objective_on_a_security_counter():
    from simulator.scenario.slo import component_metrics
    from simulator.viz import RESULT_CHARTS, plot_security

    secured = authz_chain([{"target": "back", "action": "ALLOW", "rules": [{"from": ["nobody"]}]}])
    assert "authz_denied" in component_metrics(secured.components["back"], secured)  # an SLO may read it
    r = simulate(secured)
    baseline = simulate(secured.model_copy(update={"security": None}))
    assert RESULT_CHARTS["security"] is plot_security
    fig = r.plot.security(baseline)
    counters, price = fig.axes[:2]
    assert [t.get_text() for t in counters.get_yticklabels()] == ["front", "back"]  # front: the workload's connection
    widths = [p.get_width() for p in counters.patches]  # counter by counter, front then back
    assert widths[2 * 2 + 1] == counts(r, "back")["authz_denied"] > 0 and widths[2 * 2] == 0  # authz_denied
    assert widths[0] == counts(r, "front")["handshakes"] == 1
    assert len(price.patches) == 6  # p50, p90, p99 of both runs
    assert "authz_denied" not in component_metrics(baseline.scenario.components["back"], baseline.scenario)


def test_a_compromised_service_probing_everything():
    """Every 100 ms for 500 ms trading probes the 5 other operations: 5 rounds. Only character.op
    answers; gateway, character.admin and userdb say 403; legacy (mode disable) refuses its mTLS."""
    data = locked_down().model_dump(by_alias=True, exclude_unset=True)
    data["faults"][0]["probe_interval"] = "100ms"
    r = simulate(type(locked_down()).model_validate(data))
    detail = r.faults.iloc[0]["detail"]
    assert "probes: 5 answered, 15 denied (403), 5 failed" in detail, detail
    assert counts(r, "userdb")["authz_denied"] == 5 and counts(r, "legacy")["mtls_rejected"] == 5
