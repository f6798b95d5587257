"""The engine: reading and writing selections of an array's chunks.

Data flows down once: a :class:`~zarrkit.indexing.Selection` is projected on the chunk
grid (:mod:`~zarrkit.engine.layout` says where chunks live and how they are encoded),
chunks are fetched in batches and decoded on the shared pool (:mod:`~zarrkit.engine.reading`),
or merged, encoded and stored under their locks (:mod:`~zarrkit.engine.writing`).
"""

from zarrkit.engine import allocator
from zarrkit.engine.layout import Layout, layout_for
from zarrkit.engine.reading import iter_chunks, read
from zarrkit.engine.writing import remove, write

allocator.settle()

__all__ = ["Layout", "iter_chunks", "layout_for", "read", "remove", "write"]
