"""Integrity checks of a hierarchy: every node's metadata validated and every stored chunk
decoded, the keys of broken ones reported (``zarrkit check``, and the same from Python).

Keys under an array that are neither chunks of its grid (as its chunk key encoding decodes
them) nor metadata documents are reported as stray objects. Missing chunks are fill values,
not problems.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from zarrkit.errors import ZarrkitError
from zarrkit.metadata.documents import ALL_DOCS, key_of, metadata_kind, prefix_of
from zarrkit.nodes.arrays import Array
from zarrkit.nodes.node import load_node
from zarrkit.progress import reporter
from zarrkit.storage.base import Store

log = logging.getLogger(__name__)


def check_hierarchy(
    store: Store, path: str, *, concurrency: int, progress: bool = False
) -> dict[str, Any]:
    """Every metadata and chunk problem below ``path``, as ``{"key", "error"}`` items,
    plus the number of nodes and chunks checked."""
    problems: list[dict[str, str]] = []
    arrays: list[Array] = []
    nodes = _walk(store, path, arrays, problems)
    jobs: list[tuple[Array, str, tuple[slice, ...]]] = []
    for array in arrays:
        chunks, strays = array.stored_chunk_keys()
        problems.extend({"key": key, "error": _STRAY} for key in sorted(strays))
        jobs.extend((array, key, _region(array, coords)) for key, coords in sorted(chunks.items()))

    def decode(job: tuple[Array, str, tuple[slice, ...]]) -> dict[str, str] | None:
        array, key, region = job
        try:
            array[region]
        except ZarrkitError as e:
            return {"key": key, "error": str(e)}
        return None

    with (
        reporter(progress, len(jobs), "checking chunks") as report,
        ThreadPoolExecutor(concurrency) as pool,
    ):
        for done, found in enumerate(pool.map(decode, jobs), 1):
            report(done, len(jobs))
            if found is not None:
                problems.append(found)
    log.info("checked %d nodes and %d chunks: %d problems", nodes, len(jobs), len(problems))
    return {"nodes": nodes, "chunks": len(jobs), "problems": problems}


def _walk(store: Store, path: str, arrays: list[Array], problems: list[dict[str, str]]) -> int:
    """Load the node at ``path`` and every node below it, collecting arrays and metadata
    problems; returns the number of nodes found."""
    try:
        meta = load_node(store, path)
        if metadata_kind(meta) == "array":
            arrays.append(Array(store, path, meta))  # type: ignore[arg-type]
            return 1
    except ZarrkitError as e:
        where = getattr(e, "key", None) or (f"{path}/" if path else "/")
        problems.append({"key": where, "error": str(e)})
        return 1
    count = 1
    for name in sorted(store.list_dir(prefix_of(path))):
        child = key_of(path, name)
        if name not in ALL_DOCS and any(store.exists(key_of(child, d)) for d in ALL_DOCS):
            count += _walk(store, child, arrays, problems)
    return count


_STRAY = "stray object: not a chunk key of this array's encoding and grid, nor metadata"


def _region(array: Array, coords: tuple[int, ...]) -> tuple[slice, ...]:
    """The part of ``array`` that the stored chunk (or shard) ``coords`` holds."""
    dims = array.metadata.chunk_grid.dims(array.shape)
    return tuple(
        slice(d.chunk_start(i), min(d.chunk_start(i) + d.chunk_len(i), d.length))
        for d, i in zip(dims, coords, strict=True)
    )


__all__ = ["check_hierarchy"]
