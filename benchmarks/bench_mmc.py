"""Usage: python benchmarks/bench_mmc.py [--customers N] [--repeat K] [--seed S] [--json] [--no-ciw] [--profile]

How much does the sdsim engine cost over a hand-written SimPy model of the same queue?

Both sides simulate the same M/M/c queue: c=10 servers, Poisson arrivals at λ=9/s,
exponential service at μ=1/s, one FIFO queue with no bound (ρ = 0.9, Erlang C Wq ≈ 0.6687 s).

* **plain SimPy** — the smallest correct model: one ``simpy.Resource(capacity=c)``, a source
  process issuing exactly N arrivals from ``random.Random(seed).expovariate``, one process
  per customer (``with res.request(): yield req; yield env.timeout(service)``), waits and
  sojourns appended to lists, then the mean wait.
* **sdsim engine** — ``scenarios/theory/mmc.yaml`` through ``simulate()`` + ``summary()``.
  Timed: building the world, the run, turning the records into arrays and the summary
  statistics (that is the engine's whole job). Not timed: loading/validating the YAML
  (reported separately; it does not grow with N).

Why per customer. The engine runs for a simulated *duration*, not a customer count, so it
is given ``duration = N/λ`` (warmup 0): the expected number of arrivals is N, the actual
number is Poisson-distributed around it. Each side's wall time is divided by the customers
it actually simulated (N for plain SimPy, ``summary()["requests"]["issued"]`` for the
engine) and the ratio is taken per customer, so that noise in the arrival count does not
show up as a speed difference. Both sides run every customer to completion (the engine
drains after ``duration``).

Method. One untimed warm-up of each, then K paired repeats; each pair runs both
implementations back to back on the same seed (seed + repeat index), swapping which goes
first on every repeat, with a ``gc.collect()`` before each timed run. Reported: each side's
median wall time, µs/customer and customers/s, the median of the K paired ratios, and the
mean wait of each side against Erlang C as a sanity check (the two use different random
streams, so they agree statistically, not exactly).

**Ciw** (when ``ciw`` is installed: ``pip install ".[bench]"``) runs the same M/M/c as a
third implementation in every repeat — ``ciw.create_network`` with exponential arrivals
and service and ``simulate_until_max_customers(N, method="Finish")`` — and its ratio to
plain SimPy is reported next to the engine's. ``--no-ciw`` leaves it out.

The script imports ``simulator`` from the checkout it sits in (not whatever copy is
installed), so a benchmark always measures the code next to it.

``--profile`` runs the engine once more under cProfile and prints the 25 functions with the
largest own time (tottime) to stderr. cProfile adds a roughly constant cost per Python call,
so it inflates call-heavy code; read it for *where* time goes, not for absolute speed.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import platform
import pstats
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import simpy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # measure this checkout's engine

from simulator import load_scenario, simulate  # noqa: E402
from simulator.theory import mmc  # noqa: E402

try:
    import ciw
except ImportError:  # optional: pip install ".[bench]"
    ciw = None

SERVERS = 10
ARRIVAL_RATE = 9.0
SERVICE_RATE = 1.0
SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "theory" / "mmc.yaml"
WARMUP_CUSTOMERS = 5_000


# ------------------------------------------------------------------------------ plain SimPy

def run_plain(customers: int, seed: int) -> dict:
    """The hand-written M/M/c model, timed from creating the environment to the mean wait."""
    started = time.perf_counter()
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=SERVERS)
    expo = random.Random(seed).expovariate
    waits: list[float] = []
    sojourns: list[float] = []

    def customer():
        arrived = env.now
        with servers.request() as req:
            yield req
            waits.append(env.now - arrived)
            yield env.timeout(expo(SERVICE_RATE))
        sojourns.append(env.now - arrived)

    def source():
        for _ in range(customers):
            yield env.timeout(expo(ARRIVAL_RATE))
            env.process(customer())

    env.process(source())
    env.run()
    mean_wait = sum(waits) / len(waits)
    wall = time.perf_counter() - started
    return {"wall_s": wall, "customers": len(sojourns), "mean_wait_s": mean_wait}


# ------------------------------------------------------------------------------ Ciw

def run_ciw(customers: int, seed: int) -> dict:
    """The same M/M/c in Ciw, timed from building the network to the mean wait."""
    started = time.perf_counter()
    network = ciw.create_network(arrival_distributions=[ciw.dists.Exponential(rate=ARRIVAL_RATE)],
                                 service_distributions=[ciw.dists.Exponential(rate=SERVICE_RATE)],
                                 number_of_servers=[SERVERS])
    ciw.seed(seed)
    sim = ciw.Simulation(network)
    sim.simulate_until_max_customers(customers, method="Finish")
    records = sim.get_all_records()
    mean_wait = sum(r.waiting_time for r in records) / len(records)
    wall = time.perf_counter() - started
    return {"wall_s": wall, "customers": len(records), "mean_wait_s": mean_wait}


# ------------------------------------------------------------------------------ sdsim engine

def load_engine_scenario(customers: int):
    """The mmc scenario with λ, μ, c pinned and ``duration = customers/λ``, no warmup."""
    return load_scenario(
        SCENARIO,
        params=[f"arrival_rate={ARRIVAL_RATE}", f"service_rate={SERVICE_RATE}", f"servers={SERVERS}"],
        sets=[f"duration={customers / ARRIVAL_RATE}s", "warmup=0s"],
    )


def run_engine(scenario, seed: int) -> dict:
    """``simulate()`` + ``summary()``, timed; the summary's share is reported too."""
    started = time.perf_counter()
    result = simulate(scenario, seed=seed)
    simulated = time.perf_counter()
    summary = result.summary()
    wall = time.perf_counter() - started
    return {"wall_s": wall, "summary_s": wall - (simulated - started),
            "customers": summary["requests"]["issued"],
            "mean_wait_s": summary["components"]["station"]["wait_s"]["mean"]}


