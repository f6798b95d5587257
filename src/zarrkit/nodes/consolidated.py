"""Consolidated metadata: groups served from it, writing it, and finding it stale.

A group opened from its consolidated metadata (:class:`ConsolidatedGroup`) serves its
members, ``tree()`` and ``group[name]`` without listing the store. zarrkit keeps a
consolidation current as nodes below it change (:mod:`zarrkit.nodes.consolidated_writes`);
:func:`check` reports what other tools changed behind its back. The documents themselves
are :class:`zarrkit.metadata.consolidated.Consolidated`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from zarrkit.errors import MemberNotFoundError, MetadataError, NodeTypeError
from zarrkit.metadata.common import JSON, dump_document, parse_document
from zarrkit.metadata.consolidated import (
    ZMETADATA,
    Consolidated,
    holder_key,
    join,
    node_kind,
    plain,
    relative,
)
from zarrkit.metadata.documents import (
    ALL_DOCS,
    V2_DOCS,
    V3_DOC,
    GroupMetadata,
    key_of,
    metadata_kind,
    prefix_of,
)
from zarrkit.metadata.v2 import ArrayMetadataV2, GroupMetadataV2
from zarrkit.metadata.v3 import ArrayMetadataV3, GroupMetadataV3
from zarrkit.nodes import consolidated_cache
from zarrkit.nodes.arrays import Array
from zarrkit.nodes.groups import Group
from zarrkit.nodes.node import load_node, normalize_path, update_node
from zarrkit.storage import StoreLike, make_store
from zarrkit.storage.base import Store


class ConsolidatedGroup(Group):
    """A group whose members, ``tree()`` and ``group[name]`` come from the consolidated
    metadata of ``holder`` (itself or a group above it), without store reads."""

    def __init__(self, store: Store, path: str, metadata: GroupMetadata, *, holder: str) -> None:
        super().__init__(store, path, metadata)
        self._holder = holder

    @property
    def holder(self) -> str:
        """The path of the group holding the consolidated metadata this one is served from."""
        return self._holder

    def _view(self) -> Consolidated | None:
        return consolidated_cache.handle(self._store).views.get(self._holder)

    def __getitem__(self, name: str) -> Array | Group:
        view = self._view()
        if view is None:  # the holder was deleted or overwritten since
            return super().__getitem__(name)
        path = self._child_path(name)
        meta = view.node(relative(path, self._holder))
        if meta is None:
            raise MemberNotFoundError(f"group {self.name} has no member {name!r}")
        if isinstance(meta, ArrayMetadataV2 | ArrayMetadataV3):
            return Array(self._store, path, meta)
        return ConsolidatedGroup(self._store, path, meta, holder=self._holder)

    def members(
        self, max_depth: int | None = 0, *, use_consolidated_for_children: bool = True
    ) -> tuple[tuple[str, Array | Group], ...]:
        """The members, from the consolidated metadata unless ``use_consolidated_for_children``
        is False (the store is listed, as for a plain group)."""
        view = self._view()
        if view is None or not use_consolidated_for_children:
            return super().members(max_depth)
        if max_depth is not None and max_depth < 0:
            raise ValueError(f"max_depth must be None or >= 0, got {max_depth}")
        names = view.walk(relative(self._path, self._holder), max_depth)
        return tuple((name, self[name]) for name in names)


def open_group_node(
    store: Store, path: str, meta: GroupMetadata, use_consolidated: bool | None
) -> Group:
    """The group at ``path`` served from its consolidated metadata when it has some and
    ``use_consolidated`` is not False (True: required)."""
    if use_consolidated is False:  # as if it held none (what is stored stays)
        if isinstance(meta, GroupMetadataV3):
            meta = dataclasses.replace(meta, consolidated_metadata=None)
        return Group(store, path, meta)
    view = _read(store, path, meta)
    known = consolidated_cache.handle(store)
    with known.lock:
        if view is None:
            known.absent.add((meta.zarr_format, path))
        else:
            known.views[path] = view
    if view is not None:
        meta = dataclasses.replace(meta, consolidated_metadata=view.subtree())
        return ConsolidatedGroup(store, path, meta, holder=path)
    if use_consolidated:
        raise MetadataError(
            "Consolidated metadata requested with use_consolidated=True, but the group "
            "holds no consolidated metadata (create it with zarrkit.consolidate_metadata)",
            key=holder_key(path, meta.zarr_format),
        )
    return Group(store, path, meta)


def open_node(
    store: Store, path: str, zarr_format: int | None = None, use_consolidated: bool | None = None
) -> Array | Group:
    """The array or group at ``path`` (a group served from its consolidated metadata as
    :func:`open_group_node` says)."""
    meta = load_node(store, path, zarr_format)
    if isinstance(meta, ArrayMetadataV2 | ArrayMetadataV3):
        return Array(store, path, meta)
    return open_group_node(store, path, meta, use_consolidated)


def consolidate(store: Store, path: str = "", zarr_format: int | None = None) -> Group:
    """Write the consolidated metadata of the group at ``path`` (replacing any) and return
    the group, served from it. See :func:`zarrkit.consolidate_metadata`."""
    meta = load_node(store, path, zarr_format)
    if not isinstance(meta, GroupMetadataV2 | GroupMetadataV3):
        raise NodeTypeError(f"cannot consolidate the array at path {path!r}: expected a group")
    view = Consolidated(
        zarr_format=meta.zarr_format, documents=_walk(store, path, meta.zarr_format)
    )
    known = consolidated_cache.handle(store)
    with known.lock:
        if isinstance(meta, GroupMetadataV3):
            # the group's own document as stored, so attributes changed meanwhile are kept

            def with_view(group: GroupMetadataV3) -> GroupMetadataV3:
                return dataclasses.replace(group, consolidation_json=view.to_json())

            _, group = update_node(store, path, meta, with_view)
            meta = group
        else:
            store.set(key_of(path, ZMETADATA), dump_document(view.to_json()))
        known.views[path] = view
        consolidated_cache.consolidated_somewhere()
    meta = dataclasses.replace(meta, consolidated_metadata=view.subtree())
    return ConsolidatedGroup(store, path, meta, holder=path)


def _walk(store: Store, path: str, zarr_format: int) -> dict[str, JSON]:
    """The documents of every node below the group at ``path`` (relative keys), found
    group by group as zarr-python does; a v2 group's own documents are included."""
    names = (V3_DOC,) if zarr_format == 3 else V2_DOCS
    found: dict[str, JSON] = {}
    if zarr_format == 2:
        found |= _read_documents(store, path, [""], names)[""]
    pending = [""]
    while pending:
        rel = pending.pop()
        listed = store.list_dir(prefix_of(join(path, rel)))
        children = sorted(n for n in listed if n not in ALL_DOCS and n != ZMETADATA)
        nodes = _read_documents(store, path, [join(rel, c) for c in children], names)
        for child, docs in nodes.items():
            kind = node_kind(docs)
            if kind is None:
                continue
            found |= {key_of(child, name): plain(name, doc) for name, doc in docs.items()}
            if kind == "group":
                pending.append(child)
    return found


