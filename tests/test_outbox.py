"""The transactional outbox (``publish: ... via: outbox``) and idempotent consumers (``idempotency:``).

Golden numbers are copied here with their source (golden G11.1, G11.2 of the course's
reference sheet): golden G11.1 an outbox poller with interval P adds Uniform[0, P] (mean
P/2) to an event's delay; golden G11.2 replaying 10⁴ events with 5 % duplicate deliveries
leaves a read model equal to the one a single delivery gives, and a dedupe table of 10⁴
unique ids. Stochastic checks use independent replications (seeds 1..R) or a binomial
count, within 3 SE (tests/bands.py); the rest is exact.

Deterministic checks use a producer that sends exactly every 10 ms (one closed-loop user
whose think time is constant and whose request answers at once), as tests/test_broker.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import yaml

from bands import assert_binomial_within_3se, assert_replications_within_3se
from helpers import located_problems, scenario, service
from simulator import Scenario, simulate
from simulator.components.broker.frames import groups
from simulator.scenario.load import check_scenario

EVERY_10MS = {"arrivals": {"kind": "closed", "users": 1, "think": "10ms"}}  # exactly 100 messages/s
P = 0.1  # the outbox poll interval of these tests


def bus(*, idempotency: dict | None = None, group_kw: dict | None = None, **kw: Any) -> dict[str, Any]:
    """A broker with topic ``t`` (one partition) and group ``g`` consumed by ``c.op``."""
    group = {"consumer": "c.op", **({"idempotency": idempotency} if idempotency else {}), **(group_kw or {})}
    return {"kind": "broker", "topics": {"t": {"groups": {"g": group}}}, **kw}


def outboxed(via: str = "outbox", *, replicas: int = 1, poll: float = P, bus_kw: dict | None = None,
             **kw: Any) -> Scenario:
    """``web.op`` publishes into ``bus.t`` (*via*: direct or its outbox, polled every *poll* s)."""
    step = {"publish": "bus.t", **({"via": "outbox"} if via == "outbox" else {})}
    web = service("1ms", steps=[step], replicas=replicas,
                  **({"outbox": {"poll_interval": f"{poll}s"}} if via == "outbox" else {}))
    comps = {"web": web, "bus": bus(**(bus_kw or {})), "c": service("1ms", workers=4)}
    return scenario(comps, entry="web", **kw)


def facts(result, name: str) -> dict[str, Any]:
    return result.summary()["components"][name]


def conserved(result) -> None:
    """produced = processed + deduplicated + dead_lettered + lost + in_flight + backlog (broker/ledger.py)."""
    for g in groups(result, "bus").to_dict("records"):
        assert g["produced"] == (g["processed"] + g["deduplicated"] + g["dead_lettered"] + g["lost"] + g["in_flight"]
                                 + g["backlog"]), g


BROKER_DOWN = [{"kind": "crash", "target": "bus", "at": "20s", "for": "10s"}]


# ----------------------------------------------------------------------------- golden G11.1 the poll delay


def test_an_outbox_row_waits_uniform_0_p_for_the_relay(golden_zscores):
    """golden G11.1: a poller with interval P adds Uniform[0, P], mean P/2. Poisson writes (a uniformly random
    moment of the poll interval), a broker that acknowledges at once: the delay written → acknowledged is the
    wait for the next poll. Its mean over R = 10 replications is within 3 SE of P/2, every delay lies in [0, P],
    and the share below P/4 is within 3 binomial SE of 1/4 (uniform, not merely the right mean)."""
    means, below, total = [], 0, 0
    for seed in range(1, 11):
        result = simulate(outboxed(rate="200/s", duration="10s", seed=seed))
        delays = (lambda t: t.relayed - t.written)(result.components["web"].table("outbox"))
        assert delays.min() >= 0 and delays.max() <= P + 1e-9
        assert facts(result, "web")["outbox_delay_mean"] == pytest.approx(delays.mean())
        means.append(delays.mean())
        below += int((delays < P / 4).sum())
        total += len(delays)
    assert_replications_within_3se(golden_zscores, means, P / 2, "golden G11.1 outbox poll delay mean P/2")
    assert_binomial_within_3se(golden_zscores, below, total, 0.25, "golden G11.1 outbox delay < P/4 (uniform)")


def test_the_relay_polls_on_a_grid_of_p():
    """A write every 11 ms (10 ms think + 1 ms work), P = 100 ms: each row is relayed by the first poll after it
    was written, at the next multiple of P, and polls relay 9 or 10 rows."""
    result = simulate(outboxed(duration="10.005s", workload=EVERY_10MS))
    table = result.components["web"].table("outbox")
    assert np.allclose(table.relayed, np.ceil(table.written / P - 1e-9) * P)
    assert set(table.groupby("relayed").size()) == {9, 10}
    f = facts(result, "web")
    assert f["outbox_written"] == f["outbox_relayed"] + f["outbox_pending"] and f["outbox_relay_failures"] == 0


# ----------------------------------------------------------------------------- a broker outage


def test_a_broker_outage_delays_outbox_messages_and_loses_none():
    """The only broker node is down 20–30 s. Direct publishing loses every message of the outage (the produce
    fails, the publisher has gone on); through the outbox they wait, the outbox grows, then drains: nothing is lost."""
    direct = simulate(outboxed("direct", duration="60s", workload=EVERY_10MS, faults=BROKER_DOWN))
    outbox = simulate(outboxed(duration="60s", workload=EVERY_10MS, faults=BROKER_DOWN))
    d, o, w = facts(direct, "bus"), facts(outbox, "bus"), facts(outbox, "web")
    assert abs(d["messages_rejected"] - 10.2 / 0.011) <= 2  # a write every 11 ms, no leader for 10 s + 0.2 s election
    assert d["messages_processed"] + d["messages_rejected"] == facts(direct, "web")["visits"] - d["backlog"] - \
        d["in_flight"]
    assert o["messages_rejected"] == w["outbox_relay_failures"] in (102, 103)  # one failed produce per poll while down
    assert o["messages_lost"] == 0 and o["messages_rejected"] == w["outbox_relay_failures"]
    assert w["outbox_pending_max"] >= 900  # the outage's writes waited in the outbox
    assert w["outbox_written"] == w["outbox_relayed"] + w["outbox_pending"]
    assert o["messages_produced"] == w["outbox_relayed"]
    assert o["messages_processed"] + o["backlog"] + o["in_flight"] == w["outbox_relayed"]
    assert w["outbox_delay_p99"] > 5  # the outage's rows waited seconds; the rest ~P/2
    conserved(direct)
    conserved(outbox)


def test_a_poll_relays_at_most_batch_size_rows():
    """After a 10 s outage ~930 rows wait; with batch_size 100 each poll relays 100 of them (a 9 + 100 × k backlog
    drains in about ten polls), never more."""
    sc = outboxed(duration="60s", workload=EVERY_10MS, faults=BROKER_DOWN)
    data = sc.model_dump(by_alias=True)
    data["components"]["web"]["outbox"]["batch_size"] = 100
    result = simulate(Scenario.model_validate(data))
    per_poll = result.components["web"].table("outbox").groupby("relayed").size()
    assert per_poll.max() == 100 and 9 <= (per_poll == 100).sum() <= 11
    f = facts(result, "web")
    assert f["outbox_written"] == f["outbox_relayed"] + f["outbox_pending"]


def test_the_outbox_keeps_the_order_through_an_outage():
    """Rows reach the broker in the order they were written: the consumer applies ids 1, 2, 3, ... in order."""
    result = simulate(outboxed(duration="60s", workload=EVERY_10MS, faults=BROKER_DOWN))
    messages = result.components["bus"].table("messages").sort_values("processed", kind="stable")
    ids = messages.id.astype(int).to_numpy()
    assert ids.tolist() == list(range(1, len(ids) + 1))
    assert len(ids) > 5400  # 60 s / 11 ms = 5454 writes


def test_a_crash_of_the_service_keeps_its_outbox():
    """The outbox is in the service's database: with its only replica down 20.05–25.05 s, the rows written just
    before the crash wait for the first poll after the restart (25.1 s), and none is lost."""
    crash = [{"kind": "crash", "target": "web", "at": "20.05s", "for": "5s"}]
    result = simulate(outboxed(duration="40s", workload=EVERY_10MS, faults=crash))
    table = result.components["web"].table("outbox")
    waited = table[table.relayed - table.written > 1]
    assert len(waited) >= 4 and np.allclose(waited.relayed, 25.1)
    assert waited.written.between(20.0, 20.05 + 1e-9).all()
    f = facts(result, "web")
    assert f["outbox_written"] == f["outbox_relayed"] + f["outbox_pending"]
    assert facts(result, "bus")["messages_lost"] == 0


# ----------------------------------------------------------------------------- golden G11.2 idempotent replay


def replay(*, idempotency: dict | None, p: float, seed: int = 1, **group_kw: Any):
    """10⁴ events produced every 10 ms straight into ``bus.t`` (100 s); each produce's acknowledgement is lost with
    probability *p* and, without the idempotent producer, the retry writes a second copy."""
    duplicates = {"enable_idempotence": False, "lost_ack_probability": p} if p else {}
    comps = {"bus": bus(idempotency=idempotency, group_kw=group_kw, **duplicates), "c": service("1ms", workers=4)}
    workload = {**EVERY_10MS, "keys": "uniform(n=1000)"}
    return simulate(scenario(comps, entry="bus", operation="t", duration="100.005s", workload=workload, seed=seed))


def test_golden_g11_2_an_idempotent_consumer_applies_each_event_once(golden_zscores):
    """golden G11.2: 10⁴ events with 5 % duplicate deliveries. With the dedupe table the read model (the
    ``messages`` table: one row per applied message) holds every event id exactly once and equals the read
    model of the same run with single deliveries (ids and keys); the dedupe table holds 10⁴ ids; every
    duplicate copy was deduplicated. Without it, the duplicates are applied: about 5 % (binomial band)."""
    single = replay(idempotency=None, p=0)
    deduped = replay(idempotency={"ttl": "1h"}, p=0.05)
    naive = replay(idempotency=None, p=0.05, seed=2)  # an independent sample of the 5 %
    s, d, n = (r.components["bus"].table("messages") for r in (single, deduped, naive))
    assert len(s) == 10_000 and sorted(s.id.astype(int)) == list(range(1, 10_001))
    assert d.id.is_unique and len(d) == 10_000
    read_model = lambda t: sorted(zip(t.id.astype(int), t.key.astype(int)))  # noqa: E731
    assert read_model(d) == read_model(s)
    f = facts(deduped, "bus")
    copies = f["producer_duplicates"]
    assert f["dedupe_table_size"] == f["dedupe_table_max"] == 10_000
    assert f["deduplicated"] == copies and f["messages_produced"] == 10_000 + copies and f["duplicated"] == 0
    assert facts(deduped, "c")["visits"] == 10_000  # the consumer was called once per event
    assert_binomial_within_3se(golden_zscores, copies, 10_000, 0.05, "golden G11.2 duplicate deliveries 5 %")
    extra = len(n) - 10_000
    assert extra == facts(naive, "bus")["producer_duplicates"] == facts(naive, "bus")["duplicated"]
    assert extra == int(n.id.duplicated().sum())
    assert_binomial_within_3se(golden_zscores, extra, 10_000, 0.05, "golden G11.2 applied twice without dedupe")
    conserved(deduped)
    conserved(naive)


def test_a_share_group_applies_concurrent_copies_once():
    """Four members of a share group may take both copies of a message at once: the second transaction to write
    the id is rolled back, so the read model still holds each id once."""
    result = replay(idempotency={"ttl": "1h"}, p=0.05, type="share", consumers=4)
    messages = result.components["bus"].table("messages")
    f = facts(result, "bus")
    assert messages.id.is_unique and len(messages) == 10_000
    assert f["deduplicated"] == f["producer_duplicates"] > 0 and f["duplicated"] == 0
    conserved(result)


def crash_consumer(idempotency: dict | None):
    """At-least-once, auto-commit every 5 s: replica 0 of ``c`` crashes at 22.5 s; the member on replica 1 takes
    over after the 10 s session timeout and replays what was processed since the last commit (golden G8.2)."""
    comps = {"bus": bus(idempotency=idempotency, group_kw={"session_timeout": "10s"}),
             "c": service("1ms", replicas=2)}
    faults = [{"kind": "crash", "target": "c", "replicas": 1, "at": "22.5s", "for": "1000s"}]
    return simulate(scenario(comps, entry="bus", operation="t", duration="60s", workload=EVERY_10MS, faults=faults))


@pytest.mark.parametrize("ttl, through", [("1h", "none"), ("1s", "all"), ("11.25s", "some")])
def test_the_dedupe_table_stops_replays_until_their_ids_expire(ttl, through):
    """The replay comes ~10–12.5 s after the replayed messages were processed: a table keeping ids 1 h stops
    them all (``replays_deduplicated``), one keeping them 1 s none (each is ``duplicated``, applied twice), one
    keeping them 11.25 s the older half; the replay is the same either way."""
    baseline = crash_consumer(None)
    replays = facts(baseline, "bus")["duplicated"]
    assert 240 <= replays <= 260  # golden G8.2: 100/s × 2.5 s since the last commit
    f = facts(crash_consumer({"ttl": ttl}), "bus")
    assert f["duplicated"] + f["replays_deduplicated"] == replays and f["deduplicated"] == 0
    expected = {"none": (0, replays), "all": (replays, 0)}.get(through)
    if expected is None:
        assert 0.3 * replays < f["duplicated"] < 0.7 * replays
    else:
        assert (f["duplicated"], f["replays_deduplicated"]) == expected


def test_the_dedupe_table_holds_the_ids_of_the_last_ttl():
    """100 messages/s with a 2 s TTL: the table holds the last 2 s of ids, 200 (give or take one at each end)."""
    result = replay(idempotency={"ttl": "2s"}, p=0)
    f = facts(result, "bus")
    assert 199 <= f["dedupe_table_max"] <= 201 and f["dedupe_table_size"] <= f["dedupe_table_max"]
    assert f["deduplicated"] == f["replays_deduplicated"] == 0


def test_the_new_facts_appear_only_with_their_settings():
    plain = facts(simulate(outboxed("direct", duration="2s")), "bus")
    assert not {"deduplicated", "dedupe_table_size", "producer_duplicates"} & set(plain)
    assert "outbox_relayed" not in facts(simulate(outboxed("direct", duration="2s")), "web")


def test_objectives_read_the_outbox_and_dedupe_facts():
    """An SLO on the outbox's growth fails during a broker outage; one on the dedupe table's size reads it."""
    from simulator.objectives import judge, parse_objective

    data = outboxed(duration="30s", rate="50/s", faults=[{"kind": "crash", "target": "bus", "at": "10s", "for": "5s"}],
                    bus_kw={"topics": {"t": {"groups": {"g": {"consumer": "c.op", "idempotency": {"ttl": "1h"}}}}}}
                    ).model_dump(by_alias=True)
    data["slos"] = [{"name": "outbox small", "component": "web", "metric": "outbox_pending_max", "max": 10},
                    {"name": "table bounded", "component": "bus", "metric": "dedupe_table_max", "max": 10_000}]
    verdicts = {v["name"]: v for v in simulate(Scenario.model_validate(data)).summary()["slos"]}
    assert not verdicts["outbox small"]["passed"] and verdicts["table bounded"]["passed"]
    check = judge(parse_objective("component.web.outbox_pending_max<=10"),
                  [simulate(Scenario.model_validate(data), seed).summary() for seed in (1, 2)])
    assert not check.met and check.mean >= 200


# ----------------------------------------------------------------------------- bad input


def problems_of(components: dict[str, Any]) -> list[str]:
    return located_problems(components, entry="web")


@pytest.mark.parametrize("change, where, message", [
    (lambda c: c["web"].pop("outbox"),
     "components.web.operations.op.steps.0.via", "service 'web' has no outbox"),
    (lambda c: c["web"]["operations"]["op"]["steps"][0].update(publish="c.op"),
     "components.web.operations.op.steps.0.publish", "an outbox relays to a message broker, and 'c' is a service"),
    (lambda c: c["web"]["operations"]["op"]["steps"][0].update(via="kafka"),
     "components.web.operations.op.steps.0.via", "unknown via 'kafka' (valid values: direct, outbox)"),
    (lambda c: c["web"]["outbox"].update(poll_interval="0s"),
     "components.web.outbox.poll_interval", "this duration must be positive"),
    (lambda c: c["web"]["outbox"].update(batch_size=0),
     "components.web.outbox.batch_size", "greater than or equal to 1"),
    (lambda c: c["web"]["outbox"].update(poll_intervall="1s"),
     "components.web.outbox.poll_intervall", "unknown field 'poll_intervall'"),
    (lambda c: c["bus"].update(lost_ack_probability=0.05),
     "components.bus", "set enable_idempotence: false"),
    (lambda c: c["bus"].update(enable_idempotence=False, lost_ack_probability=1.5),
     "components.bus.lost_ack_probability", "less than 1"),
    (lambda c: c["bus"]["topics"]["t"]["groups"]["g"].update(idempotency={"ttl": "0s"}),
     "components.bus.topics.t.groups.g.idempotency.ttl", "this duration must be positive"),
    (lambda c: c["bus"]["topics"]["t"]["groups"]["g"].update(idempotency="dedupe"),
     "components.bus.topics.t.groups.g.idempotency", ""),
])
def test_bad_input_is_located(change, where, message):
    comps = {"web": service(steps=[{"publish": "bus.t", "via": "outbox"}], outbox={"poll_interval": "100ms"}),
             "bus": bus(), "c": service()}
    change(comps)
    found = problems_of(comps)
    assert any(where in p and message in p for p in found), found


def test_an_outbox_outside_a_service_is_refused():
    """Only a service's step can write an outbox: a saga participant is fine, a balancer has no steps; the
    check names the component's kind when the writer is not a service (a plug-in kind with steps)."""
    from simulator.steps import kind_of

    spec = Scenario.model_validate(outboxed(duration="1s").model_dump(by_alias=True))
    step = spec.components["web"].operations["op"].steps[0]
    faked = spec.model_copy(update={"components": {**spec.components, "web": spec.components["bus"]}})
    problems = kind_of(step).check(step, ("components", "web", "operations", "op", "steps", 0), faked)
    assert problems and "only a service has an outbox ('web' is a broker)" in problems[0][1]


