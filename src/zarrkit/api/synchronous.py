"""zarr-python 3's synchronous functions (``zarr.api.synchronous``), with its signatures.

New nodes are made by :func:`zarrkit.nodes.arrays.create_array` and
:func:`zarrkit.nodes.groups.create_group`, which :class:`~zarrkit.nodes.groups.Group`
shares. Keywords zarr-python keeps from version 2 are accepted where they are harmless, with
zarr-python's warnings (``chunk_store``, ``synchronizer``, ``cache_attrs``, ``meta_array`` ... are
ignored; ``zarr_version`` is ``zarr_format``); the others raise ``TypeError``.

Over 400 lines because it mirrors zarr-python's 28 functions, each a thin wrapper that
keeps zarr-python's signature, docstring and warnings.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from typing import Any, Literal

import numpy as np

from zarrkit.engine.cache import ChunkCache, as_cache
from zarrkit.errors import (
    ArrayNotFoundError,
    GroupNotFoundError,
    NodeNotFoundError,
    ZarrDeprecationWarning,
    ZarrRuntimeWarning,
    ZarrUserWarning,
)
from zarrkit.nodes.array_config import array_config
from zarrkit.nodes.arrays import Array, ConfigLike
from zarrkit.nodes.arrays import create_array as create_array  # one of the functions here
from zarrkit.nodes.consolidated import consolidate, open_group_node, open_node
from zarrkit.nodes.convert import copy as copy  # one of the functions here
from zarrkit.nodes.convert import from_array as from_array
from zarrkit.nodes.creation import DEFAULT_FILL, check_format, like_arguments, modern_arguments
from zarrkit.nodes.groups import Group, Tree, node_from_metadata
from zarrkit.nodes.groups import create_group as create_group  # one of the functions here
from zarrkit.nodes.hierarchy import NodeSpec, create_nodes
from zarrkit.nodes.node import load_array, load_group, locate
from zarrkit.storage import StoreLike
from zarrkit.storage.base import Store

Mode = Literal["r", "r+", "a", "w", "w-"]
_MODES = ("r", "r+", "a", "w", "w-")


def _open_store(
    store: StoreLike | None,
    mode: str | None,
    storage_options: dict[str, Any] | None,
    path: str | None = None,
) -> tuple[Store, str]:
    if mode not in _MODES:
        raise ValueError(f"invalid mode {mode!r}; expected one of {', '.join(_MODES)}")
    return locate(store, path, read_only=mode == "r", storage_options=storage_options)


def _format(zarr_format: int | None, zarr_version: int | None) -> int | None:
    """``zarr_format``, or zarr-python 2's ``zarr_version`` (deprecated) if given."""
    if zarr_version is None:
        return zarr_format
    warnings.warn(
        "zarr_version is deprecated, use zarr_format", ZarrDeprecationWarning, stacklevel=3
    )
    if zarr_format is not None and zarr_format != zarr_version:
        raise ValueError(f"zarr_format {zarr_format} and zarr_version {zarr_version} differ")
    return zarr_version


def _ignored(**given: Any) -> None:
    """Warn, as zarr-python 3 does, for each of zarr-python 2's keywords that is given:
    they are accepted and have no effect."""
    for name, value in given.items():
        if value is not None:
            warnings.warn(
                f"{name} is not yet implemented (zarrkit ignores it)",
                ZarrRuntimeWarning,
                stacklevel=3,
            )


# --- arrays ------------------------------------------------------------------------------------


