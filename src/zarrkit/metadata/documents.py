"""The documents that store a node: their names and keys, parsed into metadata and back.

A v3 node is one ``zarr.json``; a v2 array is ``.zarray`` (and ``.zattrs``), a v2 group
``.zgroup`` (and ``.zattrs``). Pure data: reading and writing them is :mod:`zarrkit.nodes.node`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zarrkit.errors import ContainsArrayAndGroupError, MetadataError
from zarrkit.metadata.common import JSON, parse_attributes
from zarrkit.metadata.v2 import ArrayMetadataV2, GroupMetadataV2
from zarrkit.metadata.v3 import ArrayMetadataV3, GroupMetadataV3

ArrayMetadata = ArrayMetadataV2 | ArrayMetadataV3
GroupMetadata = GroupMetadataV2 | GroupMetadataV3
NodeMetadata = ArrayMetadata | GroupMetadata

V3_DOC = "zarr.json"
V2_ARRAY, V2_GROUP, V2_ATTRS = ".zarray", ".zgroup", ".zattrs"
V2_DOCS = (V2_ARRAY, V2_GROUP, V2_ATTRS)
ALL_DOCS = (V3_DOC, *V2_DOCS)


def key_of(path: str, name: str) -> str:
    """The store key of document ``name`` of the node at ``path``."""
    return f"{path}/{name}" if path else name


def prefix_of(path: str) -> str:
    """The store prefix under which a node's chunks and children live."""
    return f"{path}/" if path else ""


def parse_node(docs: Mapping[str, JSON], path: str) -> NodeMetadata | None:
    """The node described by its parsed documents (name -> JSON object), ``None`` when
    they describe none; ``path`` only names the documents in errors."""
    if V3_DOC in docs:
        return parse_v3_node(docs[V3_DOC], key_of(path, V3_DOC))
    attrs_key = key_of(path, V2_ATTRS)
    attrs = parse_attributes(docs[V2_ATTRS], key=attrs_key) if V2_ATTRS in docs else {}
    if V2_ARRAY in docs and V2_GROUP in docs:
        raise ContainsArrayAndGroupError(
            "array and group documents (.zarray and .zgroup) both exist; remove one",
            key=key_of(path, V2_ARRAY),
        )
    if V2_ARRAY in docs:
        key = key_of(path, V2_ARRAY)
        return ArrayMetadataV2.from_json(docs[V2_ARRAY], attrs, key=key)
    if V2_GROUP in docs:
        return GroupMetadataV2.from_json(docs[V2_GROUP], attrs, key=key_of(path, V2_GROUP))
    return None


def parse_v3_node(doc: dict[str, JSON], key: str) -> NodeMetadata:
    """The array or group a parsed ``zarr.json`` (at store ``key``) describes."""
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


def metadata_kind(meta: Any) -> str:
    """'array' or 'group'."""
    return "array" if isinstance(meta, ArrayMetadataV2 | ArrayMetadataV3) else "group"
