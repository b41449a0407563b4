"""Explain a failed SLO in the student's terms.

Per failed check (:func:`explain_slo_failure`): which objective and by how much, the moment
it first broke (and the fault active then), and what broke it, read *while it was broken*.
Per report (:func:`diagnose`): each distinct cause once, in ``GradeReport.diagnosis``; each
failed check keeps its own first lines and one short pointer.

How "while it was broken" is found, in the first replication:

* the objective's own series (the operation's own, when the objective names one) in
  buckets of about a sixtieth of the measurement window; a bucket is *broken* when it holds
  at least :data:`MIN_REQUESTS` completed requests of that scope (successful ones for a
  latency) and its value breaks the target;
* a stretch of broken buckets starts at the moment its first bucket went over its
  allowance, read on the requests themselves: the (⌊(1 − q)·n⌋ + 1)-th request of the
  bucket to become late (at issue + target) for a p-q latency, the first failure past the
  allowed share for availability, and never before the first request of that scope issued
  in the bucket. A bucket's left edge may lie before the load that broke it; this moment
  cannot;
* the broken buckets are put down to causes (:func:`find_causes`): a crash that overlaps
  them (a crashed component is idle, not relieved: no load is read there), else the
  components saturated in them (≥ :data:`SATURATED`), or none. Utilization and mean queue
  length are averaged over exactly a cause's buckets, with the whole window's utilization
  beside it: a whole-window mean also counts the calm stretches and a crash's idle time,
  and understates how saturated a component was when it mattered;
* with summary records an operation's own series cannot be read (a mixed series would
  name the wrong moment): the lines say so and give whole-window numbers only; a
  whole-traffic series is read at bucket precision, a stretch named from its first
  bucket's *end* (late by at most a bucket, never early).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.request import OK
from ..metrics.grid import FullRecordsRequired, bucket_of
from ..metrics.result import Result
from ..scenario.model import LATENCY_METRICS, Slo
from .. import present

if TYPE_CHECKING:
    from .report import GradeReport
    from .spec import LabSpec

MIN_REQUESTS = 5
"""Completed requests of the objective's scope a bucket needs before it is judged."""

SATURATED = 0.9
"""Utilization from which a component counts as saturated (every one at or above it is named)."""

BUCKETS = 60
"""About how many buckets the measurement window is cut into."""

QUANTILE = {"latency_p50": 0.5, "latency_p90": 0.9, "latency_p95": 0.95, "latency_p99": 0.99,
            "latency_p999": 0.999, "latency_max": 1.0, "latency_mean": 1.0}


def _fmt(metric: str, value: float) -> str:
    if metric in LATENCY_METRICS:
        return present.short_latency(value)
    if metric in ("availability", "error_rate"):
        return present.percent(value, 2)
    return present.rate(value)


def _t(x: float) -> str:
    return f"{round(x, 1):g}"


def _pct(u: float) -> str:
    return present.percent(u, 0)


# ----------------------------------------------------------------------------- where it broke


@dataclass
class Broken:
    """Where one objective was broken in one run."""

    width: float  # bucket width (s)
    edges: np.ndarray  # bucket edges, from 0 to the window's end
    index: np.ndarray  # the broken buckets
    stretches: list[tuple[float, float]]  # (onset, end) of each run of consecutive broken buckets
    onsets: dict[int, float]  # the first bucket of each stretch → its onset
    share: float  # broken buckets / buckets of the window
    exact: bool  # onsets read on the requests (full records); else bucket precision
    fault: str | None = None  # the fault active when it first broke

    @property
    def starts(self) -> np.ndarray:
        return self.edges[self.index]


def _fault(row) -> str:
    return f"the {row.kind} of {row.target} ({row.start:g}–{row.end:g} s)"


