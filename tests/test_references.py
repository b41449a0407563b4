"""Every citation of the two reference sheets resolves to a section or result that exists.

The scenario files, labs, notebooks, findings and docstrings cite the sheets that ship
with sdsim in ``simulator/docs/`` (``sdsim docs golden``, ``sdsim docs typical-numbers``):

* ``Typical numbers §10.2`` or ``Typical numbers §7, §10.8`` — sections of typical-numbers.md;
* ``golden §3``, ``golden G3.4`` or ``golden §3, G3.4`` — sections and results of golden.md.

The scanner fails, naming FILE:LINE, on a citation whose section or result id is not in
the shipped sheet, on the loose legacy forms (``golden.md``, ``Typical numbers 10.2``
without §, ``golden 3.7``), on a bare ``§N`` or ``G3.4`` that does not name its sheet,
and on any path to the private folder the sheets were written from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "simulator" / "docs"
SHEET_FILES = {"golden": "golden.md", "typical": "typical-numbers.md"}

# --------------------------------------------------------------------------- the sheets


@dataclass(frozen=True)
class Sheet:
    sections: frozenset[str]
    ids: frozenset[str]


def index_sheet(text: str) -> Sheet:
    """Numbered headings (``## 3.`` / ``### 10.2``) and result ids (``**G3.4 …**``) of a sheet."""
    sections = re.findall(r"^#{2,4}\s+(\d+(?:\.\d+)*)\.?\s", text, re.M)
    ids = re.findall(r"\*\*(G\d+\.\d+)\b", text)
    return Sheet(frozenset(sections), frozenset(ids))


def shipped_sheets() -> dict[str, Sheet]:
    return {key: index_sheet((DOCS / name).read_text(encoding="utf-8")) for key, name in SHEET_FILES.items()}


# --------------------------------------------------------------------------- the scanner

GAP = r"[\s#*]+"  # between words: spaces, line breaks, and the comment markers of a wrapped line
REF = r"(?:§\s?\d+(?:\.\d+)*|G\d+(?:\.\d+)*)"
REFS = rf"{GAP}{REF}(?:[\s#]*(?:,|/|\band\b)[\s#]*{REF})*"
CITATION = re.compile(rf"\b(?P<sheet>golden|typical{GAP}numbers)(?P<refs>{REFS})", re.I)
EXTERNAL = re.compile(rf"\b(?:RFC\s?\d+|Vol\.\s?\d+)(?P<refs>{REFS})")  # another document's sections
REF_ITEM = re.compile(r"§\s?(\d+(?:\.\d+)*)|(G\d+(?:\.\d+)*)")
BARE_SECTION = re.compile(r"§\s?\d+(?:\.\d+)*")
BARE_ID = re.compile(r"(?<![\w.])G\d+\.\d+\b")
LEGACY = [
    (re.compile(r"(?<![\w/-])(?:golden|typical-numbers)\.md\b", re.I),  # a bare file name; a path (docs/golden.md) is fine
     "the sheet's file name: cite it as golden §N / golden G3.4 or Typical numbers §N"),
    (re.compile(rf"\btypical{GAP}numbers[\"”]?[\s#,:(]*(?:sections?\s*)?\d", re.I),
     "a section without §: write Typical numbers §N"),
    (re.compile(r"\bgolden(?:\.md)?[\"”]?[\s#,:(]*(?:sections?\s*)?\d", re.I), "a section without §: write golden §N"),
    (re.compile(r"\.\./shared|shared/reference|[/\\]work[/\\]shared"), "a path to the private reference folder"),
]


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    message: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}: {self.excerpt!r}"


