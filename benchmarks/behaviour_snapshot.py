"""Usage: python benchmarks/behaviour_snapshot.py [--out FILE] [--only GLOB]

What the simulator computes, as one JSON document, to compare two commits after a
refactoring that must not change behaviour:

    git worktree add /tmp/before <commit>
    (cd /tmp/before && PYTHONPATH=. python benchmarks/behaviour_snapshot.py --out /tmp/before.json)
    PYTHONPATH=. python benchmarks/behaviour_snapshot.py --out /tmp/after.json
    cmp /tmp/before.json /tmp/after.json && echo identical

It holds the ``--json`` summary (``summary()``) of every scenario under ``scenarios/``
with its own seed, and the grade report of every lab's reference solution (the grader's
seeds are the lab's). Wall-clock fields are dropped; every other number is kept exactly
(``repr`` of floats), so a single changed draw shows.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # measure this checkout

from simulator import load_scenario, simulate  # noqa: E402
from simulator.errors import ScenarioError  # noqa: E402

WALL_KEYS = ("wall", "elapsed", "events_per_s")


def _clean(value):
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if not any(w in k for w in WALL_KEYS)}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, float):
        return repr(value)
    return value


def snapshot(only: str) -> dict:
    out: dict = {"scenarios": {}, "labs": {}}
    for path in sorted((ROOT / "scenarios").rglob("*.yaml")):
        rel = str(path.relative_to(ROOT))
        if not fnmatch.fnmatch(rel, only):
            continue
        try:
            scenario = load_scenario(path)
        except ScenarioError as error:
            out["scenarios"][rel] = {"invalid": str(error)}
            continue
        print(f"running {rel}", file=sys.stderr)
        out["scenarios"][rel] = _clean(simulate(scenario).summary())
    from simulator.labs import CATALOG, grade, load_lab

    for lab_dir in sorted(CATALOG.glob("*/lab.yaml")):
        solution = ROOT / "labs" / lab_dir.parent.name / "solution"
        if not solution.is_dir() or not fnmatch.fnmatch(str(solution.relative_to(ROOT)), only):
            continue
        print(f"grading {lab_dir.parent.name}", file=sys.stderr)
        report = grade(load_lab(lab_dir.parent), solution, workers=1).to_dict()
        report.pop("submission", None)
        out["labs"][lab_dir.parent.name] = _clean(report)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write here instead of stdout")
    parser.add_argument("--only", default="*", help="a glob over the paths (e.g. 'scenarios/theory/*')")
    args = parser.parse_args()
    text = json.dumps(snapshot(args.only), indent=1, sort_keys=True) + "\n"
    if args.out:
        args.out.write_text(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
