# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lab 2 · Load balancing, scaling and caching
#
# Lab 1 split the One Piece platform into services. Lab 2 makes them scale: several
# replicas behind a balancer, a cache in front of the hot data, an autoscaler for the
# market open. Each of these has a textbook answer, and this notebook puts the simulation
# next to it; it is the companion of `labs/lab2-load-balancing/` (read its README for the
# tasks and the grading). You will:
#
# 1. compare **balancing policies** on ten identical servers against the closed forms;
# 2. give one server a **slow node** and see which policy notices;
# 3. measure the **hit ratio versus cache size** against Che's curve;
# 4. watch an **autoscaler** react to the market-open spike, cold start included;
# 5. move **sliders** for replicas, policy and cache size.
#
# Run the cells from top to bottom (**Shift+Enter**).

# %% [markdown]
# ## Settings
#
# Teaching-sized runs: the whole notebook takes about a minute, less on an idle laptop.
# Near full load short runs are noisy (that is one of the lessons); make `POLICY_RUN` and
# `REPLICATIONS` larger to watch the error bars close in on the formulas.

# %% tags=["parameters"]
LOADS = [0.5, 0.8, 0.9]  # per-server utilization ρ of the policy sweep (try 0.6, 0.7, 0.95 too)
POLICY_RUN = "20s"  # simulated time of each policy run (the scenario file runs 300 s)
POLICY_WARMUP = "5s"
REPLICATIONS = 4  # independent runs per point, for the error bars
WORKERS = 1  # processes for the sweeps: 1 runs them here, one after the other (faster on a busy machine)
SLOW_NODE_RUN = "120s"
CACHE_CAPACITIES = [100, 300, 1000, 3000]  # entries, of 10,000 keys
CACHE_POLICIES = ["lru", "fifo"]
CACHE_RUN = "15s"
CACHE_WARMUP = "5s"  # the cache starts empty: leave its cold start out
SPIKE_RATE = 1000  # req/s during the 3-minute market-open burst (the day's mean is 100)
BOOT = "30s"  # provisioning delay of a new replica (the cold start)
SLIDER_DURATION = "30s"  # short runs, so the sliders answer in about a second
SEED = 1

# %% [markdown]
# ## Imports and files
#
# The scenarios live in the repository next to `pyproject.toml`; this cell walks up from
# the notebook's folder to find it. The sliders of section 5 use a small scenario of this
# notebook's own, `notebooks/scenarios/lab2_explore.yaml`.

# %%
import math
from pathlib import Path
from statistics import NormalDist

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

from simulator import load_scenario, simulate, sweep, theory
from simulator.interactive import explore

ROOT = Path.cwd().resolve()
while not (ROOT / "pyproject.toml").exists():
    if ROOT == ROOT.parent:
        raise FileNotFoundError("open this notebook from inside the sdsim repository")
    ROOT = ROOT.parent
LB = ROOT / "scenarios" / "lb"
CACHE = ROOT / "scenarios" / "cache"
EXPLORE = ROOT / "notebooks" / "scenarios" / "lab2_explore.yaml"
sorted(p.name for p in LB.glob("*.yaml"))

# %% [markdown]
# ## 1. Which policy? Ten identical servers, one balancer
#
# `lb/policies.yaml`: ten servers, each **one worker** with exponential service of mean
# 10 ms (μ = 100/s), behind a balancer that costs nothing, so that only its `policy`
# matters. Poisson arrivals at `rate`; the per-server load is ρ = rate / 1000. The
# policies, from the least informed to the best informed:
#
# * `random`: each server sees a Poisson stream of rate/10, so it is an **M/M/1** queue;
# * `round_robin`: each server gets every 10th arrival, so its gaps are Erlang-10 and it is
#   an **E₁₀/M/1** queue (less variable arrivals, shorter queues);
# * `least_request`: ask two servers at random, send to the less busy (**power of two
#   choices**). Mitzenmacher's formula is for infinitely many servers; with only ten,
#   expect the simulation somewhat above it (the scenario header quotes about 3.1 mean
#   service times at ρ = 0.9 against the limit's 2.61);
# * `least_connections`: scan all ten and pick the least busy (join the shortest queue).
#   No simple closed form, but it cannot beat the next line;
# * the ideal, **one shared queue** in front of all ten workers: **M/M/10** (Erlang C).
#   We get it from the same file with one replica of ten workers.
#
# `sweep` runs every policy × load, `REPLICATIONS` times each with the same seeds across
# the grid (common random numbers), and aggregates a mean with a 95 % interval.

