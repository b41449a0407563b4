"""CPU contention: a replica's workers share its vCPUs by processor sharing.

Specification (simulator/components/cpu.py, ServiceSpec.vcpus):

* with k requests computing on c vCPUs, each progresses at min(1, c/k); waiting on I/O
  (steps) uses no CPU; a job interrupted by a crash leaves and the others speed up;
* ``vcpus`` unset: the ``instance`` class's vCPUs (m7i.large: 2), or, without an
  instance, one per worker (today's behaviour, bit for bit); explicit ``vcpus`` wins;
  ``vcpus`` must be a whole number >= 1 (a located scenario error otherwise).

Expected values are hand-derived (written out in each test) or closed-form queueing
results: M/G/1-PS has mean response E[S]/(1−ρ) whatever the shape of the work
distribution (insensitivity; Kleinrock, *Queueing Systems* Vol. 2 §4.4), while FIFO
follows Pollaczek–Khinchine (simulator.theory.mg1). Statistical comparisons use
independent replications and the 3-standard-error band of tests/bands.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import simpy
from bands import assert_replications_within_3se
from helpers import scenario, service

from simulator import ScenarioError, load_scenario, simulate, theory
from simulator.components.cpu import Processor
from simulator.engine.build import build

EXACT = dict(abs=1e-9)  # deterministic results, up to floating-point rounding


# --- the processor on its own ------------------------------------------------------------

def finish_times(vcpus: int, jobs: dict[str, tuple[float, float]], cancel: dict[str, float] | None = None):
    """Run *jobs* (name -> (arrival, work)) on one Processor; *cancel* withdraws a job at a time."""
    env = simpy.Environment()
    cpu = Processor(env, vcpus)
    done: dict[str, float] = {}
    running: dict[str, simpy.Event] = {}

    def job(name, at, work):
        yield env.timeout(at)
        running[name] = cpu.run(work)
        yield running[name]
        done[name] = env.now

    def withdraw(name, at):
        yield env.timeout(at)
        cpu.cancel(running[name])

    for name, (at, work) in jobs.items():
        env.process(job(name, at, work))
    for name, at in (cancel or {}).items():
        env.process(withdraw(name, at))
    env.run(until=100)
    return done


def test_k_jobs_on_c_vcpus_all_finish_at_k_w_over_c():
    # 5 jobs of 1 s arriving together on 2 vCPUs: each runs at 2/5, all done at 5 × 1 / 2
    assert finish_times(2, {f"j{i}": (0.0, 1.0) for i in range(5)}) == {f"j{i}": pytest.approx(2.5, **EXACT)
                                                                         for i in range(5)}
    # 3 jobs on 4 vCPUs: a CPU each, done after their own work
    assert finish_times(4, {f"j{i}": (0.0, 1.0) for i in range(3)}) == {f"j{i}": pytest.approx(1.0, **EXACT)
                                                                         for i in range(3)}


def test_unequal_jobs_leave_one_by_one_and_the_rest_speed_up():
    # 2 vCPUs, works 1, 2, 3 from t=0: rate 2/3 until the 1 s job is done at 1.5 (1 CPU-s each);
    # then 2 jobs on 2 vCPUs at full speed: 1 s left -> 2.5, 2 s left -> 3.5
    assert finish_times(2, {"a": (0, 1.0), "b": (0, 2.0), "c": (0, 3.0)}) == {
        "a": pytest.approx(1.5, **EXACT), "b": pytest.approx(2.5, **EXACT), "c": pytest.approx(3.5, **EXACT)}


def test_a_withdrawn_job_frees_its_share_at_once():
    # 1 vCPU, two 1 s jobs from t=0 at rate 1/2; b withdrawn at 1 (0.5 done each): a's last 0.5 alone -> 1.5
    assert finish_times(1, {"a": (0, 1.0), "b": (0, 1.0)}, cancel={"b": 1.0}) == {"a": pytest.approx(1.5, **EXACT)}


# --- through the engine: deterministic sharing ---------------------------------------------

def one_shot(users: int, think: float, op: str = "op") -> dict:
    """A closed workload whose *users* each send once, all at t = *think* (the run stops sending soon after)."""
    return {"name": f"at{think:g}-{op}", "entry": "svc", "operation": op,
            "arrivals": {"kind": "closed", "users": users, "think": f"const({think}s)"}}


def shared(workloads: list[dict], duration: float, faults=(), others=None, **svc) -> dict:
    """A scenario around service ``svc`` (fields *svc*) and the components *others*."""
    return {"name": "cpu", "duration": f"{duration}s", "workload": workloads, "faults": list(faults),
            "components": {"svc": {"kind": "service", **svc}, **(others or {})}}


def latencies(spec: dict) -> dict[str, list[float]]:
    """Latency of every request, by workload name, sorted; with the status of each."""
    from simulator import Scenario

    requests = simulate(Scenario.model_validate(spec), seed=1).requests
    return {name: sorted(zip(group["latency"], group["status"].astype(str)))
            for name, group in requests.groupby("workload", observed=True)}


def ops(**works: float) -> dict:
    return {name: {"work": f"const({w}s)"} for name, w in works.items()}


@pytest.mark.parametrize("vcpus, users, expected", [(2, 5, 2.5), (1, 4, 4.0), (4, 3, 1.0), (3, 3, 1.0)])
def test_jobs_arriving_together_finish_at_k_w_over_c(vcpus, users, expected):
    """k requests of 1 CPU-second on c vCPUs (8 workers): all answer after max(1, k/c) seconds."""
    got = latencies(shared([one_shot(users, 1.0)], 1.5, workers=8, vcpus=vcpus, operations=ops(op=1.0)))
    assert got == {"at1-op": [(pytest.approx(expected, **EXACT), "ok")] * users}


def test_a_request_arriving_midway_slows_the_others_by_exactly_its_share():
    """2 vCPUs: two 1 s requests at t=1, a 2 s request at t=1.5.

    By 1.5 the first two have 0.5 s done (a CPU each). Then 3 share 2 vCPUs at 2/3: their
    0.5 s left takes 0.75 s, so they answer at 2.25 (latency 1.25 instead of 1). The late one
    has 0.5 done by then; its 1.5 s left runs alone at full speed: 3.75 (latency 2.25)."""
    got = latencies(shared([one_shot(2, 1.0, "short"), one_shot(1, 1.5, "long")], 1.6, workers=8, vcpus=2,
                           operations=ops(short=1.0, long=2.0)))
    assert got == {"at1-short": [(pytest.approx(1.25, **EXACT), "ok")] * 2,
                   "at1.5-long": [(pytest.approx(2.25, **EXACT), "ok")]}


def test_waiting_on_io_uses_no_cpu():
    """1 vCPU, 2 workers, io: blocking: 0.5 s of CPU then a 1 s downstream call, twice at once.

    Both compute together (0.5 s each at rate 1/2: done at 1 s), then wait on the call side by
    side without slowing each other: latency 2 s each. Were the I/O counted as CPU, the pair
    would need 3 s of CPU on one vCPU."""
    spec = shared([one_shot(2, 1.0)], 1.5, workers=2, vcpus=1,
                  operations={"op": {"work": "const(0.5s)", "steps": [{"call": "io.wait"}]}},
                  others={"io": {"kind": "service", "workers": 8, "operations": ops(wait=1.0)}})
    assert latencies(spec) == {"at1-op": [(pytest.approx(2.0, **EXACT), "ok")] * 2}


def test_an_upstream_crash_withdraws_the_work_and_the_others_speed_up():
    """1 vCPU shared by request A (sent through the front service) and request B (sent directly),
    1 s of work each from t=1 at rate 1/2. The front crashes at 1.5: A fails and leaves the
    CPU with 0.25 s done; B has 0.75 s left, alone: it answers at 2.25 (latency 1.25, not 2)."""
    via_front = {**one_shot(1, 1.0), "name": "via-front", "entry": "front"}
    spec = shared([via_front, {**one_shot(1, 1.0), "name": "direct"}], 1.2, workers=4, vcpus=1,
                  operations=ops(op=1.0),
                  faults=[{"kind": "crash", "target": "front", "at": "1.5s", "for": "1s"}],
                  others={"front": {"kind": "service", "workers": 4,
                                    "operations": {"op": {"steps": [{"call": "svc.op"}]}}}})
    assert latencies(spec) == {"via-front": [(pytest.approx(0.5, **EXACT), "error")],
                               "direct": [(pytest.approx(1.25, **EXACT), "ok")]}


def test_a_crashed_replica_restarts_with_an_idle_cpu():
    """1 vCPU. A sends 3 s of work at t=2; the replica crashes at 2.5 for 0.5 s (A fails). B sends
    1 s at 3.2, after the restart: it runs alone (latency 1). A ghost of A still computing would
    halve B's rate and make it 2."""
    spec = shared([{**one_shot(1, 2.0, "big"), "name": "A"}, {**one_shot(1, 3.2), "name": "B"}], 4.5,
                  workers=4, vcpus=1, operations=ops(op=1.0, big=3.0),
                  faults=[{"kind": "crash", "target": "svc", "at": "2.5s", "for": "0.5s"}])
    assert latencies(spec) == {"A": [(pytest.approx(0.5, **EXACT), "error")],
                               "B": [(pytest.approx(1.0, **EXACT), "ok")]}


