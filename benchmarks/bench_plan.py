"""The README's `plan` and `knee` examples, timed end to end: adaptive replications against
every configuration at R, paired in one sitting.

    python benchmarks/bench_plan.py [--repeat 3] [--workers N] [--json]

Each repeat runs both commands as fresh processes (``python -m simulator.cli … --json``), in
alternating order, and reads the runs each made from its JSON report. Reports the median wall
time of each, the median of the paired ratios adaptive / full, the runs, and whether both found
the same answer (they should: an early verdict is only taken when the 95 % interval is
wholly on one side of the target).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

EXAMPLES = {
    "plan": ["plan", "scenarios/theory/mmc.yaml", "--knob", "servers=10:20", "--slo", "component.station.p_wait<=0.2",
             "--set", "params.arrival_rate.max=100", "--set", "workload.0.arrivals.rate=90",
             "--param", "service_rate=10"],
    "knee": ["knee", "scenarios/theory/mm1.yaml", "--param", "arrival_rate=0.3:0.95", "--slo", "latency_mean<=2s",
             "-r", "5"],
}


def run(args: list[str]) -> tuple[float, dict]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "simulator.cli", *args, "--json"], cwd=ROOT, capture_output=True,
                          text=True)
    wall = time.perf_counter() - started
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return wall, json.loads(done.stdout)


def answer(name: str, report: dict) -> object:
    return report["config"] if name == "plan" else (report["last_ok"], report["first_broken"])


def runs(name: str, report: dict) -> int:
    entries = report["evaluations"] if name == "plan" else report["probes"]
    return sum(max(c["n"] for c in e["checks"]) for e in entries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--only", choices=sorted(EXAMPLES), default=None)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    extra = ["--workers", str(options.workers)] if options.workers else []
    report = {}
    for name, args in EXAMPLES.items():
        if options.only and name != options.only:
            continue
        walls: dict[str, list[float]] = {"adaptive": [], "full": []}
        answers, counts = {}, {}
        for k in range(options.repeat):
            order = ["adaptive", "full"] if k % 2 == 0 else ["full", "adaptive"]
            for mode in order:
                wall, data = run(args + extra + (["--all-replications"] if mode == "full" else []))
                walls[mode].append(wall)
                answers[mode], counts[mode] = answer(name, data), runs(name, data)
                print(f"{name} {mode}: {wall:.1f} s, {counts[mode]} runs", file=sys.stderr)
        ratios = [a / f for a, f in zip(walls["adaptive"], walls["full"])]
        report[name] = {
            "command": "sdsim " + " ".join(args + extra),
            "adaptive_s": statistics.median(walls["adaptive"]), "full_s": statistics.median(walls["full"]),
            "ratio": statistics.median(ratios), "ratios": [round(r, 3) for r in ratios],
            "runs": counts, "answers": {m: answers[m] for m in answers}, "same_answer": answers["adaptive"] ==
            answers["full"]}
    if options.json:
        print(json.dumps(report, indent=2))
        return
    for name, r in report.items():
        print(f"{name}: adaptive {r['adaptive_s']:.1f} s ({r['runs']['adaptive']} runs), "
              f"all replications {r['full_s']:.1f} s ({r['runs']['full']} runs); "
              f"adaptive / full {r['ratio']:.2f} (pairs {min(r['ratios']):.2f}–{max(r['ratios']):.2f}); "
              f"same answer: {r['same_answer']} ({r['answers']['adaptive']})")


if __name__ == "__main__":
    main()
