import json

import numpy as np
import pytest

from zarrkit.errors import MetadataError, ResourceLimitError, UnsupportedExtensionError
from zarrkit.metadata.common import dump_document, parse_document
from zarrkit.metadata.v2 import ArrayMetadataV2, GroupMetadataV2
from zarrkit.metadata.v3 import ArrayMetadataV3, GroupMetadataV3

V3 = {
    "shape": [5, 7],
    "data_type": "float64",
    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2, 3]}},
    "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
    "fill_value": 0.0,
    "codecs": [
        {"name": "bytes", "configuration": {"endian": "little"}},
        {"name": "zstd", "configuration": {"level": 0, "checksum": False}},
    ],
    "attributes": {"x": 1},
    "dimension_names": ["a", "b"],
    "zarr_format": 3,
    "node_type": "array",
    "storage_transformers": [],
}
V2 = {
    "shape": [5, 7],
    "chunks": [2, 3],
    "dtype": "<f8",
    "fill_value": 0.0,
    "order": "C",
    "filters": None,
    "dimension_separator": ".",
    "compressor": {"id": "zstd", "level": 0},
    "zarr_format": 2,
}


def test_v3_round_trip_is_exact():
    meta = ArrayMetadataV3.from_json(V3)
    assert meta.shape == (5, 7) and meta.chunks == (2, 3) and meta.dtype == np.float64
    assert meta.dimension_names == ("a", "b")
    assert meta.to_json() == V3
    assert list(meta.to_json()) == list(V3)  # field order as zarr-python writes it


def test_v2_round_trip_is_exact():
    meta = ArrayMetadataV2.from_json(V2, {"k": "v"})
    assert meta.attributes == {"k": "v"} and meta.order == "C"
    assert meta.to_json() == V2 and list(meta.to_json()) == list(V2)


def test_chunk_keys():
    v3 = ArrayMetadataV3.from_json(V3)
    assert v3.chunk_key((1, 2)) == "c/1/2"
    dotted = ArrayMetadataV3.from_json(
        V3 | {"chunk_key_encoding": {"name": "default", "configuration": {"separator": "."}}}
    )
    assert dotted.chunk_key((1, 2)) == "c.1.2"
    v2style = ArrayMetadataV3.from_json(V3 | {"chunk_key_encoding": {"name": "v2"}})
    assert v2style.chunk_key((1, 2)) == "1.2"
    assert ArrayMetadataV2.from_json(V2).chunk_key((1, 2)) == "1.2"
    assert ArrayMetadataV2.from_json(V2 | {"dimension_separator": "/"}).chunk_key((1, 2)) == "1/2"
    zero_d = ArrayMetadataV3.from_json(
        V3
        | {
            "shape": [],
            "dimension_names": None,
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": []}},
        }
    )
    assert zero_d.chunk_key(()) == "c"
    assert ArrayMetadataV2.from_json(V2 | {"shape": [], "chunks": []}).chunk_key(()) == "0"


def test_extension_with_must_understand_false_is_kept():
    doc = V3 | {"my_ext": {"must_understand": False, "value": 1}}
    meta = ArrayMetadataV3.from_json(doc)
    assert meta.to_json()["my_ext"] == {"must_understand": False, "value": 1}


@pytest.mark.parametrize("ext", [{"value": 1}, {"must_understand": True}, 3])
def test_unknown_extension_is_rejected(ext):
    with pytest.raises(UnsupportedExtensionError, match="my_ext"):
        ArrayMetadataV3.from_json(V3 | {"my_ext": ext}, key="a/zarr.json")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"shape": [5]}, "chunk_grid"),
        ({"shape": [-1, 7]}, "shape"),
        ({"shape": "5"}, "shape"),
        ({"shape": [5, 7.0]}, "shape"),
        ({"data_type": "float128"}, "data_type"),
        ({"zarr_format": 2}, "zarr_format"),
        ({"node_type": "group"}, "node_type"),
        ({"fill_value": "zero"}, "fill_value"),
        ({"codecs": []}, "codecs"),
        ({"codecs": [5]}, "codecs"),
        ({"chunk_grid": {"name": "irregular"}}, "chunk_grid"),
        (
            {"chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [0, 3]}}},
            "chunk_grid",
        ),
        (
            {"chunk_key_encoding": {"name": "default", "configuration": {"separator": "-"}}},
            "chunk_key_encoding",
        ),
        ({"dimension_names": ["a"]}, "dimension_names"),
        ({"attributes": [1]}, "attributes"),
        ({"storage_transformers": [{"name": "x"}]}, "storage_transformers"),
        ({"shape": [2**62, 2**62]}, "shape"),
    ],
)
def test_bad_v3_metadata_names_key_and_field(change, field):
    with pytest.raises(MetadataError) as info:
        ArrayMetadataV3.from_json(V3 | change, key="arr/zarr.json")
    assert "arr/zarr.json" in str(info.value)
    assert field in str(info.value)


@pytest.mark.parametrize(
    "missing",
    [
        "shape",
        "data_type",
        "chunk_grid",
        "fill_value",
        "codecs",
        "zarr_format",
        "chunk_key_encoding",
    ],
)
def test_missing_v3_field(missing):
    doc = {k: v for k, v in V3.items() if k != missing}
    with pytest.raises(MetadataError, match=missing):
        ArrayMetadataV3.from_json(doc)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"order": "K"}, "order"),
        ({"chunks": [2]}, "chunks"),
        ({"dtype": "<x4"}, "dtype"),
        ({"compressor": {"level": 1}}, "compressor"),
        ({"filters": {"id": "delta"}}, "filters"),
        ({"dimension_separator": ":"}, "dimension_separator"),
        ({"zarr_format": 3}, "zarr_format"),
        ({"extra": 1}, "extra"),
        ({"fill_value": "x"}, "fill_value"),
    ],
)
def test_bad_v2_metadata(change, field):
    with pytest.raises(MetadataError, match=field):
        ArrayMetadataV2.from_json(V2 | change, key="a/.zarray")


def test_groups():
    assert GroupMetadataV3.from_json({"zarr_format": 3, "node_type": "group"}).attributes == {}
    g = GroupMetadataV3(attributes={"a": 1})
    assert g.to_json() == {"attributes": {"a": 1}, "zarr_format": 3, "node_type": "group"}
    assert GroupMetadataV2.from_json({"zarr_format": 2}, {"b": 2}).attributes == {"b": 2}
    with pytest.raises(MetadataError):
        GroupMetadataV2.from_json({"zarr_format": 3})


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"[1, 2]", b'"str"', b'{"a": 1, "a": 2}', b"{" * 100000, b""],
)
def test_parse_document_rejects(raw):
    with pytest.raises(MetadataError, match=r"k/zarr\.json"):
        parse_document(raw, key="k/zarr.json")


def test_document_size_limit():
    from zarrkit import config

    with (
        config.set(max_document_bytes=10),
        pytest.raises(ResourceLimitError, match="max_document_bytes"),
    ):
        parse_document(b'{"a": "0123456789"}', key="k")
    assert parse_document(b'{"a": "0123456789"}', key="k") == {"a": "0123456789"}


def test_dump_matches_zarr_python_format():
    assert dump_document({"a": [1, 2]}) == json.dumps({"a": [1, 2]}, indent=2).encode()
