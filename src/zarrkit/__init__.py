"""zarrkit: a fast, synchronous-first Zarr v2/v3 library.

``import zarrkit as zarr`` works for everyday zarr-python 3 code. Names are imported on
first use, so ``import zarrkit`` stays cheap and sub-packages import independently.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
from typing import TYPE_CHECKING, Any

__version__ = importlib.metadata.version("zarrkit")  # pyproject.toml's, the one source

# Library logging: silent unless the application configures the "zarrkit" logger.
logging.getLogger("zarrkit").addHandler(logging.NullHandler())

_EXPORTS = {
    "Array": "zarrkit.arrays",
    "AsyncArray": "zarrkit.api.async_nodes",
    "AsyncGroup": "zarrkit.api.async_nodes",
    "Group": "zarrkit.groups",
    "array": "zarrkit.api",
    "consolidate_metadata": "zarrkit.api",
    "copy": "zarrkit.convert",
    "create": "zarrkit.api",
    "create_array": "zarrkit.api",
    "create_group": "zarrkit.api",
    "empty": "zarrkit.api",
    "empty_like": "zarrkit.api",
    "from_dask": "zarrkit.integrations.from_dask",
    "full": "zarrkit.api",
    "full_like": "zarrkit.api",
    "group": "zarrkit.api",
    "ones": "zarrkit.api",
    "ones_like": "zarrkit.api",
    "open": "zarrkit.api",
    "open_array": "zarrkit.api",
    "open_consolidated": "zarrkit.api",
    "open_group": "zarrkit.api",
    "store_dask": "zarrkit.integrations.dask",
    "zeros": "zarrkit.api",
    "zeros_like": "zarrkit.api",
    "codecs": "zarrkit.codecs",
    "config": "zarrkit.config",
    "consolidated": "zarrkit.consolidated",
    "errors": "zarrkit.errors",
    "registry": "zarrkit.registry",
    "storage": "zarrkit.storage",
}

__all__ = [
    "Array",
    "AsyncArray",
    "AsyncGroup",
    "Group",
    "__version__",
    "array",
    "codecs",
    "config",
    "consolidate_metadata",
    "consolidated",
    "copy",
    "create",
    "create_array",
    "create_group",
    "empty",
    "empty_like",
    "errors",
    "from_dask",
    "full",
    "full_like",
    "group",
    "ones",
    "ones_like",
    "open",
    "open_array",
    "open_consolidated",
    "open_group",
    "registry",
    "storage",
    "store_dask",
    "zeros",
    "zeros_like",
]

if TYPE_CHECKING:
    from zarrkit import codecs, config, consolidated, errors, registry, storage
    from zarrkit.api import (
        array,
        consolidate_metadata,
        create,
        create_array,
        create_group,
        empty,
        empty_like,
        full,
        full_like,
        group,
        ones,
        ones_like,
        open,
        open_array,
        open_consolidated,
        open_group,
        zeros,
        zeros_like,
    )
    from zarrkit.api.async_nodes import AsyncArray, AsyncGroup
    from zarrkit.arrays import Array
    from zarrkit.convert import copy
    from zarrkit.groups import Group
    from zarrkit.integrations.dask import store_dask
    from zarrkit.integrations.from_dask import from_dask


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'zarrkit' has no attribute {name!r}")
    mod = importlib.import_module(module)
    value = mod if module == f"{__name__}.{name}" else getattr(mod, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
