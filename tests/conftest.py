"""Fixtures shared across test directories, and the summary hooks of the whole run.

The hooks live here because pytest-xdist's controller loads only this conftest: the ones in
sub-directories are loaded where tests are collected, in the workers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from interop import zarr2env
from interop.conftest import interop_summary
from reliability.conftest import reliability_summary


def pytest_terminal_summary(terminalreporter: Any) -> None:
    interop_summary(terminalreporter)
    reliability_summary(terminalreporter)


@pytest.fixture(scope="session")
def zarr2_venv() -> Iterator[str]:
    """The python of the zarr-python 2.18.7 environment, built on first use.

    If it cannot be built the test fails under CI and is skipped elsewhere, with the
    reason either way; it is never skipped silently.
    """
    try:
        python = zarr2env.ensure_venv()
    except zarr2env.Zarr2Error as error:
        message = f"zarr-python 2 environment unavailable: {error}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    yield str(python)
    zarr2env.close()


@pytest.fixture
def zarr2(zarr2_venv: str) -> Callable[..., Any]:
    """``run_zarr2``: run a script under zarr-python 2.18 (see tests/interop/zarr2env.py)."""
    return zarr2env.run_zarr2
