"""A custom chunk key encoding: chunk (1, 2) stored as ``c_1_2`` in one flat directory.

An encoding is an object with ``encode(coords) -> str`` (the key relative to the array),
``decode(key, ndim) -> coords | None`` (None for keys that are not its chunk keys; used by
``nchunks_initialized`` and ``zarrkit check``; optional, but without it every chunk's key is
computed to match them) and ``to_json()`` (its v3 metadata);
``zarrkit.registry.register_chunk_key_encoding`` maps its name to a factory taking the
stored ``configuration``. A package can declare the
factory in the ``zarrkit.chunk_key_encodings`` entry-point group instead.

Run: ``python examples/custom_chunk_key_encoding.py``
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from typing import Any

import numpy as np

import zarrkit
from zarrkit.errors import MetadataError
from zarrkit.registry import register_chunk_key_encoding


@dataclass(frozen=True, slots=True, kw_only=True)
class FlatKeyEncoding:
    """``c_1_2``: every chunk directly in the array's directory (``c`` for 0-d arrays)."""

    name = "example.flat"

    def encode(self, coords: tuple[int, ...]) -> str:
        return "_".join(("c", *map(str, coords)))

    def decode(self, key: str, ndim: int) -> tuple[int, ...] | None:
        parts = key.split("_")
        numbers = parts[1:]
        if parts[0] != "c" or len(numbers) != ndim or not all(p.isdecimal() for p in numbers):
            return None
        return tuple(int(p) for p in numbers)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "configuration": {}}


def flat_encoding(configuration: dict[str, Any], key: str | None = None) -> FlatKeyEncoding:
    """The encoding from its stored configuration (it takes no options)."""
    if configuration:
        raise MetadataError(
            f"{FlatKeyEncoding.name!r} takes no configuration, got {configuration!r}",
            key=key,
            field="chunk_key_encoding",
        )
    return FlatKeyEncoding()


register_chunk_key_encoding(FlatKeyEncoding.name, flat_encoding)


def main() -> None:
    where = tempfile.mkdtemp(suffix=".zarr")
    data = np.arange(20, dtype="i4").reshape(4, 5)
    array = zarrkit.create_array(
        where, data=data, chunks=(2, 3), chunk_key_encoding={"name": "example.flat"}
    )
    print("keys:", sorted(array.store.list()))
    print("decoded:", FlatKeyEncoding().decode("c_1_0", 2), FlatKeyEncoding().decode("c_1", 2))
    reopened = zarrkit.open_array(where, mode="r")
    print("round trip:", bool((reopened[...] == data).all()))


if __name__ == "__main__":
    main()
