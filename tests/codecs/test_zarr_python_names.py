"""zarr-python's codec names: the enums, its constructor forms, and the numcodecs wrappers of
``zarr.codecs.numcodecs``, each writing what zarr-python writes."""

import json
import warnings

import numpy as np
import pytest
from optional import needs, optional

import zarrkit
from zarrkit import codecs
from zarrkit.codecs import numcodecs as wrappers
from zarrkit.errors import MetadataError

zarr = optional("zarr")
zarr_wrappers = optional("zarr.codecs.numcodecs")

ENUMS = ["BloscCname", "BloscShuffle", "Endian", "ShardingCodecIndexLocation"]


@pytest.mark.parametrize("name", ENUMS)
def test_enums_have_zarr_pythons_members(name):
    ours, theirs = getattr(codecs, name), getattr(zarr.codecs, name)
    assert {m.name: m.value for m in ours} == {m.name: m.value for m in theirs}


def test_every_codec_name_of_zarr_python_exists():
    assert [n for n in zarr.codecs.__all__ if not hasattr(codecs, n)] == []


@pytest.mark.parametrize(
    "make",
    [
        lambda c: c.BloscCodec(shuffle=c.BloscShuffle.bitshuffle, cname=c.BloscCname.lz4, clevel=3),
        lambda c: c.BloscCodec(shuffle="noshuffle", cname="zstd", typesize=4),
        lambda c: c.BytesCodec(endian=c.Endian.big),
        lambda c: c.BytesCodec(endian=None),
        lambda c: c.TransposeCodec(order=[1, 0]),
        lambda c: c.GzipCodec(),
        lambda c: c.ZstdCodec(level=3, checksum=True),
        lambda c: c.ShardingCodec(chunk_shape=[2, 2]),
        lambda c: c.ShardingCodec(
            chunk_shape=(2,),
            codecs=[c.BytesCodec(), {"name": "gzip", "configuration": {"level": 1}}],
            index_location=c.ShardingCodecIndexLocation.start,
        ),
    ],
)
def test_constructed_as_in_zarr_python(make):
    ours, theirs = make(codecs), make(zarr.codecs)
    assert ours.to_json() == ours.to_dict() == json.loads(json.dumps(theirs.to_dict()))


def test_from_dict():
    data = zarr.codecs.ZstdCodec(level=4).to_dict()
    assert codecs.ZstdCodec.from_dict(data) == codecs.ZstdCodec(level=4)
    with pytest.raises(MetadataError, match="expected codec 'gzip'"):
        codecs.GzipCodec.from_dict(data)


def test_enum_fields_hold_members_of_the_enums_as_zarr_python():
    """Given as strings or members, a codec's choices are members of the str enums, as
    zarr-python's (``.value``, ``isinstance``, the same repr), equal to the strings and
    written to JSON as strings."""
    codec = codecs.BloscCodec(shuffle="shuffle", cname=codecs.BloscCname.lz4)
    assert codec.shuffle is codecs.BloscShuffle.shuffle and codec.cname is codecs.BloscCname.lz4
    assert codec.shuffle.value == zarr.codecs.BloscShuffle.shuffle.value == codec.shuffle
    assert codec == codecs.BloscCodec(shuffle="shuffle", cname="lz4")
    assert type(codec.to_json()["configuration"]["shuffle"]) is str
    serializer = codecs.BytesCodec(endian="big")
    assert (
        serializer.endian is codecs.Endian.big
        and type(serializer.to_json()["configuration"]["endian"]) is str
    )
    assert repr(serializer) == repr(zarr.codecs.BytesCodec(endian="big"))
    sharding = codecs.ShardingCodec(chunk_shape=(2,), index_location="start")
    assert sharding.index_location is codecs.ShardingCodecIndexLocation.start
    assert type(sharding.to_json()["configuration"]["index_location"]) is str
    with pytest.raises(MetadataError, match="shuffle"):
        codecs.BloscCodec(shuffle="everything")
    with pytest.raises(MetadataError, match="index_location"):
        codecs.ShardingCodec(chunk_shape=(2,), index_location="middle")


