"""JUnit XML for CI systems (GitHub Actions, GitLab, Jenkins): one test case per check."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from .report import GradeReport


def write_junit(report: GradeReport, path: Path) -> None:
    failures = sum(1 for c in report.checks if not c.passed)
    suite = ET.Element("testsuite", name=report.lab, tests=str(len(report.checks)), failures=str(failures),
                       errors="1" if report.malformed else "0")
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="score", value=f"{report.score:g}")
    ET.SubElement(props, "property", name="total", value=f"{report.total:g}")
    for check in report.checks:
        case = ET.SubElement(suite, "testcase", classname=report.lab, name=check.id)
        if not check.passed:
            failure = ET.SubElement(case, "failure", message=f"{check.title}: 0/{check.points:g} points")
            failure.text = "\n".join(check.feedback + report.problems)
        else:
            out = ET.SubElement(case, "system-out")
            out.text = f"{check.points:g}/{check.points:g} points. " + " ".join(check.feedback)
    if report.diagnosis:  # each distinct cause of the failed SLOs, once, for the whole suite
        ET.SubElement(suite, "system-out").text = "diagnosis:\n" + "\n".join(report.diagnosis)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
