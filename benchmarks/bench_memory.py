"""Usage: python benchmarks/bench_memory.py [--requests N] [--onepiece-requests M] [--modes full,summary]
                                        [--repeat K] [--json]

Peak memory and wall time of long runs with ``records: full`` versus ``records: summary``.

Each measurement is a **fresh subprocess** (this script with ``--child``), so peaks do not
mix: the child imports the engine, loads the scenario, reads its own high-water resident
set (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) as the *baseline*, runs ``simulate()``
in the given records mode, calls ``summary()``, reads ``ru_maxrss`` again as the *peak* and
prints one JSON line. Reported per run: peak RSS, baseline, ``(peak − baseline) / requests``
as bytes per request, wall time of ``simulate()`` + ``summary()`` and µs per request.

Two scenarios:

* **M/M/c** — ``scenarios/theory/mmc.yaml`` (c = 10, λ = 9/s, μ = 1/s, one component) with
  ``duration = N/λ`` and no warm-up: about N requests and N visits (default N = 10,000,000,
  the issue's target: peak under 1 GB in summary mode);
* **One Piece** — ``scenarios/onepiece/microservices.yaml`` (gateway, seven services and
  their stores; about five component visits per trader request) with its duration scaled
  so that the workloads' expected request count (:func:`simulator.metrics.records.expected_requests`)
  is M (default 1,000,000; the market-open spike stays at 4–8 min).

``--repeat K`` runs every (scenario, mode) K times, alternating the modes, and also
reports the median over the pairs of the summary/full wall-time ratio (the per-request
cost of aggregating as the run goes). ``--modes`` picks the modes; ``--requests 0`` or
``--onepiece-requests 0`` skips a scenario. The script imports ``simulator`` from the
checkout it sits in.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # measure this checkout's engine

SCENARIOS = {
    "mmc": ROOT / "scenarios" / "theory" / "mmc.yaml",
    "onepiece": ROOT / "scenarios" / "onepiece" / "microservices.yaml",
}


def _rss_bytes() -> int:
    """This process's peak resident set so far (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def child(name: str, requests: int, mode: str, seed: int) -> dict:
    """One measured run (in its own process): scale the scenario to *requests*, simulate, summarise."""
    from simulator import load_scenario, simulate
    from simulator.metrics.records import expected_requests
    from simulator.scenario.budget import MAX_SAMPLES

    path = SCENARIOS[name]
    # expected requests grow linearly with the duration once the profile's last change is past
    d1 = load_scenario(path, sets=["warmup=0s"]).duration
    e1 = expected_requests(load_scenario(path, sets=["warmup=0s"]))
    e2 = expected_requests(load_scenario(path, sets=[f"duration={2 * d1}s", "warmup=0s"]))
    duration = d1 + (requests - e1) * d1 / (e2 - e1) if requests >= e1 else d1 * requests / e1
    # the finest sample interval the scenario budget allows (simulator.scenario.budget.MAX_SAMPLES points a series)
    interval = max(load_scenario(path).sample_interval, math.ceil(duration / MAX_SAMPLES * 100) / 100)
    scenario = load_scenario(path, sets=[f"duration={duration:.6f}s", "warmup=0s", f"sample_interval={interval}s"])
    simulate(load_scenario(path, sets=["duration=5s", "warmup=0s"]), seed=seed, records=mode)  # warm imports
    gc.collect()
    baseline = _rss_bytes()
    started = time.perf_counter()
    result = simulate(scenario, seed=seed, records=mode)
    summary = result.summary()
    wall = time.perf_counter() - started
    peak = _rss_bytes()
    issued = summary["requests"]["issued"]
    visits = sum(c["visits"] for c in summary["components"].values())
    return {"scenario": name, "mode": result.records_mode, "seed": seed, "duration_s": duration,
            "requests": issued, "visits": visits, "events": result.events, "wall_s": wall,
            "us_per_request": wall / max(issued, 1) * 1e6, "baseline_bytes": baseline, "peak_bytes": peak,
            "bytes_per_request": (peak - baseline) / max(issued, 1),
            "latency_p99_s": summary["latency_s"]["p99"], "availability": summary["availability"]}


