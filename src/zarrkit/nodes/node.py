"""Nodes on a store: finding, reading and writing their metadata (format auto-detected),
making room for new ones, and :class:`Node`, what arrays and groups share.

Every metadata document zarrkit writes or deletes goes through :func:`save_node` (a new
node), :func:`update_node` (a change of a node, applied to its documents as stored) and
:func:`delete_node`, which also keep consolidated metadata above the node up to date
(:mod:`zarrkit.nodes.consolidated_writes`).

Over 400 lines: finding nodes, writing their documents (save, update, delete, copy) and
the Node base class all keep the same consolidation bookkeeping.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar, runtime_checkable

from zarrkit import read_modify_write as rmw
from zarrkit.errors import (
    ArrayNotFoundError,
    ContainsArrayError,
    ContainsGroupError,
    ExpectedArrayError,
    ExpectedGroupError,
    GroupNotFoundError,
    InvalidKeyError,
    NodeExistsError,
    NodeNotFoundError,
    ReadOnlyError,
    ZarrUserWarning,
)
from zarrkit.metadata.common import JSON, dump_document, parse_document
from zarrkit.metadata.documents import (
    ALL_DOCS,
    V2_ARRAY,
    V2_ATTRS,
    V2_DOCS,
    V2_GROUP,
    V3_DOC,
    ArrayMetadata,
    GroupMetadata,
    NodeMetadata,
    document_objects,
    key_of,
    metadata_kind,
    parse_node,
    prefix_of,
)
from zarrkit.nodes import consolidated_cache, consolidated_writes
from zarrkit.nodes.attributes import Attributes
from zarrkit.nodes.creation import group_metadata
from zarrkit.storage import StoreLike, make_store
from zarrkit.storage.base import Store
from zarrkit.storage.path import StorePath
from zarrkit.types import Blob

M = TypeVar("M", bound=NodeMetadata)


@runtime_checkable
class StorePathLike(Protocol):
    """A store and a path in it, as zarr-python's ``StorePath``."""

    @property
    def store(self) -> Any: ...

    @property
    def path(self) -> str: ...


def locate(
    store: StoreLike | StorePathLike | None,
    path: str | None = None,
    *,
    read_only: bool = False,
    storage_options: dict[str, Any] | None = None,
) -> tuple[Store, str]:
    """The store and node path that ``store`` (a store, path, URL, dict, or a
    ``StorePath``-like object with ``.store`` and ``.path``) and ``path`` name."""
    target: Any = store
    if not isinstance(store, Store) and isinstance(store, StorePathLike):
        inner = normalize_path(store.path)
        path = f"{inner}/{normalize_path(path)}" if path else inner
        target = store.store
    return (
        make_store(target, read_only=read_only, storage_options=storage_options),
        normalize_path(path),
    )


def normalize_path(path: str | None) -> str:
    """A node path without leading/trailing slashes ('' is the root)."""
    if not path:
        return ""
    parts = [p for p in str(path).replace("\\", "/").split("/") if p]
    for part in parts:
        if part in (".", ".."):
            raise NodeNotFoundError(f"invalid node path {path!r}: '.' and '..' are not allowed")
    return "/".join(parts)


def load_node(store: Store, path: str, zarr_format: int | None = None) -> NodeMetadata:
    """The metadata of the node at ``path``; without ``zarr_format``, v3 wins where both
    formats' documents exist (with a warning, as zarr-python gives)."""
    node = load_nodes(store, [path], zarr_format)[path]
    if node is None:
        where = f"path {path!r}" if path else "the store root"
        raise NodeNotFoundError(f"no Zarr array or group at {where} of {store!r}")
    return node


