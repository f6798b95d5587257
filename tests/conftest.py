"""Summary hooks for the whole run.

They live here because pytest-xdist's controller loads only this conftest: the ones in
sub-directories are loaded where tests are collected, in the workers.
"""

from __future__ import annotations

from typing import Any

from interop.conftest import interop_summary
from reliability.conftest import reliability_summary


def pytest_terminal_summary(terminalreporter: Any) -> None:
    interop_summary(terminalreporter)
    reliability_summary(terminalreporter)