def scan_text(text: str, path: str, sheets: dict[str, Sheet] | None = None, own: str | None = None) -> list[Problem]:
    """Problems with the citations in *text*. *own* is the sheet *text* is (its bare § are its own)."""
    sheets = sheets or shipped_sheets()
    problems: set[Problem] = set()
    covered: list[tuple[int, int]] = []

    def report(pos: int, end: int, message: str) -> None:
        line = text.count("\n", 0, pos) + 1
        problems.add(Problem(path, line, message, " ".join(text[pos:end].split())))

    for match in EXTERNAL.finditer(text):
        covered.append(match.span())
    for match in CITATION.finditer(text):
        covered.append(match.span())
        key = "golden" if match["sheet"].lower() == "golden" else "typical"
        name = "golden" if key == "golden" else "Typical numbers"
        for item in REF_ITEM.finditer(match["refs"]):
            section, result = item.groups()
            if section is not None and section not in sheets[key].sections:
                report(match.start(), match.end(), f"{name} has no section §{section}")
            elif result is not None and result not in sheets[key].ids:
                report(match.start(), match.end(), f"{name} has no result {result}")

    def inside(pos: int) -> bool:
        return any(start <= pos < end for start, end in covered)

    for match in BARE_SECTION.finditer(text):
        if inside(match.start()):
            continue
        if own is None:
            report(match.start(), match.end(), "a § that does not name its sheet (Typical numbers §N or golden §N)")
        elif match[0].lstrip("§ ") not in sheets[own].sections:
            report(match.start(), match.end(), f"this sheet has no section {match[0]}")
    for match in BARE_ID.finditer(text):
        if inside(match.start()):
            continue
        if own != "golden":
            report(match.start(), match.end(), "a result id that does not name its sheet (golden G3.4)")
        elif match[0] not in sheets["golden"].ids:
            report(match.start(), match.end(), f"golden has no result {match[0]}")
    for pattern, message in LEGACY:
        for match in pattern.finditer(text):
            report(match.start(), match.end() + 12, message)
    return sorted(problems, key=lambda p: (p.path, p.line, p.message))


# --------------------------------------------------------------------------- what a user reads

TEXT_SUFFIXES = {".md", ".yaml", ".yml", ".json", ".py", ".txt", ".toml", ".cfg", ".ini", ".csv"}
SKIP_PARTS = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache"}


def _text_files(*patterns: str) -> list[Path]:
    found = {p for pattern in patterns for p in ROOT.glob(pattern)}
    return sorted(p for p in found if p.is_file() and p.suffix in TEXT_SUFFIXES and not SKIP_PARTS & set(p.parts))


AREAS = {
    "project": ("README.md", "scenarios/**/*", "notebooks/*.py", "notebooks/*.md", "notebooks/scenarios/**/*",
                "benchmarks/*.md", "simulator/**/*.py"),
    "sheets": ("simulator/docs/**/*",),
    "labs": ("labs/**/*", "simulator/labs/catalog/**/*"),
}


def scan_area(area: str) -> list[Problem]:
    sheets = shipped_sheets()
    own_of = {DOCS / name: key for key, name in SHEET_FILES.items()}
    problems: list[Problem] = []
    for path in _text_files(*AREAS[area]):
        text = path.read_text(encoding="utf-8", errors="replace")
        problems += scan_text(text, str(path.relative_to(ROOT)), sheets, own=own_of.get(path))
    return problems


@pytest.mark.parametrize("area", list(AREAS))
def test_every_citation_resolves(area):
    problems = scan_area(area)
    assert not problems, f"{len(problems)} citation(s) to fix:\n" + "\n".join(map(str, problems))


def test_the_areas_cover_the_files_that_cite():
    """The globs find the files students read (a typo in AREAS would make the test vacuous)."""
    scanned = {str(p.relative_to(ROOT)) for area in AREAS.values() for p in _text_files(*area)}
    for name in ("README.md", "scenarios/SCALING.md", "scenarios/onepiece/monolith.yaml",
                 "scenarios/onepiece/FINDINGS.md", "notebooks/lab2_load_balancing.py",
                 "simulator/docs/golden.md", "simulator/docs/typical-numbers.md", "simulator/theory/load_balancing.py"):
        assert name in scanned


# --------------------------------------------------------------------------- the scanner can fail


SAMPLE_SHEETS = {"golden": Sheet(frozenset({"3", "3.2", "6", "13"}), frozenset({"G3.1", "G3.4", "G6.2"})),
                 "typical": Sheet(frozenset({"2", "7", "10", "10.2", "10.8"}), frozenset())}


