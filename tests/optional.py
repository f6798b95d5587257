"""Libraries the no-extras job lacks: zarrkit's extras, and the peers of the ``test`` group.

``zarr = optional("zarr")`` is the module when it is installed, else a stand-in whose first
use skips the test that uses it, naming the library. So the no-extras job (``make
test-core``, which sets ``ZARRKIT_CORE=1``) skips exactly the tests that touch a missing
library, whatever module they are in. ``requires("lmdb")`` at the top of a module is the
same for a module whose every test needs the library (a backend's or a peer's tests).

Everywhere else every library is installed, so a missing one fails instead of skipping:
a broken environment cannot pass by skipping tests.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any, NoReturn

import pytest

CORE = os.environ.get("ZARRKIT_CORE", "") not in ("", "0")


def _missing(
    name: str, error: ImportError, *, module_level: bool = False, where: str = ""
) -> NoReturn:
    reason = f"{where}needs {name}, which is not installed ({error})"
    if not CORE:
        pytest.fail(f"{reason}; only the no-extras job (ZARRKIT_CORE=1) may lack it", False)
    pytest.skip(reason, allow_module_level=module_level)


class Missing:
    """Stands for a library that is not installed: using it skips the test."""

    def __init__(self, name: str, error: ImportError) -> None:
        self._name, self._error = name, error

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):  # introspection (pytest, copy, inspect), not a use
            raise AttributeError(attribute)
        _missing(self._name, self._error)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        _missing(self._name, self._error)


def optional(name: str) -> Any:
    """The module ``name``, or a :class:`Missing` stand-in for it."""
    try:
        return importlib.import_module(name)
    except ImportError as error:
        return Missing(name, error)


def needs(*names: str) -> None:
    """Skip the calling test (or fixture) unless every module in ``names`` imports."""
    _import_all(names, module_level=False)


def available(name: str) -> bool:
    """Whether module ``name`` imports: False only in the no-extras job (elsewhere a
    missing module fails the test)."""
    try:
        importlib.import_module(name)
    except ImportError as error:
        if not CORE:
            _missing(name, error)
        return False
    return True


def module_needs(*names: str) -> None:
    """Skip the whole calling module (call it at the top) unless every module imports."""
    caller = sys._getframe(1).f_globals.get("__name__", "?")
    _import_all(names, module_level=True, where=f"module {caller} ")


def _import_all(names: tuple[str, ...], *, module_level: bool, where: str = "") -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as error:
            _missing(name, error, module_level=module_level, where=where)
