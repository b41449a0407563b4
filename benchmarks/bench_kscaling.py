"""Usage: python benchmarks/bench_kscaling.py [--visits N] [--ks 2,10,50] [--repeat K] [--seed S] [--json] [--no-ciw]
                                         [--handover-depth N]

Does the cost of a station visit grow with the number of stations? (issue 18, item 1)

Three networks of K exponential single-server stations (λ = 0.8/s per entry, μ = 1/s), each
simulated for about N station visits in total whatever K is, so that every K does the same
amount of queueing work:

* **parallel** — K independent M/M/1 queues, each fed by its own Poisson source with N/K
  customers (the shared peers' ``parK`` model). A visit is a customer. Wq = 4 s at each.
* **tandem** — K M/M/1 stations in series (a Jackson tandem: ``scenarios/theory/tandem.yaml``
  with K stages, each stage ``io: async`` so its worker is free while the request is
  downstream), N/K customers, K visits each. W = K · 5 s. Each stage *calls* the next, so
  a request at stage j is j synchronous calls deep (the engine hands a chain over to a fresh
  process every 8 levels: ``simulator.engine.world.HANDOVER_DEPTH``).
* **pipeline** (engine only) — the same K stations visited in turn by one caller: a front
  service (no work, ``io: async``, workers enough for every request) whose operation calls
  s0, s1, … s(K-1) one after the other; N/(K+1) customers, K+1 visits each (the front's
  visit counted too, which makes small K look cheaper, not larger K). This is the model
  plain SimPy's tandem runs (a customer walking the stations), and it keeps the call depth
  at 2 whatever K is, so it isolates the cost of *more components* from that of *deeper calls*.

Three implementations per network and K: **plain SimPy** (the smallest correct model: one
``simpy.Resource`` per station, one process per customer walking the stations), the
**sdsim engine** (``simulate()`` + ``summary()``, as ``bench_mmc.py`` times it) and **Ciw**
(parallel only: K nodes each with its own arrivals; when installed, ``--no-ciw`` to skip).
Reported per implementation and K: µs per visit (wall / visits actually simulated), and the
growth from the smallest K to each K (``cost(K) / cost(K_min)``: 1.0 means the cost of a
visit does not depend on the size of the network). Method: one untimed warm-up, then
``--repeat`` rounds; in each round every (implementation, K) runs once on seed + round,
in an order that rotates between rounds, ``gc.collect()`` before each; medians reported.

``--handover-depth N`` sets how many synchronous calls nest in one process before a fresh one
takes over (``simulator.engine.world.HANDOVER_DEPTH``, 8), to see what depth costs the tandem.
The script imports ``simulator`` from the checkout it sits in.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import time
from pathlib import Path

import simpy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # measure this checkout's engine

from simulator import Scenario, simulate  # noqa: E402

try:
    import ciw
except ImportError:  # optional: pip install ".[bench]"
    ciw = None

ARRIVAL_RATE = 0.8
SERVICE_RATE = 1.0


# ------------------------------------------------------------------------------ plain SimPy

def plain(network: str, k: int, visits: int, seed: int) -> dict:
    started = time.perf_counter()
    env = simpy.Environment()
    expo = random.Random(seed).expovariate
    stations = [simpy.Resource(env, capacity=1) for _ in range(k)]
    waits: list[float] = []

    def customer(route):
        for station in route:
            arrived = env.now
            with station.request() as req:
                yield req
                waits.append(env.now - arrived)
                yield env.timeout(expo(SERVICE_RATE))

    def source(route, customers):
        for _ in range(customers):
            yield env.timeout(expo(ARRIVAL_RATE))
            env.process(customer(route))

    if network == "parallel":
        for station in stations:
            env.process(source([station], visits // k))
    else:
        env.process(source(stations, visits // k))
    env.run()
    return {"wall_s": time.perf_counter() - started, "visits": len(waits)}


# ------------------------------------------------------------------------------ Ciw

def run_ciw(network: str, k: int, visits: int, seed: int) -> dict:
    started = time.perf_counter()
    per = visits // k
    net = ciw.create_network(arrival_distributions=[ciw.dists.Exponential(rate=ARRIVAL_RATE)] * k,
                             service_distributions=[ciw.dists.Exponential(rate=SERVICE_RATE)] * k,
                             number_of_servers=[1] * k,
                             routing=[[0.0] * k for _ in range(k)])  # each customer leaves after its node
    ciw.seed(seed)
    sim = ciw.Simulation(net)
    sim.simulate_until_max_time(per / ARRIVAL_RATE)
    records = sim.get_all_records()
    return {"wall_s": time.perf_counter() - started, "visits": len(records)}


# ------------------------------------------------------------------------------ sdsim engine

def scenario(network: str, k: int, visits: int) -> Scenario:
    per = visits // k
    if network == "parallel":
        components = {f"s{i}": {"kind": "service", "operations": {"serve": {"work": "exp(rate=1)"}}}
                      for i in range(k)}
        workload = [{"name": f"c{i}", "entry": f"s{i}", "operation": "serve",
                     "arrivals": {"kind": "poisson", "rate": ARRIVAL_RATE}} for i in range(k)]
    else:
        components = {}
        for i in range(k):
            operation: dict = {"work": "exp(rate=1)"}
            spec: dict = {"kind": "service", "operations": {"serve": operation}}
            if i < k - 1:
                operation["steps"] = [{"call": f"s{i + 1}.serve"}]
                spec["io"] = "async"
            components[f"s{i}"] = spec
        workload = [{"name": "c", "entry": "s0", "operation": "serve",
                     "arrivals": {"kind": "poisson", "rate": ARRIVAL_RATE}}]
    if network == "pipeline":
        per = visits // (k + 1)
        for spec in components.values():
            spec.pop("io", None)
            spec["operations"]["serve"].pop("steps", None)
        components["front"] = {"kind": "service", "workers": 1_000_000, "io": "async", "operations": {
            "serve": {"work": "const(0s)", "steps": [{"call": f"s{i}.serve"} for i in range(k)]}}}
        workload = [{"name": "c", "entry": "front", "operation": "serve",
                     "arrivals": {"kind": "poisson", "rate": ARRIVAL_RATE}}]
    return Scenario.model_validate({"name": f"{network}-{k}", "duration": per / ARRIVAL_RATE, "warmup": 0,
                                    "drain": 1e6, "components": components, "workload": workload})


def engine(network: str, k: int, visits: int, seed: int) -> dict:
    sc = scenario(network, k, visits)
    started = time.perf_counter()
    summary = simulate(sc, seed=seed).summary()
    wall = time.perf_counter() - started
    # every request issued is run to its end (the drain is long enough): K visits each in the tandem, one
    # in the independent queues. (A component's `visits` counts only those arriving in the measurement
    # window, and a tandem's later stages are visited after it.)
    issued = summary["requests"]["issued"]
    assert summary["requests"]["ok"] == issued, "every request should complete"
    return {"wall_s": wall, "visits": issued * {"tandem": k, "pipeline": k + 1}.get(network, 1)}


# ------------------------------------------------------------------------------ benchmark

def benchmark(visits: int, ks: list[int], repeat: int, seed: int, with_ciw: bool) -> dict:
    impls = {"plain": plain, "engine": engine}
    if with_ciw and ciw is not None:
        impls["ciw"] = run_ciw
    cases = [(net, name, k) for net in ("parallel", "tandem", "pipeline") for name in impls for k in ks
             if not (name == "ciw" and net != "parallel") and not (name == "plain" and net == "pipeline")]
    for net, name, k in cases:  # warm-up
        impls[name](net, k, max(200, visits // 50), seed)
    times: dict[tuple, list[float]] = {case: [] for case in cases}
    for r in range(repeat):
        order = cases[r % len(cases):] + cases[:r % len(cases)]
        for net, name, k in order:
            gc.collect()
            out = impls[name](net, k, visits, seed + r)
            times[(net, name, k)].append(out["wall_s"] / out["visits"] * 1e6)
        print(f"  round {r + 1}/{repeat} done", file=sys.stderr)
    rows = []
    for net, name, k in cases:
        cost = statistics.median(times[(net, name, k)])
        base = statistics.median(times[(net, name, ks[0])])
        rows.append({"network": net, "implementation": name, "k": k, "us_per_visit": cost,
                     "growth": cost / base, "runs_us": times[(net, name, k)]})
    return {"visits": visits, "ks": ks, "repeat": repeat, "seed": seed, "python": sys.version.split()[0],
            "simpy": simpy.__version__, "ciw": getattr(ciw, "__version__", None), "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=100_000)
    parser.add_argument("--ks", default="2,10,50")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-ciw", action="store_true")
    parser.add_argument("--handover-depth", type=int, default=None,
                        help="calls nested in one process before a fresh one takes over (the engine's default: 8)")
    args = parser.parse_args()
    if args.handover_depth is not None:
        from simulator.engine import world

        world.HANDOVER_DEPTH = args.handover_depth
    ks = sorted(int(k) for k in args.ks.split(","))
    result = benchmark(args.visits, ks, args.repeat, args.seed, not args.no_ciw)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{args.visits:,} visits per case, median of {args.repeat}; growth = cost(K) / cost(K={ks[0]})")
    print(f"{'network':9} {'implementation':14} {'K':>4} {'µs/visit':>9} {'growth':>7}")
    for row in result["rows"]:
        print(f"{row['network']:9} {row['implementation']:14} {row['k']:>4} {row['us_per_visit']:>9.2f} "
              f"{row['growth']:>7.2f}")


if __name__ == "__main__":
    main()
