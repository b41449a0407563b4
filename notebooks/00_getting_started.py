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
# # 00 · Getting started: simulation versus formula
#
# sdsim turns a system design written as a YAML *scenario* into a discrete-event simulation
# and reports what a user would feel: latency percentiles, throughput, availability and, per
# component, utilization and queueing.
#
# This tour uses the simplest scenarios, the textbook queues in `scenarios/theory/`, because
# for them queueing theory gives exact answers. You will:
#
# 1. load the M/M/c scenario and run it;
# 2. read the summary and draw two charts;
# 3. check the simulation against the Erlang C formula, then size a server pool with it;
# 4. see why the tail (p99) explodes as a queue fills up;
# 5. move sliders and watch the system react.
#
# Run the cells from top to bottom (**Shift+Enter**).

# %% [markdown]
# ## Settings
#
# Simulated time is cheap but not free: the longer a run, the closer its averages get to the
# true (steady-state) values. The settings below keep the whole notebook under half a minute.
# Make `DURATION` larger (say `"50000s"`) and re-run everything to see the simulation
# converge on the formulas.

# %% tags=["parameters"]
DURATION = "5000s"  # simulated time of each M/M/c run
WARMUP = "500s"  # start-up period left out of the statistics (the queue starts empty)
MM1_DURATION = "20000s"  # the M/M/1 tail needs more customers
SLIDER_DURATION = "600s"  # short runs, so the sliders answer in well under a second
SEED = 1  # same seed, same result: change it to see another random run

# %% [markdown]
# ## Imports and scenario files
#
# Charts returned by sdsim show as pictures under the cells. The scenarios live in the
# repository, next to `pyproject.toml`: this cell walks up from the notebook's folder until
# it finds that file, so the paths work however the notebook was started.

# %%
import math
from pathlib import Path

import pandas as pd

from simulator import load_scenario, simulate, theory
from simulator.interactive import explore

ROOT = Path.cwd().resolve()
while not (ROOT / "pyproject.toml").exists():
    if ROOT == ROOT.parent:
        raise FileNotFoundError("open this notebook from inside the sdsim repository")
    ROOT = ROOT.parent
THEORY = ROOT / "scenarios" / "theory"
sorted(p.name for p in THEORY.glob("*.yaml"))

# %% [markdown]
# ## 1. Load the M/M/c scenario
#
# **M/M/c**: customers arrive at random (a Poisson process, `arrival_rate` per second) and
# join one queue served by `servers` identical workers; each service takes an exponentially
# distributed time with mean `1 / service_rate`.
#
# A scenario declares named **params** with defaults. `load_scenario` can override them
# (`params=["servers=11"]`) and any other field (`sets=["duration=600s"]`). Here we only
# shorten the run.

# %%
mmc_file = THEORY / "mmc.yaml"
scenario = load_scenario(mmc_file, sets=[f"duration={DURATION}", f"warmup={WARMUP}"])
print(scenario.description)
for name, param in scenario.params.items():
    print(f"{name:>16} = {param.default!s:<5}  {param.description}")

# %% [markdown]
# ## 2. Run it and read the summary
#
# `simulate` returns a `Result`. Its `summary()` is a plain dictionary: times are in
# seconds, rates per second. Statistics cover the requests issued after the warmup.

# %%
result = simulate(scenario, seed=SEED)
summary = result.summary()
station = summary["components"]["station"]

print(f"requests issued      {summary['requests']['issued']:>8,}")
print(f"throughput           {summary['throughput_rps']:>8.2f} req/s")
print(f"availability         {summary['availability']:>8.2%}")
print(f"latency mean         {summary['latency_s']['mean']:>8.3f} s")
print(f"latency p50 / p99    {summary['latency_s']['p50']:>8.3f} s / {summary['latency_s']['p99']:.3f} s")
print(f"server utilization   {station['utilization']:>8.2%}")
print(f"P(a customer waits)  {station['p_wait']:>8.2%}")
print(f"mean wait in queue   {station['wait_s']['mean']:>8.3f} s")

# %% [markdown]
# ### Charts
#
# Every chart is one method on the result and returns a matplotlib figure.
# `plot_latency` shows the percentiles second by second: the queue length wanders, so
# latency does too, even though nothing in the system changes.

# %%
result.plot_latency()

# %% [markdown]
# `plot_distribution` shows all latencies at once, as a histogram and a cumulative curve.
# Notice the long right tail: most customers are served at once, a few wait a long time.

