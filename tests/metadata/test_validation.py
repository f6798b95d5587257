"""One validation path: the metadata constructors check every field, so what
``create_array`` accepts is exactly what ``open_array`` accepts.

Each bad value below is given both ways (as a ``create_array`` argument and in a stored
document) and must fail the same way; a hypothesis property checks that whatever
``create_array`` accepts opens again as the same metadata, and whatever it refuses writes
nothing.
"""

from __future__ import annotations

import json
from typing import Any

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given

import zarrkit
from zarrkit.errors import MetadataError, ResourceLimitError, ZarrkitError
from zarrkit.metadata.chunk_grid import RectilinearChunkGrid, RegularChunkGrid
from zarrkit.metadata.chunk_key import DefaultKeyEncoding
from zarrkit.metadata.common import parse_document
from zarrkit.metadata.v2 import ArrayMetadataV2
from zarrkit.metadata.v3 import ArrayMetadataV3
from zarrkit.storage import MemoryStore
from zarrkit.testing import strategies as zst

BYTES = ({"name": "bytes", "configuration": {"endian": "little"}},)


def v3(**fields: Any) -> ArrayMetadataV3:
    """A valid v3 array's metadata, with ``fields`` changed."""
    options: dict[str, Any] = {
        "shape": (6, 4),
        "dtype": np.dtype("int32"),
        "chunk_grid": RegularChunkGrid(chunk_shape=(3, 2)),
        "chunk_key_encoding": DefaultKeyEncoding(),
        "fill_value": np.int32(0),
        "codecs": BYTES,
    }
    return ArrayMetadataV3(**(options | fields))


def v2(**fields: Any) -> ArrayMetadataV2:
    """A valid v2 array's metadata, with ``fields`` changed."""
    options: dict[str, Any] = {
        "shape": (6, 4),
        "chunks": (3, 2),
        "dtype": np.dtype("<i4"),
        "fill_value": np.int32(0),
    }
    return ArrayMetadataV2(**(options | fields))


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: v3(shape=(2**64, 4)), MetadataError, "does not fit in int64"),
        (lambda: v3(shape=(-1, 4)), MetadataError, "non-negative"),
        (lambda: v3(shape=(1,) * 65), ResourceLimitError, "max_rank"),
        (lambda: v3(chunk_grid=RegularChunkGrid(chunk_shape=(3,))), MetadataError, "dimensions"),
        (lambda: v3(dtype=np.dtype(">i4")), MetadataError, "native-order"),
        (lambda: v3(fill_value=2**40), MetadataError, "fill value"),
        (lambda: v3(fill_value=object()), MetadataError, "fill value"),
        (lambda: v3(codecs=()), MetadataError, "non-empty"),
        (lambda: v3(dimension_names=("x",)), MetadataError, "2 names"),
        (lambda: v3(attributes=[1]), MetadataError, "attributes"),
        (
            lambda: v3(
                chunk_grid=RectilinearChunkGrid(chunk_sizes=((3, 3), 2)),
                codecs=({"name": "sharding_indexed", "configuration": {"chunk_shape": [2, 2]}},),
            ),
            MetadataError,
            "rectilinear shard length 3 along dimension 0 is not a multiple",
        ),
        (lambda: RegularChunkGrid(chunk_shape=(0, 2)).validate((4, 4)), MetadataError, "positive"),
        (lambda: RectilinearChunkGrid(chunk_sizes=((0, 1),)), MetadataError, "positive"),
        (lambda: v2(shape=(2**63,)), MetadataError, "does not fit in int64"),
        (lambda: v2(chunks=(3, 0)), MetadataError, "positive"),
        (lambda: v2(order="Q"), MetadataError, "'C' or 'F'"),
        (lambda: v2(dimension_separator="\\"), MetadataError, "'.' or '/'"),
        (lambda: v2(dtype=np.dtype("O"), fill_value=None), MetadataError, "object"),
        (lambda: v2(compressor={"level": 1}), MetadataError, "'id'"),
        (lambda: v2(fill_value=2**40), MetadataError, "fill value"),
    ],
)
def test_constructors_refuse_invalid_fields(build: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        build()


def document(meta: ArrayMetadataV3, **edits: Any) -> bytes:
    return json.dumps(meta.to_json() | edits).encode()


# The same bad value as a create_array argument and as a stored zarr.json field.
PARITY = [
    ({"shape": (2**64, 4)}, {"shape": [2**64, 4]}),
    ({"shape": (2**63, 4)}, {"shape": [2**63, 4]}),
    (
        {"shape": (1,) * 70, "chunks": (1,) * 70},
        {
            "shape": [1] * 70,
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [1] * 70}},
        },
    ),
    ({"shape": (-3, 4)}, {"shape": [-3, 4]}),
    ({"dimension_names": ["x"]}, {"dimension_names": ["x"]}),
    ({"dimension_names": ["x", 3]}, {"dimension_names": ["x", 3]}),
    ({"dtype": "u1", "fill_value": 256}, {"data_type": "uint8", "fill_value": 256}),
    (
        {"chunks": (3, 2), "shards": (6, 5)},
        {
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [6, 5]}},
            "codecs": [{"name": "sharding_indexed", "configuration": {"chunk_shape": [3, 2]}}],
        },
    ),
    (
        {"serializer": {"name": "bytes", "configuration": {"endian": "middle"}}},
        {"codecs": [{"name": "bytes", "configuration": {"endian": "middle"}}]},
    ),
]