def load_nodes(
    store: Store, paths: Sequence[str], zarr_format: int | None = None
) -> dict[str, NodeMetadata | None]:
    """The metadata of the node at each of ``paths`` (``None`` where there is none, of
    ``zarr_format`` if given), read with one ``get_many``. Where each document costs a
    request (stores with :attr:`~zarrkit.storage.Store.native_concurrency`: object stores),
    the v3 document is read first and the v2 ones only where it is missing: one request to
    open a v3 node, as tensorstore needs (without zarr-python's warning about a path that
    holds both formats, which it would take three more requests to give)."""
    if zarr_format is None and store.native_concurrency:
        v3 = load_nodes(store, paths, 3)
        missing = [path for path, node in v3.items() if node is None]
        return {**v3, **(load_nodes(store, missing, 2) if missing else {})}
    if zarr_format == 3:
        names: tuple[str, ...] = (V3_DOC,)
    else:
        names = V2_DOCS if zarr_format == 2 else ALL_DOCS
    keys = [key_of(path, name) for path in paths for name in names]
    blobs = iter(store.get_many(keys))
    found = {path: {name: next(blobs) for name in names} for path in paths}
    return {path: _parse_found(store, path, docs) for path, docs in found.items()}


def _parse_found(store: Store, path: str, blobs: dict[str, bytes | None]) -> NodeMetadata | None:
    """The node the documents ``blobs`` (name -> bytes or None) of ``path`` describe."""
    found = {name: raw for name, raw in blobs.items() if raw is not None}
    if V3_DOC in found:
        if V2_ARRAY in found or V2_GROUP in found:
            other = V2_ARRAY if V2_ARRAY in found else V2_GROUP
            warnings.warn(
                f"Both zarr.json (Zarr format 3) and {other} (Zarr format 2) metadata "
                f"objects exist at {store}. Zarr v3 will be used.",
                ZarrUserWarning,
                stacklevel=4,
            )
        found = {V3_DOC: found[V3_DOC]}
    docs = {name: parse_document(raw, key=key_of(path, name)) for name, raw in found.items()}
    return parse_node(docs, path)


def load_array(store: Store, path: str, zarr_format: int | None = None) -> ArrayMetadata:
    """The metadata of the array at ``path``; raises :class:`ArrayNotFoundError` or, for a
    group, :class:`ExpectedArrayError`."""
    return _load_kind(store, path, zarr_format, "array")  # type: ignore[return-value]


def load_group(store: Store, path: str, zarr_format: int | None = None) -> GroupMetadata:
    """The metadata of the group at ``path``; raises :class:`GroupNotFoundError` or, for an
    array, :class:`ExpectedGroupError`."""
    return _load_kind(store, path, zarr_format, "group")  # type: ignore[return-value]


def _load_kind(store: Store, path: str, zarr_format: int | None, kind: str) -> NodeMetadata:
    """The node at ``path``, which must be of ``kind``, with zarr-python's error classes."""
    try:
        meta = load_node(store, path, zarr_format)
    except NodeNotFoundError as e:
        missing = ArrayNotFoundError if kind == "array" else GroupNotFoundError
        raise missing(f"No {kind} found in store {store!r} at path {path!r}") from e
    if metadata_kind(meta) == kind:
        return meta
    if kind == "array":
        raise ExpectedArrayError(
            f"Invalid value for 'node_type'. Expected 'array'. Got 'group' (at path {path!r} "
            f"of {store!r})",
            field="node_type",
        )
    raise ExpectedGroupError(
        f"An array exists in store {store!r} at path {path!r}, where a group was expected."
    )


def save_node(store: Store, path: str, meta: NodeMetadata) -> None:
    """Write the metadata documents of the node at ``path`` (each replaced atomically) and
    update the consolidated metadata of the groups above it.

    A group's own consolidated metadata is kept as stored, whatever ``meta`` holds: only
    :func:`zarrkit.consolidate_metadata` creates one.
    """
    save_nodes(store, [(path, meta)])


def save_nodes(
    store: Store, nodes: Sequence[tuple[str, NodeMetadata]], *, new: bool = False
) -> None:
    """:func:`save_node` for many nodes, their documents written in one ``set_many``.
    ``new``: the caller knows no document exists at these paths (so no consolidation
    there to keep or probe for)."""
    known = consolidated_cache.handle(store)
    with known.lock, ExitStack() as stack:
        if new:
            known.absent.update((meta.zarr_format, path) for path, meta in nodes)
        written = []
        for path, meta in nodes:
            holders = stack.enter_context(consolidated_writes.holders(store, path, meta))
            written.append((path, holders, holders.keep_own(document_objects(meta))))
        store.set_many(
            {
                key_of(path, name): dump_document(doc)
                for path, _, docs in written
                for name, doc in docs.items()
            }
        )
        for _, holders, docs in written:
            holders.update(docs)