# %%
policies_file = LB / "policies.yaml"
print(load_scenario(policies_file).description)
pool = load_scenario(policies_file).components["pool"]
N_SERVERS, MU = pool.replicas, 100.0  # 10 replicas of 1 worker each, exp(10 ms): μ = 100/s
assert (N_SERVERS, pool.workers) == (10, 1)
POLICIES = ["random", "round_robin", "least_request", "least_connections"]
rates = [round(rho * N_SERVERS * MU) for rho in LOADS]
run_sets = [f"duration={POLICY_RUN}", f"warmup={POLICY_WARMUP}"]

by_policy = sweep(policies_file, {"policy": POLICIES, "rate": rates}, replications=REPLICATIONS,
                  workers=WORKERS, seed=SEED, sets=run_sets)
shared = sweep(policies_file, {"rate": rates}, replications=REPLICATIONS, workers=WORKERS, seed=SEED,
               sets=run_sets + ["components.pool.replicas=1", f"components.pool.workers={N_SERVERS}"])

columns = ["rate", "component.pool.utilization.mean", "latency_mean.mean", "latency_mean.ci_low",
           "latency_mean.ci_high"]
sim = pd.concat([by_policy.aggregate()[["policy", *columns]],
                 shared.aggregate()[columns].assign(policy="shared queue (M/M/10)")], ignore_index=True)
sim["rho"] = sim["rate"] / (N_SERVERS * MU)
sim["measured rho"] = sim["component.pool.utilization.mean"]
sim[["mean", "low", "high"]] = sim[columns[2:]] * 1e3  # ms


def theory_ms(policy, rho):
    """The closed form for a policy at per-server load rho (ms); NaN where there is none (or rho >= 1)."""
    lam = rho * N_SERVERS * MU
    try:
        if policy == "random":
            w = theory.random_routing_response_time(N_SERVERS, lam, MU)
        elif policy == "round_robin":
            w = theory.round_robin_response_time(N_SERVERS, lam, MU)
        elif policy == "least_request":
            w = theory.supermarket_response_time(rho, 2, MU)  # n -> infinity
        elif policy.startswith("shared"):
            w = theory.mmc(lam, MU, N_SERVERS).W
        else:
            return float("nan")
    except ValueError:  # no steady state
        return float("nan")
    return w * 1e3


sim["theory"] = [theory_ms(p, r) for p, r in zip(sim["policy"], sim["rho"])]
sim["sim / theory"] = sim["mean"] / sim["theory"]
sim["theory at measured rho"] = [theory_ms(p, r) for p, r in zip(sim["policy"], sim["measured rho"])]
table = sim.set_index(["rho", "policy"])[["measured rho", "mean", "low", "high", "theory", "sim / theory",
                                          "theory at measured rho"]]
table.rename(columns={"measured rho": "measured ρ", "mean": "mean W (ms)", "low": "95% low", "high": "95% high",
                      "theory": "formula (ms)", "theory at measured rho": "formula at measured ρ"}).round(3)

# %% [markdown]
# ### The chart: policies at the highest load, against their formulas
#
# Bars: the simulated mean response time, with the 95 % interval over the replications.
# Black ticks: the closed forms (the dashed one for `least_request` is the n → ∞ limit).
# The utilization is the same in every bar: no policy adds capacity; a better one only
# stops requests from waiting behind a busy server while another sits idle.

# %%
COLOURS = {"random": "tab:red", "round_robin": "tab:orange", "least_request": "tab:green",
           "least_connections": "tab:blue", "shared queue (M/M/10)": "tab:purple"}