# --- where the vCPU count comes from ----------------------------------------------------------

@pytest.mark.parametrize("extra, expected", [
    ({"instance": "m7i.large"}, 2.5),                 # 2 vCPUs: 5 × 1 s / 2
    ({"instance": "m7i.xlarge"}, 1.25),               # 4 vCPUs
    ({"instance": "fast.large"}, 1.25),               # 2 vCPUs at speed 2: 5 × 0.5 s / 2
    ({"instance": "m7i.large", "vcpus": 1}, 5.0),     # explicit vcpus wins
    ({"instance": "m7i.large", "vcpus": 8}, 1.0),     # more vCPUs than workers: no contention
    ({}, 1.0),                                        # no instance, no vcpus: a CPU per worker
])
def test_the_instance_class_brings_its_vcpus_unless_vcpus_is_given(extra, expected):
    """5 gunicorn workers, 5 requests of 1 CPU-second at once."""
    got = latencies(shared([one_shot(5, 1.0)], 1.5, workers=5, operations=ops(op=1.0), **extra))
    assert got == {"at1-op": [(pytest.approx(expected, **EXACT), "ok")] * 5}


def test_a_processor_only_where_workers_can_outnumber_vcpus():
    spec = scenario({"a": service(workers=5, instance="m7i.large"), "b": service(workers=2, vcpus=2),
                     "c": service(workers=8), "d": service(workers=3, vcpus=1, replicas=2)}, entry="a")
    world = build(spec, seed=1)
    cpus = {name: [r.cpu for r in world.components[name].replicas.replicas] for name in "abcd"}
    assert [cpu.vcpus for cpu in cpus["a"]] == [2]
    assert cpus["b"] == [None] and cpus["c"] == [None]
    assert [cpu.vcpus for cpu in cpus["d"]] == [1, 1] and cpus["d"][0] is not cpus["d"][1]


