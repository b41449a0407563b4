"""What broke an objective: a crash that overlaps the broken buckets, else the saturated components.

:func:`find_causes` puts broken buckets down to causes; :func:`cause_lines` and
:func:`explain_slo_failure` write them in the student's terms (utilization and queue length
over exactly a cause's buckets, the whole window's utilization beside it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...metrics.result import Result
from ...scenario.model import Slo
from .broken import SATURATED, Broken, _fault, _fmt, _moment, _pct, _stretches, find_broken


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
