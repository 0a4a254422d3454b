"""Robustness tests: figures (trials, records expected and found) are printed in the summary
at the end of the pytest run, and appended to ``$FERROBOARD_ROBUST_REPORT`` when it is set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_FIGURES: list[str] = []


@pytest.fixture
def robust_report():
    """Call with one line of figures; it is shown at the end of the run."""

    def add(line: str) -> None:
        _FIGURES.append(line)
        target = os.environ.get("FERROBOARD_ROBUST_REPORT")
        if target:
            with Path(target).open("a", encoding="utf-8") as f:
                f.write(line + "\n")

    return add


def pytest_terminal_summary(terminalreporter) -> None:
    if _FIGURES:
        terminalreporter.section("ferroboard robustness figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)
