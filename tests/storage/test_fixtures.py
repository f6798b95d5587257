"""The server fixtures' rule: skip locally when a server is missing, fail under CI."""

import pytest

from .conftest import unavailable


def test_missing_server_skips_locally(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no such server"):
        unavailable("no such server")


def test_missing_server_fails_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        unavailable("no such server")
