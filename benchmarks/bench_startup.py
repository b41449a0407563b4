"""Usage: python benchmarks/bench_startup.py [--runs N] [--warmup W] [--against CHECKOUT] [--scenario FILE] [--json]

How long until ``sdsim`` answers? Start-up of ``sdsim --help`` and of ``sdsim validate``.

Each command is timed as a whole process, from its start to its exit (interpreter start,
imports, the work, the exit), as a person typing it waits for it:

* ``python -c pass`` — the bare interpreter, the floor every command stands on;
* ``python -m simulator.cli --help``;
* ``python -m simulator.cli validate FILE`` (default ``scenarios/onepiece/microservices.yaml``).

A round runs every command once, in an order that rotates from round to round; ``--runs``
rounds are timed after ``--warmup`` rounds that are not. Reported for each command: the
median wall time (and its minimum and maximum), the median cpu time (user + system, the
kernel's accounting of the finished child), and the median over rounds of its wall time
minus the bare interpreter's in the same round: what sdsim itself costs. The target is
0.3 s of wall time for ``--help`` and for ``validate``.

With ``--against CHECKOUT`` (another sdsim source tree, e.g. a worktree of an older commit)
every command also runs in that checkout, alternately with this one in each round, and the
report adds the median of the paired ratios this / that, wall and cpu: a ratio is taken
under the same machine load, so it holds on a busy machine where the absolute times rise.

Each checkout runs its own code: the commands start in its folder, and ``python -m`` puts
the current folder first on the import path. Bytecode caches are written to a temporary
folder (``PYTHONPYCACHEPREFIX``, ``PYTHONDONTWRITEBYTECODE`` unset for the children) and
the warm-up fills them, so the figures are the steady state of an installed package, which
has its ``.pyc`` files, and no checkout is written to.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 0.3
SCENARIO = "scenarios/onepiece/microservices.yaml"


def commands(scenario: str) -> dict[str, list[str]]:
    """Label → argv (run in a checkout's folder) of each command timed."""
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "sdsim --help": [sys.executable, "-m", "simulator.cli", "--help"],
        "sdsim validate": [sys.executable, "-m", "simulator.cli", "validate", scenario],
    }


def run_once(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall and cpu seconds of one process; a non-zero exit stops the benchmark."""
    with tempfile.TemporaryFile() as stderr:
        started = time.perf_counter()
        child = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=stderr)
        _, status, usage = os.wait4(child.pid, 0)  # reaped here: the kernel's cpu accounting of the child
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            stderr.seek(0)
            raise SystemExit(f"{' '.join(argv[1:])} in {cwd} exited {child.returncode}:\n"
                             f"{stderr.read().decode(errors='replace')[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def measure(checkouts: dict[str, Path], argvs: dict[str, list[str]], runs: int, warmup: int,
            env: dict[str, str]) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """``(checkout, command) → [(wall, cpu), ...]``, one pair per timed round."""
    jobs = [(name, label) for label in argvs for name in checkouts]
    times: dict[tuple[str, str], list[tuple[float, float]]] = {job: [] for job in jobs}
    for round_ in range(warmup + runs):
        shift = round_ % len(jobs)
        for name, label in jobs[shift:] + jobs[:shift]:
            result = run_once(argvs[label], checkouts[name], env)
            if round_ >= warmup:
                times[name, label].append(result)
    return times


def report(times: dict[tuple[str, str], list[tuple[float, float]]], checkouts: dict[str, Path],
           labels: list[str]) -> dict:
    """Medians, spreads, cost above the bare interpreter, and (two checkouts) the paired ratios."""
    out: dict = {"target_s": TARGET_S, "cores": os.cpu_count(), "python": sys.version.split()[0], "commands": []}
    names = list(checkouts)
    for label in labels:
        for name in names:
            samples = times[name, label]
            walls = [w for w, _ in samples]
            bare = [w for w, _ in times[name, labels[0]]]
            row = {"command": label, "checkout": name, "runs": len(samples),
                   "wall_s": statistics.median(walls), "wall_min_s": min(walls), "wall_max_s": max(walls),
                   "cpu_s": statistics.median(c for _, c in samples),
                   "above_python_s": statistics.median(w - b for w, b in zip(walls, bare))}
            if len(names) == 2 and name == names[0]:
                other = times[names[1], label]
                row["wall_ratio"] = statistics.median(a[0] / b[0] for a, b in zip(samples, other))
                row["cpu_ratio"] = statistics.median(a[1] / b[1] for a, b in zip(samples, other))
            out["commands"].append(row)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[2])
    parser.add_argument("--runs", type=int, default=15, help="timed rounds (default 15)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed rounds first, filling the bytecode caches (default 2)")
    parser.add_argument("--against", type=Path, default=None, metavar="CHECKOUT",
                        help="another sdsim checkout to run alternately (paired ratios this / that)")
    parser.add_argument("--scenario", default=SCENARIO, help=f"the file validate reads, relative to each checkout (default {SCENARIO})")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    if args.runs < 1 or args.warmup < 1:
        parser.error("--runs and --warmup must be at least 1 (the warm-up writes the bytecode caches)")
    checkouts = {"this": ROOT}
    if args.against is not None:
        against = args.against.resolve()
        if not (against / "simulator" / "cli").is_dir():
            parser.error(f"{args.against} is not an sdsim checkout (no simulator/cli in it)")
        checkouts["against"] = against
    argvs = commands(args.scenario)
    with tempfile.TemporaryDirectory(prefix="sdsim-pycache-") as cache:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
        env["PYTHONPYCACHEPREFIX"] = cache
        times = measure(checkouts, argvs, args.runs, args.warmup, env)
    result = report(times, checkouts, list(argvs))
    result["checkouts"] = {name: str(path) for name, path in checkouts.items()}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{len(os.sched_getaffinity(0))} cores, Python {result['python']}, {args.runs} rounds after {args.warmup} "
          f"warm-up; {', '.join(f'{n} = {p}' for n, p in result['checkouts'].items())}")
    paired = len(checkouts) == 2
    header = f"{'command':16} {'checkout':8} {'wall median':>11} {'(min-max)':>15} {'cpu':>7} {'above python':>13}"
    print(header + (f" {'wall this/against':>18} {'cpu this/against':>17}" if paired else ""))
    for row in result["commands"]:
        line = (f"{row['command']:16} {row['checkout']:8} {row['wall_s']:10.3f}s "
                f"({row['wall_min_s']:.3f}-{row['wall_max_s']:.3f}) {row['cpu_s']:6.3f}s {row['above_python_s']:12.3f}s")
        if "wall_ratio" in row:
            line += f" {row['wall_ratio']:18.2f} {row['cpu_ratio']:17.2f}"
        print(line)
    print(f"target: sdsim --help and sdsim validate within {TARGET_S} s wall (median, this checkout)")


if __name__ == "__main__":
    main()
