"""Usage: python benchmarks/bench_sweep.py [--workers N] [--repeat K] [--json]

How much faster does a sweep run on a local process pool than serially?

The same sweep — ``scenarios/theory/mmc.yaml`` over ``servers = 10..13`` × ``arrival_rate =
7, 9`` with 2 replications (16 runs of 8000 simulated seconds, about 1 s each) — runs
once with ``workers=1`` (serial, in this process) and once on a pool of ``--workers``
processes (default: every core), ``--repeat`` times, alternating which goes first. The
pool's start-up is included in its time: that is what a user waits for. Reported: the
median wall time of each and the median of the paired speed-ups (serial ÷ pool), and a
check that both produced identical records (the sweep's contract).

On a machine with other work running the speed-up drops; quote medians from a quiet one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # measure this checkout

from simulator import sweep  # noqa: E402

SCENARIO = ROOT / "scenarios" / "theory" / "mmc.yaml"
GRID = {"servers": "10:13:1", "arrival_rate": "7,9"}
SETS = ["duration=8000s", "warmup=800s"]


def timed(workers: int) -> tuple[float, list]:
    started = time.perf_counter()
    result = sweep(SCENARIO, GRID, replications=2, workers=workers, sets=SETS)
    wall = time.perf_counter() - started
    rows = result.runs.drop(columns=[c for c in result.runs.columns if "wall" in c], errors="ignore")
    return wall, rows.to_dict("records")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Sweep speed-up of a local process pool over serial runs.")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="pool size [every core]")
    parser.add_argument("--repeat", type=int, default=3, help="paired repeats [3]")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    pairs = []
    for i in range(args.repeat):
        order = (1, args.workers) if i % 2 == 0 else (args.workers, 1)
        walls, records = {}, {}
        for workers in order:
            walls[workers], records[workers] = timed(workers)
        identical = records[1] == records[args.workers]
        pairs.append({"serial_s": walls[1], "pool_s": walls[args.workers], "speedup": walls[1] / walls[args.workers],
                      "identical": identical})
        print(f"  repeat {i + 1}: serial {walls[1]:.2f} s, {args.workers} workers {walls[args.workers]:.2f} s, "
              f"speed-up {pairs[-1]['speedup']:.2f}x, identical records: {identical}", file=sys.stderr)
    report = {"workers": args.workers, "cores": os.cpu_count(), "runs_per_sweep": 16,
              "median_serial_s": statistics.median(p["serial_s"] for p in pairs),
              "median_pool_s": statistics.median(p["pool_s"] for p in pairs),
              "median_speedup": statistics.median(p["speedup"] for p in pairs),
              "all_identical": all(p["identical"] for p in pairs), "pairs": pairs}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"16 runs: serial {report['median_serial_s']:.2f} s, {args.workers} workers "
              f"{report['median_pool_s']:.2f} s -> median speed-up {report['median_speedup']:.2f}x "
              f"({'identical' if report['all_identical'] else 'DIFFERENT'} records)")
    return 0 if report["all_identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
