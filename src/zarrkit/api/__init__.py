"""The public functions: zarr-python 3's names and signatures (:mod:`.synchronous`)."""

from __future__ import annotations

from zarrkit.api.synchronous import *  # noqa: F403
from zarrkit.api.synchronous import __all__ as _synchronous
from zarrkit.api.synchronous import create_group

__all__ = [*_synchronous, "create_group"]
