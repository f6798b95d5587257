"""Finding, reading and writing node metadata on a store; format auto-detection."""

from __future__ import annotations

from typing import Any

from zarrkit.errors import MetadataError, NodeNotFoundError
from zarrkit.metadata.common import dump_document, parse_attributes, parse_document
from zarrkit.metadata.v2 import ArrayMetadataV2, GroupMetadataV2
from zarrkit.metadata.v3 import ArrayMetadataV3, GroupMetadataV3
from zarrkit.storage.base import Store

ArrayMetadata = ArrayMetadataV2 | ArrayMetadataV3
GroupMetadata = GroupMetadataV2 | GroupMetadataV3
NodeMetadata = ArrayMetadata | GroupMetadata

V3_DOC = "zarr.json"
V2_ARRAY, V2_GROUP, V2_ATTRS = ".zarray", ".zgroup", ".zattrs"
ALL_DOCS = (V3_DOC, V2_ARRAY, V2_GROUP, V2_ATTRS)


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
            return _parse_v3(raw, key_of(path, V3_DOC))
    if zarr_format in (None, 2):
        node = _load_v2(store, path)
        if node is not None:
            return node
    where = f"path {path!r}" if path else "the store root"
    raise NodeNotFoundError(f"no Zarr array or group at {where} of {store!r}")


def _parse_v3(raw: bytes, key: str) -> NodeMetadata:
    doc = parse_document(raw, key=key)
    if doc.get("node_type") == "group":
        return GroupMetadataV3.from_json(doc, key=key)
    if doc.get("node_type") == "array":
        return ArrayMetadataV3.from_json(doc, key=key)
    raise MetadataError(
        f"expected 'array' or 'group', got {doc.get('node_type')!r}", key=key, field="node_type"
    )


def _load_v2(store: Store, path: str) -> NodeMetadata | None:
    array_raw, group_raw, attrs_raw = store.get_many(
        [key_of(path, V2_ARRAY), key_of(path, V2_GROUP), key_of(path, V2_ATTRS)]
    )
    attrs_key = key_of(path, V2_ATTRS)
    attrs = (
        parse_attributes(parse_document(attrs_raw, key=attrs_key), key=attrs_key)
        if attrs_raw is not None
        else {}
    )
    if array_raw is not None:
        key = key_of(path, V2_ARRAY)
        return ArrayMetadataV2.from_json(parse_document(array_raw, key=key), attrs, key=key)
    if group_raw is not None:
        key = key_of(path, V2_GROUP)
        return GroupMetadataV2.from_json(parse_document(group_raw, key=key), attrs, key=key)
    return None


def documents(meta: NodeMetadata) -> dict[str, bytes]:
    """The documents (name -> bytes) that store ``meta``."""
    if meta.zarr_format == 3:
        return {V3_DOC: dump_document(meta.to_json())}
    main = V2_ARRAY if isinstance(meta, ArrayMetadataV2) else V2_GROUP
    return {main: dump_document(meta.to_json()), V2_ATTRS: dump_document(meta.attributes)}


def save_node(store: Store, path: str, meta: NodeMetadata) -> None:
    """Write the metadata documents of the node at ``path`` (each replaced atomically)."""
    store.set_many({key_of(path, name): blob for name, blob in documents(meta).items()})


def node_exists(store: Store, path: str) -> bool:
    """Whether any metadata document exists at ``path``."""
    return any(blob is not None for blob in store.get_many([key_of(path, n) for n in ALL_DOCS]))


def delete_node(store: Store, path: str) -> None:
    """Remove a node's documents and everything under it."""
    store.delete_prefix(prefix_of(path))


def metadata_kind(meta: Any) -> str:
    """'array' or 'group'."""
    return "array" if isinstance(meta, ArrayMetadataV2 | ArrayMetadataV3) else "group"
