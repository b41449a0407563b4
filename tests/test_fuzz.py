"""The mutation fuzzer (tests/fuzzing.py) in the slow tier: every mutant is rejected with a
located message or runs; no traceback, no hang, no out-of-memory.

The seed is fixed so CI is reproducible and printed so a failure can be replayed
(``python tests/fuzzing.py --seed S --count N``); ``SDSIM_FUZZ_SEED`` and
``SDSIM_FUZZ_COUNT`` change it. A failure it finds becomes a test in test_bad_input.py
or test_deep_models.py.
"""

from __future__ import annotations

import os

import pytest

from fuzzing import campaign

SEED = int(os.environ.get("SDSIM_FUZZ_SEED", "20261206"))
COUNT = int(os.environ.get("SDSIM_FUZZ_COUNT", "5000"))


@pytest.mark.slow
def test_every_mutant_is_rejected_cleanly_or_runs(capsys):
    report = campaign(SEED, COUNT, workers=os.cpu_count() or 1, budget=5.0)
    with capsys.disabled():
        print(f"\nfuzz: seed {SEED}, {COUNT} mutants: {report['outcomes']}")
    failures = [f"#{f['case']} {f['origin']}: {f['recipe'][:100]} -> {f['outcome']}: {f['detail']}"
                for f in report["failures"]]
    assert not failures, f"seed {SEED}:\n" + "\n".join(failures)
    assert report["outcomes"].get("ran", 0) > COUNT // 10  # the mutants are not all trivially rejected
