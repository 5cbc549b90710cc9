"""A suite run as JUnit XML, the report CI systems read: one testcase per scenario."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from .models import ScenarioResult, SuiteRun


def junit_report(run: SuiteRun, results: list[ScenarioResult]) -> str:
    failed = [r for r in results if r.status in (ScenarioResult.Status.FAILED, ScenarioResult.Status.TIMED_OUT)]
    errors = [r for r in results if r.status == ScenarioResult.Status.ERROR]
    suite = ET.Element("testsuite", {
        "name": f"{run.agent.name} ({run.version_label})", "tests": str(len(results)), "failures": str(len(failed)),
        "errors": str(len(errors)), "time": f"{sum(r.duration_s or 0 for r in results):.1f}",
    })
    for result in results:
        case = ET.SubElement(suite, "testcase", {
            "classname": f"agent{run.agent_id}.flow_v{run.flow_version}", "name": result.name,
            "time": f"{result.duration_s or 0:.1f}",
        })
        if not result.passed:
            tag = "error" if result.status == ScenarioResult.Status.ERROR else "failure"
            first = result.failures[0].splitlines()[0] if result.failures else result.status
            problem = ET.SubElement(case, tag, {"message": first, "type": result.status})
            problem.text = "\n".join(result.failures)
        if result.transcript:
            out = ET.SubElement(case, "system-out")
            out.text = "\n".join(f"{t['role']}: {t['text']}" for t in result.transcript)
    ET.indent(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
