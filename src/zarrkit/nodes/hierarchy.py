"""Creating a whole hierarchy of groups and arrays in one call (zarr-python's
``create_hierarchy``).

Every node is checked before anything is written: the specs parse, all have one format, no
node lies below an array, and (unless ``overwrite``) none exists already. The groups
between the nodes and the root are added. Then one ``get_many`` has read what exists and
one ``set_many`` writes every metadata document, so a store that writes concurrently
(object stores, files on the thread pool) creates the hierarchy in about one round trip.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zarrkit.errors import ExpectedGroupError, MetadataError
from zarrkit.metadata.documents import (
    V2_ARRAY,
    V2_ATTRS,
    V2_GROUP,
    V3_DOC,
    NodeMetadata,
    metadata_kind,
    parse_node,
)
from zarrkit.metadata.v2 import ArrayMetadataV2, GroupMetadataV2
from zarrkit.metadata.v3 import ArrayMetadataV3, GroupMetadataV3
from zarrkit.nodes.creation import group_metadata
from zarrkit.nodes.node import delete_node, exists_error, load_nodes, normalize_path, save_nodes
from zarrkit.storage.base import Store

#: A node to create: zarrkit metadata, a metadata document as a dict (``zarr.json``
#: content, or a v2 ``.zarray``/``.zgroup`` object with an ``attributes`` entry), or an
#: object with ``to_dict()`` giving one (zarr-python's metadata classes).
NodeSpec = Any

_METADATA = (ArrayMetadataV2, ArrayMetadataV3, GroupMetadataV2, GroupMetadataV3)


def parse_spec(spec: NodeSpec, path: str) -> NodeMetadata:
    """The metadata a node spec describes (see :data:`NodeSpec`)."""
    if isinstance(spec, _METADATA):
        return spec
    data = spec.to_dict() if hasattr(spec, "to_dict") else spec
    if not isinstance(data, Mapping):
        raise MetadataError(f"expected node metadata or a metadata document, got {spec!r}")
    doc = dict(data)
    if doc.get("zarr_format") == 3:
        docs: dict[str, Any] = {V3_DOC: doc}
    else:
        attributes = doc.pop("attributes", {})
        doc.pop("node_type", None)
        main = V2_ARRAY if "shape" in doc else V2_GROUP
        docs = {main: doc, V2_ATTRS: attributes}
    meta = parse_node(docs, path)
    if meta is None:
        raise MetadataError(f"not the metadata of a node: {spec!r}", key=path)
    return meta


def complete(nodes: Mapping[str, NodeMetadata]) -> dict[str, NodeMetadata]:
    """``nodes`` (path -> metadata, paths relative) with the groups between them and the
    root ('') added; raises for mixed formats or a node below an array."""
    formats = {meta.zarr_format for meta in nodes.values()}
    if len(formats) > 1:
        raise MetadataError(
            "a hierarchy has one Zarr format; got nodes of formats 2 and 3", field="zarr_format"
        )
    fmt = formats.pop() if formats else 3
    full = dict(nodes)
    for path in nodes:
        parts = path.split("/") if path else []
        for depth in range(len(parts)):
            parent = "/".join(parts[:depth])
            found = full.setdefault(parent, group_metadata(fmt, None))
            if metadata_kind(found) == "array":
                raise ExpectedGroupError(
                    f"cannot create {path!r} below the array {parent!r} (only groups hold nodes)"
                )
    return dict(sorted(full.items()))


def create_nodes(
    store: Store, root: str, nodes: Mapping[str, NodeSpec], *, overwrite: bool = False
) -> list[tuple[str, NodeMetadata]]:
    """Create ``nodes`` (paths relative to the group path ``root``) and the groups between
    them; returns every node written or kept, by relative path. Nothing is written when a
    spec is invalid or, without ``overwrite``, a node exists where one is asked for."""
    parsed = {normalize_path(p): parse_spec(spec, p) for p, spec in nodes.items()}
    wanted = complete(parsed)
    absolute = {rel: f"{root}/{rel}".strip("/") for rel in wanted}
    existing = load_nodes(store, list(absolute.values()))
    to_write: list[tuple[str, NodeMetadata]] = []
    for rel, meta in wanted.items():
        found = existing[absolute[rel]]
        if found is not None and rel not in parsed:  # an implicit group
            if metadata_kind(found) == "array":
                raise ExpectedGroupError(f"cannot create nodes below the array {absolute[rel]!r}")
            continue
        if found is not None and not overwrite:
            raise exists_error(store, absolute[rel], found)
        to_write.append((rel, meta))
    for rel, _ in to_write:
        if existing[absolute[rel]] is not None:
            delete_node(store, absolute[rel])
    save_nodes(store, [(absolute[rel], meta) for rel, meta in to_write], new=True)
    return [(rel, existing[absolute[rel]] or meta) for rel, meta in wanted.items()]
