"""Keeping consolidated metadata current: every node write updates the consolidations
holding the node.

Beyond zarr-python, a consolidation never goes stale through zarrkit: every metadata write
and delete (:func:`zarrkit.nodes.node.save_node`, :func:`~zarrkit.nodes.node.update_node`,
:func:`~zarrkit.nodes.node.delete_node`) updates the changed node's entry in each consolidation
above it (:func:`holders`), as a read-modify-write of the consolidation as stored, so
concurrent writers keep each other's entries.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from zarrkit import read_modify_write as rmw
from zarrkit.metadata.common import JSON, dump_document, parse_document
from zarrkit.metadata.consolidated import (
    FIELD,
    Consolidated,
    holder_key,
    relative,
    with_consolidation,
)
from zarrkit.metadata.documents import V3_DOC, NodeMetadata, metadata_kind, prefix_of
from zarrkit.metadata.v3 import GroupMetadataV3
from zarrkit.nodes import consolidated_cache
from zarrkit.nodes.consolidated_cache import Handle
from zarrkit.storage.base import Store
from zarrkit.types import Blob


@dataclass(frozen=True, slots=True)
class _Holder:
    path: str
    view: Consolidated
    document: JSON  # v3: the holder's zarr.json as stored; v2: unused


class Holders:
    """The consolidations that hold a node being written or deleted (see :func:`holders`)."""

    def __init__(self, store: Store, handle: Handle, path: str, meta: NodeMetadata | None):
        self._store = store
        self._handle = handle
        self._path = path
        self._meta = meta
        self._found = self._probe()

    def _probe(self) -> list[_Holder]:
        """One ``get_many`` of the holder documents of the groups above (and, for a
        group, at) the node, skipping those known to hold no consolidation."""
        meta = self._meta
        formats = (2, 3) if meta is None else (meta.zarr_format,)
        paths = _ancestors(self._path)
        if meta is not None and metadata_kind(meta) == "group":
            paths.append(self._path)
        wanted = [(f, p) for p in paths for f in formats if (f, p) not in self._handle.absent]
        if not wanted:
            return []
        blobs = self._store.get_many([holder_key(p, f) for f, p in wanted])
        found = []
        for (fmt, path), raw in zip(wanted, blobs, strict=True):
            holder = None if raw is None else _parse_holder(raw, path, fmt)
            if holder is None:
                self._handle.absent.add((fmt, path))
            else:
                found.append(holder)
                self._handle.views[path] = holder.view  # what is stored now
        return found

    def keep_own(self, docs: dict[str, JSON]) -> dict[str, JSON]:
        """``docs`` of a node to save, a v3 group keeping the consolidation stored in it."""
        if V3_DOC not in docs or not isinstance(self._meta, GroupMetadataV3):
            return docs
        own = next((h.view for h in self._found if h.path == self._path), None)
        return {**docs, V3_DOC: with_consolidation(docs[V3_DOC], own)}

    def update(self, docs: Mapping[str, JSON] | None) -> None:
        """Record the node's new documents (``None``: deleted) in every holder."""
        for holder in self._found:
            rel = relative(self._path, holder.path)
            if holder.view.zarr_format == 3 and holder.path == self._path:
                continue  # a v3 group is not an entry of its own consolidation
            # the view as now known: other nodes saved in the same batch may have changed it
            current = self._handle.views.get(holder.path, holder.view)
            if current.with_node(rel, docs) != current:
                self._write(holder, rel, docs)
        if docs is None:
            below = prefix_of(self._path)
            for path in list(self._handle.views):
                if path == self._path or path.startswith(below):
                    del self._handle.views[path]

    def _write(self, holder: _Holder, rel: str, docs: Mapping[str, JSON] | None) -> None:
        """Record the node's documents in ``holder``: a read-modify-write of the holder's
        document as stored (:mod:`zarrkit.read_modify_write`), so that entries other
        writers recorded meanwhile are kept; a consolidation removed meanwhile stays so."""
        fmt = holder.view.zarr_format
        written = [holder.view]

        def modify(keys: Sequence[str], olds: Sequence[bytes | None]) -> list[Blob | None]:
            stored = None if olds[0] is None else _parse_holder(olds[0], holder.path, fmt)
            if stored is None:
                return [olds[0]]
            written[0] = stored.view.with_node(rel, docs)
            doc = (
                written[0].to_json()
                if fmt == 2
                else with_consolidation(stored.document, written[0])
            )
            return [dump_document(doc)]

        rmw.rewrite_locked(self._store, [holder_key(holder.path, fmt)], modify)
        self._handle.views[holder.path] = written[0]


def _parse_holder(raw: bytes, path: str, zarr_format: int) -> _Holder | None:
    key = holder_key(path, zarr_format)
    doc = parse_document(raw, key=key)
    if zarr_format == 2:
        return _Holder(path, Consolidated.from_json(doc, 2, key=key), None)
    if doc.get("node_type") != "group" or doc.get(FIELD) is None:
        return None
    return _Holder(path, Consolidated.from_json(doc[FIELD], 3, key=key), doc)


@contextmanager
def holders(store: Store, path: str, meta: NodeMetadata | None) -> Iterator[Holders]:
    """The consolidations above the node at ``path`` (and in it, for a group), for a write
    of ``meta`` (``None``: a delete) that is done inside the block.

    Costs one ``get_many`` of the holder documents not known to be absent from earlier
    probes through the same store handle; writes through one handle are serialized.
    """
    known = consolidated_cache.handle(store)
    with known.lock:
        yield Holders(store, known, path, meta)


def _ancestors(path: str) -> list[str]:
    """The paths of the groups above ``path``, root first."""
    parts = path.split("/") if path else []
    return ["/".join(parts[:depth]) for depth in range(len(parts))]
