"""Fixtures of the interop suite: the zarr 2 environment, the peer parameter, the summary."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .cases import matrix_plan


@pytest.fixture(scope="session")
def scratch_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where the matrix writes its arrays: tmpfs if there is one.

    Thousands of small chunk files cost ~1 ms each to write and, in pytest's clean-up of old
    ``tmp_path`` trees, ~2 ms each to delete on this disk; on tmpfs both are ~0.02 ms.
    """
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path_factory.mktemp("interop")
        return
    root = Path(tempfile.mkdtemp(prefix="zarrkit-interop-", dir=shm))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def workdir(scratch_root: Path) -> Iterator[Path]:
    """A fresh empty directory, removed after the test."""
    path = Path(tempfile.mkdtemp(dir=scratch_root))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def peer(request: pytest.FixtureRequest) -> str:
    """A peer name (parametrized indirectly); asks for the zarr 2 environment when needed."""
    name: str = request.param
    if name == "zarr2":
        request.getfixturevalue("zarr2_venv")
    return name


def interop_summary(terminalreporter: Any) -> None:
    """The size of the interop matrix and its outcome (called from tests/conftest.py)."""
    outcomes: Counter[str] = Counter()
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            if "interop/test_matrix.py" in getattr(report, "nodeid", ""):
                outcomes[outcome] += 1
    if not outcomes:
        return
    plan = matrix_plan()
    directions = ", ".join(f"{name} {count}" for name, count in plan["directions"].items())
    done = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
    checks = f"{plan['cases']} cases x directions ({directions}) = {plan['checks']} checks"
    terminalreporter.write_line(f"interop matrix: {checks}; {done}")
