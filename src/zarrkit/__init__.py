"""zarrkit: a fast, synchronous-first Zarr v2/v3 library.

``import zarrkit as zarr`` works for everyday zarr-python 3 code. Names are imported on
first use, so ``import zarrkit`` stays cheap and sub-packages import independently.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from zarrkit.version import __version__

# Library logging: silent unless the application configures the "zarrkit" logger.
logging.getLogger("zarrkit").addHandler(logging.NullHandler())

_EXPORTS = {
    "Array": "zarrkit.nodes.arrays",
    "AsyncArray": "zarrkit.api.async_nodes",
    "AsyncGroup": "zarrkit.api.async_nodes",
    "Group": "zarrkit.nodes.groups",
    "array": "zarrkit.api",
    "consolidate_metadata": "zarrkit.api",
    "copy": "zarrkit.api",
    "copy_all": "zarrkit.api",
    "copy_store": "zarrkit.api",
    "create": "zarrkit.api",
    "create_array": "zarrkit.api",
    "create_group": "zarrkit.api",
    "create_hierarchy": "zarrkit.api",
    "empty": "zarrkit.api",
    "empty_like": "zarrkit.api",
    "from_array": "zarrkit.api",
    "from_dask": "zarrkit.integrations.from_dask",
    "full": "zarrkit.api",
    "full_like": "zarrkit.api",
    "group": "zarrkit.api",
    "load": "zarrkit.api",
    "ones": "zarrkit.api",
    "ones_like": "zarrkit.api",
    "open": "zarrkit.api",
    "open_array": "zarrkit.api",
    "open_consolidated": "zarrkit.api",
    "open_group": "zarrkit.api",
    "open_like": "zarrkit.api",
    "print_debug_info": "zarrkit.debug",
    "save": "zarrkit.api",
    "save_array": "zarrkit.api",
    "save_group": "zarrkit.api",
    "store_dask": "zarrkit.integrations.dask",
    "tree": "zarrkit.api",
    "zeros": "zarrkit.api",
    "zeros_like": "zarrkit.api",
}

#: Submodules reachable as attributes of the package (consolidated under its short name).
_SUBMODULES = {
    "codecs": "zarrkit.codecs",
    "config": "zarrkit.config",
    "consolidated": "zarrkit.nodes.consolidated",
    "errors": "zarrkit.errors",
    "registry": "zarrkit.registry",
    "storage": "zarrkit.storage",
}

# zarr-python's names and zarrkit's own functions; the submodules are attributes (and in
# dir()) but stay out of a star import, as in zarr-python.
__all__ = [
    "Array",
    "AsyncArray",
    "AsyncGroup",
    "Group",
    "__version__",
    "array",
    "config",
    "consolidate_metadata",
    "copy",
    "copy_all",
    "copy_store",
    "create",
    "create_array",
    "create_group",
    "create_hierarchy",
    "empty",
    "empty_like",
    "from_array",
    "from_dask",
    "full",
    "full_like",
    "group",
    "load",
    "ones",
    "ones_like",
    "open",
    "open_array",
    "open_consolidated",
    "open_group",
    "open_like",
    "print_debug_info",
    "save",
    "save_array",
    "save_group",
    "store_dask",
    "tree",
    "zeros",
    "zeros_like",
]

if TYPE_CHECKING:
    # submodules, re-exported as attributes (the redundant aliases say so)
    from zarrkit import codecs as codecs
    from zarrkit import config
    from zarrkit import errors as errors
    from zarrkit import registry as registry
    from zarrkit import storage as storage
    from zarrkit.api import (
        array,
        consolidate_metadata,
        copy,
        copy_all,
        copy_store,
        create,
        create_array,
        create_group,
        create_hierarchy,
        empty,
        empty_like,
        from_array,
        full,
        full_like,
        group,
        load,
        ones,
        ones_like,
        open,
        open_array,
        open_consolidated,
        open_group,
        open_like,
        save,
        save_array,
        save_group,
        tree,
        zeros,
        zeros_like,
    )
    from zarrkit.api.async_nodes import AsyncArray, AsyncGroup
    from zarrkit.debug import print_debug_info
    from zarrkit.integrations.dask import store_dask
    from zarrkit.integrations.from_dask import from_dask
    from zarrkit.nodes import consolidated as consolidated
    from zarrkit.nodes.arrays import Array
    from zarrkit.nodes.groups import Group


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        value = importlib.import_module(_SUBMODULES[name])
    elif name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    else:
        raise AttributeError(f"module 'zarrkit' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*__all__, *_EXPORTS, *_SUBMODULES})
