"""Test helpers shipped with zarrkit: conformance suites for third-party codecs and stores
(they need pytest), and an HTTP object server with latency and fault injection (stdlib
only, so ``python -m zarrkit.testing.object_server`` runs without pytest).

Submodules are imported on first use, so importing one never drags in the others' needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zarrkit.testing.codec_suite import CodecSuite
    from zarrkit.testing.store_suite import StoreSuite

_EXPORTS = {
    "CodecSuite": "zarrkit.testing.codec_suite",
    "StoreSuite": "zarrkit.testing.store_suite",
}

__all__ = ["CodecSuite", "StoreSuite"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'zarrkit.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
