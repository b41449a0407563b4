"""Run a scenario: build the world, run it, turn the records into a :class:`Result`."""

from __future__ import annotations

import time

import numpy as np

from ..metrics.result import ComponentRecords, Result
from ..scenario.model import Scenario
from .world import build


def simulate(scenario: Scenario, seed: int | None = None) -> Result:
    """Run *scenario* once (with its own seed unless *seed* is given) and return the result.

    Same scenario + same seed ⇒ identical result, bit for bit.
    """
    started = time.perf_counter()
    world = build(scenario, seed)
    end = world.run()
    rec = world.recorder
    times = np.frombuffer(rec.request_times, dtype=float).reshape(-1, 2) if rec.request_times else np.zeros((0, 2))
    components = {}
    for name, log in rec.spans.items():
        spans = np.frombuffer(log.times, dtype=float).reshape(-1, 4) if log.times else np.zeros((0, 4))
        components[name] = ComponentRecords(
            name=name, kind=log.kind, capacity=log.capacity, operations=log.operations, labels=dict(log.labels),
            arrival=spans[:, 0].copy(), start=spans[:, 1].copy(), release=spans[:, 2].copy(), end=spans[:, 3].copy(),
            status=np.array(log.status, dtype=np.int8), op=np.array(log.ops, dtype=np.uint16))
    return Result(
        scenario=scenario, seed=world.seed, end_time=end, operation_keys=world.operation_keys,
        t_issue=times[:, 0].copy(), t_end=times[:, 1].copy(),
        status=np.array(rec.request_status, dtype=np.int8),
        workload=np.array(rec.request_workload, dtype=np.uint16),
        operation=np.array(rec.request_operation, dtype=np.uint16),
        components=components, fault_events=_pair_faults(rec.faults, end),
        wall_time_s=time.perf_counter() - started,
    )


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