def update_node(store: Store, path: str, meta: M, change: Callable[[M], M]) -> tuple[M, M]:
    """Apply ``change`` to the metadata of the node at ``path`` as stored, and write it:
    under the documents' locks, and conditionally on the version read where other
    processes may write them, re-reading and re-applying ``change`` when another writer
    got there first (:mod:`zarrkit.read_modify_write`), so no concurrent change is lost.
    Only the documents ``change`` alters are rewritten (``meta`` is this handle's view of
    the node: it says which, and supplies the other documents of a v2 node). Consolidated
    metadata above the node is updated. Returns the metadata as stored before and after.
    """
    mine = document_objects(meta)
    # the documents the change alters here; all of them when it alters none (it may still
    # alter the stored ones, which other writers changed meanwhile)
    changed = [n for n, doc in document_objects(change(meta)).items() if mine.get(n) != doc]
    names = changed or list(mine)
    before: dict[str, JSON] = {}
    after: dict[str, JSON] = {}

    def modify(keys: Sequence[str], olds: Sequence[bytes | None]) -> list[Blob | None]:
        new: list[Blob | None] = []
        for key, raw in zip(keys, olds, strict=True):
            name = key.rsplit("/", 1)[-1]
            stored = _stored_node(path, mine, name, key, raw)
            before[name] = document_objects(stored)[name]
            after[name] = document_objects(change(stored))[name]  # type: ignore[arg-type]
            new.append(dump_document(after[name]))
        return new

    with consolidated_writes.holders(store, path, meta) as holders:
        rmw.rewrite_locked(store, [key_of(path, name) for name in names], modify)
        old_meta = _parsed(path, {**mine, **before}, meta)
        new_meta = _parsed(path, {**mine, **after}, meta)
        holders.update(document_objects(new_meta))
    return old_meta, new_meta  # type: ignore[return-value]


def _stored_node(
    path: str, mine: dict[str, JSON], name: str, key: str, raw: bytes | None
) -> NodeMetadata:
    """The node with document ``name`` as stored (``raw``) and the others as ``mine``."""
    if raw is None:
        if name != V2_ATTRS:
            raise NodeNotFoundError(f"the metadata document {key!r} is gone")
        raw = b"{}"
    node = parse_node({**mine, name: parse_document(raw, key=key)}, path)
    if node is None:  # pragma: no cover - mine always names the node's kind
        raise NodeNotFoundError(f"no Zarr node at {key!r}")
    return node


def _parsed(path: str, docs: dict[str, JSON], fallback: NodeMetadata) -> NodeMetadata:
    return parse_node(docs, path) or fallback


def node_exists(store: Store, path: str) -> bool:
    """Whether any metadata document exists at ``path``."""
    return any(blob is not None for blob in store.get_many([key_of(path, n) for n in ALL_DOCS]))


def new_node(store: Store, path: str, meta: NodeMetadata, *, overwrite: bool) -> None:
    """Write the new node ``meta`` at ``path``, making room for it first: a node of the
    same format there is refused (with ``overwrite``, any node is deleted with everything
    under it), and missing parent groups are created.

    A node of the other format may stay, as zarr-python allows: opening the path then
    finds the v3 one, with a warning.
    """
    if store.read_only:
        raise ReadOnlyError(f"cannot create a node in read-only {store!r}")
    if overwrite:
        if node_exists(store, path):
            delete_node(store, path)
    else:
        _refuse_existing(store, path, meta.zarr_format)
    make_parents(store, path, meta.zarr_format)
    save_node(store, path, meta)


def make_parents(store: Store, path: str, zarr_format: int) -> None:
    """Create the missing groups above ``path`` (an array there is an error)."""
    parts = path.split("/")[:-1] if path else []
    for depth in range(0 if path else 1, len(parts) + 1):
        parent = "/".join(parts[:depth])
        try:
            found = load_node(store, parent)
        except NodeNotFoundError:
            save_node(store, parent, group_metadata(zarr_format, None))
            continue
        if metadata_kind(found) == "array":
            raise ExpectedGroupError(
                f"A parent of {path!r} (at {parent!r} of {store!r}) is an array - only groups "
                "may have child nodes."
            )


