"""Explain a failed objective on a component's metric: what happened in the run, and the pattern that fixes it.

A request-level objective is explained by where and when it broke (:mod:`.broken`,
:mod:`.causes`). A component's metric (a broker's lost messages, a read model's stale
reads, a saga's half-done trades) says *what* went wrong but not *why*; the records of the
first run do. :data:`EXPLAINERS` maps ``(kind, metric)`` to a function
``explain(component, result, summary) -> lines`` that reads them (the broker's groups and
lag tables, the saga table, the fault records) and names the event that caused it (the
crash at 30 s), the setting that let it (``delivery: at_most_once``) and the pattern that
fixes it, with the golden sheet's section. A metric without an explainer gets the bound
against the target only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ... import present

if TYPE_CHECKING:
    from ...metrics.result import Result
    from ...scenario.model import Slo

Explain = Callable[[str, "Result", dict[str, Any]], list[str]]
EXPLAINERS: dict[tuple[str, str], Explain] = {}


def explains(kind: str, *metrics: str) -> Callable[[Explain], Explain]:
    def register(fn: Explain) -> Explain:
        for metric in metrics:
            EXPLAINERS[(kind, metric)] = fn
        return fn

    return register


def explain_component_failure(slo: "Slo", runs: list["Result"], summaries: list[dict[str, Any]],
                              bound: float) -> list[str]:
    """The objective against its bound, then what the first run's records say caused it."""
    relation = "at most" if slo.max is not None else "at least"
    name = f"{slo.component}.{slo.metric}"
    lines = [f"{name} must be {relation} {present.metric_value(slo.metric, slo.target)}; the 95% confidence "
             f"bound over {len(runs)} runs is {present.metric_value(slo.metric, bound)}"]
    kind = summaries[0]["components"].get(slo.component, {}).get("kind")
    explain = EXPLAINERS.get((kind, slo.metric))
    if explain is None and "sagas" in summaries[0]["components"].get(slo.component, {}):
        explain = EXPLAINERS.get(("saga", slo.metric))
    if explain is not None and not slo.windowed:
        lines += explain(slo.component, runs[0], summaries[0])
    return lines


def _faults_on(result: "Result", target: str, kinds: tuple[str, ...] = ("crash", "stop")) -> list[str]:
    """The faults of *kinds* on *target* in the run, as "the crash of X at 30 s"."""
    return [f"the {e['kind']} of {target} at {present.latency(e['start'])}" for e in result.fault_events
            if e["kind"] in kinds and e["target"] == target]


def _messages(n: int) -> str:
    return f"{n:,} message" + ("" if n == 1 else "s")


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# -- broker ----------------------------------------------------------------------------------------------

LOSS = {
    "at_most_once": "delivered at most once: the offset is committed before the consumer works, so what {consumer} "
                    "held when {when} was gone for good; deliver at least once (commit after the work) and make "
                    "the consumer idempotent (golden §8, §11)",
    "retention": "deleted by the topic's retention before the group read it: keep messages longer than the "
                 "longest outage, or read faster (golden §8)",
    "dropped": "dropped at a full partition (max_backlog with when_full: drop): bound the backlog by "
               "blocking or rejecting the producer instead, who can retry",
    "leader_failover": "acknowledged by a broker that failed before a replica had them (acks: 1): acknowledge "
                       "with acks: all and min_insync_replicas 2 (golden G8.5)",
    "no_leader": "produced while the partition had no leader",
    "failed": "failed max_deliveries times and had no dead-letter topic to go to",
}


def _group_settings(result: "Result", component: str) -> dict[tuple[str, str], Any]:
    spec = result.scenario.components[component]
    return {(topic, group): g for topic, t in spec.topics.items() for group, g in t.groups.items()}


@explains("broker", "messages_lost", "lost", "loss_ratio")
def _lost(component: str, result: "Result", summary: dict[str, Any]) -> list[str]:
    from ...components.broker.frames import groups

    settings = _group_settings(result, component)
    lines = []
    for row in groups(result, component).to_dict("records"):
        if not row["lost"]:
            continue
        consumer = settings[(row["topic"], row["group"])].consumer.split(".")[0]
        when = _listed(_faults_on(result, consumer)) or "it failed"
        for reason, why in LOSS.items():
            if row.get(f"lost_{reason}"):
                lines.append(f"group {row['group']} of {row['topic']}: {_messages(row[f'lost_{reason}'])} lost in "
                             f"the first run, {why.format(consumer=consumer, when=when)}")
    return lines


@explains("broker", "duplicated", "duplicate_ratio")
def _duplicated(component: str, result: "Result", summary: dict[str, Any]) -> list[str]:
    from ...components.broker.frames import groups

    settings = _group_settings(result, component)
    lines = []
    for row in groups(result, component).to_dict("records"):
        if not row["duplicated"]:
            continue
        consumer = settings[(row["topic"], row["group"])].consumer.split(".")[0]
        when = _listed(_faults_on(result, consumer)) or "a redelivery"
        lines.append(f"group {row['group']} of {row['topic']}: {_messages(row['duplicated'])} processed twice in the "
                     f"first run: after {when}, at-least-once delivery replayed what {consumer} had done since its "
                     f"last committed offset (golden G8.2); an idempotent consumer (idempotency: {{ttl: …}}, longer "
                     f"than a replay can reach back) applies each message once (golden G11.2)")
    return lines