def _read_documents(
    store: Store, path: str, children: list[str], names: tuple[str, ...]
) -> dict[str, dict[str, JSON]]:
    """The parsed documents ``names`` of each child (relative path) of ``path``, in one
    ``get_many``."""
    keys = [key_of(join(path, child), name) for child in children for name in names]
    blobs = iter(zip(keys, store.get_many(keys), strict=True))
    result = {}
    for child in children:
        docs = {}
        for name in names:
            key, raw = next(blobs)
            if raw is not None:
                docs[name] = parse_document(raw, key=key)
        result[child] = docs
    return result


def _read(store: Store, path: str, meta: GroupMetadata) -> Consolidated | None:
    """The consolidation the group at ``path`` holds, if any (v2: one more get)."""
    if isinstance(meta, GroupMetadataV3):
        data = meta.consolidation_json
        return None if data is None else Consolidated.from_json(data, 3, key=key_of(path, V3_DOC))
    key = key_of(path, ZMETADATA)
    raw = store.get(key)
    return None if raw is None else Consolidated.from_json(parse_document(raw, key=key), 2, key=key)


@dataclass(frozen=True, slots=True, kw_only=True)
class Staleness:
    """A node whose consolidated documents differ from the stored ones: ``added`` (stored,
    not consolidated), ``removed`` (consolidated, no longer stored) or ``changed``."""

    path: str
    change: Literal["added", "removed", "changed"]

    def __str__(self) -> str:
        return f"{self.change}: /{self.path}"


def check(
    store: StoreLike, path: str = "", *, storage_options: dict[str, Any] | None = None
) -> list[Staleness]:
    """Compare the consolidated metadata of the group at ``path`` with the stored
    documents (changes zarrkit did not make); an empty list means it is current.

    Examples
    --------
    >>> import zarrkit
    >>> root = zarrkit.consolidate_metadata(zarrkit.group().store)
    >>> root.store.set("late/zarr.json", b'{"zarr_format": 3, "node_type": "group"}')
    >>> check(root.store)
    [Staleness(path='late', change='added')]
    """
    target = make_store(store, read_only=True, storage_options=storage_options)
    node_path = normalize_path(path)
    meta = load_node(target, node_path)
    if metadata_kind(meta) == "array":
        raise NodeTypeError(f"the node at path {node_path!r} is an array, not a group")
    view = _read(target, node_path, meta)  # type: ignore[arg-type]
    if view is None:
        raise MetadataError(
            "the group holds no consolidated metadata", key=holder_key(node_path, meta.zarr_format)
        )
    stored = Consolidated(
        zarr_format=view.zarr_format, documents=_walk(target, node_path, view.zarr_format)
    ).nodes()
    consolidated = view.nodes()
    report = []
    for rel in sorted(stored.keys() | consolidated.keys()):
        full = join(node_path, rel)
        if rel not in consolidated:
            report.append(Staleness(path=full, change="added"))
        elif rel not in stored:
            report.append(Staleness(path=full, change="removed"))
        elif stored[rel] != consolidated[rel]:
            report.append(Staleness(path=full, change="changed"))
    return report


__all__ = [
    "ZMETADATA",
    "Consolidated",
    "ConsolidatedGroup",
    "Staleness",
    "check",
    "consolidate",
    "open_group_node",
    "open_node",
]