# ------------------------------------------------------------------------------ benchmark

def benchmark(customers: int, repeat: int, seed: int, with_ciw: bool = True) -> dict:
    started = time.perf_counter()
    scenario = load_engine_scenario(customers)
    load_s = time.perf_counter() - started
    with_ciw = with_ciw and ciw is not None

    run_plain(WARMUP_CUSTOMERS, seed)  # warm-up: imports, first calls, allocator
    run_engine(load_engine_scenario(WARMUP_CUSTOMERS), seed)
    if with_ciw:
        run_ciw(WARMUP_CUSTOMERS, seed)

    runs: list[dict] = []
    for i in range(repeat):
        order = ["plain", "engine"] if i % 2 == 0 else ["engine", "plain"]
        if with_ciw:
            order.insert(i % 3, "ciw")
        pair = {}
        for impl in order:
            gc.collect()
            if impl == "plain":
                pair[impl] = run_plain(customers, seed + i)
            elif impl == "engine":
                pair[impl] = run_engine(scenario, seed + i)
            else:
                pair[impl] = run_ciw(customers, seed + i)
        pair["ratio"] = per_customer(pair["engine"]) / per_customer(pair["plain"])
        line = (f"  repeat {i + 1}/{repeat}: plain {pair['plain']['wall_s']:.3f}s, "
                f"engine {pair['engine']['wall_s']:.3f}s, ratio {pair['ratio']:.2f}")
        if with_ciw:
            pair["ciw_ratio"] = per_customer(pair["ciw"]) / per_customer(pair["plain"])
            line += f"; ciw {pair['ciw']['wall_s']:.3f}s, ratio {pair['ciw_ratio']:.2f}"
        runs.append(pair)
        print(line, file=sys.stderr)

    extra = {}
    if with_ciw:
        extra = {"ciw": aggregate([r["ciw"] for r in runs]), "ciw_version": ciw.__version__,
                 "ciw_ratios": [r["ciw_ratio"] for r in runs],
                 "median_ciw_ratio": statistics.median(r["ciw_ratio"] for r in runs)}
    return {**extra,
        "model": {"servers": SERVERS, "arrival_rate": ARRIVAL_RATE, "service_rate": SERVICE_RATE,
                  "erlang_c_wq_s": mmc(ARRIVAL_RATE, SERVICE_RATE, SERVERS).Wq},
        "customers": customers, "repeat": repeat, "seed": seed,
        "engine_duration_s": scenario.duration,
        "scenario_load_s": load_s,
        "versions": versions(),
        "plain": aggregate([r["plain"] for r in runs]),
        "engine": aggregate([r["engine"] for r in runs]),
        "ratios": [r["ratio"] for r in runs],
        "median_ratio": statistics.median(r["ratio"] for r in runs),
        "runs": runs,
    }


def per_customer(run: dict) -> float:
    return run["wall_s"] / run["customers"]


def aggregate(runs: list[dict]) -> dict:
    out = {
        "median_wall_s": statistics.median(r["wall_s"] for r in runs),
        "median_us_per_customer": statistics.median(per_customer(r) * 1e6 for r in runs),
        "median_customers_per_s": statistics.median(1.0 / per_customer(r) for r in runs),
        "median_customers": statistics.median(r["customers"] for r in runs),
        "mean_wait_s": statistics.fmean(r["mean_wait_s"] for r in runs),
    }
    if "summary_s" in runs[0]:
        out["median_summary_s"] = statistics.median(r["summary_s"] for r in runs)
    return out


def versions() -> dict:
    return {"python": platform.python_version(), "simpy": simpy.__version__, "numpy": np.__version__,
            "platform": f"{platform.system()} {platform.machine()}"}


