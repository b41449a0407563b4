"""Usage: python benchmarks/bench_onepiece.py [--seconds S] [--repeat K] [--scenario FILE] [--json]
       python benchmarks/bench_onepiece.py --against CHECKOUT [--seconds S] [--repeat K]
       python benchmarks/bench_onepiece.py --profile [--seconds S]

How fast does the engine simulate the flagship One Piece microservices platform on one core?

Runs ``scenarios/onepiece/microservices.yaml`` (gateway, seven services, their databases,
the Redis queue, analytics; about five component visits and thirty scheduler events per
trader request) for ``--seconds`` of simulated time, ``--repeat`` times with seeds 1..K,
one process, and reports per run:

* **requests/s** — end-to-end client requests simulated per wall-clock second (requests
  issued ÷ wall time of ``simulate()``: building the world, the run and turning the records
  into arrays; the YAML is loaded once, untimed);
* **events/s** — SimPy scheduler events per wall-clock second;
* **events/request** — how much work one request is for the engine.

Medians over the repeats are printed; machines are noisy, so rerun when the repeats
disagree. The script imports ``simulator`` from the checkout it sits in.

``--against CHECKOUT`` measures a change: K pairs of fresh processes, this checkout's and
CHECKOUT's (its own copy of this script, seed 1 each), in alternating order, and reports
each side's median requests/s and the median of the paired ratios this / CHECKOUT.

``--profile`` runs seed 1 once under cProfile and prints the 30 functions with the most own
time (file names relative to the checkout and the interpreter's folders); cProfile inflates
call-heavy code, so read it for proportions, not speed.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # measure this checkout's engine

import simpy  # noqa: E402

from simulator import load_scenario, simulate  # noqa: E402

SCENARIO = ROOT / "scenarios" / "onepiece" / "microservices.yaml"


def run_once(scenario, seed: int) -> dict:
    gc.collect()
    started = time.perf_counter()
    result = simulate(scenario, seed=seed)
    wall = time.perf_counter() - started
    issued = int(result.summary()["requests"]["issued"])  # warm-up 0: every request is in the window
    return {"seed": seed, "wall_s": wall, "requests": issued, "events": result.events,
            "requests_per_s": issued / wall, "events_per_s": result.events / wall,
            "events_per_request": result.events / max(issued, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Requests and events simulated per wall-clock second, One Piece "
                                                 "microservices, one core.")
    parser.add_argument("--seconds", type=float, default=600.0, help="simulated seconds per run [600]")
    parser.add_argument("--repeat", type=int, default=5, help="runs, seeds 1..K [5]")
    parser.add_argument("--scenario", type=Path, default=SCENARIO, help="scenario file [the microservices one]")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--against", type=Path, default=None, help="another checkout: paired runs, this / it")
    parser.add_argument("--profile", action="store_true", help="profile one run (seed 1); top 30 by own time")
    args = parser.parse_args(argv)
    if args.against is not None:
        return against(args)
    if args.profile:
        return profile(args)
    scenario = load_scenario(args.scenario, sets=[f"duration={args.seconds:g}s", "warmup=0s"])
    simulate(load_scenario(args.scenario, sets=["duration=10s", "warmup=0s"]), seed=1)  # warm-up
    runs = []
    for seed in range(1, args.repeat + 1):
        runs.append(run_once(scenario, seed))
        r = runs[-1]
        print(f"  seed {seed}: {r['requests']:,} requests in {r['wall_s']:.2f} s wall -> "
              f"{r['requests_per_s']:,.0f} req/s, {r['events_per_s']:,.0f} events/s", file=sys.stderr)
    report = {"scenario": str(args.scenario.relative_to(ROOT) if args.scenario.is_relative_to(ROOT) else args.scenario),
              "simulated_s": args.seconds, "repeat": args.repeat,
              "python": platform.python_version(), "simpy": simpy.__version__,
              "median_requests_per_s": statistics.median(r["requests_per_s"] for r in runs),
              "median_events_per_s": statistics.median(r["events_per_s"] for r in runs),
              "median_events_per_request": statistics.median(r["events_per_request"] for r in runs),
              "runs": runs}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{report['scenario']}: {args.seconds:g} simulated s x {args.repeat} runs "
              f"(Python {report['python']}, SimPy {report['simpy']})")
        print(f"median {report['median_requests_per_s']:,.0f} requests/s, {report['median_events_per_s']:,.0f} events/s, "
              f"{report['median_events_per_request']:.1f} events/request")
    return 0


def profile(args, top: int = 30) -> int:
    import cProfile
    import io
    import pstats
    import site
    import sysconfig

    scenario = load_scenario(args.scenario, sets=[f"duration={args.seconds:g}s", "warmup=0s"])
    simulate(load_scenario(args.scenario, sets=["duration=10s", "warmup=0s"]), seed=1)  # warm-up
    gc.collect()
    profiler = cProfile.Profile()
    profiler.enable()
    result = simulate(scenario, seed=1)
    profiler.disable()
    issued = int(result.summary()["requests"]["issued"])
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("tottime").print_stats(top)
    text = stream.getvalue()
    for folder in sorted({str(ROOT), *site.getsitepackages(), sysconfig.get_paths()["stdlib"]}, key=len, reverse=True):
        text = text.replace(folder.rstrip("/") + "/", "")
    print(f"cProfile of one run of {args.scenario.name}, {args.seconds:g} simulated s, seed 1: {issued} requests, "
          f"{result.events} event ids; top {top} by own time, {stats.total_tt / issued * 1e6:.1f} µs/request under "
          f"the profiler\n{text}")
    return 0


def one_process(checkout: Path, seconds: float) -> dict:
    """One run (seed 1) in a fresh process of *checkout*'s copy of this script."""
    done = subprocess.run([sys.executable, str(checkout / "benchmarks" / "bench_onepiece.py"), "--seconds",
                           f"{seconds:g}", "--repeat", "1", "--json"], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)["runs"][0]


def against(args) -> int:
    other = args.against.resolve()
    pairs = []
    for k in range(args.repeat):
        order = [ROOT, other] if k % 2 == 0 else [other, ROOT]
        got = {checkout: one_process(checkout, args.seconds) for checkout in order}
        pairs.append((got[ROOT], got[other]))
        print(f"  pair {k + 1}: this {got[ROOT]['requests_per_s']:,.0f} req/s ({got[ROOT]['events_per_request']:.1f} "
              f"events/request), {other.name} {got[other]['requests_per_s']:,.0f} req/s "
              f"({got[other]['events_per_request']:.1f})", file=sys.stderr)
    ratios = [a["requests_per_s"] / b["requests_per_s"] for a, b in pairs]
    print(f"this checkout {statistics.median(a['requests_per_s'] for a, _ in pairs):,.0f} requests/s, {other.name} "
          f"{statistics.median(b['requests_per_s'] for _, b in pairs):,.0f}; this / {other.name}: median "
          f"{statistics.median(ratios):.2f} (pairs {min(ratios):.2f}–{max(ratios):.2f}), {args.seconds:g} simulated s, "
          f"seed 1, {args.repeat} pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
