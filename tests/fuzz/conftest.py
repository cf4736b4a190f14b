"""Prints how many malformed inputs the fuzz tests generated (issue 19 asks for at least 1,000);
with -v, how many each family of inputs had."""

from __future__ import annotations

import pytest

from tests.fuzz.fuzzing import COUNT


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not COUNT:
        return
    if terminalreporter.verbosity > 0:
        for name, n in sorted(COUNT.items()):
            terminalreporter.write_line(f"fuzz: {n:5d}  {name}")
    terminalreporter.write_line(f"fuzz: {sum(COUNT.values())} generated inputs over "
                                f"{len(COUNT)} kinds of input")
