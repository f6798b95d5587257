"""Chunk key encodings: chunk grid coordinates <-> store keys (relative to the array)."""

from __future__ import annotations

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

    def to_json(self) -> dict[str, Any]:
        return {"name": "default", "configuration": {"separator": self.separator}}


@dataclass(frozen=True, slots=True, kw_only=True)
class V2KeyEncoding:
    """v2 layout: ``1.2`` (or ``1/2``); a 0-d array's only chunk is ``0``."""

    separator: Separator = "."
    name = "v2"

    def encode(self, coords: tuple[int, ...]) -> str:
        return self.separator.join(map(str, coords)) if coords else "0"

    def to_json(self) -> dict[str, Any]:
        return {"name": "v2", "configuration": {"separator": self.separator}}


ChunkKeyEncoding = DefaultKeyEncoding | V2KeyEncoding

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
