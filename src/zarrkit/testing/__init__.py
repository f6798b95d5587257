"""Conformance suites shipped with zarrkit, for its own tests and for third-party plugins."""

from zarrkit.testing.codec_suite import CodecSuite
from zarrkit.testing.store_suite import StoreSuite

__all__ = ["CodecSuite", "StoreSuite"]
