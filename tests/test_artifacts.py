"""Run and comparison artifacts (simulator.artifacts): which files, what they hold, self-contained HTML.

Specification:

* ``write_run`` creates the directory and writes summary.json (exactly ``result.summary()``
  with non-finite floats as null), requests/timeseries/components tables (CSV, or Parquet
  when pyarrow is there or asked for), faults.csv, four chart PNGs (+ SVG on request),
  topology.png and report.html, and each record table whose rows the run kept
  (``table.<component>.<name>``); it returns exactly the paths it wrote.
* Chart PNGs are real pictures: > 10 kB and at least 800×400 pixels.
* report.html is one self-contained page: no http(s) URLs, no ``<link>``, no external
  scripts, every ``src=`` a ``data:`` URI; it shows scenario, seed, window, headline
  numbers, latency and component tables, SLO verdicts, faults, all charts; text escaped.
* A failure while writing leaves no half-written report or summary behind.
* Output folders appear whole (``simulator.artifacts.folders``): a new folder is built aside
  and renamed into place; a failure or Ctrl-C leaves no folder and no staging folder (nor
  the parents it created); an existing folder is left exactly as it was, or updated only
  at the end (its other files kept). ``check_output`` refuses, before any work and
  creating nothing, a path that cannot be written.
* ``write_comparison`` writes comparison.json (the rows), comparison.png and a
  self-contained comparison.html rendering any row keys as columns.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import struct
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import scenario, service

from simulator import artifacts, simulate
from simulator.artifacts import json_safe, kept_tables, table_format, write_comparison, write_run

ROOT = Path(__file__).resolve().parent.parent
CHART_NAMES = ("latency", "throughput", "components", "distribution", "topology")


@pytest.fixture(scope="module")
def result():
    spec = scenario({"svc": service("20ms", workers=2, steps=[{"call": "db.read"}]),
                     "db": {"kind": "database", "connections": 4, "operations": {"read": {"work": "5ms"}}}},
                    rate="20/s", duration="300s", warmup="30s",
                    faults=[{"kind": "crash", "target": "svc", "at": "100s", "for": "20s"}],
                    slos=[{"name": "fast <enough> & ok", "metric": "latency_p99", "max": "1ms"},
                          {"name": "up", "metric": "availability", "min": 0.5}])
    return simulate(spec)


@pytest.fixture(scope="module")
def run_dir(result, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "nested" / "out"
    written = write_run(result, out, svg=True, tables="csv")
    return out, written


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", "not a PNG"
    return struct.unpack(">II", data[16:24])


def nan_to_none(value):
    """Independent NaN → None conversion for comparing with summary.json."""
    if isinstance(value, dict):
        return {k: nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [nan_to_none(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def assert_self_contained(page: str) -> None:
    lowered = page.lower()
    assert "http://" not in lowered and "https://" not in lowered
    assert "<link" not in lowered
    assert "<script src" not in lowered and not re.search(r"<script[^>]*\bsrc\s*=", lowered)
    assert "@import" not in lowered and "url(" not in lowered
    for src in re.findall(r"""\bsrc\s*=\s*["']?([^"'\s>]*)""", page, flags=re.I):
        assert src.startswith("data:"), src
    assert not re.search(r"""\bhref\s*=""", lowered)


# ----------------------------------------------------------------------------- write_run


def test_write_run_files(run_dir):
    """Creates the (nested) directory and returns exactly the files it wrote, no temporaries left."""
    out, written = run_dir
    names = {p.name for p in written}
    expected = {"summary.json", "requests.csv", "timeseries.csv", "components.csv", "faults.csv", "report.html"}
    expected |= {f"{c}.png" for c in CHART_NAMES} | {f"{c}.svg" for c in CHART_NAMES}
    assert names == expected
    assert all(p.parent == out and p.is_file() for p in written)
    assert {p.name for p in out.iterdir()} == expected


def test_summary_json_is_the_summary(run_dir, result):
    """summary.json equals result.summary() with non-finite floats as null; strict JSON (no NaN tokens)."""
    out, _ = run_dir
    text = (out / "summary.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == nan_to_none(result.summary())
    assert text.startswith("{\n  \"scenario\"")  # indent 2


def test_json_safe():
    assert json_safe({"a": float("nan"), "b": [1.5, float("inf")], "c": (True, None, "x")}) == {
        "a": None, "b": [1.5, None], "c": [True, None, "x"]}


def test_tables_as_csv(run_dir, result):
    """CSV tables hold the Result's DataFrames."""
    out, _ = run_dir
    requests = pd.read_csv(out / "requests.csv")
    assert len(requests) == len(result.requests)
    assert list(requests.columns) == list(result.requests.columns)
    assert set(requests["status"]) <= {"ok", "error", "timeout", "rejected"}
    assert list(pd.read_csv(out / "timeseries.csv").columns) == list(result.timeseries.columns)
    components = pd.read_csv(out / "components.csv")
    assert set(components["component"]) == {"svc", "db"}
    faults = pd.read_csv(out / "faults.csv")
    assert faults.to_dict("records")[0] | {"detail": None} == {"kind": "crash", "target": "svc", "start": 100.0,
                                                                "end": 120.0, "detail": None}


def test_the_record_tables_kept_are_written_one_file_each(tmp_path):
    """A broker's messages (and every other table whose rows the run kept) land as
    ``table.<component>.<name>.csv``, row for row; with summary records a ``"count"`` table
    has no rows, so no file."""
    from simulator import load_scenario

    path = ROOT / "scenarios" / "events" / "dead-letter.yaml"
    full = simulate(load_scenario(path, sets=["duration=60s", "warmup=10s", "records=full"]))
    written = {p.name for p in write_run(full, tmp_path / "full", tables="csv", charts=False)}
    stems = [stem for stem, _ in kept_tables(full)]
    assert {f"{stem}.csv" for stem in stems} <= written and len(stems) >= 2
    broker = next(name for name, rec in full.components.items() if "messages" in rec.tables)
    messages = pd.read_csv(tmp_path / "full" / f"table.{broker}.messages.csv")
    np.testing.assert_allclose(messages.to_numpy(), full.components[broker].table("messages").to_numpy())
    assert len(messages) > 50

    summary = simulate(load_scenario(path, sets=["duration=60s", "warmup=10s", "records=summary"]))
    names = {p.name for p in write_run(summary, tmp_path / "summary", tables="csv", charts=False)}
    assert f"table.{broker}.messages.csv" not in names
    assert {f"{stem}.csv" for stem, _ in kept_tables(summary)} <= names


def test_charts_are_real_pictures(run_dir):
    """Every chart PNG is > 10 kB and at least 800×400 pixels (the topology, sized by its layout, ≥ 400×400);
    SVG copies are SVG."""
    out, _ = run_dir
    for name in CHART_NAMES:
        data = (out / f"{name}.png").read_bytes()
        width, height = png_size(data)
        assert len(data) > 10_000, name
        minimum = (400, 400) if name == "topology" else (800, 400)
        assert width >= minimum[0] and height >= minimum[1], (name, width, height)
        assert b"<svg" in (out / f"{name}.svg").read_bytes()[:2000]


def test_report_is_self_contained_and_complete(run_dir, result):
    """One page: no external references; title, headline, tables, SLO verdicts, faults, all charts inline."""
    out, _ = run_dir
    page = (out / "report.html").read_text(encoding="utf-8")
    assert_self_contained(page)
    assert page.count('src="data:image/png;base64,') == len(CHART_NAMES)
    summary = result.summary()
    assert "<h1>test · seed 1</h1>" in page
    assert "measurement window [30 s, 300 s)" in page
    for label in ("issued", "ok", "error", "timeout", "rejected", "throughput", "goodput", "availability"):
        assert f'<div class="k">{label}</div>' in page
    assert f"{summary['requests']['issued']:,}" in page
    for header in ("p50", "p90", "p95", "p99", "p99.9", "max", "utilization", "P(wait)", "queue mean", "served"):
        assert f"<th>{header}</th>" in page
    assert page.index("<td class=\"text\">svc</td>") < page.index("<td class=\"text\">db</td>")  # busiest first
    # SLOs: names escaped, verdicts with value and target
    assert "fast &lt;enough&gt; &amp; ok" in page and "<enough>" not in page
    assert '<span class="fail">FAIL</span>' in page and '<span class="pass">pass</span>' in page
    assert "≤ 1 ms" in page
    assert "<h2>Faults</h2>" in page and "<td class=\"text\">crash</td>" in page


def test_parquet_tables(result, tmp_path):
    """tables='parquet' writes .parquet that reads back to the same frames."""
    pytest.importorskip("pyarrow")
    written = write_run(result, tmp_path, tables="parquet", charts=False)
    names = {p.name for p in written}
    assert {"requests.parquet", "timeseries.parquet", "components.parquet", "faults.csv"} <= names
    assert not any(n.endswith(".csv") and n != "faults.csv" for n in names)
    back = pd.read_parquet(tmp_path / "requests.parquet")
    assert len(back) == len(result.requests)


def test_table_format_selection(monkeypatch):
    """auto = parquet exactly when pyarrow imports; csv/parquet are taken as asked; anything else is an error."""
    assert table_format("csv") == "csv" and table_format("parquet") == "parquet"
    monkeypatch.setitem(__import__("sys").modules, "pyarrow", None)  # import pyarrow -> ImportError
    assert table_format("auto") == "csv"
    with pytest.raises(ValueError):
        table_format("xlsx")


def test_auto_without_pyarrow_writes_csv(result, tmp_path, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "pyarrow", None)
    names = {p.name for p in write_run(result, tmp_path, charts=False)}
    assert {"requests.csv", "timeseries.csv", "components.csv"} <= names


def test_failed_report_leaves_previous_files_intact(result, tmp_path, monkeypatch):
    """If rendering the report fails, the old report.html stays whole and no temporary files remain."""
    write_run(result, tmp_path, tables="csv", charts=False)
    before = (tmp_path / "report.html").read_bytes()

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(artifacts.bundle, "report_html", broken)
    with pytest.raises(RuntimeError):
        write_run(result, tmp_path, tables="csv", charts=False)
    assert (tmp_path / "report.html").read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]

    monkeypatch.setattr(artifacts.files, "write_text", lambda path, text: artifacts.files.atomic(path, lambda tmp: broken()))
    with pytest.raises(RuntimeError):
        write_run(result, tmp_path, tables="csv", charts=False)  # summary.json write fails midway
    assert json.loads((tmp_path / "summary.json").read_text()) == nan_to_none(result.summary())
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_broken_topology_does_not_cost_the_run(result, tmp_path, monkeypatch):
    import simulator.viz as viz

    def broken(*args, **kwargs):
        raise RuntimeError("layout failed")

    monkeypatch.setattr(viz, "plot_topology", broken)
    monkeypatch.setattr(artifacts.bundle, "CHARTS", ("latency",))
    with pytest.warns(RuntimeWarning, match="topology"):
        names = {p.name for p in write_run(result, tmp_path, tables="csv")}
    assert "report.html" in names and "latency.png" in names and "topology.png" not in names


def test_run_without_successes(tmp_path):
    """A run where nothing succeeds still gets every file; missing numbers show as '–'."""
    spec = scenario({"svc": service("10ms")}, rate="5/s", duration="40s", warmup="10s",
                    faults=[{"kind": "crash", "target": "svc", "at": "0s", "for": "100s"}])
    dead = simulate(spec)
    written = write_run(dead, tmp_path, tables="csv", charts=False)  # charts of no data: see test_viz
    assert (tmp_path / "report.html") in written
    assert json.loads((tmp_path / "summary.json").read_text())["latency_s"]["p99"] is None
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert_self_contained(page)
    assert "<td>–</td>" in page


# ----------------------------------------------------------------------------- write_comparison


def test_write_comparison(result, tmp_path):
    """comparison.json = the rows (NaN → null); comparison.png a real chart; comparison.html self-contained."""
    other = simulate(result.scenario.model_copy(update={"seed": 2}))
    rows = [
        {"metric": "latency_p99", "a": 0.12, "b": 0.09, "diff": -0.03, "ci_low": -0.05, "ci_high": -0.01,
         "significant": True},
        {"metric": "avail <x>", "a": 0.99, "b": float("nan"), "diff": None, "ci_low": None, "ci_high": None,
         "significant": False},
    ]
    written = write_comparison({"a": result, "b": other}, rows, tmp_path / "cmp")
    assert {p.name for p in written} == {"comparison.json", "comparison.png", "comparison.html"}
    assert json.loads((tmp_path / "cmp" / "comparison.json").read_text()) == nan_to_none(rows)
    data = (tmp_path / "cmp" / "comparison.png").read_bytes()
    width, height = png_size(data)
    assert len(data) > 10_000 and width >= 800 and height >= 400
    page = (tmp_path / "cmp" / "comparison.html").read_text(encoding="utf-8")
    assert_self_contained(page)
    for key in rows[0]:
        assert f"<th>{key}</th>" in page
    assert "avail &lt;x&gt;" in page
    assert page.count('src="data:image/png;base64,') == 1
    assert "test · seed 1" in page and "test · seed 2" in page


# ----------------------------------------------------------------------------- folders that appear whole


def contents(folder):
    """Every entry under *folder* (hidden ones too) → its bytes (None for a folder, the target for a link)."""
    return {str(p.relative_to(folder)): (os.readlink(p) if p.is_symlink() else None if p.is_dir() else p.read_bytes())
            for p in sorted(folder.rglob("*"))}


def boom(*args, **kwargs):
    raise RuntimeError("boom")


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_a_failure_mid_write_leaves_no_folder_no_staging_and_no_parents(result, tmp_path, monkeypatch, error):
    """summary.json, the tables and a chart are written, then the second chart fails (or Ctrl-C)."""
    real, calls = artifacts.files.save_chart, []

    def second_fails(*args, **kwargs):
        calls.append(args[2])
        if len(calls) == 2:
            raise error()
        return real(*args, **kwargs)

    monkeypatch.setattr(artifacts.files, "save_chart", second_fails)
    with pytest.raises(error):
        write_run(result, tmp_path / "new" / "deeper" / "out", tables="csv")
    assert calls == ["latency", "throughput"]
    assert contents(tmp_path) == {}


def test_a_failure_leaves_an_existing_folder_exactly_as_it_was(result, tmp_path, monkeypatch):
    out = tmp_path / "out"
    write_run(result, out, tables="csv", charts=False)
    (out / "notes.txt").write_text("mine")
    before = contents(out)
    monkeypatch.setattr(artifacts.bundle, "report_html", boom)
    with pytest.raises(RuntimeError):
        write_run(result, out, tables="csv", charts=False)
    assert contents(out) == before


def test_an_existing_folder_is_updated_at_the_end_and_keeps_its_other_files(result, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "summary.json").write_text("old")
    written = write_run(result, out, tables="csv", charts=False)
    assert {p.name for p in out.iterdir()} == {p.name for p in written} | {"notes.txt"}
    assert (out / "notes.txt").read_text() == "mine"
    assert json.loads((out / "summary.json").read_text()) == nan_to_none(result.summary())


def test_ctrl_c_during_the_commit_lands_after_it(result, tmp_path, monkeypatch):
    """The commit of an existing folder is a few renames; a Ctrl-C there waits for the last one."""
    from simulator.artifacts import folders

    out = tmp_path / "out"
    out.mkdir()
    real = folders._merge

    def interrupted_merge(source, target):
        os.kill(os.getpid(), signal.SIGINT)
        real(source, target)

    monkeypatch.setattr(folders, "_merge", interrupted_merge)
    with pytest.raises(KeyboardInterrupt):
        write_run(result, out, tables="csv", charts=False)
    assert {p.name for p in out.iterdir()} == {"summary.json", "requests.csv", "timeseries.csv", "components.csv",
                                               "faults.csv", "report.html"}


def test_a_comparison_folder_appears_whole_too(result, tmp_path, monkeypatch):
    monkeypatch.setattr(artifacts.bundle, "comparison_html", boom)
    with pytest.raises(RuntimeError):
        write_comparison({"a": result}, [{"metric": "x", "a": 1.0}], tmp_path / "cmp")
    assert contents(tmp_path) == {}


@pytest.mark.parametrize("make, folder, says", [
    (lambda tmp: (tmp / "f").write_text("x") and tmp / "f", True, "it is a file, not a folder"),
    (lambda tmp: (tmp / "f").write_text("x") and tmp / "f" / "sub" / "out", True, "f is a file, not a folder"),
    (lambda tmp: (tmp / "d").mkdir() or tmp / "d", False, "it is a folder, not a file"),
    (lambda tmp: tmp / ("n" * 300) / "out", True, "is longer than the 255 bytes"),
    (lambda tmp: (tmp / "link").symlink_to(tmp / "nowhere") or tmp / "link", True, "a symbolic link to nothing"),
])
def test_check_output_refuses_what_cannot_be_written_and_creates_nothing(tmp_path, make, folder, says):
    from simulator.artifacts import check_output
    from simulator.errors import OutputPathError

    path = make(tmp_path)
    before = contents(tmp_path)
    with pytest.raises(OutputPathError) as info:
        check_output(path, folder=folder)
    assert str(info.value).startswith(f"cannot write {path}: ") and says in str(info.value)
    assert contents(tmp_path) == before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")
def test_check_output_refuses_a_place_where_nothing_can_be_created():
    from simulator.artifacts import check_output
    from simulator.errors import OutputPathError

    with pytest.raises(OutputPathError, match=r"cannot write /proc/sdsim-out/run: creating a file in /proc fails"):
        check_output("/proc/sdsim-out/run")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere")
def test_check_output_refuses_a_folder_without_write_permission(tmp_path):
    from simulator.artifacts import check_output
    from simulator.errors import OutputPathError

    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(OutputPathError, match="Permission denied"):
            check_output(locked / "out")
        with pytest.raises(OutputPathError, match="Permission denied"):
            check_output(locked)  # an existing folder: the build is staged inside it
    finally:
        locked.chmod(0o700)


def test_check_output_accepts_new_paths_and_existing_folders(tmp_path):
    from simulator.artifacts import FolderNotEmpty, check_output

    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    assert check_output(tmp_path / "a" / "b" / "c") == tmp_path / "a" / "b" / "c"
    assert check_output(tmp_path / "full") == tmp_path / "full"
    assert check_output(tmp_path / "full" / "x", folder=False) == tmp_path / "full" / "x"
    with pytest.raises(FolderNotEmpty):
        check_output(tmp_path / "full", empty=True)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["full", "x"]


def test_a_full_disk_while_writing_is_a_fault_of_the_place_not_a_bug(result, tmp_path, monkeypatch):
    import errno

    from simulator.errors import OutputPathError

    def disk_full(path, text):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(artifacts.files, "write_text", disk_full)
    with pytest.raises(OutputPathError, match=r"cannot write .*out: writing failed \(No space left on device\)"):
        write_run(result, tmp_path / "out", tables="csv", charts=False)
    assert contents(tmp_path) == {}