def measure(name: str, requests: int, mode: str, seed: int) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--requests", str(requests),
               "--mode", mode, "--seed", str(seed)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"child failed ({' '.join(command)}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _mb(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Peak RSS and wall time, records: full vs summary.")
    parser.add_argument("--requests", type=int, default=10_000_000, help="M/M/c requests [10,000,000]; 0 skips")
    parser.add_argument("--onepiece-requests", type=int, default=1_000_000,
                        help="One Piece microservices requests [1,000,000]; 0 skips")
    parser.add_argument("--modes", default="full,summary", help="records modes to measure [full,summary]")
    parser.add_argument("--repeat", type=int, default=1, help="runs per (scenario, mode), modes alternating [1]")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--child", choices=sorted(SCENARIOS), help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.requests, args.mode, args.seed)))
        return 0

    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    plan = [(name, n) for name, n in (("mmc", args.requests), ("onepiece", args.onepiece_requests)) if n > 0]
    runs = []
    for name, n in plan:
        for k in range(args.repeat):
            for mode in (modes if k % 2 == 0 else modes[::-1]):
                r = measure(name, n, mode, args.seed + k)
                runs.append(r)
                print(f"  {name:8} {mode:7} {r['requests']:>11,} requests  peak {_mb(r['peak_bytes']):>10}  "
                      f"{r['bytes_per_request']:6.0f} B/request  {r['wall_s']:7.1f} s  "
                      f"{r['us_per_request']:5.1f} µs/request", file=sys.stderr)
    rows = []
    for name, _ in plan:
        for mode in modes:
            mine = [r for r in runs if r["scenario"] == name and r["mode"] == mode]
            rows.append({"scenario": name, "mode": mode, "runs": len(mine),
                         "requests": statistics.median(r["requests"] for r in mine),
                         "visits_per_request": statistics.median(r["visits"] / max(r["requests"], 1) for r in mine),
                         "peak_bytes": max(r["peak_bytes"] for r in mine),
                         "bytes_per_request": statistics.median(r["bytes_per_request"] for r in mine),
                         "wall_s": statistics.median(r["wall_s"] for r in mine),
                         "us_per_request": statistics.median(r["us_per_request"] for r in mine)})
    ratios = {}
    if {"full", "summary"} <= set(modes):
        for name, _ in plan:
            full = [r for r in runs if r["scenario"] == name and r["mode"] == "full"]
            summ = [r for r in runs if r["scenario"] == name and r["mode"] == "summary"]
            pairs = [s["us_per_request"] / f["us_per_request"] for f, s in zip(full, summ)]
            ratios[name] = {"pairs": pairs, "median": statistics.median(pairs)}
    import numpy
    import simpy

    report = {"python": platform.python_version(), "simpy": simpy.__version__, "numpy": numpy.__version__,
              "machine": platform.machine(), "rows": rows, "summary_over_full_wall": ratios, "runs": runs}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"Python {report['python']} | simpy {report['simpy']} | numpy {report['numpy']} | {platform.system()} "
          f"{report['machine']}")
    print(f"{'scenario':10} {'records':8} {'requests':>12} {'visits/req':>10} {'peak RSS':>11} {'B/request':>10} "
          f"{'wall s':>8} {'µs/request':>10}")
    for row in rows:
        print(f"{row['scenario']:10} {row['mode']:8} {row['requests']:>12,.0f} {row['visits_per_request']:>10.2f} "
              f"{_mb(row['peak_bytes']):>11} {row['bytes_per_request']:>10.0f} {row['wall_s']:>8.1f} "
              f"{row['us_per_request']:>10.2f}")
    for name, ratio in ratios.items():
        pairs = ", ".join(f"{p:.2f}" for p in ratio["pairs"])
        print(f"{name}: summary/full wall per request {pairs} -> median {ratio['median']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