@explains("broker", "consumer_lag_seconds_max", "consumer_lag_seconds", "consumer_lag_max", "consumer_lag")
def _lag(component: str, result: "Result", summary: dict[str, Any]) -> list[str]:
    from ...components.broker.frames import groups, lag

    settings = _group_settings(result, component)
    series = lag(result, component)
    rows = sorted(groups(result, component).to_dict("records"), key=lambda r: -r["lag_seconds_max"])
    lines = []
    for row in rows[:1]:  # the group furthest behind
        g = settings[(row["topic"], row["group"])]
        mine = series[(series.topic == row["topic"]) & (series.group == row["group"])]
        worst = mine.loc[mine.lag_seconds.idxmax()] if len(mine) else None
        at = f" at {present.latency(float(worst.time))}" if worst is not None else ""
        consumer = g.consumer.split(".")[0]
        faults = _faults_on(result, consumer)
        cause = f" after {_listed(faults)}" if faults else ""
        partitions = result.scenario.components[component].topics[row["topic"]].partitions
        lines.append(f"group {row['group']} of {row['topic']} was {present.latency(row['lag_seconds_max'])} behind"
                     f"{at}{cause}, with {g.consumers} consumer(s) per {consumer} replica on {partitions} "
                     f"partitions: a backlog drains at consume − produce (golden G8.4), so spare consumers "
                     f"(up to the partitions) drain it sooner, and a silent crash holds its partitions for "
                     f"session_timeout before they move (golden G8.3)")
    return lines


# -- projection --------------------------------------------------------------------------------------------

@explains("projection", "stale_own_ratio", "stale_own_reads", "stale_ratio", "stale_reads")
def _stale(component: str, result: "Result", summary: dict[str, Any]) -> list[str]:
    mine = summary["components"][component]
    counts = mine.get("counts", {})
    reads, stale, stale_own = counts.get("reads", 0), counts.get("stale_reads", 0), counts.get("stale_own_reads", 0)
    lag = present.latency(mine["projection_lag_mean"]) if mine.get("projection_lag_mean") is not None else "?"
    lines = [f"{stale:,} of {reads:,} reads in the first run answered before the read model had a write "
             f"acknowledged before them ({stale_own:,} of them missed the reader's own write): the projector "
             f"applies a write {lag} after it is acknowledged on average (golden G11.1)"]
    spec = result.scenario.components[component]
    if not spec.read.consistency_token:
        lines.append("a reader that must see its own writes (read-your-writes) carries a consistency token: "
                     "read: {consistency_token: true, max_wait: …} waits until the read model has them")
    elif stale_own:
        lines.append(f"the consistency token waits at most {present.latency(spec.read.max_wait)}: reads still late "
                     f"then are served stale (when_late: serve_stale); a projector that keeps up waits less")
    return lines


# -- sagas ---------------------------------------------------------------------------------------------------

@explains("saga", "sagas_failed", "saga_failed_ratio")
def _half_done(component: str, result: "Result", summary: dict[str, Any]) -> list[str]:
    lines = []
    for saga, block in summary["components"][component]["sagas"].items():
        if not block.get("failed"):
            continue
        partial = block.get("partial_effects") or {}
        where = _listed([f"{n} after {step}" for step, n in sorted(partial.items(), key=lambda kv: -kv[1])])
        lines.append(f"saga {saga}: {block['failed']} left half done in the first run ({where}): a compensation "
                     f"failed every attempt, so that step's effect stayed")
    faults = [f"{e['kind']} on {e['target']} ({e['detail']}, {present.latency(e['start'])}–"
              f"{present.latency(e['end'])})" for e in result.fault_events]
    if faults:
        lines.append(f"the faults in the run: {_listed(faults)}; compensations are retried per the saga's "
                     f"retry (max_attempts, backoff × multiplier): the attempts must outlast the longest "
                     f"failure a compensation can meet (golden §12)")
    return lines


# -- replicated stores ---------------------------------------------------------------------------------------

@explains("kv_store", "linearizable", "linearizability_violations", "stale_ratio", "stale_reads")
def _not_linearizable(component: str, result: "Result", summary: dict[str, Any]) -> list[str]:
    mine = summary["components"][component]
    counts = mine.get("counts", {})
    checked = mine.get("consistency_keys_checked")
    lines = [f"in the first run {mine.get('linearizability_violations', 0):,} of {checked:,} keys checked have a "
             f"history no single order of operations explains, and {counts.get('stale_reads', 0):,} reads returned "
             f"a value older than a write acknowledged before them"]
    example = str(mine.get("consistency_examples") or "").split(" | ")[0]
    if example:
        lines.append(f"for example, {example}")
    faults = [f"the partition {e['target']} ({present.latency(e['start'])}–{present.latency(e['end'])})"
              for e in result.fault_events if e["kind"] == "partition"]
    if mine.get("mode") == "ap":
        where = f" during {_listed(faults)}" if faults else ""
        lines.append(f"mode ap answers on both sides{where}: each side takes writes the other cannot see, and "
                     f"last-writer-wins merges them after the heal ({counts.get('lww_lost_writes', 0):,} acknowledged "
                     f"writes lost); only a majority quorum (mode: cp) keeps one order of writes, at the price of "
                     f"the minority side's availability (golden §10, G10.1)")
    return lines