def _messages(text: str, own: str | None = None) -> list[tuple[int, str]]:
    return [(p.line, p.message) for p in scan_text(text, "x.md", SAMPLE_SHEETS, own=own)]


def test_scanner_accepts_the_consistent_forms():
    text = ("Prices (Typical numbers §7, §10.8); nginx (Typical numbers §10.2: 30k req/s per core).\n"
            "Smooth WRR (golden §3, G3.4); TTL hits (golden G6.2); outlier ejection (golden §3, §13).\n"
            "# a wrapped comment (Typical numbers §10.2,\n# §2)\n"
            "The golden ratio and the golden tests are not citations. RFC 8446 §2.3, §8 is another document.\n"
            "sdsim docs typical-numbers, or simulator/docs/typical-numbers.md and simulator/docs/golden.md.\n")
    assert _messages(text) == []


def test_scanner_names_the_line_of_a_bad_citation():
    text = "line one\nthe pool (Typical numbers §10.9) and\nthe LB (golden §3, G3.99)\n"
    assert _messages(text) == [(2, "Typical numbers has no section §10.9"), (3, "golden has no result G3.99")]


def test_scanner_rejects_the_legacy_forms_and_private_paths():
    text = ("(golden.md §3)\n(Typical numbers 10.2)\n(golden 3.7)\n(golden.md 3, 13)\n"
            "see ../shared/reference/golden.md\n(Typical numbers, section 10.4)\n(golden G16)\n")
    found = _messages(text)
    assert {line for line, _ in found} == {1, 2, 3, 4, 5, 6, 7}
    assert (7, "golden has no result G16") in found
    assert any("private reference folder" in message for line, message in found if line == 5)


def test_scanner_wants_every_citation_to_name_its_sheet():
    assert set(_messages("the pool (§10.2) and the result G3.4\n")) == {
        (1, "a § that does not name its sheet (Typical numbers §N or golden §N)"),
        (1, "a result id that does not name its sheet (golden G3.4)")}
    # inside a sheet, a bare § is that sheet's own section, and is checked against it
    assert _messages("see §10.2 and §11\n", own="typical") == [(1, "this sheet has no section §11")]
    assert _messages("see G3.4 and G4.1\n", own="golden") == [(1, "golden has no result G4.1")]


def test_the_shipped_sheets_have_the_cited_sections_and_results():
    sheets = shipped_sheets()
    assert {"0", "3", "3.2", "6.2", "13", "16.1", "20.2"} <= sheets["golden"].sections
    assert {"G1.1", "G3.1", "G3.4", "G5.8", "G6.2", "G16.4", "G20.3"} <= sheets["golden"].ids
    assert {"1.2", "2", "5.4", "7", "9", "10.1", "10.8", "11"} <= sheets["typical"].sections
    assert not sheets["typical"].ids


# --------------------------------------------------------------------------- sdsim docs


def test_sdsim_docs_prints_the_shipped_sheet_and_its_path():
    from simulator.cli import app

    runner = CliRunner()
    golden = runner.invoke(app, ["docs", "golden"])
    assert golden.exit_code == 0, golden.output
    shipped = (files("simulator") / "docs" / "golden.md").read_text(encoding="utf-8")
    assert golden.stdout == shipped and "**G3.4 nginx smooth weighted round robin" in golden.stdout

    where = runner.invoke(app, ["docs", "typical-numbers", "--path"])
    assert where.exit_code == 0, where.output
    path = Path(where.stdout.strip())
    assert path.is_file() and path.name == "typical-numbers.md"
    assert path.read_text(encoding="utf-8").startswith("# Typical numbers")

    listing = runner.invoke(app, ["docs"])
    assert listing.exit_code == 0 and "golden" in listing.stdout and "typical-numbers" in listing.stdout


def test_sdsim_docs_rejects_an_unknown_sheet():
    from simulator.cli import app

    result = CliRunner().invoke(app, ["docs", "goldne"])
    assert result.exit_code == 2
    assert "golden" in result.output and "typical-numbers" in result.output
