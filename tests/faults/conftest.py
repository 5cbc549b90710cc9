"""The fault suite prints how many fault scenarios it ran, per part, after the run."""

from __future__ import annotations

from tests import tally


def pytest_terminal_summary(terminalreporter):
    for line in tally.summary("faults"):
        terminalreporter.write_line(line)
