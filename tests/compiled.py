"""Tests that run once with one of zarrkit's compiled loops and once with Python's."""

from __future__ import annotations

import os
from typing import Any

import pytest


def both_loops(module: Any, attribute: str, what: str) -> Any:
    """A fixture giving "compiled" (``module.attribute``, the loaded library: required in CI,
    else skipped where it was not built) and "python" (the attribute set to ``None``)."""

    @pytest.fixture(params=["compiled", "python"])
    def loop(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
        if request.param == "compiled":
            if getattr(module, attribute) is None:
                assert not os.environ.get("CI"), f"the compiled {what} was not built"
                pytest.skip(f"the compiled {what} was not built here (no C compiler)")
        else:
            monkeypatch.setattr(module, attribute, None)
        return str(request.param)

    return loop