def print_table(report: dict) -> None:
    m, v = report["model"], report["versions"]
    print(f"M/M/c  c={m['servers']}  λ={m['arrival_rate']:g}/s  μ={m['service_rate']:g}/s  "
          f"N={report['customers']} customers  ({report['repeat']} paired repeats, alternating order)")
    print(f"Python {v['python']} | simpy {v['simpy']} | numpy {v['numpy']} | {v['platform']}")
    print(f"engine duration = N/λ = {report['engine_duration_s']:.1f} s; "
          f"scenario load (not timed) {report['scenario_load_s'] * 1e3:.1f} ms")
    print()
    print(f"{'implementation':<14} {'customers':>10} {'wall s (med)':>13} {'µs/customer':>12} "
          f"{'customers/s':>12} {'mean wait s':>12}")
    rows = [("plain SimPy", "plain"), ("sdsim engine", "engine")] + ([("Ciw", "ciw")] if "ciw" in report else [])
    for name, key in rows:
        a = report[key]
        print(f"{name:<14} {a['median_customers']:>10.0f} {a['median_wall_s']:>13.3f} "
              f"{a['median_us_per_customer']:>12.2f} {a['median_customers_per_s']:>12,.0f} "
              f"{a['mean_wait_s']:>12.4f}")
    summary_s = report["engine"]["median_summary_s"]
    print(f"{'  of which summary()':<25} {summary_s:>13.3f} "
          f"{summary_s / report['engine']['median_customers'] * 1e6:>12.2f}")
    print(f"{'Erlang C Wq':<14} {'':>10} {'':>13} {'':>12} {'':>12} {m['erlang_c_wq_s']:>12.4f}")
    print()
    print("engine/plain per customer: " + ", ".join(f"{r:.2f}" for r in report["ratios"])
          + f"  ->  median {report['median_ratio']:.2f}x")
    if "ciw" in report:
        print(f"Ciw {report['ciw_version']}/plain per customer: " + ", ".join(f"{r:.2f}" for r in report["ciw_ratios"])
              + f"  ->  median {report['median_ciw_ratio']:.2f}x")


# ------------------------------------------------------------------------------ profile

def profile_engine(customers: int, seed: int, top: int = 25) -> None:
    """One engine run under cProfile; the *top* functions by own time go to stderr."""
    scenario = load_engine_scenario(customers)
    gc.collect()
    profiler = cProfile.Profile()
    profiler.enable()
    summary = simulate(scenario, seed=seed).summary()
    profiler.disable()
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    issued = summary["requests"]["issued"]
    print(f"\ncProfile of one engine run ({issued} customers, simulate + summary), "
          f"top {top} by tottime; total {stats.total_tt:.2f} s = {stats.total_tt / issued * 1e6:.1f} µs/customer "
          f"under the profiler", file=sys.stderr)
    stats.sort_stats("tottime").print_stats(top)
    print(_relative(stream.getvalue()), file=sys.stderr)


def _relative(text: str) -> str:
    """The profile with this checkout's and the interpreter's folders left out of the file
    names (a profile is committed as benchmark output; it must not name a machine's paths)."""
    import site
    import sysconfig

    for folder in sorted({str(ROOT), *site.getsitepackages(), sysconfig.get_paths()["stdlib"]}, key=len, reverse=True):
        text = text.replace(folder.rstrip("/") + "/", "")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="sdsim engine vs plain SimPy on the same M/M/c queue, per customer.",
                                     usage="python benchmarks/bench_mmc.py [--customers N] [--repeat K]")
    parser.add_argument("--customers", type=int, default=200_000, metavar="N",
                        help="customers per run (engine: duration = N/λ) [200000]")
    parser.add_argument("--repeat", type=int, default=5, metavar="K",
                        help="paired repeats; 0 skips the comparison (with --profile) [5]")
    parser.add_argument("--seed", type=int, default=1, help="seed of the first repeat; repeat i uses seed+i [1]")
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of the table")
    parser.add_argument("--no-ciw", action="store_true", help="leave Ciw out even when it is installed")
    parser.add_argument("--profile", action="store_true",
                        help="also profile one engine run; top 25 functions by tottime to stderr")
    args = parser.parse_args(argv)
    if args.customers < 1000:
        parser.error("--customers must be at least 1000")
    if args.repeat < 0 or (args.repeat == 0 and not args.profile):
        parser.error("--repeat must be >= 1 (or 0 together with --profile)")

    if args.repeat:
        report = benchmark(args.customers, args.repeat, args.seed, with_ciw=not args.no_ciw)
        if args.json:
            print(json.dumps(report, indent=2))
        else:
            print_table(report)
    if args.profile:
        profile_engine(args.customers, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
