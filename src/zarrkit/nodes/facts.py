"""The facts ``zarrkit info --json`` reports: an array's (its info, with its codecs and
fill value as stored), a group's (totals, then every node below it), and with ``--codecs``
every registered codec's."""

from __future__ import annotations

import dataclasses
from typing import Any

from zarrkit.codecs.availability import available
from zarrkit.metadata.documents import metadata_kind, prefix_of
from zarrkit.nodes.arrays import Array
from zarrkit.nodes.groups import Group


def array_facts(array: Array) -> dict[str, Any]:
    """What ``info --json`` reports about an array: the facts of its
    :meth:`~zarrkit.nodes.arrays.Array.info_complete`, with its codecs and fill value as stored."""
    info = array.info_complete()
    doc = array.metadata.to_json()
    stored = info.nbytes_stored
    codecs = (
        doc["codecs"]
        if array.zarr_format == 3
        else {
            "filters": doc["filters"],
            "compressor": doc["compressor"],
        }
    )
    return {
        "node_type": "array",
        "path": array.path,
        "zarr_format": info.zarr_format,
        "shape": list(info.shape),
        "dtype": info.dtype,
        "chunks": list(info.chunks),
        "shards": None if info.shards is None else list(info.shards),
        "fill_value": doc["fill_value"],
        "dimension_names": array.dimension_names,
        "codecs": codecs,
        "nbytes": info.nbytes,
        "nbytes_stored": stored,
        "ratio": round(info.nbytes / stored, 3) if stored else None,
        "nchunks": info.nchunks,
        "nchunks_initialized": info.nchunks_initialized,
        "attributes": dict(array.attrs),
    }


def group_facts(group: Group) -> dict[str, Any]:
    """What ``info --json`` reports about a group: totals, then every node below it."""
    members = []
    for name, node in group.members(max_depth=None):
        entry: dict[str, Any] = {"path": name, "node_type": metadata_kind(node.metadata)}
        if isinstance(node, Array):
            entry |= {
                "shape": list(node.shape),
                "dtype": str(node.dtype),
                "chunks": list(node.chunks),
                "shards": None if node.shards is None else list(node.shards),
                "nbytes": node.nbytes,
            }
        members.append(entry)
    store = group.store
    return {
        "node_type": "group",
        "path": group.path,
        "zarr_format": group.zarr_format,
        "attributes": dict(group.attrs),
        "arrays": sum(m["node_type"] == "array" for m in members),
        "groups": sum(m["node_type"] == "group" for m in members),
        "nbytes": sum(m.get("nbytes", 0) for m in members),
        "nbytes_stored": sum(store.getsize(k) for k in store.list_prefix(prefix_of(group.path))),
        "members": members,
    }


def codec_facts() -> list[dict[str, Any]]:
    """What ``info --codecs --json`` reports: every registered codec, whether it is usable
    here and, if it needs an optional library, which module and what installs it."""
    return [dataclasses.asdict(c) for c in available()]


__all__ = ["array_facts", "codec_facts", "group_facts"]