def find_broken(slo: Slo, result: Result) -> Broken | None:
    """The buckets of the run where *slo* is broken on its own series, or ``None`` when that
    series cannot be read (an operation's series, or a percentile the series lacks, with
    summary records)."""
    lo, hi = result.window
    width = result.bucket_width(max((hi - lo) / BUCKETS, result.scenario.sample_interval))
    try:
        ts = result.timeseries_at(width, until=hi, operation=slo.operation)
    except FullRecordsRequired:
        return None
    times = ts.time.to_numpy()
    edges = np.append(times, hi)
    scope = _scope(result, slo.operation)
    metric = slo.metric
    if metric in LATENCY_METRICS:
        counts = ts.ok.to_numpy()
        if metric in ts.columns:
            values = ts[metric].to_numpy()
        elif scope is not None:
            values = _latency_series(metric, scope, edges, result.end_time)
        else:
            return None
    elif metric in ("availability", "error_rate"):
        counts = (ts.ok + ts.failed).to_numpy()
        values = ts.availability.to_numpy()
        if metric == "error_rate":
            values = 1.0 - values
    else:  # throughput, goodput: a rate, every bucket can be judged
        counts = np.full(times.size, MIN_REQUESTS)
        values = ts[f"{metric}_rps"].to_numpy()
    with np.errstate(invalid="ignore"):
        bad = (values > slo.target) if slo.max is not None else (values < slo.target)
    inside = times >= lo
    index = np.flatnonzero(inside & (counts >= MIN_REQUESTS) & np.nan_to_num(bad, nan=0).astype(bool))
    stretches, onsets = [], {}
    for run in np.split(index, np.flatnonzero(np.diff(index) > 1) + 1) if index.size else []:
        first, last = int(run[0]), int(run[-1])
        onset = _onset(slo, scope, edges, first, result.end_time)
        if onset is None:  # bucket precision: name the first bucket's end, never its (too early) start
            onset = float(edges[first + 1])
        onsets[first] = onset
        stretches.append((onset, float(edges[last + 1])))
    out = Broken(width, edges, index, stretches, onsets, index.size / max(int(inside.sum()), 1),
                 exact=scope is not None)
    if index.size:
        onset, a, b = stretches[0][0], edges[index[0]], edges[index[0] + 1]
        for row in result.faults.itertuples():
            # full records: the fault had begun at the onset (or had just ended: its backlog); else the first
            # broken bucket overlaps it
            if (row.start <= onset < row.end + width) if out.exact else (a < row.end and b > row.start):
                out.fault = _fault(row)
                break
    return out


@dataclass
class _Scope:
    t_issue: np.ndarray
    t_end: np.ndarray
    ok: np.ndarray


def _scope(result: Result, operation: str | None) -> _Scope | None:
    """The requests the objective reads (full records only)."""
    columns = result.columns
    if columns is None:
        return None
    mine = np.ones(columns.t_issue.size, dtype=bool)
    if operation is not None:
        mine = columns.operation == result.operation_names().index(operation)
    return _Scope(columns.t_issue[mine], columns.t_end[mine], columns.status[mine] == OK)


def _latency_series(metric: str, scope: _Scope, edges: np.ndarray, end_time: float) -> np.ndarray:
    """Per bucket (by completion) the *metric* of the successful requests (NaN when there are none)."""
    done = bucket_of(scope.t_end, edges, end_time)
    latency = scope.t_end - scope.t_issue
    out = np.full(edges.size - 1, np.nan)
    for j in np.unique(done[scope.ok & (done >= 0) & (done < out.size)]):
        values = latency[scope.ok & (done == j)]
        out[j] = values.mean() if metric == "latency_mean" else np.quantile(values, QUANTILE[metric])
    return out


def _onset(slo: Slo, scope: _Scope | None, edges: np.ndarray, j: int, end_time: float) -> float | None:
    """The moment bucket *j* went over its allowance, read on its requests (full records), clipped to the
    bucket's start and to the first request of the scope issued in it."""
    if scope is None:
        return None
    a, b = float(edges[j]), float(edges[j + 1])
    onset = a
    issued = scope.t_issue[(scope.t_issue >= a) & (scope.t_issue < b)]
    if issued.size:
        onset = max(onset, float(issued.min()))
    done = bucket_of(scope.t_end, edges, end_time) == j
    metric, target = slo.metric, slo.target
    if metric in LATENCY_METRICS:
        ok = done & scope.ok
        late = ok & (scope.t_end - scope.t_issue > target)
        instants = np.sort(scope.t_issue[late] + target)  # when each became late
        allowed = math.floor((1 - QUANTILE[metric]) * int(ok.sum()) + 1e-9)
    elif metric in ("availability", "error_rate"):
        instants = np.sort(scope.t_end[done & ~scope.ok])
        share = (1 - target) if metric == "availability" else target
        allowed = math.floor(share * int(done.sum()) + 1e-9)
    else:
        return onset
    if instants.size:
        onset = max(onset, float(instants[min(allowed, instants.size - 1)]))
    return onset


