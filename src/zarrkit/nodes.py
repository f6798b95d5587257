"""Nodes on a store: finding, reading and writing their metadata (format auto-detected),
and :class:`Node`, what arrays and groups share.

Every metadata document zarrkit writes or deletes goes through :func:`save_node` and
:func:`delete_node`, which also keep consolidated metadata above the node up to date
(:mod:`zarrkit.consolidated_writes`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Generic, Self, TypeVar

from zarrkit import consolidated_writes
from zarrkit.attributes import Attributes
from zarrkit.errors import NodeNotFoundError, ReadOnlyError
from zarrkit.metadata.common import dump_document, parse_document
from zarrkit.metadata.documents import (
    ALL_DOCS,
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


def node_exists(store: Store, path: str) -> bool:
    """Whether any metadata document exists at ``path``."""
    return any(blob is not None for blob in store.get_many([key_of(path, n) for n in ALL_DOCS]))


def delete_node(store: Store, path: str) -> None:
    """Remove a node's documents and everything under it, and its entries in the
    consolidated metadata of the groups above it."""
    with consolidated_writes.holders(store, path, None) as holders:
        store.delete_prefix(prefix_of(path))
        holders.update(None)


M = TypeVar("M", bound=NodeMetadata)


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
        return Attributes(lambda: self._metadata.attributes, self._set_attributes)

    def update_attributes(self, new_attributes: dict[str, Any]) -> Self:
        """Merge ``new_attributes`` into the attributes; returns the node."""
        self.attrs.update(new_attributes)
        return self

    def _set_attributes(self, attributes: dict[str, Any]) -> None:
        self._update_metadata(attributes=attributes)

    def _update_metadata(self, **changes: Any) -> None:
        """Write the metadata with ``changes``, and keep it."""
        self._check_writable()
        meta = dataclasses.replace(self._metadata, **changes)
        save_node(self._store, self._path, meta)
        self._metadata = meta

    def _check_writable(self) -> None:
        if self.read_only:
            raise ReadOnlyError(f"{self.node_type} {self.name} in {self._store!r} is read-only")
