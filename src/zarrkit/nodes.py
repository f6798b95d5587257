"""Nodes on a store: finding, reading and writing their metadata (format auto-detected),
and :class:`Node`, what arrays and groups share.

Every metadata document zarrkit writes or deletes goes through :func:`save_node` (a new
node), :func:`update_node` (a change of a node, applied to its documents as stored) and
:func:`delete_node`, which also keep consolidated metadata above the node up to date
(:mod:`zarrkit.consolidated_writes`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, Self, TypeVar

from zarrkit import consolidated_writes
from zarrkit import read_modify_write as rmw
from zarrkit.attributes import Attributes
from zarrkit.errors import NodeNotFoundError, ReadOnlyError
from zarrkit.metadata.common import JSON, dump_document, parse_document
from zarrkit.metadata.documents import (
    ALL_DOCS,
    V2_ATTRS,
    V2_DOCS,
    V3_DOC,
    NodeMetadata,
    document_objects,
    key_of,
    parse_node,
    parse_v3_node,
    prefix_of,
)
from zarrkit.storage.base import Store
from zarrkit.types import Blob

M = TypeVar("M", bound=NodeMetadata)


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
    """The metadata of the node at ``path`` (v3 tried first unless ``zarr_format`` says)."""
    if zarr_format in (None, 3):
        raw = store.get(key_of(path, V3_DOC))
        if raw is not None:
            key = key_of(path, V3_DOC)
            return parse_v3_node(parse_document(raw, key=key), key)
    if zarr_format in (None, 2):
        blobs = store.get_many([key_of(path, name) for name in V2_DOCS])
        docs = {
            name: parse_document(raw, key=key_of(path, name))
            for name, raw in zip(V2_DOCS, blobs, strict=True)
            if raw is not None
        }
        node = parse_node(docs, path)
        if node is not None:
            return node
    where = f"path {path!r}" if path else "the store root"
    raise NodeNotFoundError(f"no Zarr array or group at {where} of {store!r}")


def save_node(store: Store, path: str, meta: NodeMetadata) -> None:
    """Write the metadata documents of the node at ``path`` (each replaced atomically) and
    update the consolidated metadata of the groups above it.

    A group's own consolidated metadata is kept as stored, whatever ``meta`` holds: only
    :func:`zarrkit.consolidate_metadata` creates one.
    """
    with consolidated_writes.holders(store, path, meta) as holders:
        docs = holders.keep_own(document_objects(meta))
        store.set_many({key_of(path, name): dump_document(doc) for name, doc in docs.items()})
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


def delete_node(store: Store, path: str) -> None:
    """Remove a node's documents and everything under it, and its entries in the
    consolidated metadata of the groups above it."""
    with consolidated_writes.holders(store, path, None) as holders:
        store.delete_prefix(prefix_of(path))
        holders.update(None)


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