def _refuse_existing(store: Store, path: str, zarr_format: int) -> None:
    """Raise when a node of ``zarr_format`` exists at ``path``."""
    try:
        found = load_node(store, path, zarr_format)
    except NodeNotFoundError:
        return
    raise exists_error(store, path, found)


def exists_error(store: Store, path: str, found: NodeMetadata) -> NodeExistsError:
    """The error for a new node at ``path``, where ``found`` is: a
    :class:`ContainsArrayError` or :class:`ContainsGroupError`."""
    if metadata_kind(found) == "array":
        return ContainsArrayError(f"An array already exists in store {store!r} at path {path!r}.")
    return ContainsGroupError(f"A group already exists in store {store!r} at path {path!r}.")


def delete_node(store: Store, path: str) -> None:
    """Remove a node's documents and everything under it, and its entries in the
    consolidated metadata of the groups above it."""
    with consolidated_writes.holders(store, path, None) as holders:
        store.delete_prefix(prefix_of(path))
        holders.update(None)


def copy_node(
    store: Store,
    source: str,
    dest: str,
    meta: NodeMetadata,
    below: Sequence[tuple[str, NodeMetadata]],
    *,
    batch: int = 256,
) -> None:
    """Move the node at ``source`` (``meta``, with the nodes ``below`` it by relative
    path) to the free path ``dest``: every key is copied, then the documents are saved
    again (updating consolidations above ``dest``), then ``source`` is deleted."""
    if dest == source or dest.startswith(prefix_of(source)):
        raise InvalidKeyError(f"cannot move {source!r} to {dest!r}, inside itself")
    make_parents(store, dest, meta.zarr_format)
    keys = list(store.list_prefix(prefix_of(source)))
    for start in range(0, len(keys), batch):
        part = keys[start : start + batch]
        blobs = store.get_many(part)
        store.set_many(
            [
                (prefix_of(dest) + key[len(prefix_of(source)) :], blob)
                for key, blob in zip(part, blobs, strict=True)
                if blob is not None
            ]
        )
    save_nodes(store, [(dest, meta), *((f"{dest}/{rel}", m) for rel, m in below)])
    delete_node(store, source)


class Node(Generic[M]):
    """An array or a group: where it is, its metadata and its attributes."""

    #: "array" or "group", naming the node in messages.
    node_type: ClassVar[str]

    def __init__(self, store: Store, path: str, metadata: M) -> None:
        self._store = store
        self._path = path
        self._metadata = metadata

    @property
    def store(self) -> Store:
        """The store holding the node."""
        return self._store

    @property
    def store_path(self) -> StorePath:
        """The store and the node's path in it."""
        return StorePath(self._store, self._path)

    @property
    def path(self) -> str:
        """The node's path in its store ('' for the root)."""
        return self._path

    @property
    def name(self) -> str:
        """The path with a leading '/'."""
        return "/" + self._path

    @property
    def basename(self) -> str:
        """The last part of the path."""
        return self._path.rsplit("/", 1)[-1]

    @property
    def metadata(self) -> M:
        return self._metadata

    @property
    def zarr_format(self) -> int:
        return self._metadata.zarr_format

    @property
    def read_only(self) -> bool:
        return self._store.read_only

    @property
    def attrs(self) -> Attributes:
        """The user attributes; each change is written at once."""
        return Attributes(lambda: self._metadata.attributes, self._change_attributes)

    def update_attributes(self, new_attributes: dict[str, Any]) -> Self:
        """Merge ``new_attributes`` into the attributes; returns the node."""
        self.attrs.update(new_attributes)
        return self

    def _change_attributes(self, change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        self._change_metadata(lambda m: dataclasses.replace(m, attributes=change(m.attributes)))

    def _change_metadata(self, change: Callable[[M], M]) -> tuple[M, M]:
        """Apply ``change`` to the stored metadata (see :func:`update_node`) and keep the
        result; returns the metadata before and after."""
        self._check_writable()
        old, new = update_node(self._store, self._path, self._metadata, change)
        self._metadata = new
        return old, new

    def _check_writable(self) -> None:
        if self.read_only:
            raise ReadOnlyError(f"{self.node_type} {self.name} in {self._store!r} is read-only")
