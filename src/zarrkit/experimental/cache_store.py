"""zarr-python's ``zarr.experimental.cache_store``: :class:`~zarrkit.storage.CacheStore`
(stable in zarrkit, in :mod:`zarrkit.storage`)."""

from __future__ import annotations

from zarrkit.storage.cache import CacheStore

__all__ = ["CacheStore"]