@pytest.mark.parametrize(("arguments", "fields"), PARITY)
def test_create_and_open_refuse_the_same_values_the_same_way(
    arguments: dict[str, Any], fields: dict[str, Any]
) -> None:
    created = MemoryStore()
    options = {"shape": (6, 4), "chunks": (3, 2), "dtype": "i4"} | arguments
    with pytest.raises(ZarrkitError) as on_create:
        zarrkit.create_array(created, name="a", **options)
    assert list(created.list()) == []

    stored = MemoryStore()
    stored.set("a/zarr.json", document(v3(), **fields))
    with pytest.raises(ZarrkitError) as on_open:
        zarrkit.open_array(stored, path="a")
    assert type(on_open.value) is type(on_create.value)
    assert getattr(on_open.value, "field", None) == getattr(on_create.value, "field", None)


def test_overflowing_float_literals_are_refused() -> None:
    # json reads 1e400 as infinity, a valid fill value: the document does not say that
    raw = document(v3(dtype=np.dtype("float64"), fill_value=np.float64(0.5)))
    with pytest.raises(MetadataError, match="1e400 is too large"):
        parse_document(raw.replace(b"0.5", b"1e400"), key="a/zarr.json")
    assert parse_document(raw.replace(b"0.5", b'"Infinity"'), key="k")["fill_value"] == "Infinity"


def test_errors_from_a_document_name_its_key() -> None:
    store = MemoryStore()
    store.set("a/zarr.json", document(v3(), shape=[2**64, 4]))
    with pytest.raises(MetadataError) as caught:
        zarrkit.open_array(store, path="a")
    assert (caught.value.key, caught.value.field) == ("a/zarr.json", "shape")


DTYPES = ["i1", "<i4", ">i4", "u8", "f4", ">f8", "c8", "bool", "S3", "U2", "M8[s]", "m8[10s]"]
DTYPES += ["V3", "O", str, [("a", "<i2"), ("b", ">f4")], [("a", "<i4", (2,))]]


@st.composite
def creations(draw: st.DrawFn) -> dict[str, Any]:
    """create_array arguments, valid or not: big and negative sides, many dimensions,
    chunks of every size, every dtype family, fill values in and out of range."""
    ndim = draw(st.sampled_from([0, 1, 2, 3, 65]))
    side = st.sampled_from([*range(7)] * 3 + [-1, 2**62, 2**63, 2**64])
    shape = tuple(draw(side) if ndim < 65 else 1 for _ in range(ndim))
    chunks = draw(st.one_of(st.just("auto"), st.tuples(*(st.integers(0, 8) for _ in shape))))
    options: dict[str, Any] = {
        "shape": shape,
        "chunks": chunks,
        "dtype": draw(st.sampled_from(DTYPES)),
        "zarr_format": draw(st.sampled_from([2, 3])),
        "fill_value": draw(st.none() | st.sampled_from([0, 1, -1, 300, 2**70, 1.5, "x", b"x"])),
    }
    if draw(st.booleans()):
        options["dimension_names"] = draw(st.lists(st.sampled_from(["x", None, 3]), max_size=3))
    return options


@zst.profile()
@given(creations())
def test_what_create_accepts_opens_as_the_same_metadata(options: dict[str, Any]) -> None:
    store = MemoryStore()
    try:
        created = zarrkit.create_array(store, name="a", **options)
    except ZarrkitError:
        assert list(store.list()) == [], f"a refused create wrote {list(store.list())}"
        return
    opened = zarrkit.open_array(store, path="a")
    assert opened.metadata.to_json() == created.metadata.to_json()