def create(
    shape: Any,
    *,
    chunks: Any = None,
    dtype: Any = None,
    compressor: Any = "auto",
    fill_value: Any = DEFAULT_FILL,
    order: Literal["C", "F"] | None = None,
    store: StoreLike | None = None,
    synchronizer: Any = None,
    overwrite: bool = False,
    path: str | None = None,
    chunk_store: StoreLike | None = None,
    filters: Any = None,
    cache_metadata: bool | None = None,
    cache_attrs: bool | None = None,
    read_only: bool | None = None,
    object_codec: Any = None,
    dimension_separator: Literal[".", "/"] | None = None,
    write_empty_chunks: bool | None = None,
    zarr_version: int | None = None,
    zarr_format: int | None = None,
    meta_array: Any = None,
    attributes: dict[str, Any] | None = None,
    chunk_shape: Any = None,
    chunk_key_encoding: Any = None,
    codecs: Any = None,
    dimension_names: Any = None,
    storage_options: dict[str, Any] | None = None,
    config: ConfigLike = None,
    **kwargs: Any,
) -> Array:
    """zarr-python's older ``create`` signature, mapped onto :func:`create_array`.

    Besides zarr-python's keywords it takes ``mode`` (how to open ``store``) and zarrkit's
    ``shards``, ``compressors``, ``serializer`` and ``cache``.
    """
    _ignored(
        synchronizer=synchronizer,
        chunk_store=chunk_store,
        cache_metadata=cache_metadata,
        cache_attrs=cache_attrs,
        object_codec=object_codec,
        read_only=read_only,
        meta_array=meta_array,
    )
    fmt = check_format(_format(zarr_format, zarr_version))
    mode = kwargs.pop("mode", "a")
    extra = {
        k: kwargs.pop(k) for k in ("shards", "compressors", "serializer", "cache") if k in kwargs
    }
    if kwargs:
        raise TypeError(f"create() got unexpected arguments: {', '.join(sorted(kwargs))}")
    target, node_path = _open_store(store, mode, storage_options, path)
    legacy = {
        "chunks": chunks,
        "chunk_shape": chunk_shape,
        "codecs": codecs,
        "dimension_separator": dimension_separator,
        "chunk_key_encoding": chunk_key_encoding,
        "filters": "auto" if filters is None else filters,
    }
    if "compressors" not in extra:
        legacy["compressor"] = compressor
    return create_array(
        target,
        name=node_path,
        shape=shape,
        dtype=dtype,
        fill_value=fill_value,
        order=order,
        zarr_format=fmt,
        attributes=attributes,
        dimension_names=dimension_names,
        overwrite=overwrite,
        config=config,
        write_empty_chunks=write_empty_chunks,
        **modern_arguments(legacy | extra, fmt),
    )


def zeros(shape: Any, **kwargs: Any) -> Array:
    """A new array filled with zeros (keywords of :func:`create`)."""
    return create(shape, fill_value=0, **kwargs)


def ones(shape: Any, **kwargs: Any) -> Array:
    """A new array filled with ones."""
    return create(shape, fill_value=1, **kwargs)


def full(shape: Any, fill_value: Any, **kwargs: Any) -> Array:
    """A new array filled with ``fill_value``."""
    return create(shape, fill_value=fill_value, **kwargs)


def empty(shape: Any, **kwargs: Any) -> Array:
    """A new array; unwritten chunks read as the default fill value."""
    return create(shape, **kwargs)


def array(data: Any, **kwargs: Any) -> Array:
    """A new array holding a copy of ``data`` (keywords of :func:`create`; shape, dtype
    and, for a chunked array, chunks from ``data`` unless given)."""
    if isinstance(data, Array):
        return from_array(kwargs.pop("store", None), data=data, **kwargs)
    if not (hasattr(data, "shape") and hasattr(data, "dtype")):
        data = np.asanyarray(data)
    template = like_arguments(data)
    kwargs["shape"] = template["shape"]
    kwargs.setdefault("dtype", template["dtype"])
    if kwargs.get("chunks") is None:
        kwargs["chunks"] = template.get("chunks")
    result = create(**kwargs)
    result[...] = data
    return result