# %%
result.plot_distribution()

# %% [markdown]
# ## 3. Formula versus simulation
#
# For M/M/c, the **Erlang C** formula gives the probability that a customer has to wait,
# and from it the mean wait in queue `Wq` and the mean time in the system `W = Wq + 1/μ`.
# `simulator.theory.mmc` computes them. The parameter values come from the scenario itself.

# %%
lam = scenario.params["arrival_rate"].default
mu = scenario.params["service_rate"].default
c = scenario.params["servers"].default
exact = theory.mmc(lam, mu, c)

table = pd.DataFrame(
    {
        "formula": [exact.p_wait, exact.Wq, exact.W],
        "simulation": [station["p_wait"], station["wait_s"]["mean"], summary["latency_s"]["mean"]],
    },
    index=["P(wait)", "Wq (s)", "W (s)"],
)
table["difference"] = (table["simulation"] / table["formula"] - 1).map("{:+.1%}".format)
table.round(4)

# %% [markdown]
# The numbers are close but not equal: the gap is random noise, and it shrinks as the run
# gets longer. Near full load (here the servers are 90 % busy) the noise is large,
# because one long queue affects many customers in a row.
#
# ### Capacity planning
#
# How many servers keep P(wait) at or below 20 %? Try c = 10…13: one simulation each,
# next to Erlang C. (The example of golden G5.8 has 90 req/s at 100 ms per request: the same
# 9 Erlangs of load, so the same P(wait), with waits ten times shorter.)

# %%
rows = []
for servers in range(10, 14):
    run = simulate(
        load_scenario(mmc_file, params=[f"servers={servers}"], sets=[f"duration={DURATION}", f"warmup={WARMUP}"]),
        seed=SEED,
    )
    sim = run.summary()["components"]["station"]
    formula = theory.mmc(lam, mu, servers)
    rows.append(
        {
            "servers": servers,
            "P(wait) formula": formula.p_wait,
            "P(wait) simulated": sim["p_wait"],
            "Wq formula (s)": formula.Wq,
            "Wq simulated (s)": sim["wait_s"]["mean"],
        }
    )
pd.DataFrame(rows).set_index("servers").round(4)

# %%
needed = theory.servers_for_wait_probability(lam, mu, max_p_wait=0.2)
print(f"smallest pool with P(wait) <= 20 %: {needed} servers")
assert needed == 13

# %% [markdown]
# Each extra server helps less than the one before, and utilization is a poor guide: at
# 13 servers they are still 69 % busy, yet only about one customer in six waits.
#
# ## 4. The tail: M/M/1 p99
#
# With one server, the time in the system is exponentially distributed with rate `μ − λ`:
# its mean is `W = 1 / (μ − λ)` and its 99th percentile exactly `ln(100) / (μ − λ)`, 4.6 times
# the mean. As the load `ρ = λ/μ` approaches 1, both blow up.

# %%
mm1_file = THEORY / "mm1.yaml"
rows = []
for rate in (0.5, 0.7, 0.8):
    run = simulate(load_scenario(mm1_file, params=[f"arrival_rate={rate}"], sets=[f"duration={MM1_DURATION}"]), seed=SEED)
    mu1 = run.scenario.params["service_rate"].default
    rows.append(
        {
            "load ρ": rate / mu1,
            "mean W formula (s)": theory.mm1(rate, mu1).W,
            "p99 = ln(100)/(μ−λ)": math.log(100) / (mu1 - rate),
            "p99 simulated (s)": run.summary()["latency_s"]["p99"],
        }
    )
pd.DataFrame(rows).set_index("load ρ").round(2)

# %% [markdown]
# ## 5. Move a slider
#
# `explore` puts a slider on each chosen parameter. Moving one re-runs the scenario (same
# seed, so only your change matters) and redraws the chart, with a one-line summary above
# it. Try:
#
# * push `arrival_rate` towards 9.9 with 10 servers and watch p99 climb;
# * then add servers: how many until p99 stops improving?
# * drop `servers` to 9 or fewer: the queue grows without bound (ρ ≥ 1).
#
# (The sliders need a live Jupyter kernel; in a static view you only see the first chart.)

# %%
explore(mmc_file, ["arrival_rate", "servers"], plot="latency", seed=SEED, duration=SLIDER_DURATION)
