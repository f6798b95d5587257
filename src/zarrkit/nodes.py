"""Finding, reading and writing node metadata on a store; format auto-detection.

Every metadata document zarrkit writes or deletes goes through :func:`save_node` and
:func:`delete_node`, which also keep consolidated metadata above the node up to date
(:mod:`zarrkit.consolidated`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zarrkit.errors import MetadataError, NodeNotFoundError
from zarrkit.metadata.common import JSON, dump_document, parse_attributes, parse_document
from zarrkit.metadata.v2 import ArrayMetadataV2, GroupMetadataV2
from zarrkit.metadata.v3 import ArrayMetadataV3, GroupMetadataV3
from zarrkit.storage.base import Store

ArrayMetadata = ArrayMetadataV2 | ArrayMetadataV3
GroupMetadata = GroupMetadataV2 | GroupMetadataV3
NodeMetadata = ArrayMetadata | GroupMetadata

V3_DOC = "zarr.json"
V2_ARRAY, V2_GROUP, V2_ATTRS = ".zarray", ".zgroup", ".zattrs"
V2_DOCS = (V2_ARRAY, V2_GROUP, V2_ATTRS)
ALL_DOCS = (V3_DOC, *V2_DOCS)


def normalize_path(path: str | None) -> str:
    """A node path without leading/trailing slashes ('' is the root)."""
    if not path:
        return ""
    parts = [p for p in str(path).replace("\\", "/").split("/") if p]
    for part in parts:
        if part in (".", ".."):
            raise NodeNotFoundError(f"invalid node path {path!r}: '.' and '..' are not allowed")
    return "/".join(parts)


def key_of(path: str, name: str) -> str:
    """The store key of document ``name`` of the node at ``path``."""
    return f"{path}/{name}" if path else name


def prefix_of(path: str) -> str:
    """The store prefix under which a node's chunks and children live."""
    return f"{path}/" if path else ""


def load_node(store: Store, path: str, zarr_format: int | None = None) -> NodeMetadata:
    """The metadata of the node at ``path`` (v3 tried first unless ``zarr_format`` says)."""
    if zarr_format in (None, 3):
        raw = store.get(key_of(path, V3_DOC))
        if raw is not None:
            key = key_of(path, V3_DOC)
            return _parse_v3(parse_document(raw, key=key), key)
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


def parse_node(docs: Mapping[str, JSON], path: str) -> NodeMetadata | None:
    """The node described by its parsed documents (name -> JSON object), ``None`` when
    they describe none; ``path`` only names the documents in errors."""
    if V3_DOC in docs:
        return _parse_v3(docs[V3_DOC], key_of(path, V3_DOC))
    attrs_key = key_of(path, V2_ATTRS)
    attrs = parse_attributes(docs[V2_ATTRS], key=attrs_key) if V2_ATTRS in docs else {}
    if V2_ARRAY in docs:
        key = key_of(path, V2_ARRAY)
        return ArrayMetadataV2.from_json(docs[V2_ARRAY], attrs, key=key)
    if V2_GROUP in docs:
        return GroupMetadataV2.from_json(docs[V2_GROUP], attrs, key=key_of(path, V2_GROUP))
    return None


def _parse_v3(doc: dict[str, JSON], key: str) -> NodeMetadata:
    if doc.get("node_type") == "group":
        return GroupMetadataV3.from_json(doc, key=key)
    if doc.get("node_type") == "array":
        return ArrayMetadataV3.from_json(doc, key=key)
    raise MetadataError(
        f"expected 'array' or 'group', got {doc.get('node_type')!r}", key=key, field="node_type"
    )


def document_objects(meta: NodeMetadata) -> dict[str, JSON]:
    """The documents (name -> JSON object) that store ``meta``."""
    if meta.zarr_format == 3:
        return {V3_DOC: meta.to_json()}
    main = V2_ARRAY if isinstance(meta, ArrayMetadataV2) else V2_GROUP
    return {main: meta.to_json(), V2_ATTRS: meta.attributes}


def save_node(store: Store, path: str, meta: NodeMetadata) -> None:
    """Write the metadata documents of the node at ``path`` (each replaced atomically) and
    update the consolidated metadata of the groups above it.

    A group's own consolidated metadata is kept as stored, whatever ``meta`` holds: only
    :func:`zarrkit.consolidate_metadata` creates one.
    """
    from zarrkit import consolidated  # it builds on this module

    with consolidated.holders(store, path, meta) as holders:
        docs = holders.keep_own(document_objects(meta))
        store.set_many({key_of(path, name): dump_document(doc) for name, doc in docs.items()})
        holders.update(docs)


def node_exists(store: Store, path: str) -> bool:
    """Whether any metadata document exists at ``path``."""
    return any(blob is not None for blob in store.get_many([key_of(path, n) for n in ALL_DOCS]))


def delete_node(store: Store, path: str) -> None:
    """Remove a node's documents and everything under it, and its entries in the
    consolidated metadata of the groups above it."""
    from zarrkit import consolidated

    with consolidated.holders(store, path, None) as holders:
        store.delete_prefix(prefix_of(path))
        holders.update(None)


def metadata_kind(meta: Any) -> str:
    """'array' or 'group'."""
    return "array" if isinstance(meta, ArrayMetadataV2 | ArrayMetadataV3) else "group"
