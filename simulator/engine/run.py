"""Run a scenario: build the world, run it, turn the records into a :class:`Result`."""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from ..metrics.result import ComponentRecords, Result
from ..scenario.model import Scenario
from .world import build


def simulate(scenario: Scenario, seed: int | None = None,
             progress: Callable[[float, float, int], None] | None = None) -> Result:
    """Run *scenario* once (with its own seed unless *seed* is given) and return the result.

    Same scenario + same seed ⇒ identical result, bit for bit (with or without *progress*,
    which is called about a hundred times as ``progress(sim_time, duration, events)``).
    """
    started = time.perf_counter()
    world = build(scenario, seed)
    end = world.run(progress)
    rec = world.recorder
    req = _table(rec.requests, rec.REQUEST_FIELDS)
    components = {}
    for name, log in rec.spans.items():
        spans = _table(log.rows, log.FIELDS)
        tallies = _table(log.tallies, 2)
        components[name] = ComponentRecords(
            name=name, kind=log.kind, capacity=log.capacity, operations=log.operations, labels=dict(log.labels),
            arrival=spans[:, 0].copy(), start=spans[:, 1].copy(), release=spans[:, 2].copy(), end=spans[:, 3].copy(),
            status=spans[:, 4].astype(np.int8), op=spans[:, 5].astype(np.uint16),
            tally_time=tallies[:, 0].copy(), tally_code=tallies[:, 1].astype(np.uint16),
            tally_names=list(log.tally_names), ratios=dict(log.ratios),
            capacity_steps=_table(log.capacity_steps, 2).copy(), facts=dict(log.facts))
    return Result(
        scenario=scenario, seed=world.seed, end_time=end, operation_keys=world.operation_keys,
        t_issue=req[:, 0].copy(), t_end=req[:, 1].copy(), status=req[:, 2].astype(np.int8),
        workload=req[:, 3].astype(np.uint16), operation=req[:, 4].astype(np.uint16),
        components=components, fault_events=_pair_faults(rec.faults, end),
        scaling_events=[vars(e) for e in rec.scaling],
        wall_time_s=time.perf_counter() - started, events=world.events(),
    )


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
                rows.pop(0)["end"] = e.time
    return out
