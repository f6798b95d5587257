"""Chunk key decoding: encode/decode round trips (hypothesis) and keys that are not chunk
keys of an encoding (other separators, signs, leading zeros, other ranks)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zarrkit.metadata.chunk_key import DefaultKeyEncoding, V2KeyEncoding, key_decoder

ENCODINGS = [
    DefaultKeyEncoding(separator="/"),
    DefaultKeyEncoding(separator="."),
    V2KeyEncoding(separator="."),
    V2KeyEncoding(separator="/"),
]
coords = st.lists(st.integers(0, 10**12), max_size=6).map(tuple)


@pytest.mark.parametrize("encoding", ENCODINGS, ids=repr)
@given(coords=coords)
def test_decode_inverts_encode(encoding: Any, coords: tuple[int, ...]) -> None:
    key = encoding.encode(coords)
    assert encoding.decode(key, len(coords)) == coords
    for other in range(7):  # any other rank: not a key of that rank (but v2's "0")
        if other != len(coords) and encoding.decode(key, other) is not None:
            assert isinstance(encoding, V2KeyEncoding) and key == "0"


@pytest.mark.parametrize("encoding", ENCODINGS, ids=repr)
@given(key=st.text(alphabet="c0123456789./-+_ x", max_size=12), ndim=st.integers(0, 4))
def test_decoded_keys_encode_back(encoding: Any, key: str, ndim: int) -> None:
    found = encoding.decode(key, ndim)
    if found is not None:
        assert len(found) == ndim and all(c >= 0 for c in found)
        assert encoding.encode(found) == key


@pytest.mark.parametrize(
    ("encoding", "key", "ndim", "expected"),
    [
        (DefaultKeyEncoding(), "c/1/2", 2, (1, 2)),
        (DefaultKeyEncoding(), "c", 0, ()),
        (DefaultKeyEncoding(), "c.1.2", 2, None),  # the other separator
        (DefaultKeyEncoding(), "c/1/2", 3, None),  # another rank
        (DefaultKeyEncoding(), "c/1", 2, None),
        (DefaultKeyEncoding(), "c/-1/2", 2, None),
        (DefaultKeyEncoding(), "c/01/2", 2, None),  # encode never writes leading zeros
        (DefaultKeyEncoding(), "c/1/2.5", 2, None),
        (DefaultKeyEncoding(), "c/1/ 2", 2, None),
        (DefaultKeyEncoding(), "d/1/2", 2, None),
        (DefaultKeyEncoding(), "c/1/2/", 2, None),
        (DefaultKeyEncoding(), "zarr.json", 1, None),
        (DefaultKeyEncoding(separator="."), "c.3", 1, (3,)),
        (V2KeyEncoding(), "3.4", 2, (3, 4)),
        (V2KeyEncoding(), "0", 0, ()),
        (V2KeyEncoding(), "0", 1, (0,)),
        (V2KeyEncoding(), "3/4", 2, None),
        (V2KeyEncoding(), ".zarray", 1, None),
        (V2KeyEncoding(), "+3.4", 2, None),
        (V2KeyEncoding(separator="/"), "3/4", 2, (3, 4)),
        (V2KeyEncoding(separator="/"), "3.4", 2, None),
        (V2KeyEncoding(), "1", 0, None),
    ],
)
def test_decode(encoding: Any, key: str, ndim: int, expected: tuple[int, ...] | None) -> None:
    assert encoding.decode(key, ndim) == expected


def test_key_decoder_keeps_coordinates_inside_the_grid() -> None:
    decode = key_decoder(DefaultKeyEncoding(), (2, 3))
    assert decode("c/1/2") == (1, 2)
    assert decode("c/2/0") is None  # beyond the grid
    assert decode("c/1") is None


@dataclass(frozen=True)
class EncodeOnly:
    """A third-party encoding written before ``decode`` existed."""

    def encode(self, coords: tuple[int, ...]) -> str:
        return "k" + "-".join(map(str, coords))


def test_key_decoder_falls_back_to_encoding_every_chunk() -> None:
    decode = key_decoder(EncodeOnly(), (2, 3))
    assert decode("k1-2") == (1, 2)
    assert decode("k2-0") is None
    assert decode("c/1/2") is None
