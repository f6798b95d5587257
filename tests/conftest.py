"""Fixtures shared across test directories, the hypothesis profile, and the summary hooks
of the whole run.

The hooks live here because pytest-xdist's controller loads only this conftest: the ones in
sub-directories are loaded where tests are collected, in the workers.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import settings
from interop import zarr2env
from interop.conftest import interop_summary
from optional import CORE
from reliability.conftest import reliability_summary

import zarrkit.testing.strategies  # noqa: F401 (registers the zarrkit-* profiles)

#: ``make test`` selects zarrkit-ci (100 examples, derandomized); zarrkit-dev is the default.
HYPOTHESIS_PROFILE = os.environ.get("ZARRKIT_HYPOTHESIS_PROFILE", "zarrkit-dev")
settings.load_profile(HYPOTHESIS_PROFILE)


def pytest_report_header() -> list[str]:
    job = "no extras (ZARRKIT_CORE=1)" if CORE else "every extra"
    return [f"zarrkit: {job}, hypothesis profile {HYPOTHESIS_PROFILE}"]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    interop_summary(terminalreporter)
    reliability_summary(terminalreporter)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """In the no-extras job, a test stopped by an ImportError for a module that is not
    installed (raised by the test, or by zarrkit, maybe as the cause of its own error)
    needed that module: it is skipped, naming it. Never elsewhere, nor for a module that
    is installed."""
    outcome = yield
    report = outcome.get_result()
    missing = _missing_module(call.excinfo.value) if CORE and call.excinfo else None
    if missing is not None:
        report.outcome = "skipped"
        reason = f"Skipped: needs {missing.name}, which is not installed ({missing})"
        report.longrepr = (str(item.path), item.location[1] or 0, reason)
    elif report.skipped and isinstance(report.longrepr, tuple) and "optional" in report.longrepr[0]:
        # a skip raised by tests/optional.py: name the test, not the helper
        report.longrepr = (item.location[0], item.location[1] or 0, report.longrepr[2])


def _missing_module(error: BaseException | None) -> ImportError | None:
    """The ImportError for a module that is not installed in ``error``'s chain, if any."""
    while error is not None:
        if isinstance(error, ImportError) and error.name and not _installed(error.name):
            return error
        error = error.__cause__ or error.__context__
    return None


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:  # a parent package is missing
        return False


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
