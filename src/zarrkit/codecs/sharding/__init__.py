"""Sharding (``sharding_indexed``): many inner chunks in one stored object.

:mod:`~zarrkit.codecs.sharding.codec` is the format (index, layout, whole-shard encode and
decode); :mod:`~zarrkit.codecs.sharding.access` the chunk access the codec provides, so the
engine reads and writes inner chunks by byte ranges without knowing about shards.
"""

from __future__ import annotations

from zarrkit.codecs.sharding.access import ShardedChunks, Shards
from zarrkit.codecs.sharding.codec import ShardingCodec, ShardingCodecIndexLocation
from zarrkit.codecs.sharding.layout import EMPTY, ShardGrid, morton_order

__all__ = [
    "EMPTY",
    "ShardGrid",
    "ShardedChunks",
    "ShardingCodec",
    "ShardingCodecIndexLocation",
    "Shards",
    "morton_order",
]
