"""Shared helpers of the reliability tests: the soak switch, and figures printed at the end
of the run (written under the run's pytest base temporary directory, so pytest-xdist
workers can report them and concurrent runs do not mix).

``ZARRKIT_SOAK=1`` runs the heavy versions (more kills, longer soaks, more writers).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

SOAK = os.environ.get("ZARRKIT_SOAK", "") not in ("", "0")
_figures: list[Path] = []


def scaled(ci: int, soak: int) -> int:
    """``soak`` under ZARRKIT_SOAK=1, else ``ci``."""
    return soak if SOAK else ci


def _figures_dir(config: pytest.Config) -> Path:
    base = config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
    # an xdist worker's base is a subdirectory of the run's
    return (base.parent if hasattr(config, "workerinput") else base) / "reliability-figures"


@pytest.fixture(autouse=True, scope="session")
def _where_figures_go(pytestconfig: pytest.Config) -> None:
    _figures[:] = [_figures_dir(pytestconfig)]


def record(name: str, figures: Any) -> None:
    """Keep ``figures`` to print in the test summary (and quote in docs/reliability.md)."""
    _figures[0].mkdir(parents=True, exist_ok=True)
    (_figures[0] / f"{name.replace(' ', '-')}.json").write_text(json.dumps({name: figures}))


def reliability_summary(terminalreporter: Any) -> None:
    """The figures the reliability tests recorded (called from tests/conftest.py)."""
    found = sorted(_figures_dir(terminalreporter.config).glob("*.json"))
    if found:
        terminalreporter.section("zarrkit reliability figures")
        for path in found:
            for name, figures in json.loads(path.read_text()).items():
                terminalreporter.write_line(f"{name}: {json.dumps(figures)}")