top = max(LOADS)
at_top = sim[np.isclose(sim["rho"], top)].set_index("policy").loc[list(COLOURS)]

fig, ax = plt.subplots(figsize=(9, 4.5), layout="constrained")
x = np.arange(len(at_top))
ax.bar(x, at_top["mean"], color=[COLOURS[p] for p in at_top.index], alpha=0.75, width=0.6,
       yerr=[at_top["mean"] - at_top["low"], at_top["high"] - at_top["mean"]], capsize=6,
       error_kw={"elinewidth": 1.2}, label="simulation (95 % interval)")
for i, (policy, row) in enumerate(at_top.iterrows()):
    if math.isfinite(row["theory"]):
        ax.hlines(row["theory"], i - 0.38, i + 0.38, color="black", lw=2.5,
                  ls="--" if policy == "least_request" else "-")
        ax.annotate(f"{row['theory']:.1f}", (i + 0.4, row["theory"]), va="center", fontsize=8)
ax.plot([], [], color="black", lw=2.5, label="formula")
ax.plot([], [], color="black", lw=2.5, ls="--", label="P2C, n → ∞ limit")
ax.set_xticks(x, [p.replace(" (M/M/10)", "\n(M/M/10)") for p in at_top.index])
ax.set_ylabel("mean response time (ms)")
ax.set_title(f"10 servers at ρ = {top:.0%}: mean response time by policy "
             f"({REPLICATIONS} runs of {POLICY_RUN} each)", loc="left", fontsize=11)
ax.legend()
plt.show()

# %% [markdown]
# ### Across the load
#
# The same comparison from light to heavy load, on a log scale: lines are the formulas,
# points the simulation (at the nominal ρ). Even at ρ = 0.5 random routing doubles the
# 10 ms service time (each server an M/M/1), while with a shared queue hardly anyone
# waits. The gaps open as ρ grows, and the *ratio* between policies grows with them
# (random against M/M/10: 2 × at ρ = 0.5, 6 × at 0.9, by the formulas): the choice of
# policy matters most exactly when the system is busy.

# %%
fine = np.linspace(min(LOADS), max(LOADS), 60)
fig, ax = plt.subplots(figsize=(9, 5), layout="constrained")
for policy, colour in COLOURS.items():
    rows = sim[sim["policy"] == policy]
    ax.errorbar(rows["rho"], rows["mean"], yerr=[rows["mean"] - rows["low"], rows["high"] - rows["mean"]],
                fmt="o", color=colour, capsize=3, ms=5, label=f"{policy}: simulation")
    curve = [theory_ms(policy, r) for r in fine]
    if all(math.isfinite(v) for v in curve):
        ax.plot(fine, curve, color=colour, ls="--" if policy == "least_request" else "-", lw=1.3,
                label=f"{policy}: formula" + (" (n → ∞)" if policy == "least_request" else ""))
ax.set_yscale("log")
ax.set_xlabel("per-server load ρ")
ax.set_ylabel("mean response time (ms, log scale)")
ax.set_title("balancing policies against their closed forms (least_connections has none)", loc="left",
             fontsize=11)
ax.legend(fontsize=8, ncol=2)
plt.show()

# %% [markdown]
# How to read the gaps between points and lines:
#
# * The intervals are widest for `random` at the top load, and that is a fact about
#   queues, not about the simulator: ten independent M/M/1 queues at 90 % wander slowly,
#   so a short run sees only a few of their excursions.
# * Every policy ran on the **same** `REPLICATIONS` arrival streams (common random
#   numbers), so their errors go together: when the streams happen to bring a little more
#   work than the nominal ρ, *all* the points sit high. The table's `measured ρ` column is
#   the utilization the runs actually had, and `formula at measured ρ` the formula
#   evaluated there. Near full load this matters a lot: for M/M/1, W ∝ 1 / (1 − ρ), so at
#   ρ = 0.9 one point more of load is about ten per cent more response time.
# * `least_request` should sit somewhat above its n → ∞ line, and nothing below M/M/10.
#
# Because the errors are shared, the *comparison* between policies is much sharper than
# each mean. At the top load, as multiples of the shared-queue ideal:

# %%
ideal = at_top.loc["shared queue (M/M/10)", "mean"]
for policy in POLICIES:
    print(f"{policy:>18}: {at_top.loc[policy, 'mean']:6.1f} ms = {at_top.loc[policy, 'mean'] / ideal:4.2f} x "
          f"the shared queue's {ideal:.1f} ms")

# %% [markdown]
# ## 2. One slow node: does the policy notice?
#
# `lb/heterogeneous.yaml`: four single-worker servers, one of them (replica 3) twice as
# slow (`speeds: [1, 1, 1, 0.5]`: a noisy neighbour, an old instance type), at 180 req/s,
# about half the pool's capacity. Round robin deals everybody the same quarter, so the
# slow node runs at 45 / 50 = 90 % while the others idle at 45 %; `least_request` sees
# its queue and sends it less. Theory for round robin: each server an E₄/M/1 queue, the
# slow one with μ = 50/s (at 90 % that queue is as noisy in a short run as those of
# section 1).

# %%
hetero_file = LB / "heterogeneous.yaml"
hetero = {policy: simulate(load_scenario(hetero_file, params=[f"policy={policy}"],
                                         sets=[f"duration={SLOW_NODE_RUN}", "warmup=20s"]), seed=SEED)
          for policy in ("round_robin", "least_request")}
lam = hetero["round_robin"].scenario.params["rate"].default
slow_w = theory.round_robin_response_time(4, lam, 50.0)
fast_w = theory.round_robin_response_time(4, lam, 100.0)
rows = {}
for policy, run in hetero.items():
    s = run.summary()
    counts = s["components"]["lb"]["counts"]
    sent = [counts[f"sent:{i}"] for i in range(4)]
    rows[policy] = {"mean (ms)": s["latency_s"]["mean"] * 1e3, "p99 (ms)": s["latency_s"]["p99"] * 1e3,
                    "share to the slow node": sent[3] / sum(sent)}
rows["round_robin formula"] = {"mean (ms)": (0.25 * slow_w + 0.75 * fast_w) * 1e3, "p99 (ms)": np.nan,
                               "share to the slow node": 0.25}
pd.DataFrame(rows).T.round(3)

# %% [markdown]
# `plot_shares` draws the balancer's split per replica against an even split (dashed):

# %%
display(hetero["round_robin"].plot_shares("lb", title="round robin: the slow node (3) gets its full quarter"))
hetero["least_request"].plot_shares("lb", title="least_request: the slow node gets less")

# %% [markdown]
# A policy that looks at the backends is a cheap insurance against a node that is slow
# for reasons you do not control. (Push `--param rate=240` in the scenario file: round robin
# then sends the slow node 60/s of the 50/s it can serve, and its queue grows without end
# although the pool is only 69 % busy. Weighted round robin, `weights: [2, 2, 2, 1]`, is
# the static fix when you know the speeds.)
#
# ## 3. How big a cache? Hit ratio versus capacity
#
# `cache/zipf-lru.yaml`: reads of 10,000 characters by id, with **Zipf(0.8)** popularity (a
# few characters are very hot, most are rarely read), through a cache-aside cache of
# `capacity` entries in front of PostgreSQL. Under the independent reference model the
# hit ratio has good approximations:
#
# * **LRU**: Che's approximation, `Σ pᵢ (1 − e^(−pᵢ T))`, with the characteristic time `T`
#   set by the capacity (`theory.lru_hit_ratio`);
# * **FIFO** (and random replacement): its analogue `Σ pᵢ · pᵢT / (1 + pᵢT)`
#   (`theory.fifo_hit_ratio`), a little lower;
# * **top-C**: keep the C most popular keys forever, the best any policy can do without
#   seeing the future (`theory.lfu_hit_ratio`).
#
# Each simulated point is one short run; the cache starts empty, and the warmup leaves
# that cold start out.

# %%
zipf_file = CACHE / "zipf-lru.yaml"
zipf = load_scenario(zipf_file)
n_keys, s_exp = zipf.params["keys"].default, zipf.params["zipf_s"].default
popularity = theory.zipf_popularity(n_keys, s_exp)

