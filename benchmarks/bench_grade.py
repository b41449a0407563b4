"""Usage: python benchmarks/bench_grade.py [--repeat K] [--workers N] [--json]

How long does a student wait for a grade?

Each lab's reference solution (``labs/<lab>/solution``) is graded ``--repeat`` times as
a student grades it: ``sdsim grade <lab> <folder> --json`` in a fresh process (Python
start-up, imports, the process pool and every replication included), with the grader's
default (a process per replication, at most 4 per core) unless ``--workers`` says otherwise. Reported per lab: the
minimum, median and maximum wall time, the score (it must be 100/100: a fast wrong grade
is no use), and the target of 10 s on 2 cores.

A paired comparison is the serial grade (``--workers 1``) of the same folder, run
alternately with the parallel one, so the speed-up is measured under the same machine load.
On a machine with other work running the figures rise; quote medians from a quiet one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LABS = ["lab1-decomposition", "lab2-load-balancing"]
TARGET_S = 10.0


def grade_once(lab: str, workers: int | None) -> tuple[float, float]:
    """Wall seconds and score of one ``sdsim grade`` process."""
    command = [sys.executable, "-m", "simulator.cli", "grade", lab, str(ROOT / "labs" / lab / "solution"), "--json"]
    if workers is not None:
        command += ["--workers", str(workers)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout
    env.pop("SDSIM_LABS", None)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"grading {lab} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return wall, json.loads(done.stdout)["score"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None, help="processes for the replications (default: the grader's, one per run)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = {"cores": os.cpu_count(), "target_s": TARGET_S, "labs": {}}
    for lab in LABS:
        parallel, serial, scores = [], [], set()
        for i in range(args.repeat):
            order = [(args.workers, parallel), (1, serial)]
            for workers, times in (order if i % 2 == 0 else order[::-1]):
                wall, score = grade_once(lab, workers)
                times.append(wall)
                scores.add(score)
        report["labs"][lab] = {
            "wall_s": {"min": min(parallel), "median": statistics.median(parallel), "max": max(parallel)},
            "serial_wall_s": {"median": statistics.median(serial)},
            "speedup": statistics.median(s / p for s, p in zip(serial, parallel)),
            "scores": sorted(scores),
            "within_target": statistics.median(parallel) <= TARGET_S,
        }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"grading the reference solutions, {args.repeat} paired runs, {report['cores']} cores "
          f"(target: median <= {TARGET_S:g} s)")
    print(f"{'lab':24} {'min':>7} {'median':>7} {'max':>7} {'serial':>7} {'speed-up':>8}  score")
    for lab, r in report["labs"].items():
        w = r["wall_s"]
        print(f"{lab:24} {w['min']:6.1f}s {w['median']:6.1f}s {w['max']:6.1f}s {r['serial_wall_s']['median']:6.1f}s "
              f"{r['speedup']:7.2f}x  {'/'.join(f'{s:g}' for s in r['scores'])}"
              f"{'' if r['within_target'] else '  (over target)'}")


if __name__ == "__main__":
    main()
