"""A seeded mutation fuzzer over the repository's scenarios.

Usage (also run by ``tests/test_fuzz.py``)::

    python tests/fuzzing.py [--seed S] [--count N] [--workers W] [--budget SECONDS]

Every scenario under ``scenarios/`` is copied into a temporary folder (so ``extends:``
still resolves) and mutated: keys deleted and duplicated, values swapped for other types,
extreme numbers, damaged units and distributions, control characters, deep nesting, YAML
tags, alias bombs, huge counts, self-calls and self-publishes, odd faults, ``extends:``
games, byte damage. Each mutant is validated and, when valid, simulated with its duration
capped so that it offers at most a few thousand requests, in a worker process that has a
memory limit and a wall-clock budget per case.

Outcomes: ``rejected`` (a located :class:`~simulator.errors.ScenarioError`), ``ran``
(summary built and JSON-encodable), ``cut`` (still advancing simulated time when the
budget ran out: big, not stuck) are fine; ``crash`` (any other exception), ``hang`` (no
simulated progress for two seconds at the budget, or none at all in two and a half
budgets), ``oom`` (memory limit) are failures, reported with
the mutant's recipe and text so it can become a regression test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
MEMORY_LIMIT = 2 << 30  # bytes per worker: a case that wants more is an out-of-memory failure
MAX_OFFERED = 1_000  # requests a fuzzed run may offer (its duration is capped to fit)
FINE = {"rejected", "ran", "cut"}


@dataclass
class Mutant:
    origin: str  # scenario path relative to scenarios/
    recipe: str  # what was done, for the report
    text: str | bytes


# ----------------------------------------------------------------------------- mutations

STRANGE = [None, True, False, -1, 0, 1, 10 ** 400, 10 ** 100, 2 ** 63 - 1, 1e308, -1e308, 1e-300,
           float("nan"), float("inf"), "", "x" * 300, [], {}, [1, 2], {"a": 1},
           "1e400s", "-5ms", "5 parsecs", "0s", "1e-9s", "1e-300s", "99999999999999999999h", "nan s", "inf",
           "lognormal(median=)", "lognormal(median=1ms, p99=0.5ms)", "zipf(n=1e30)",
           "zipf(s=0, n=9223372036854775807)", "uniform(n=1e21)", "zipf(n=1e9)", "exp(-1s)", "exp(0s)",
           "const(1e300s)", "normal(mean=1ms, sd=1e300ms)", "hyperexp()", "a\x01b", "é\u202e", "${nope}",
           "1e9/s", "0/s", "-3/s", "1e-30/s", "3"]
HUGE_COUNTS = ["replicas", "workers", "shards", "connections", "capacity", "users", "read_replicas",
               "table_size", "vcpus", "queue_limit", "max_replicas", "min_replicas", "virtual_nodes"]


def value_paths(data, path=()):
    """Every (path, value) in *data*, containers included."""
    yield path, data
    if isinstance(data, dict):
        for k, v in data.items():
            yield from value_paths(v, path + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from value_paths(v, path + (i,))


def _set(data, path, value):
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def _delete(data, path):
    for part in path[:-1]:
        data = data[part]
    del data[path[-1]]


def _operations(data):
    comps = data.get("components") if isinstance(data, dict) else None
    if not isinstance(comps, dict):
        return []
    return [(c, o) for c, spec in comps.items() if isinstance(spec, dict)
            for o in (spec.get("operations") or {}) if isinstance(spec.get("operations"), dict)]


def mutate(rng: random.Random, data, text: str) -> tuple[str, str | bytes]:
    """One random mutation of a scenario: (recipe, new text or bytes)."""
    kind = rng.choice(["delete", "swap", "swap", "swap", "huge", "unit", "nest", "duplicate", "tag", "bomb",
                       "selfcall", "feedback", "fault", "extends", "bytes", "control", "sample", "two"])
    leaves = [p for p, v in value_paths(data) if p]
    if kind == "two":  # two mutations on top of each other
        recipe1, first = mutate(rng, data, text)
        if isinstance(first, bytes):
            return recipe1, first
        if "lol" in first or "!" in first:  # a bomb or a tag: the fuzzer's own loader must not expand it
            return recipe1, first
        try:
            again = yaml.safe_load(first)
        except Exception:  # noqa: BLE001 - the first mutation already broke the YAML: keep that
            return recipe1, first
        if not isinstance(again, dict):
            return recipe1, first
        recipe2, second = mutate(rng, again, first)
        return f"{recipe1} + {recipe2}", second
    if kind == "duplicate":
        lines = text.splitlines(keepends=True)
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])
        return f"duplicate line {i + 1}", "".join(lines)
    if kind == "tag":
        tag = rng.choice(["!custom ", "!!python/name:os.system ", "!!int ", "!!set ", "!!binary ", "!!float "])
        lines = text.splitlines(keepends=True)
        spots = [i for i, line in enumerate(lines) if re.match(r"^\s*[\w-]+: \S", line)]
        i = rng.choice(spots)
        lines[i] = re.sub(r"^(\s*[\w-]+: )", lambda m: m.group(1) + tag, lines[i], count=1)
        return f"tag {tag.strip()} on line {i + 1}", "".join(lines)
    if kind == "bomb":
        levels = rng.randint(3, 10)
        bomb = ['b0: &b0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
        bomb += [f"b{i}: &b{i} [" + ",".join([f"*b{i - 1}"] * 9) + "]" for i in range(1, levels)]
        return f"alias bomb 9^{levels}", text + "\n".join(bomb) + "\n"
    if kind == "bytes":
        raw = bytearray(text.encode("utf-8"))
        for _ in range(rng.randint(1, 8)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        return "byte damage", bytes(raw)
    if kind == "control":
        i = rng.randrange(len(text))
        ch = chr(rng.choice([0, 1, 7, 8, 0x1B, 0x7F, 0xFFFE, 0xD800 if False else 0x85]))
        return f"control character U+{ord(ch):04X} at offset {i}", text[:i] + ch + text[i:]
    if kind == "delete" and leaves:
        path = rng.choice(leaves)
        _delete(data, path)
        recipe = f"delete {'.'.join(map(str, path))}"
    elif kind == "swap" and leaves:
        path = rng.choice(leaves)
        value = rng.choice(STRANGE)
        _set(data, path, value)
        recipe = f"{'.'.join(map(str, path))} = {value!r:.60}"
    elif kind == "huge":
        spots = [p for p, v in value_paths(data) if p and p[-1] in HUGE_COUNTS] or leaves
        path = rng.choice(spots)
        value = rng.choice([10 ** 7, 10 ** 9, 10 ** 100, 2 ** 63, 99991, 1_000_003])
        _set(data, path, value)
        recipe = f"{'.'.join(map(str, path))} = {value}"
    elif kind == "unit":
        spots = [p for p, v in value_paths(data) if isinstance(v, str) and re.search(r"\d", v)] or leaves
        path = rng.choice(spots)
        old = str(_get(data, path))
        new = re.sub(r"\d+(\.\d+)?", lambda m: rng.choice(["1e400", "0", "-1", "1e-300", "99999999999", "nan"]), old,
                     count=1)
        _set(data, path, new)
        recipe = f"{'.'.join(map(str, path))}: {old!r:.40} -> {new!r:.40}"
    elif kind == "nest" and leaves:
        path = rng.choice(leaves)
        value = _get(data, path)
        for _ in range(rng.choice([10, 70, 300])):
            value = [value]
        _set(data, path, value)
        recipe = f"nest {'.'.join(map(str, path))}"
    elif kind in ("selfcall", "feedback") and _operations(data):
        comp, op = rng.choice(_operations(data))
        spec = data["components"][comp]["operations"][op]
        if not isinstance(spec, dict):
            spec = data["components"][comp]["operations"][op] = {"work": "1ms"}
        steps = spec.setdefault("steps", []) if isinstance(spec.get("steps", []), list) else []
        if kind == "selfcall":
            step = rng.choice([{"call": f"{comp}.{op}"}, {"publish": f"{comp}.{op}"}])
            steps.extend([step] * rng.choice([1, 2]))
            recipe = f"{comp}.{op} steps += {step} x{len(steps)}"
        else:
            p = rng.choice([0.5, 0.9, 0.99, 1.0, 1.2])
            steps.append({"branch": [{"p": min(p, 1.0), "steps": [{rng.choice(["call", "publish"]): f"{comp}.{op}"}]},
                                     {"p": max(0.0, 1.0 - p)}]})
            recipe = f"{comp}.{op} feeds back with p={p}"
        if rng.random() < 0.5:
            data["components"][comp]["io"] = rng.choice(["async", "blocking"])
    elif kind == "fault":
        comps = list(data["components"]) if isinstance(data, dict) and isinstance(data.get("components"), dict) else []
        fault = {"kind": rng.choice(["crash", "slowdown", "latency", "errors", "outage", "nope"]),
                 "target": rng.choice(comps + ["ghost"]) if comps else "ghost",
                 "at": rng.choice(["0s", "-1s", "1e400s", "5s", 3]),
                 rng.choice(["for", "duration"]): rng.choice(["1s", "0s", "1e300s", None]),
                 rng.choice(["replicas", "factor", "probability", "extra"]): rng.choice([1, 0, -1, 10 ** 9, 1.5, "2ms"])}
        data.setdefault("faults", []) if isinstance(data.get("faults", []), list) else None
        (data["faults"] if isinstance(data.get("faults"), list) else []).append(fault)
        recipe = f"fault {fault}"
    elif kind == "extends":
        target = rng.choice(["/dev/zero", "/dev/urandom", "\0", "../", ".", "nope.yaml", "/etc/passwd",
                             "SELF", "/proc/self/status", "x" * 5000])
        data["extends"] = target
        recipe = f"extends: {target!r:.40}"
    elif kind == "sample":
        data["sample_interval"] = rng.choice(["1e-9s", "1e-300s", "0s", "1e9s", "-1s"])
        data["records"] = rng.choice(["summary", "full", "auto"])
        recipe = f"sample_interval={data['sample_interval']} records={data['records']}"
    else:
        return "unchanged", text
    try:
        return recipe, yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10 ** 6)
    except (yaml.YAMLError, RecursionError, ValueError, OverflowError) as exc:
        return f"{recipe} (not dumpable: {type(exc).__name__})", text


def _get(data, path):
    for part in path:
        data = data[part]
    return data


def mutants(seed: int, count: int) -> list[Mutant]:
    rng = random.Random(seed)
    originals = sorted(p for p in SCENARIOS.rglob("*.yaml"))
    out = []
    for i in range(count):
        origin = originals[i % len(originals)]
        text = origin.read_text(encoding="utf-8")
        recipe, new = mutate(rng, yaml.safe_load(text), text)
        if isinstance(new, str) and "extends: SELF" in new:
            new = new.replace("extends: SELF", f"extends: {origin.name}")
        out.append(Mutant(str(origin.relative_to(SCENARIOS)), recipe, new))
    return out


# ----------------------------------------------------------------------------- running one

class _OverBudget(Exception):
    pass


_progress = {"wall": 0.0, "ticks": 0, "extended": False, "budget": 5.0}


def _worker_init() -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ImportError, ValueError, OSError):
        pass

    def alarm(signum, frame):
        # A run that has not ticked yet may be slow to start (100,000 users to create): give it
        # one more budget and a half before calling it stuck; a run that ticks is only big.
        if _progress["ticks"] == 0 and not _progress["extended"]:
            _progress["extended"] = True
            signal.setitimer(signal.ITIMER_REAL, 1.5 * _progress["budget"])
            return
        raise _OverBudget()

    signal.signal(signal.SIGALRM, alarm)


def run_case(folder: str, index: int, mutant: Mutant, budget: float) -> tuple[int, str, str]:
    """(index, outcome, detail) for one mutant, in a worker process."""
    from simulator import simulate
    from simulator.errors import ScenarioError, SimulationStalled
    from simulator.scenario.load import check_scenario

    path = Path(folder) / mutant.origin
    path = path.with_name(f"fuzz-{index}-{path.name}")
    data = mutant.text if isinstance(mutant.text, bytes) else mutant.text.encode("utf-8", "surrogatepass")
    path.write_bytes(data)
    started = time.perf_counter()
    _progress.update(wall=started, ticks=0, extended=False, budget=budget)
    signal.setitimer(signal.ITIMER_REAL, budget)
    try:
        try:
            scenario, _ = check_scenario(path)
        except ScenarioError as error:
            if not error.problems:
                return index, "crash", "ScenarioError with no problem to show"
            return index, "rejected", str(error.problems[0])[:200]
        scenario = _capped(scenario)

        def progress(now, duration, events):
            _progress["wall"] = time.perf_counter()
            _progress["ticks"] += 1

        result = simulate(scenario, progress=progress)
        json.dumps(result.summary(), allow_nan=True)
        return index, "ran", f"{time.perf_counter() - started:.2f}s"
    except SimulationStalled as exc:  # the engine's own stop for a clock that does not move: a clean refusal
        return index, "rejected", str(exc)[:200]
    except _OverBudget:
        stalled = time.perf_counter() - _progress["wall"]
        return (index, "cut", "advancing at the budget") if stalled < 2.0 else \
            (index, "hang", f"no simulated progress for {stalled:.1f}s")
    except MemoryError:
        return index, "oom", "MemoryError"
    except RecursionError:
        return index, "crash", "RecursionError"
    except Exception as exc:  # noqa: BLE001 - this is what the fuzzer looks for
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        return index, "crash", f"{type(exc).__name__}: {str(exc)[:150]} at {Path(frame.filename).name}:{frame.lineno}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        path.unlink(missing_ok=True)


def _capped(scenario):
    """The scenario with its duration shortened so that it offers at most MAX_OFFERED requests'
    worth of visits (a request that goes round a loop 100 times counts 100 times)."""
    from simulator.core.profile import peak
    from simulator.scenario.loops import mean_visits
    from simulator.scenario.model import Closed

    offered = 0.0
    for w in scenario.workload:  # weighted by the visits a request makes (feedback loops: 100s)
        visits = max(1.0, sum(mean_visits(scenario, (w.entry, w.operation)).values()))
        if isinstance(w.arrivals, Closed):
            offered += w.arrivals.users * 5 * visits  # a few requests per user
        else:
            offered += peak(w.arrivals.rate, w.profile) * scenario.duration * visits
    if offered <= MAX_OFFERED:
        return scenario
    duration = scenario.duration * MAX_OFFERED / offered
    return scenario.model_copy(update={"duration": duration, "warmup": min(scenario.warmup, duration / 2),
                                       "drain": min(scenario.drain, 2.0)})


# ----------------------------------------------------------------------------- the campaign

def campaign(seed: int, count: int, workers: int = 2, budget: float = 5.0, log=sys.stderr) -> dict:
    """Run *count* mutants; returns {"seed", "outcomes": {outcome: n}, "failures": [...]}."""
    cases = mutants(seed, count)
    folder = tempfile.mkdtemp(prefix="sdsim-fuzz-")
    shutil.copytree(SCENARIOS, folder, dirs_exist_ok=True)
    outcomes: dict[str, int] = {}
    failures = []
    pending = list(enumerate(cases))
    try:
        while pending:
            pool = ProcessPoolExecutor(max_workers=workers, initializer=_worker_init)
            futures = {pool.submit(run_case, folder, i, m, budget): (i, m) for i, m in pending}
            pending = []
            broken = False
            for future, (i, m) in futures.items():
                if broken:
                    pending.append((i, m))
                    continue
                try:
                    _, outcome, detail = future.result(timeout=3 * budget + 30)
                except FutureTimeout:  # stuck in C code past the alarm: a hang
                    outcome, detail, broken = "hang", "the worker did not answer", True
                except Exception as exc:  # noqa: BLE001 - the worker died (e.g. killed by the OS)
                    outcome, detail, broken = "oom", f"worker died: {type(exc).__name__}", True
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
                if outcome not in FINE:
                    failures.append({"case": i, "origin": m.origin, "recipe": m.recipe, "outcome": outcome,
                                     "detail": detail, "text": m.text if isinstance(m.text, str) else repr(m.text)})
                    print(f"  #{i} {m.origin}: {m.recipe[:80]} -> {outcome}: {detail}", file=log)
            if broken:
                for p in getattr(pool, "_processes", {}).values():
                    p.kill()
            pool.shutdown(wait=not broken, cancel_futures=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"seed": seed, "count": count, "outcomes": outcomes, "failures": failures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--budget", type=float, default=5.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2 ** 32)
    print(f"fuzzing {args.count} mutants, seed {seed}", file=sys.stderr)
    started = time.perf_counter()
    report = campaign(seed, args.count, args.workers, args.budget)
    print(f"{report['outcomes']} in {time.perf_counter() - started:.0f}s (seed {seed})", file=sys.stderr)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    sys.exit(1 if report["failures"] else 0)


if __name__ == "__main__":
    main()