#: (class name, options, data): data each wrapper can encode.
INTS = np.arange(24, dtype="<i4").reshape(4, 6)
FLOATS = np.linspace(0, 1, 24, dtype="<f4").reshape(4, 6)
WRAPPERS = [
    ("AsType", {"encode_dtype": "<f8", "decode_dtype": "<f4"}, FLOATS),
    ("BitRound", {"keepbits": 4}, FLOATS),
    ("Delta", {"dtype": "<i4"}, INTS),
    ("FixedScaleOffset", {"offset": 0, "scale": 10, "dtype": "<f4", "astype": "<i4"}, FLOATS),
    ("PackBits", {}, INTS % 2 == 0),
    ("Quantize", {"digits": 2, "dtype": "<f4"}, FLOATS),
    ("ZFPY", {"mode": 4, "tolerance": 0.01}, FLOATS.astype("<f8")),
    ("PCodec", {"level": 3}, INTS),
    ("Blosc", {"cname": "lz4", "clevel": 1, "shuffle": 1}, INTS),
    ("BZ2", {"level": 2}, INTS),
    ("GZip", {"level": 2}, INTS),
    ("LZ4", {"acceleration": 2}, INTS),
    ("LZMA", {"preset": 1}, INTS),
    ("Shuffle", {"elementsize": 4}, INTS),
    ("Zlib", {"level": 2}, INTS),
    ("Zstd", {"level": 2}, INTS),
    ("Adler32", {}, INTS),
    ("CRC32", {}, INTS),
    ("CRC32C", {}, INTS),
    ("Fletcher32", {}, INTS),
    ("JenkinsLookup3", {"initval": 1}, INTS),
]
ROLES = {"array_array": "filters", "array_bytes": "serializer", "bytes_bytes": "compressors"}


def test_the_wrappers_are_zarr_pythons():
    needs("zarr")
    assert sorted(wrappers.__all__) == sorted(zarr_wrappers.__all__[:21])
    assert sorted(name for name, _, _ in WRAPPERS) == sorted(wrappers.__all__)


@pytest.mark.parametrize(("name", "options", "data"), WRAPPERS, ids=[w[0] for w in WRAPPERS])
def test_wrapper_writes_what_zarr_python_writes(tmp_path, name, options, data):
    try:
        ours = getattr(wrappers, name)(**options)
    except zarrkit.errors.UnknownCodecError as e:  # pcodec, zfpy: optional libraries
        pytest.skip(f"{name}: {e}")
    role = ROLES[ours.kind]
    written = {}
    for lib, module in (("zarrkit", wrappers), ("zarr", zarr_wrappers)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zarr-python: "unstable specification"
            codec = getattr(module, name)(**options)
            make = zarrkit.create_array if lib == "zarrkit" else zarr.create_array
            arr = make(
                tmp_path / lib, shape=data.shape, chunks=(2, 3), dtype=data.dtype, **{role: codec}
            )
            arr[:] = data
        written[lib] = json.loads((tmp_path / lib / "zarr.json").read_text())["codecs"]
    assert written["zarrkit"] == written["zarr"]
    # each reads the other's chunks (compressors may differ in their bytes: zlib vs isal)
    for writer in ("zarr", "zarrkit"):
        np.testing.assert_array_equal(
            zarrkit.open_array(tmp_path / writer)[:], zarr.open_array(tmp_path / writer)[:]
        )


def test_wrapper_attributes_as_zarr_python():
    codec = wrappers.LZMA(preset=1)
    assert codec.codec_name == "numcodecs.lzma"
    assert codec.codec_config == {"id": "lzma", "preset": 1}
    assert repr(codec) == "LZMA(codec_name='numcodecs.lzma', codec_config={'preset': 1})"
    assert codec == zarrkit.codecs.get_codec(
        {"name": "numcodecs.lzma", "configuration": {"preset": 1}}
    )
    assert type(zarrkit.codecs.get_codec({"id": "lzma"})) is wrappers.LZMA