cache_runs, points = {}, []
for policy in CACHE_POLICIES:
    for capacity in CACHE_CAPACITIES:
        run = simulate(load_scenario(zipf_file, params=[f"capacity={capacity}", f"policy={policy}"],
                                     sets=[f"duration={CACHE_RUN}", f"warmup={CACHE_WARMUP}"]), seed=SEED)
        cache_runs[policy, capacity] = run
        cache = run.summary()["components"]["cache"]
        points.append({"policy": policy, "capacity": capacity, "simulated": cache["hit_ratio"],
                       "reads": cache["visits"]})
hits = pd.DataFrame(points)
formula = {"lru": theory.lru_hit_ratio, "fifo": theory.fifo_hit_ratio, "lfu": theory.lfu_hit_ratio}
hits["formula"] = [formula[p](popularity, c) if p in formula else np.nan for p, c in zip(hits.policy, hits.capacity)]
hits["top-C bound"] = [theory.lfu_hit_ratio(popularity, c) for c in hits.capacity]
hits["sim − formula"] = hits["simulated"] - hits["formula"]
hits.set_index(["policy", "capacity"]).round(4)

# %%
grid = np.unique(np.geomspace(10, n_keys, 20).astype(int))
fig, ax = plt.subplots(figsize=(9, 5), layout="constrained")
ax.plot(grid, [theory.lru_hit_ratio(popularity, int(c)) for c in grid], color="tab:blue", label="LRU: Che")
ax.plot(grid, [theory.fifo_hit_ratio(popularity, int(c)) for c in grid], color="tab:orange",
        label="FIFO approximation")
ax.plot(grid, [theory.lfu_hit_ratio(popularity, int(c)) for c in grid], color="black", ls=":",
        label="top-C bound (static LFU)")
for policy, colour in (("lru", "tab:blue"), ("fifo", "tab:orange"), ("lfu", "black"), ("tinylfu", "tab:green")):
    rows = hits[hits.policy == policy]
    if not rows.empty:
        ax.plot(rows.capacity, rows.simulated, "o", color=colour, ms=7, label=f"{policy}: simulation")
ax.set_xscale("log")
ax.set_ylim(0, 1.02)
ax.set_xlabel(f"cache capacity (entries, of {n_keys:,} keys)")
ax.set_ylabel("hit ratio")
ax.set_title(f"hit ratio versus cache size, Zipf({s_exp:g}) popularity", loc="left", fontsize=11)
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# The curve is concave on a log axis: each tenfold increase of the cache buys less than
# the one before, because the extra entries hold ever colder keys. The capacity that
# absorbs half the reads, by Che's formula and on the simulated points:

# %%
lo, hi = 1, n_keys  # bisection: the smallest capacity whose Che hit ratio reaches 50 %
while lo < hi:
    mid = (lo + hi) // 2
    lo, hi = (mid + 1, hi) if theory.lru_hit_ratio(popularity, mid) < 0.5 else (lo, mid)
half = lo
print(f"LRU reaches a 50 % hit ratio at about {half:,} entries = {half / n_keys:.0%} of the keys (Che)")
lru_points = hits[hits.policy == "lru"].set_index("capacity")["simulated"]
print("simulated LRU:", ", ".join(f"{c:,} entries → {h:.1%}" for c, h in lru_points.items()))

# %% [markdown]
# `plot_hit_ratio` shows one of these caches over time, warm-up included. The cache starts
# empty, so the first look-ups all miss; at 2,000 reads a second it fills quickly, which
# is why a few seconds of warm-up are enough here (a cache that restarts empty after a
# crash in production has the same cold start, with the origin taking every miss).

