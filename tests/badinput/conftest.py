"""The bad input suite prints how many generated cases it ran, per part, after the run."""

from __future__ import annotations

from tests import tally


def pytest_terminal_summary(terminalreporter):
    for line in tally.summary("badinput"):
        terminalreporter.write_line(line)