def test_replicas_an_autoscaler_adds_share_their_vcpus_too():
    spec = scenario({"svc": service(workers=4, vcpus=2, autoscaling={"max_replicas": 3, "target": 0.5})})
    world = build(spec, seed=1)
    added = world.components["svc"].replicas.add()
    assert added.cpu is not None and added.cpu.vcpus == 2


@pytest.mark.parametrize("value, message", [
    ("0", "components.svc.vcpus: Input should be greater than or equal to 1"),
    ("1.5", "components.svc.vcpus: Input should be a valid integer"),
])
def test_vcpus_must_be_a_positive_whole_number(tmp_path, value, message):
    path = tmp_path / "bad.yaml"
    path.write_text(f"""name: bad
duration: 10s
workload: [{{name: w, entry: svc, operation: op, arrivals: {{kind: poisson, rate: 1/s}}}}]
components:
  svc:
    kind: service
    workers: 4
    vcpus: {value}
    operations: {{op: {{work: 1ms}}}}
""")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert "bad.yaml:8:" in str(caught.value) and message in str(caught.value)


def test_without_contention_results_are_bit_identical():
    """vcpus unset, equal to the workers or above them: the same run, to the last bit."""
    def run(**extra):
        spec = scenario({"svc": service("exp(10ms)", workers=4, steps=[{"call": "db.read"}], **extra),
                         "db": {"kind": "database", "operations": {"read": {"work": "exp(2ms)"}}}},
                        rate="300/s", duration="20s", warmup="2s")
        result = simulate(spec, seed=7)
        return result.summary(), result.requests["latency"].to_numpy()

    base_summary, base_latency = run()
    for extra in ({"vcpus": 4}, {"vcpus": 16}, {"instance": "m7i.xlarge"}):
        summary, latency = run(**extra)
        assert np.array_equal(latency, base_latency), extra
        assert summary == base_summary, extra