# %%
shown = max(c for c in CACHE_CAPACITIES if c <= 1000) if min(CACHE_CAPACITIES) <= 1000 else CACHE_CAPACITIES[0]
run = cache_runs[CACHE_POLICIES[0], shown]
tally = run.tally_timeseries_at(1.0)
per_second = tally[(tally.component == "cache") & (tally.name == "hit_ratio")].set_index("time")["value"]
print(f"{CACHE_POLICIES[0]}, {shown:,} entries: hit ratio in the first second {per_second.iloc[0]:.1%}, "
      f"over the measured window {run.summary()['components']['cache']['hit_ratio']:.1%}")
run.plot_hit_ratio(title=f"{CACHE_POLICIES[0]} cache of {shown:,} entries: the cold start, then a steady hit ratio")

# %% [markdown]
# ## 4. The market opens: an autoscaler against a spike
#
# The One Piece API tier (`lb/autoscaling.yaml`): Flask on gunicorn, 2 workers per
# replica, handler lognormal(median 4 ms, p99 25 ms), **2 replicas** at the day's mean of
# 100 req/s. At 2 min traffic jumps to `SPIKE_RATE` for 3 minutes: the course's sheet of
# typical numbers puts the first minutes after a market open (or a character drop) at
# 5-10 × the day's mean (Typical numbers §10.7; `sdsim docs typical-numbers` prints it), and the default 1000 is the top of that range. A Kubernetes-style HPA checks utilization every 15 s and asks for
# `ceil(current × utilization / 60 %)` replicas, but a new replica only takes traffic
# after `BOOT` (image pull, start, readiness: the **cold start**). After the spike it
# waits the 5-minute stabilization window before it scales down.
#
# The arithmetic first (golden §16, G16.1), from the scenario's own numbers:

# %%
auto_file = LB / "autoscaling.yaml"
auto = simulate(load_scenario(auto_file, params=[f"spike_rate={SPIKE_RATE}", f"boot={BOOT}"]), seed=SEED)
api = auto.scenario.components["api"]
work = api.operations["get"].work  # lognormal(median=4ms, p99=25ms)
sigma = math.log(work.p99 / work.median) / NormalDist().inv_cdf(0.99)
mean_work = work.median * math.exp(sigma**2 / 2)
spike = auto.scenario.workload[0].profile[0]  # {at: 2m, rate: spike_rate, for: 3m}
spike_at, spike_for = spike.at, spike.for_
target = api.autoscaling.target
print(f"mean handler time {mean_work * 1e3:.2f} ms; {api.replicas} replicas × {api.workers} workers serve at most "
      f"{api.replicas * api.workers / mean_work:.0f} req/s of the {SPIKE_RATE}")
print(f"the spike needs {SPIKE_RATE * mean_work:.1f} busy workers; at the {target:.0%} target the HPA settles at "
      f"ceil({SPIKE_RATE * mean_work:.2f} / ({api.workers} × {target})) = "
      f"{math.ceil(SPIKE_RATE * mean_work / (api.workers * target))} replicas")

# %% [markdown]
# `plot_replicas`: the offered load on top; below, the ready replicas as steps, the
# autoscaler's decisions as dotted lines. The gap between a decision and the step that
# follows it is the cold start, `BOOT` of waiting while the old replicas drown.

# %%
auto.plot_replicas(title=f"market open: {SPIKE_RATE} req/s at 2 min, new replicas ready after {BOOT}")

# %% [markdown]
# The decisions, one row each (`Result.scaling`), and the ready replicas over time
# (`Result.replicas_over_time`):

# %%
decisions = auto.scaling
ready = auto.replicas_over_time("api")
first_up = decisions[(decisions.time >= spike_at) & (decisions.desired > decisions.current)].time.min()
first_ready = ready[(ready.time >= spike_at) & (ready.replicas > api.replicas)].time.min()
print(f"spike at {spike_at:.0f} s; first scale-up decision at {first_up:.0f} s (+{first_up - spike_at:.0f} s), "
      f"first new replica ready at {first_ready:.0f} s (+{first_ready - spike_at:.0f} s)")
print(f"most replicas ready: {ready.replicas.max():.0f}; back to {ready.replicas.iloc[-1]:.0f} "
      f"at {ready.time.iloc[-1]:.0f} s")
