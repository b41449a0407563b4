"""``sdsim reshard`` and :func:`simulator.resharding.reshard_report`: what a resize of a sharded store moves.

Specification:

* for each strategy the fraction of keys ``0..keys-1`` whose shard changes from ``--from``
  to ``--to`` shards; mod N moves ``1 − min/lcm`` of the keys (10 → 11: 10/11), a
  consistent scheme close to the ideal ``|Δ| / max`` (1/11), jump hash about that too;
* given a scenario, the sharded database's own strategy, shard count and key space are
  used, and the share of *traffic* moved is weighed by the workload's Zipf popularity;
* errors are usage errors (exit 2) with a message, never a traceback.

Key fractions are sample proportions over the key space, so they are compared with a
3-standard-error binomial band around the exact or ideal value.
"""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from simulator import theory
from simulator.cli import app
from simulator.resharding import reshard_report


def band(p: float, n: int) -> float:
    return 3 * math.sqrt(p * (1 - p) / n)


@pytest.fixture
def runner():
    return CliRunner()


def test_mod_n_moves_almost_everything_consistent_schemes_about_one_in_n():
    keys = 20_000
    rows = {r["strategy"]: r for r in reshard_report(10, 11, keys)}
    exact = theory.mod_n_keys_moved(10, 11)
    assert exact == pytest.approx(10 / 11)
    assert abs(rows["mod_n"]["keys_moved"] - exact) <= band(exact, keys)
    ideal = theory.consistent_keys_moved(10, 11)
    assert ideal == pytest.approx(1 / 11)
    assert abs(rows["jump"]["keys_moved"] - ideal) <= band(ideal, keys)
    # a ring of 100 virtual nodes per shard is only roughly balanced (golden G4.1: CV ~ 0.1)
    assert ideal * 0.8 <= rows["consistent"]["keys_moved"] <= ideal * 1.3
    assert rows["range"]["keys_moved"] > 0.4  # every boundary shifts
    assert all(r["ideal"] == ideal for r in rows.values())


def test_cli_table_and_json_agree(runner):
    table = runner.invoke(app, ["reshard", "--from", "4", "--to", "5", "--keys", "5000"])
    assert table.exit_code == 0, table.stderr
    assert "resharding 4 → 5 shards over 5,000 keys" in table.stdout and "mod_n" in table.stdout
    doc = runner.invoke(app, ["reshard", "--from", "4", "--keys", "5000", "--strategy", "jump", "--json"])
    assert doc.exit_code == 0, doc.stderr
    report = json.loads(doc.stdout)
    assert report["from"] == 4 and report["to"] == 5  # --to defaults to one more
    (row,) = report["rows"]
    assert row["strategy"] == "jump" and abs(row["keys_moved"] - 0.2) <= band(0.2, 5000)


def test_scenario_mode_uses_the_database_and_weighs_traffic(runner, tmp_path):
    path = tmp_path / "sharded.yaml"
    path.write_text("""
name: sharded
duration: 10s
workload:
  - {name: w, entry: db, operation: read, keys: "zipf(s=1.0, n=2000)", arrivals: {kind: poisson, rate: 10/s}}
components:
  db: {kind: database, sharding: {shards: 4, strategy: mod_n}, operations: {read: {work: 1ms}}}
""")
    result = runner.invoke(app, ["reshard", str(path), "--json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["from"], report["to"], report["keys"]) == (4, 5, 2000)
    (row,) = report["rows"]
    assert row["strategy"] == "mod_n"
    assert abs(row["keys_moved"] - 0.8) <= band(0.8, 2000)
    # the traffic moved is the popularity-weighted share: between 0 and 1, and not the key share
    popularity = theory.zipf_popularity(2000, 1.0)
    before = reshard_report(4, 5, strategies=["mod_n"], popularity=popularity)[0]
    assert row["traffic_moved"] == pytest.approx(before["traffic_moved"])
    assert 0 < row["traffic_moved"] < 1 and row["traffic_moved"] != pytest.approx(row["keys_moved"], abs=1e-3)


def test_usage_errors_are_messages_not_tracebacks(runner, tmp_path):
    plain = tmp_path / "plain.yaml"
    plain.write_text("""
name: plain
duration: 10s
workload: [{name: w, entry: db, operation: read, arrivals: {kind: poisson, rate: 1/s}}]
components: {db: {kind: database, operations: {read: {work: 1ms}}}}
""")
    no_db = runner.invoke(app, ["reshard", str(plain)])
    assert no_db.exit_code == 2 and "no sharded database" in no_db.stderr
    no_count = runner.invoke(app, ["reshard"])
    assert no_count.exit_code == 2 and "--from" in no_count.output
    bad = runner.invoke(app, ["reshard", "--from", "3", "--strategy", "modulo"])
    assert bad.exit_code == 2 and "unknown strategy 'modulo'" in bad.output
    assert bad.exception is None or isinstance(bad.exception, SystemExit)