def test_a_poll_interval_no_machine_can_run_is_refused_before_the_run():
    comps = {"web": service(steps=[{"publish": "bus.t", "via": "outbox"}], outbox={"poll_interval": "1ns"}),
             "bus": bus(), "c": service()}
    found = problems_of(comps)
    assert any("outbox.poll_interval" in p for p in found), found


# ----------------------------------------------------------------------------- the README and the scenario


def test_the_readme_example_is_a_valid_design_that_runs():
    """The README's outbox block validates and runs (a workload around it): the outage's events wait in the
    outbox and none is lost; the idempotent group applies each id once."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    match = re.search(r"<!-- outbox-example -->\s*```yaml\n(.+?)\n```", text, re.S)
    assert match, "README has no outbox-example block"
    body = yaml.safe_load(match.group(1))
    body["faults"][0].update(at="10s", **{"for": "10s"})
    doc = {"name": "readme-outbox", "duration": "40s", **body,
           "workload": [{"name": "traders", "entry": "trading", "operation": "trade",
                         "arrivals": {"kind": "poisson", "rate": "50/s"}}]}
    scenario_, warnings = check_scenario("readme.yaml", text=yaml.safe_dump(doc, sort_keys=False))
    assert warnings == []
    result = simulate(scenario_)
    w, b = facts(result, "trading"), facts(result, "bus")
    assert w["outbox_pending_max"] > 400 and w["outbox_written"] == w["outbox_relayed"] + w["outbox_pending"]
    assert b["messages_lost"] == 0 and b["deduplicated"] > 0 and b["duplicated"] == 0
    assert result.components["bus"].table("messages").id.is_unique
    conserved(result)


def test_the_outbox_scenario_shows_what_its_comments_say():
    """scenarios/events/outbox.yaml: direct loses ~50 × 30.2 produces, the outbox ~0; Positions applies each id once,
    Audit every copy."""
    from pathlib import Path

    from simulator import load_scenario
    from simulator.components.broker.frames import topics

    result = simulate(load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "events" / "outbox.yaml"))
    t = topics(result, "bus").set_index("topic")
    w = facts(result, "trading")
    assert abs(t.loc["trades-direct", "rejected"] - 1510) < 150
    assert t.loc["trades", "rejected"] == w["outbox_relay_failures"] and w["outbox_pending_max"] > 1300
    assert facts(result, "bus")["messages_lost"] == 0
    g = groups(result, "bus").set_index("group")
    assert g.loc["positions", "deduplicated"] > 0 and g.loc["positions", "duplicated"] == 0
    assert g.loc["audit", "duplicated"] > 0
    messages = result.components["bus"].table("messages")
    codes = [group for _, group in result.scenario.components["bus"].group_keys()]
    assert messages[messages.group == codes.index("positions")].id.is_unique
    conserved(result)