decisions["ceil(current × metric / target)"] = np.ceil(decisions.current * decisions.metric / target).astype(int)
display(decisions.round(3))

# %% [markdown]
# Compare `desired` with the raw HPA rule in the last column:
#
# * **Scale-up** follows the rule (within the max(+100 %, +4) step limit). But look at the
#   first decision's `metric`: utilization cannot exceed 100 %, so a saturated tier hides
#   how far behind it is, and from 2 replicas the HPA can ask for at most
#   `ceil(2 × 1.0 / target)`. A spike bigger than that takes more than one period to catch
#   up with, and a later reading can overshoot the steady-state count computed above,
#   because the replicas are still draining the backlog the spike left.
# * **Scale-down** does not follow the rule: the utilization collapses as soon as the
#   spike ends, but the HPA keeps the highest recommendation of the last 5 minutes
#   (`scale_down_stabilization`), so the extra replicas stay, and cost, for that long.
#
# What the traders feel. Latency percentiles over time: a wall at the start of the spike,
# then calm once the new replicas are up. The wall has a flat top: each old replica can
# queue at most its listen backlog (`queue: 2048`), so a request waits at most about
# 2 × 2048 / 733 s, and beyond that the replicas turn requests away.

# %%
auto.plot_latency(title="market open: latency while the autoscaler catches up")

# %% [markdown]
# The same in numbers, phase by phase, from the request table (by issue time):

# %%
print(f"longest wait with full backlogs: {api.replicas} × {api.queue} / "
      f"{api.replicas * api.workers / mean_work:.0f} req/s = {api.queue / (api.workers / mean_work):.1f} s")
req = auto.requests
phases = {"before the open": (auto.scenario.warmup, spike_at),
          "spike, until the first new replica": (spike_at, first_ready),
          "spike, after it": (first_ready, spike_at + spike_for),
          "after the spike": (spike_at + spike_for, auto.scenario.duration)}
rows = {}
for phase, (lo, hi) in phases.items():
    part = req[(req.t_issue >= lo) & (req.t_issue < hi)]
    ok = part[part.status == "ok"].latency
    rows[phase] = {"from (s)": lo, "to (s)": hi, "offered (req/s)": len(part) / (hi - lo),
                   "availability": (part.status == "ok").mean(), "rejected": (part.status == "rejected").mean(),
                   "timed out": (part.status == "timeout").mean(), "p50 (ms)": ok.quantile(0.5) * 1e3,
                   "p99 (ms)": ok.quantile(0.99) * 1e3}
pd.DataFrame(rows).T.round(3)

# %% [markdown]
# The autoscaler works, but it is late by construction: one sync period to notice, then
# the cold start, and until then the old replicas carry the whole spike. The levers are
# in the scenario header (`sdsim run scenarios/lb/autoscaling.yaml --param boot=5s` for a
# warm pool, `--param max_replicas=2` for no autoscaling at all), and the cheapest is
# often to scale up *before* a market open you can see coming on the calendar.
#
# ## 5. Sliders: replicas, policy and cache size
#
# `notebooks/scenarios/lab2_explore.yaml` puts the three together: traders read characters
# (Zipf(0.8) over 5,000) through a balancer, `replicas` single-worker Character replicas
# and an LRU cache in front of PostgreSQL. Its header does the arithmetic: at the defaults
# the four replicas are about two-thirds busy. Try:
#
# * `policy` at the default load: `random` → `least_connections`, watch p99;
# * take `replicas` from 4 to 3, then 2 (the wall), then give the rate back room;
# * in the second box, `cache_capacity` from 500 to 50 and to 5000 (the whole catalogue:
#   then only the first read of each character misses, but in a short run that is still
#   many), and `cache_policy`: which one keeps the hot characters best?
#
# (The sliders need a live Jupyter kernel; a static view only shows the first chart.)

# %%
explore(EXPLORE, ["rate", "replicas", "policy"], plot="latency", seed=SEED, duration=SLIDER_DURATION)

# %%
explore(EXPLORE, ["cache_capacity", "cache_policy"], plot="hit_ratio", seed=SEED, duration=SLIDER_DURATION)
