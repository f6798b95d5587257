"""Chunk key encodings: chunk grid coordinates <-> store keys (relative to the array).

An encoding has ``encode(coords) -> key``, ``to_json()`` and ``decode(key, ndim) -> coords
| None``: None for a key that is not a chunk key of that encoding for ``ndim`` dimensions
(another separator, a negative or non-decimal part, another rank). Registered encodings
without ``decode`` still work: :func:`key_decoder` then matches keys against the keys of
every chunk of the grid. An encoding may also give ``template(ndim)``: a ``%``-format
string that ``template % coords`` turns into the key (reads build thousands at a time).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from zarrkit.errors import MetadataError
from zarrkit.registry import chunk_key_encodings

Separator = Literal["/", "."]


def _parse_separator(data: Any, *, key: str | None) -> Separator:
    if data not in ("/", "."):
        raise MetadataError(
            f"separator must be '/' or '.', got {data!r}", key=key, field="chunk_key_encoding"
        )
    return data  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True, kw_only=True)
class DefaultKeyEncoding:
    """v3 ``default``: ``c/1/2`` (or ``c.1.2``); a 0-d array's only chunk is ``c``."""

    separator: Separator = "/"
    name = "default"

    def encode(self, coords: tuple[int, ...]) -> str:
        return self.separator.join(("c", *map(str, coords)))

    def template(self, ndim: int) -> str:
        return "c" + (self.separator + "%d") * ndim

    def decode(self, key: str, ndim: int) -> tuple[int, ...] | None:
        if not ndim:
            return () if key == "c" else None
        prefix = "c" + self.separator
        return _parts(key[len(prefix) :], self.separator, ndim) if key.startswith(prefix) else None

    def to_json(self) -> dict[str, Any]:
        return {"name": "default", "configuration": {"separator": self.separator}}


@dataclass(frozen=True, slots=True, kw_only=True)
class V2KeyEncoding:
    """v2 layout: ``1.2`` (or ``1/2``); a 0-d array's only chunk is ``0``."""

    separator: Separator = "."
    name = "v2"

    def encode(self, coords: tuple[int, ...]) -> str:
        return self.separator.join(map(str, coords)) if coords else "0"

    def template(self, ndim: int) -> str:
        return self.separator.join(["%d"] * ndim) if ndim else "0"

    def decode(self, key: str, ndim: int) -> tuple[int, ...] | None:
        if not ndim:
            return () if key == "0" else None
        return _parts(key, self.separator, ndim)

    def to_json(self) -> dict[str, Any]:
        return {"name": "v2", "configuration": {"separator": self.separator}}


ChunkKeyEncoding = DefaultKeyEncoding | V2KeyEncoding
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


def _parts(text: str, separator: str, ndim: int) -> tuple[int, ...] | None:
    """``ndim`` non-negative decimal integers joined by ``separator`` (no signs, no leading
    zeros, as encode writes them), else None."""
    parts = text.split(separator)
    if len(parts) != ndim or not all(_DECIMAL.fullmatch(p) for p in parts):
        return None
    return tuple(int(p) for p in parts)


def key_decoder(encoding: Any, grid: tuple[int, ...]) -> Callable[[str], tuple[int, ...] | None]:
    """A function giving the coordinates of a chunk key of ``encoding`` inside ``grid``
    (chunks per dimension), else None. An encoding without ``decode`` is matched against
    the keys of every chunk of the grid (built once, so slower for large grids)."""
    decode = getattr(encoding, "decode", None)
    if decode is None:
        keys = {encoding.encode(c): c for c in itertools.product(*map(range, grid))}
        return keys.get

    def inside(key: str) -> tuple[int, ...] | None:
        coords = decode(key, len(grid))
        if coords is None or any(c >= n for c, n in zip(coords, grid, strict=True)):
            return None
        return tuple(coords)

    return inside


# The built-in encodings (the registry is zarrkit.registry.chunk_key_encodings).
chunk_key_encodings.register_builtin(
    "default",
    lambda config, key=None: DefaultKeyEncoding(
        separator=_parse_separator(config.get("separator", "/"), key=key)
    ),
)
chunk_key_encodings.register_builtin(
    "v2",
    lambda config, key=None: V2KeyEncoding(
        separator=_parse_separator(config.get("separator", "."), key=key)
    ),
)


def parse_chunk_key_encoding(data: Any, *, key: str | None = None) -> Any:
    """An encoding object from v3 JSON (``{"name": ..., "configuration": {...}}``)."""
    if isinstance(data, str):
        data = {"name": data}
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise MetadataError(
            f"expected an object with a 'name', got {data!r}", key=key, field="chunk_key_encoding"
        )
    config = data.get("configuration", {})
    if not isinstance(config, dict):
        raise MetadataError(
            f"configuration must be an object, got {config!r}", key=key, field="chunk_key_encoding"
        )
    factory = chunk_key_encodings.get(data["name"])
    return factory(config, key=key)


__all__ = [
    "ChunkKeyEncoding",
    "DefaultKeyEncoding",
    "V2KeyEncoding",
    "chunk_key_encodings",
    "parse_chunk_key_encoding",
]