def test_at_most_vcpus_computing_is_the_same_as_a_cpu_each():
    """2 vCPUs and 4 workers, but a closed loop of 2 users can never have 3 computing: the
    processor runs every job at full speed, so latencies match the run without vcpus."""
    def run(**extra):
        spec = scenario({"svc": service("exp(10ms)", workers=4, **extra)}, duration="30s",
                        workload={"arrivals": {"kind": "closed", "users": 2, "think": "exp(5ms)"}})
        return simulate(spec, seed=3).requests["latency"].to_numpy()

    base = run()
    assert base.size > 1000
    np.testing.assert_allclose(run(vcpus=2), base, rtol=1e-9, atol=1e-12)


# --- queueing theory: M/G/1 processor sharing --------------------------------------------------

LAMBDA = 0.7  # arrivals per second; E[work] = 1 s on 1 vCPU: rho = 0.7
PS_MEAN = 1.0 / (1.0 - LAMBDA)  # E[S] / (1 - rho) = 3.333 s, for every work distribution
HYPEREXP = "hyperexp(p=0.887298, mean1=0.563508, mean2=4.436492)"  # mean 1 s, squared CV 4 (golden G5.6)
R = 10


def mean_latencies(work: str, **svc) -> np.ndarray:
    """Mean response time of R independent runs (seeds 1..R) of Poisson(0.7/s) into one replica."""
    spec = scenario({"svc": service(work, **svc)}, rate=f"{LAMBDA}/s", duration="20000s", warmup="2000s")
    return np.array([simulate(spec, seed=seed).summary()["latency_s"]["mean"] for seed in range(1, R + 1)])


def ps(work: str) -> np.ndarray:
    """1 vCPU shared by up to 200 workers, unbounded queue: M/G/1-PS (P(more than 200 present) ~ 0.7^200)."""
    return mean_latencies(work, workers=200, vcpus=1)


def test_mm1_ps_mean_response_is_one_over_mu_minus_lambda(golden_zscores):
    assert_replications_within_3se(golden_zscores, ps("exp(1s)"), PS_MEAN, "M/M/1-PS W (rho=0.7)")


@pytest.mark.parametrize("work, label", [("const(1s)", "M/D/1-PS W"), (HYPEREXP, "M/H2/1-PS W (scv 4)")])
def test_mg1_ps_mean_response_does_not_depend_on_the_work_distribution(golden_zscores, work, label):
    assert_replications_within_3se(golden_zscores, ps(work), PS_MEAN, f"{label} (rho=0.7)")


@pytest.mark.parametrize("work, scv", [("const(1s)", 0.0), (HYPEREXP, 4.0)])
def test_fifo_with_one_worker_is_sensitive_where_ps_is_not(golden_zscores, work, scv):
    """The contrast: one worker (FIFO) follows Pollaczek–Khinchine, 2.17 s for const and 6.83 s
    for the hyperexponential, both far from the 3.33 s PS gives either."""
    fifo = theory.mg1(LAMBDA, 1.0, scv).W
    assert abs(fifo - PS_MEAN) > 1.0
    assert_replications_within_3se(golden_zscores, mean_latencies(work, workers=1), fifo,
                                   f"M/G/1-FIFO W (scv {scv:g}, rho=0.7)")