def _stretches(stretches: list[tuple[float, float]]) -> str:
    spans = [f"{_t(a)}–{_t(b)}" if round(b - a, 1) > 0 else f"{_t(a)}" for a, b in stretches]
    if len(spans) <= 3:
        return "t = " + (", ".join(spans[:-1]) + " and " if len(spans) > 1 else "") + spans[-1] + " s"
    total = sum(b - a for a, b in stretches)
    return (f"{len(spans)} stretches between t = {_t(stretches[0][0])} and {_t(stretches[-1][1])} s "
            f"({_t(total)} s in all)")


def _merge(stretches: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for a, b in sorted(stretches):
        if out and a <= out[-1][1] + 1e-9:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _moment(broken: Broken | None, slo: Slo) -> str | None:
    if broken is None:
        if slo.operation is not None:
            return (f"the moment it failed needs {slo.operation}'s own series, which this run did not keep "
                    "(summary records): rerun with records: full to see it")
        return None
    if not broken.starts.size:
        return (f"no single stretch of the run broke it on its own ({_t(broken.width)} s buckets with at least "
                f"{MIN_REQUESTS} requests): the whole run is slightly over the target")
    onset = broken.stretches[0][0]
    if broken.exact:
        first, at, note = "it first broke", f"at t = {_t(onset)} s", ""
    else:  # bucket precision: the first broken bucket's end, late by at most a bucket and never early
        first, at, note = "it had broken", f"by t = {_t(onset)} s", f"read to the {_t(broken.width)} s bucket"
    if broken.fault:
        return f"it broke during {broken.fault}, first {at}" + (f" ({note})" if note else "")
    if broken.share > 0.8:
        return (f"{first} {at}" + (f" ({note})" if note else "") + " and stayed broken for most of the run "
                f"({broken.share:.0%} of it): the design lacks capacity for the load, not only during faults")
    return f"{first} {at} ({note + '; ' if note else ''}broken in {broken.share:.0%} of the run)"


# ----------------------------------------------------------------------------- what was saturated


@dataclass
class Cause:
    """One cause of a broken objective, in one run: what the broken buckets are put down to.

    ``key`` says which cause, and is what two checks' causes share when they are the same one:
    ``("saturated", components, fault)`` — those components were saturated (≥ :data:`SATURATED`),
    starting during *fault* (or ``None``); ``("calm", fault)`` — no component was saturated;
    ``("crash", fault)`` — the buckets a crash overlaps (a crashed component is idle, not
    relieved, so no load is read there); ``("window", why, component)`` — no stretch to read.
    """

    key: tuple
    starts: np.ndarray = field(default_factory=lambda: np.zeros(0))  # left edges of its buckets
    stretches: list[tuple[float, float]] = field(default_factory=list)
    width: float = 0.0
    detail: str = ""  # whole-window reading (``window`` only)

    @property
    def begins(self) -> float:
        return self.stretches[0][0] if self.stretches else math.inf


def _components_frame(result: Result, width: float, cache: dict | None = None):
    key = (id(result), width)
    if cache is not None and key in cache:
        return cache[key]
    frame = result.component_timeseries_at(width, until=result.window[1])
    if cache is not None:
        cache[key] = frame
    return frame


def _load_over(frame, starts: np.ndarray) -> list[tuple[str, float, float]]:
    """(component, mean utilization, mean queue length) over the buckets starting at *starts*, busiest first."""
    if frame.empty or not starts.size:
        return []
    frame = frame[frame.time.isin(starts)]
    rows = [(str(name), float(np.nan_to_num(g.utilization.mean())), float(np.nan_to_num(g.queue_len.mean())))
            for name, g in frame.groupby("component", sort=False)]
    return sorted(rows, key=lambda r: -r[1])


def _bucket_faults(broken: Broken, result: Result) -> list[tuple[str, np.ndarray, Any]]:
    """(description, mask over the broken buckets it overlaps, row) of every fault touching them."""
    a, b = broken.starts, broken.starts + broken.width
    out = []
    for row in result.faults.itertuples():
        hit = (a < row.end) & (b > row.start)
        if hit.any():
            out.append((_fault(row), hit, row))
    return out


def find_causes(result: Result, broken: Broken | None, slo: Slo | None = None, summary: dict[str, Any] | None = None,
                cache: dict | None = None) -> list[Cause]:
    """The causes of the broken buckets, in the order they began: each crash that overlaps them, and the
    other buckets grouped by which components were saturated in them (none: ``calm``). Without broken
    buckets, one ``window`` cause (whole-window numbers, said as such)."""
    if not result.components:
        return []
    if broken is None or not broken.index.size:
        summary = summary if summary is not None else result.summary()
        name, c = max(summary["components"].items(), key=lambda kv: kv[1]["utilization"] or 0.0)
        own = f"{slo.operation}'s own series" if slo is not None and slo.operation else "its own series"
        why = ("no stretch of the run broke it on its own" if broken is not None else
               f"naming the moment needs {own}, kept with records: full")
        rec = result.components[name]
        detail = (f"{name} {_pct(c['utilization'] or 0.0)} busy averaged over the whole window "
                  f"({rec.kind}, capacity {rec.capacity})")
        growing = _growing_queue(result, name)
        if growing:
            detail += f"; {growing}"
        return [Cause(("window", why, name), detail=detail)]
    causes = []
    crashed = np.zeros(broken.index.size, dtype=bool)
    faults = _bucket_faults(broken, result)
    for text, hit, row in faults:
        if row.kind == "crash":
            crashed |= hit
            stretches = [(max(x, float(row.start)), y) for x, y in _runs(broken, hit)]  # not before the crash
            causes.append(Cause(("crash", text), broken.starts[hit], stretches, broken.width))
    frame = _components_frame(result, broken.width, cache)
    if not frame.empty:
        util = frame.pivot(index="time", columns="component", values="utilization").reindex(broken.starts)
        hot = np.nan_to_num(util.to_numpy()) >= SATURATED
        names = list(util.columns)
        tags = [(tuple(sorted(names[j] for j in np.flatnonzero(hot[k]))), _fault_of(broken, k, faults))
                for k in range(broken.index.size)]
        tags = _absorb_transitions(broken, tags, crashed)
        for k in range(1, len(tags)):  # a saturation is put down to the fault it began in, however long it lasts
            if tags[k][0] and tags[k][0] == tags[k - 1][0] and broken.index[k] == broken.index[k - 1] + 1 \
                    and not crashed[k] and not crashed[k - 1]:
                tags[k] = tags[k - 1]
        groups: dict[tuple, np.ndarray] = {}
        for k in np.flatnonzero(~crashed):
            groups.setdefault(tags[k], np.zeros(broken.index.size, dtype=bool))[k] = True
        for (sat, fault), mask in groups.items():
            key = ("saturated", sat, fault) if sat else ("calm", fault)
            causes.append(Cause(key, broken.starts[mask], _runs(broken, mask), broken.width))
    return sorted(causes, key=lambda c: c.begins)


def _growing_queue(result: Result, component: str) -> str | None:
    """A queue that kept growing over the window (arrivals exceed capacity), read on the component's
    series (which summary records keep too)."""
    lo, hi = result.window
    frame = result.component_timeseries_at(result.bucket_width(max((hi - lo) / 20, result.scenario.sample_interval)),
                                           until=hi)
    queue = frame[(frame.component == component) & (frame.time >= lo)]["queue_len"].to_numpy()
    if queue.size < 4:
        return None
    first, last = queue[: queue.size // 4].mean(), queue[-(queue.size // 4):].mean()
    if last > 10 and last > 3 * max(first, 1.0):
        return f"its queue kept growing: {first:.0f} → {last:.0f} requests waiting (arrivals exceed capacity)"
    return None


def _fault_of(broken: Broken, k: int, faults: list[tuple[str, np.ndarray, Any]]) -> str | None:
    """The fault (other than a crash) broken bucket *k* is put down to: one active in it or just over (its
    backlog); for the bucket that opens a stretch, with full records, one active at the stretch's onset."""
    a = float(broken.starts[k])
    onset = broken.onsets.get(int(broken.index[k]))
    for text, _, row in faults:
        if row.kind == "crash":
            continue
        if onset is not None and broken.exact:
            if row.start <= onset < row.end + broken.width:
                return text
        elif a < row.end + broken.width and a + broken.width > row.start:
            return text
    return None


def _absorb_transitions(broken: Broken, tags: list[tuple], crashed: np.ndarray) -> list[tuple]:
    """A bucket with nothing saturated that opens a stretch right before saturated buckets (the load arriving
    mid-bucket), or right follows them (the backlog's last answers), belongs to that saturation."""
    out = list(tags)
    index = broken.index
    for k in range(index.size):
        if tags[k][0] or crashed[k]:
            continue
        after = k + 1 < index.size and index[k + 1] == index[k] + 1 and not crashed[k + 1] and tags[k + 1][0]
        before = k > 0 and index[k - 1] == index[k] - 1 and not crashed[k - 1] and tags[k - 1][0]
        if after and int(index[k]) in broken.onsets:
            out[k] = tags[k + 1]
        elif before:
            out[k] = tags[k - 1]
    return out


def _runs(broken: Broken, keep: np.ndarray) -> list[tuple[float, float]]:
    """The stretches of the broken buckets in *keep* (a mask over ``broken.index``): a run that begins where a
    stretch of the objective begins keeps its onset, any other begins at its first bucket's edge (the bucket
    before it was broken too)."""
    index = broken.index[keep]
    out = []
    for run in np.split(index, np.flatnonzero(np.diff(index) > 1) + 1) if index.size else []:
        first, last = int(run[0]), int(run[-1])
        out.append((broken.onsets.get(first, float(broken.edges[first])), float(broken.edges[last + 1])))
    return out


def _reading(frame, starts: np.ndarray, summary: dict[str, Any], saturated: tuple[str, ...]) -> str:
    """The components' load over those buckets: the saturated ones (else the busiest) with their queue, the whole
    window's utilization of the first for contrast, and the next busiest."""
    load = _load_over(frame, starts)
    if not load:
        return ""
    named = [row for row in load if row[0] in saturated] or load[:1]
    parts = []
    for i, (name, util, queue) in enumerate(named):
        text = f"{name} {_pct(util)} busy, {queue:.0f} requests queued"
        whole = summary["components"].get(name, {}).get("utilization")
        if i == 0 and whole is not None:
            text += f" ({_pct(whole)} over the whole window)"
        parts.append(text)
    rest = [row for row in load if row not in named]
    if rest:
        parts.append(f"{rest[0][0]} {_pct(rest[0][1])}")
    return ("" if saturated else "the busiest: ") + "; ".join(parts)


def _render(cause: Cause, result: Result, summary: dict[str, Any], ids: str = "", cache: dict | None = None) -> str:
    """The full line of a cause (its reading over its own buckets); *ids*: the checks it broke."""
    kind = cause.key[0]
    breaking = f", breaking {ids}" if ids else ""
    if kind == "window":
        return f"{cause.detail} ({cause.key[1]}{'; for ' + ids if ids else ''})"
    span = _stretches(cause.stretches)
    if kind == "crash":
        return f"{cause.key[1]}: broken at {span}{breaking}"
    frame = _components_frame(result, cause.width, cache)
    if kind == "saturated":
        _, names, fault = cause.key
        head = f"{', '.join(names)} saturated at {span}" + (f", from {fault}" if fault else "")
        return f"{head}{breaking}: {_reading(frame, cause.starts, summary, names)}"
    fault = cause.key[1]
    head = f"{fault}, not load, at {span} (no component saturated)" if fault else f"no component saturated at {span}"
    return f"{head}{breaking}: {_reading(frame, cause.starts, summary, ())}"


def _short(cause: Cause, result: Result, cache: dict | None = None) -> str:
    """What a check keeps of a cause once the diagnosis holds it."""
    kind = cause.key[0]
    if kind == "window":
        return f"{cause.key[2]}, over the whole window"
    if kind == "crash":
        return cause.key[1]
    span = _stretches(cause.stretches)
    if kind == "saturated":
        return f"{', '.join(cause.key[1])} saturated at {span}"
    load = _load_over(_components_frame(result, cause.width, cache), cause.starts)
    busiest = f"{load[0][0]} {_pct(load[0][1])} busy" if load else "nothing busy"
    if cause.key[1]:
        return f"{cause.key[1]}, not load ({busiest})"
    return f"{busiest}, not saturated, at {span}"


def _prefix(causes: list[Cause]) -> str:
    """``bottleneck`` when a component's load is named (saturated, the busiest, the whole window), else ``cause``."""
    load = any(c.key[0] in ("saturated", "window") or (c.key[0] == "calm" and c.key[1] is None) for c in causes)
    return "bottleneck" if load else "cause"


def cause_lines(slo: Slo, result: Result, summary: dict[str, Any], broken: Broken | None,
                cache: dict | None = None) -> tuple[list[Cause], list[str], str]:
    """(causes, the check's own lines for them, the one-line pointer that replaces those lines)."""
    causes = find_causes(result, broken, slo, summary, cache)
    if not causes:
        return [], [], ""
    prefix = _prefix(causes)
    lines = [f"{prefix}: {_render(c, result, summary, cache=cache)}" for c in causes]
    pointer = f"{prefix}: " + "; ".join(_short(c, result, cache) for c in causes) + ": see diagnosis"
    return causes, lines, pointer


def explain_slo_failure(slo: Slo, runs: list[Result], summaries: list[dict[str, Any]], bound: float) -> list[str]:
    """The objective and its bound, when it first broke, and what broke it (read while it was broken)."""
    scope = f" of {slo.operation}" if slo.operation else ""
    relation = "at most" if slo.max is not None else "at least"
    lines = [f"{slo.metric}{scope} must be {relation} {_fmt(slo.metric, slo.target)}; "
             f"the 95% confidence bound over {len(runs)} runs is {_fmt(slo.metric, bound)}"]
    broken = find_broken(slo, runs[0])
    moment = _moment(broken, slo)
    if moment:
        lines.append(moment)
    lines += cause_lines(slo, runs[0], summaries[0], broken)[1]
    return lines


# ----------------------------------------------------------------------------- one line per cause


def diagnose(report: "GradeReport", lab: "LabSpec", runs: list[Result]) -> list[str]:
    """Each distinct cause of the failed objectives once, in ``report.diagnosis`` (also returned).

    A cause shared by several failed checks (the same components saturated, starting in the
    same fault or in none; the same crash; no component saturated; the same whole-window
    reading) is one line, read over the union of their buckets and naming the checks; each
    check's own cause lines become one short pointer. Lines are in the order the causes began.
    """
    report.diagnosis = []
    if not runs:
        return report.diagnosis
    result = runs[0]
    slos = {c.id: c.slo.as_slo(c.id) for c in lab.checks if c.slo is not None}
    summary: dict[str, Any] | None = None
    cache: dict = {}
    groups: dict[tuple, list[tuple[str, Cause]]] = {}
    for check in report.checks:
        slo = slos.get(check.id)
        if slo is None or check.passed or check.bound is None:
            continue
        if summary is None:
            summary = result.summary()
        causes, lines, pointer = cause_lines(slo, result, summary, find_broken(slo, result), cache)
        if not lines or not all(line in check.feedback for line in lines):
            continue  # not this module's explanation (cannot be measured, nothing measured…)
        check.feedback = [line for line in check.feedback if line not in lines] + [pointer]
        for cause in causes:
            groups.setdefault(cause.key, []).append((check.id, cause))
    merged = []
    for key, members in groups.items():
        first = members[0][1]
        starts = np.unique(np.concatenate([c.starts for _, c in members]))
        stretches = _merge([s for _, c in members for s in c.stretches])
        merged.append((Cause(key, starts, stretches, first.width, first.detail), ", ".join(i for i, _ in members)))
    merged.sort(key=lambda m: m[0].begins)
    report.diagnosis = [_render(c, result, summary, ids, cache) for c, ids in merged]
    return report.diagnosis
