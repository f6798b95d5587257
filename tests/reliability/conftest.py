"""Shared helpers of the reliability tests: the soak switch, and figures printed at the end
of the run (kept in ``.cache/reliability-figures/`` so pytest-xdist workers can report).

``ZARRKIT_SOAK=1`` runs the heavy versions (more kills, longer soaks, more writers).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

SOAK = os.environ.get("ZARRKIT_SOAK", "") not in ("", "0")
FIGURES = Path(__file__).resolve().parents[2] / ".cache" / "reliability-figures"
_started = time.time()


def scaled(ci: int, soak: int) -> int:
    """``soak`` under ZARRKIT_SOAK=1, else ``ci``."""
    return soak if SOAK else ci


def record(name: str, figures: Any) -> None:
    """Keep ``figures`` to print in the test summary (and quote in docs/reliability.md)."""
    FIGURES.mkdir(parents=True, exist_ok=True)
    (FIGURES / f"{name.replace(' ', '-')}.json").write_text(json.dumps({name: figures}))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    fresh = sorted(p for p in FIGURES.glob("*.json") if p.stat().st_mtime >= _started)
    if fresh:
        terminalreporter.section("zarrkit reliability figures")
        for path in fresh:
            for name, figures in json.loads(path.read_text()).items():
                terminalreporter.write_line(f"{name}: {json.dumps(figures)}")
