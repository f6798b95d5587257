"""The data type classes under the path zarr-python's user guide imports them from
(``from zarr.core.dtype import Int8``): :mod:`zarrkit.dtype` itself."""

from __future__ import annotations

from zarrkit.dtype import *  # noqa: F403
from zarrkit.dtype import __all__ as __all__