def _like(a: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` for :func:`create` over those copied from the template ``a``."""
    return like_arguments(a) | kwargs


def zeros_like(a: Any, **kwargs: Any) -> Array:
    """A new array of zeros like ``a`` (its shape, chunks, dtype unless given)."""
    return zeros(**_like(a, kwargs))


def ones_like(a: Any, **kwargs: Any) -> Array:
    """A new array of ones like ``a``."""
    return ones(**_like(a, kwargs))


def full_like(a: Any, fill_value: Any = DEFAULT_FILL, **kwargs: Any) -> Array:
    """A new array like ``a`` filled with ``fill_value`` (default: ``a``'s)."""
    if fill_value is DEFAULT_FILL:
        fill_value = getattr(a, "fill_value", DEFAULT_FILL)
    return full(fill_value=fill_value, **_like(a, kwargs))


def empty_like(a: Any, **kwargs: Any) -> Array:
    """A new array like ``a``, with ``a``'s fill value."""
    kwargs.setdefault("fill_value", getattr(a, "fill_value", DEFAULT_FILL))
    return empty(**_like(a, kwargs))


def open_array(
    store: StoreLike | None = None,
    *,
    zarr_version: int | None = None,
    zarr_format: int | None = None,
    path: str | None = None,
    storage_options: dict[str, Any] | None = None,
    mode: Mode = "a",
    config: ConfigLike = None,
    write_empty_chunks: bool | None = None,
    cache: ChunkCache | int | None = None,
    **kwargs: Any,
) -> Array:
    """Open an array (v2 or v3, auto-detected), creating it in modes ``w``, ``w-`` and
    ``a`` when ``shape`` is given (other keywords as :func:`create`). ``cache`` is a
    :class:`~zarrkit.engine.cache.ChunkCache` (or a byte budget for a new one) keeping decoded
    chunks for repeated reads.

    Examples
    --------
    >>> import zarrkit, tempfile
    >>> where = tempfile.mkdtemp()
    >>> _ = zarrkit.create_array(where, shape=(3,), dtype="i2")
    >>> zarrkit.open_array(where, mode="r").shape
    (3,)
    """
    fmt = _format(zarr_format, zarr_version)
    target, node_path = _open_store(store, mode, storage_options, path)
    if mode not in ("w", "w-"):
        try:
            meta = load_array(target, node_path, fmt)
        except ArrayNotFoundError:
            if mode != "a" or "shape" not in kwargs:
                raise
        else:
            settings = array_config(config, write_empty_chunks=write_empty_chunks)
            return Array(target, node_path, meta, config=settings, cache=as_cache(cache))
    return create(
        store=target,
        path=node_path,
        zarr_format=fmt,
        overwrite=mode == "w",
        config=config,
        write_empty_chunks=write_empty_chunks,
        cache=cache,
        **kwargs,
    )


def open_like(a: Any, path: str, **kwargs: Any) -> Array:
    """Open (or create) the array at ``path`` with ``a``'s shape, chunks and dtype as
    defaults."""
    return open_array(path, **_like(a, kwargs))


# --- groups ------------------------------------------------------------------------------------


def open_group(
    store: StoreLike | None = None,
    *,
    mode: Mode = "a",
    cache_attrs: bool | None = None,
    synchronizer: Any = None,
    path: str | None = None,
    chunk_store: StoreLike | None = None,
    storage_options: dict[str, Any] | None = None,
    zarr_version: int | None = None,
    zarr_format: int | None = None,
    meta_array: Any = None,
    attributes: dict[str, Any] | None = None,
    use_consolidated: bool | str | None = None,
) -> Group:
    """Open a group (v2 or v3, auto-detected), creating it in modes ``w``, ``w-``, ``a``.

    An existing group holding consolidated metadata serves its members from it, without
    listing the store, unless ``use_consolidated`` is False (True: it must have some).

    Examples
    --------
    >>> import zarrkit
    >>> store = zarrkit.group().store
    >>> _ = zarrkit.consolidate_metadata(store)
    >>> type(zarrkit.open_group(store, use_consolidated=True)).__name__
    'ConsolidatedGroup'
    """
    _ignored(
        cache_attrs=cache_attrs,
        synchronizer=synchronizer,
        chunk_store=chunk_store,
        meta_array=meta_array,
    )
    fmt = _format(zarr_format, zarr_version)
    target, node_path = _open_store(store, mode, storage_options, path)
    consolidated = None if isinstance(use_consolidated, str) else use_consolidated
    if mode not in ("w", "w-"):
        try:
            meta = load_group(target, node_path, fmt)
        except GroupNotFoundError:
            if mode != "a":
                raise
        else:
            return open_group_node(target, node_path, meta, consolidated)
    return create_group(
        target, path=node_path, zarr_format=fmt, attributes=attributes, overwrite=mode == "w"
    )


def group(
    store: StoreLike | None = None,
    *,
    overwrite: bool = False,
    chunk_store: StoreLike | None = None,
    cache_attrs: bool | None = None,
    synchronizer: Any = None,
    path: str | None = None,
    zarr_version: int | None = None,
    zarr_format: int | None = None,
    meta_array: Any = None,
    attributes: dict[str, Any] | None = None,
    storage_options: dict[str, Any] | None = None,
    use_consolidated: bool | None = None,
) -> Group:
    """Open the group at ``path``, creating it if missing (``overwrite`` replaces it)."""
    _ignored(
        chunk_store=chunk_store,
        cache_attrs=cache_attrs,
        synchronizer=synchronizer,
        meta_array=meta_array,
    )
    return open_group(
        store,
        mode="w" if overwrite else "a",
        path=path,
        zarr_format=_format(zarr_format, zarr_version),
        attributes=attributes,
        storage_options=storage_options,
        use_consolidated=use_consolidated,
    )


def create_hierarchy(
    *, store: StoreLike, nodes: Mapping[str, NodeSpec], overwrite: bool = False
) -> Iterator[tuple[str, Array | Group]]:
    """Create many groups and arrays at once: ``nodes`` maps paths to metadata (zarrkit's
    or zarr-python's metadata objects, or ``zarr.json``-style documents as dicts). The
    groups between them and the root are added; every document is written in one batch,
    and nothing is written when any node is invalid or (without ``overwrite``) exists.

    Examples
    --------
    >>> import zarrkit
    >>> nodes = {"a/b": {"zarr_format": 3, "node_type": "group", "attributes": {"x": 1}}}
    >>> sorted(dict(zarrkit.create_hierarchy(store={}, nodes=nodes)))
    ['', 'a', 'a/b']
    """
    target, path = locate(store)
    created = create_nodes(target, path, nodes, overwrite=overwrite)
    return iter(
        [(rel, node_from_metadata(target, _join(path, rel), meta)) for rel, meta in created]
    )


def _join(path: str, rel: str) -> str:
    return "/".join(part for part in (path, rel) if part)


def consolidate_metadata(
    store: StoreLike,
    path: str | None = None,
    zarr_format: int | None = None,
    *,
    storage_options: dict[str, Any] | None = None,
) -> Group:
    """Gather the metadata of every node below the group at ``path`` into that group
    (v3: inline in its ``zarr.json``, with zarr-python's warning that this is outside the
    v3 specification; v2: a ``.zmetadata`` document) and return the group.

    zarrkit keeps it current as nodes below are created, changed or deleted through
    zarrkit; :func:`zarrkit.nodes.consolidated.check` finds changes made by other tools.

    Examples
    --------
    >>> import zarrkit
    >>> root = zarrkit.group()
    >>> _ = root.create_array("a", shape=(2,), dtype="i1")
    >>> zarrkit.consolidate_metadata(root.store).metadata.consolidated_metadata.metadata.keys()
    dict_keys(['a'])
    """
    target, node_path = locate(store, path, storage_options=storage_options)
    result = consolidate(target, node_path, zarr_format)
    if result.zarr_format == 3:
        warnings.warn(
            "Consolidated metadata is currently not part in the Zarr format 3 specification. "
            "It may not be supported by other zarr implementations and may change in the "
            "future.",
            ZarrUserWarning,
            stacklevel=2,
        )
    return result


def open_consolidated(*args: Any, use_consolidated: Literal[True] = True, **kwargs: Any) -> Group:
    """Open a group from its consolidated metadata (:func:`open_group` with
    ``use_consolidated=True``)."""
    return open_group(*args, use_consolidated=use_consolidated, **kwargs)


def open(
    store: StoreLike | None = None,
    *,
    mode: Mode = "a",
    zarr_version: int | None = None,
    zarr_format: int | None = None,
    path: str | None = None,
    storage_options: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Array | Group:
    """Open an array or a group, whichever is there (format auto-detected); when nothing
    is, create an array if ``shape`` is given, else a group. Other keywords go to
    :func:`open_array` or :func:`open_group`."""
    fmt = _format(zarr_format, zarr_version)
    target, node_path = _open_store(store, mode, storage_options, path)
    if mode not in ("w", "w-"):
        try:
            node = open_node(target, node_path, fmt, kwargs.get("use_consolidated"))
        except NodeNotFoundError:
            if mode in ("r", "r+"):
                raise
        else:
            if isinstance(node, Array) and kwargs.get("config") is not None:
                return node.with_config(kwargs["config"])
            return node
    if "shape" in kwargs:
        return open_array(target, mode=mode, path=node_path, zarr_format=fmt, **kwargs)
    return open_group(target, mode=mode, path=node_path, zarr_format=fmt, **kwargs)


# --- saving and loading ---------------------------------------------------------------------


def _check_arrays(arrays: Mapping[str, Any]) -> None:
    for name, value in arrays.items():
        if not (hasattr(value, "shape") and hasattr(value, "dtype")):
            raise TypeError(f"{name}: expected an array (with shape and dtype), got {value!r}")


def save_array(
    store: StoreLike,
    arr: Any,
    *,
    zarr_version: int | None = None,
    zarr_format: int | None = None,
    path: str | None = None,
    storage_options: dict[str, Any] | None = None,
    **kwargs: Any,
) -> None:
    """Write the array ``arr`` at ``path`` (keywords of :func:`create`; ``mode="w"`` or
    ``overwrite=True`` replaces a node there)."""
    _check_arrays({"arr": arr})
    mode = kwargs.pop("mode", "a")
    kwargs.setdefault("overwrite", mode == "w")
    target, node_path = _open_store(store, mode, storage_options, path)
    array(
        arr,
        store=target,
        path=node_path,
        zarr_format=_format(zarr_format, zarr_version),
        chunks=getattr(arr, "chunks", None),
        **kwargs,
    )


def save_group(
    store: StoreLike,
    *args: Any,
    zarr_version: int | None = None,
    zarr_format: int | None = None,
    path: str | None = None,
    storage_options: dict[str, Any] | None = None,
    **kwargs: Any,
) -> None:
    """Write a group at ``path`` holding the arrays ``args`` (as ``arr_0``, ``arr_1`` ...)
    and ``kwargs`` (by name), replacing the nodes of those names."""
    arrays = {f"arr_{i}": value for i, value in enumerate(args)} | kwargs
    _check_arrays(arrays)
    if not arrays:
        raise ValueError("at least one array must be provided")
    fmt = _format(zarr_format, zarr_version)
    target, node_path = _open_store(store, "a", storage_options, path)
    root = open_group(target, path=node_path, zarr_format=fmt)
    for name, value in arrays.items():
        child = _join(node_path, name)
        save_array(target, value, path=child, zarr_format=root.zarr_format, mode="w")


def save(
    store: StoreLike,
    *args: Any,
    zarr_version: int | None = None,
    zarr_format: int | None = None,
    path: str | None = None,
    **kwargs: Any,
) -> None:
    """:func:`save_array` for one array, else :func:`save_group` (NumPy's ``save`` and
    ``savez``)."""
    fmt = _format(zarr_format, zarr_version)
    if not args and not kwargs:
        raise ValueError("at least one array must be provided")
    if len(args) == 1 and not kwargs:
        save_array(store, args[0], zarr_format=fmt, path=path)
    else:
        save_group(store, *args, zarr_format=fmt, path=path, **kwargs)


def load(
    store: StoreLike,
    path: str | None = None,
    zarr_format: int | None = None,
    zarr_version: int | None = None,
) -> Any:
    """The values of the array at ``path`` as a NumPy array, or for a group a dict of its
    arrays' values by name (each read when the dict is made)."""
    target, node_path = _open_store(store, "r", None, path)
    node = open_node(target, node_path, _format(zarr_format, zarr_version))
    if isinstance(node, Array):
        return node[...]
    return {name: member[...] for name, member in node.arrays()}


def tree(grp: Group, expand: bool | None = None, level: int | None = None) -> Tree:
    """Deprecated: ``grp.tree(expand, level)``."""
    warnings.warn("Use Group.tree instead.", ZarrDeprecationWarning, stacklevel=2)
    return grp.tree(expand, level)


def _not_in_zarr_python(name: str) -> NotImplementedError:
    return NotImplementedError(
        f"{name} is not implemented in zarr-python 3 either; zarrkit.copy copies an array "
        "or a group (with everything below it) between stores, converting format, "
        "chunks and codecs"
    )


def copy_all(*args: Any, **kwargs: Any) -> tuple[int, int, int]:
    """Not implemented (as in zarr-python 3): use :func:`zarrkit.copy`."""
    raise _not_in_zarr_python("copy_all")


def copy_store(*args: Any, **kwargs: Any) -> tuple[int, int, int]:
    """Not implemented (as in zarr-python 3): use :func:`zarrkit.copy`."""
    raise _not_in_zarr_python("copy_store")


__all__ = [
    "array",
    "consolidate_metadata",
    "copy",
    "copy_all",
    "copy_store",
    "create",
    "create_array",
    "create_hierarchy",
    "empty",
    "empty_like",
    "from_array",
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
    "save",
    "save_array",
    "save_group",
    "tree",
    "zeros",
    "zeros_like",
]
