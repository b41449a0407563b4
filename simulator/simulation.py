"""Run a scenario: build the world, run it, turn the records into a :class:`Result`.

What the run keeps is decided first (:func:`simulator.metrics.records.choose`): with
``full`` records the :class:`~simulator.metrics.recorder.Recorder` keeps every request
and span and they become numpy columns here; with ``summary`` records the
:class:`~simulator.metrics.streaming.StreamingRecorder` aggregates during the run and
hands over its aggregates. Either way the result answers the same ``summary()``.
"""

from __future__ import annotations

import gc
import time
from contextlib import contextmanager
from typing import Callable

import numpy as np

from .metrics.exact import RequestColumns, SpanColumns
from .metrics.recorder import Recorder
from .metrics.records import RecordsChoice, RecordsMode, choose
from .metrics.result import ComponentRecords, Result
from .metrics.streaming import StreamingRecorder
from .scenario.model import Scenario
from .engine.build import build


def simulate(scenario: Scenario, seed: int | None = None,
             progress: Callable[[float, float, int], None] | None = None,
             records: RecordsMode | None = None, ticks: int = 100) -> Result:
    """Run *scenario* once (with its own seed unless *seed* is given) and return the result.

    Same scenario + same seed ⇒ identical result, bit for bit (with or without *progress*,
    which is called *ticks* times, evenly in simulated time, as ``progress(sim_time, duration, events)``).
    *records* (``full``, ``summary`` or ``auto``) overrides the scenario's ``records`` field;
    ``result.records`` says what was kept and why. The simulated run is the same in
    every mode (same events, same random draws); only what is kept of it differs.
    """
    started = time.perf_counter()
    choice = choose(scenario, records)
    if choice.mode == "full":
        recorder = Recorder()
    else:
        recorder = StreamingRecorder(scenario.warmup, scenario.duration, scenario.sample_interval,
                                     scenario.monitoring)
    world = build(scenario, seed, recorder=recorder)
    with _fewer_collections():
        end = world.run(progress, ticks)
    common = dict(scenario=scenario, seed=world.seed, end_time=end, operation_keys=world.operation_keys,
                  fault_events=_pair_faults(recorder.faults, end), scaling_events=[vars(e) for e in recorder.scaling],
                  records=choice)
    if choice.mode == "full":
        result = _full(recorder, common, choice)
    else:
        result = _summary(recorder, common, choice, end, len(scenario.workload), len(world.operation_keys))
    if world.tracer is not None:
        from .tracing.traces import Traces

        result.traces = Traces(result.tables["trace_spans"].rows, world.tracer.names, world.seed,
                               [w.name for w in scenario.workload])
    result.wall_time_s = time.perf_counter() - started
    result.events = world.events()
    return result


@contextmanager
def _fewer_collections(gen0: int = 50_000):
    """Run with Python's youngest-generation collection threshold raised.

    A run allocates millions of short-lived events and generators; the default threshold
    (700) makes the cyclic collector scan them thousands of times for almost nothing
    (most die by reference counting). A higher threshold saves 5–10 % of a run's time and
    changes no result: collection timing never alters the order of SimPy's events.
    """
    before = gc.get_threshold()
    if before[0] >= gen0 or before[0] == 0:  # already raised, or the collector is off
        yield
        return
    gc.set_threshold(gen0, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _meta(log, choice: RecordsChoice) -> dict:
    return dict(name=log.name, kind=log.kind, capacity=log.capacity, operations=log.operations,
                labels=dict(log.labels), tally_names=list(log.tally_names), ratios=dict(log.ratios),
                capacity_steps=_table(log.capacity_steps, 2).copy(), facts=dict(log.facts), records=choice,
                tables=log.tables.finish())


def _full(rec: Recorder, common: dict, choice: RecordsChoice) -> Result:
    req = _table(rec.requests, rec.REQUEST_FIELDS)
    components = {}
    for name, log in rec.spans.items():
        spans = _table(log.rows, log.FIELDS)
        tallies = _table(log.tallies, 2)
        columns = SpanColumns(
            arrival=spans[:, 0].copy(), start=spans[:, 1].copy(), release=spans[:, 2].copy(), end=spans[:, 3].copy(),
            status=spans[:, 4].astype(np.int8), op=spans[:, 5].astype(np.uint16), done=spans[:, 6].copy(),
            tally_time=tallies[:, 0].copy(), tally_code=tallies[:, 1].astype(np.uint16))
        components[name] = ComponentRecords(spans=columns, **_meta(log, choice))
    columns = RequestColumns(t_issue=req[:, 0].copy(), t_end=req[:, 1].copy(), status=req[:, 2].astype(np.int8),
                             workload=req[:, 3].astype(np.uint16), operation=req[:, 4].astype(np.uint16))
    return Result(components=components, columns=columns, tables=rec.tables.finish(), **common)


def _summary(rec: StreamingRecorder, common: dict, choice: RecordsChoice, end: float, workloads: int,
             operations: int) -> Result:
    requests, aggregates = rec.finish(end, workloads, operations)
    components = {name: ComponentRecords(aggregates=aggregates[name], **_meta(log, choice))
                  for name, log in rec.spans.items()}
    folded = None
    if rec.monitor is not None:  # the scrape's request and visit families (simulator.monitoring.folding)
        from .monitoring.scrape import scrape_times

        folded = rec.monitor.finish(len(scrape_times(rec.monitor.interval, end)))
    return Result(components=components, aggregates=requests, tables=rec.tables.finish(), folded_scrape=folded,
                  **common)


def _table(flat, fields: int) -> np.ndarray:
    """A flat ``array('d')`` of records as an (n, fields) matrix."""
    return np.frombuffer(flat, dtype=float).reshape(-1, fields) if len(flat) else np.zeros((0, fields))


def _pair_faults(events, end: float) -> list[dict]:
    open_faults: dict[tuple, dict] = {}
    out = []
    for e in events:
        key = (e.kind, e.target, e.detail)
        if e.phase == "start":
            row = {"kind": e.kind, "target": e.target, "start": e.time, "end": end, "detail": e.detail}
            open_faults.setdefault(key, []).append(row)
            out.append(row)
        else:
            rows = open_faults.get(key) or []
            if rows:
                row = rows.pop(0)
                row["end"] = e.time
                if e.outcome:
                    row["detail"] = f"{row['detail']}, {e.outcome}" if row["detail"] else e.outcome
    return out
