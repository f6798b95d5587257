"""The Zarr extension registry's codecs against their specs: the specs' own examples (with
the expected bytes worked out here from the spec's definitions), configuration errors
naming the field, chunk specs handed on, fill values transformed, arrays end to end."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import pytest
from optional import needs

import zarrkit
from zarrkit.codecs import (
    BitroundCodec,
    CastValueCodec,
    ChunkSpec,
    CodecPipeline,
    PackBitsCodec,
    ReshapeCodec,
    ScaleOffsetCodec,
    available,
    get_codec,
)
from zarrkit.errors import CodecError, MetadataError


def spec(dtype: str, shape: tuple[int, ...] = (4,), fill: Any = 0) -> ChunkSpec:
    return ChunkSpec(shape=shape, dtype=np.dtype(dtype), fill_value=fill)


# --- bitround: the spec's sample data (codecs/bitround/sample_data/README.md) -------------


def test_bitround_spec_sample_uint8() -> None:
    original = [0, 1, 10, 11, 100, 123, 200, 208, 209, 255]
    rounded = [0, 1, 10, 12, 96, 128, 192, 192, 224, 224]  # the README's table
    pipeline = CodecPipeline.from_v3(
        [{"name": "bitround", "configuration": {"keepbits": 3}}, "bytes"], spec("uint8", (10,))
    )
    assert bytes(pipeline.encode(np.array(original, "uint8"))) == bytes(rounded)


def test_bitround_spec_sample_float32() -> None:
    original = [0.0, 0.1, 1.2, 12.3, 123.4, 1234.5, np.nan, np.inf, -np.inf]
    # the README's rounded bit patterns: sign_exponent_mantissa, 3 mantissa bits kept
    patterns = [
        "0_00000000_000", "0_01111011_101", "0_01111111_010", "0_10000010_100",
        "0_10000101_111", "0_10001001_010", "0_11111111_100", "0_11111111_000",
        "1_11111111_000",
    ]  # fmt: skip
    expected = b"".join(struct.pack("<I", int(p.replace("_", ""), 2) << 20) for p in patterns)
    pipeline = CodecPipeline.from_v3(
        [
            {"name": "bitround", "configuration": {"keepbits": 3}},
            {"name": "bytes", "configuration": {"endian": "little"}},
        ],
        spec("float32", (9,)),
    )
    assert bytes(pipeline.encode(np.array(original, "float32"))) == expected


def test_bitround_rounds_the_fill_value_and_keeps_decoding_the_identity() -> None:
    codec = BitroundCodec(keepbits=1)
    assert codec.resolve(spec("uint8", fill=3)).fill_value == 4  # 0b11 -> 0b100 (half to even)
    chunk = np.array([3, 5], "uint8")
    assert codec.decode(chunk, spec("uint8")) is chunk


# --- packbits: bits from the least significant bit of byte 0 on ----------------------------


def _pack_by_hand(values: list[int], first: int, count: int) -> bytes:
    """The spec's definition: value i's bits first..first+count-1 at bits i*count.. of one
    little-endian bit sequence."""
    sequence = 0
    for i, value in enumerate(values):
        sequence |= ((value >> first) & ((1 << count) - 1)) << (i * count)
    return sequence.to_bytes(-(-len(values) * count // 8), "little")


@pytest.mark.parametrize(
    ("dtype", "values", "first", "last"),
    [
        ("uint8", [5, 3, 7, 0, 1], 0, 2),
        ("int8", [-1, 2, 5, -8, 7], 1, 3),
        ("uint16", [0x1234, 0xFFFF, 0x0FF0], 4, 12),
        ("int32", [-5, 17, -(2**20), 2**20 - 1], 0, 21),
        ("uint64", [2**63 + 5, 12345, 0], 3, 63),
    ],
)
def test_packbits_matches_the_spec_definition(
    dtype: str, values: list[int], first: int, last: int
) -> None:
    codec = PackBitsCodec(first_bit=first, last_bit=last)
    chunk = np.array(values, dtype)
    unsigned = [int(v) for v in chunk.view(f"u{chunk.itemsize}")]
    blob = bytes(codec.encode(chunk, spec(dtype, chunk.shape)))
    assert blob == _pack_by_hand(unsigned, first, last - first + 1)


def test_packbits_decodes_with_sign_extension() -> None:
    codec = PackBitsCodec(first_bit=1, last_bit=3)
    blob = _pack_by_hand([0b1110, 0b0100], 1, 3)  # bits 1-3: 0b111 and 0b010
    decoded = codec.decode(blob, spec("int8", (2,)))
    assert decoded.tolist() == [-2, 4]  # 0b1110 sign-extended from bit 3


def test_packbits_padding_bytes() -> None:
    bools = np.array([1, 0, 1, 1, 0, 0, 0, 0, 1, 1], bool)
    sequence = _pack_by_hand(bools.astype(int).tolist(), 0, 1)
    first = PackBitsCodec(padding_encoding="first_byte").encode(bools, spec("bool", (10,)))
    last = PackBitsCodec(padding_encoding="last_byte").encode(bools, spec("bool", (10,)))
    assert bytes(first) == bytes([6]) + sequence  # 16 bits hold 10: 6 padding bits
    assert bytes(last) == sequence + bytes([6])
    with pytest.raises(CodecError, match="padding"):
        PackBitsCodec(padding_encoding="first_byte").decode(
            bytes([5]) + sequence, spec("bool", (10,))
        )


def test_packbits_reads_the_schema_spellings() -> None:
    codec = get_codec(
        {
            "name": "packbits",
            "configuration": {"padding_encoding": "start_byte", "start_bit": 1, "end_bit": 2},
        }
    )
    assert codec == PackBitsCodec(padding_encoding="first_byte", first_bit=1, last_bit=2)
    assert codec.to_json()["configuration"] == {
        "padding_encoding": "first_byte",
        "first_bit": 1,
        "last_bit": 2,
    }


def test_packbits_int4_values() -> None:
    needs("ml_dtypes")
    import ml_dtypes

    chunk = np.array([-1, -8, 7, 1, 3], ml_dtypes.int4)
    blob = PackBitsCodec().encode(
        chunk, spec("int8", (5,)).__class__(shape=(5,), dtype=chunk.dtype, fill_value=0)
    )
    assert bytes(blob) == _pack_by_hand([0xF, 0x8, 0x7, 0x1, 0x3], 0, 4)


# --- reshape -----------------------------------------------------------------------------


def test_reshape_spec_example_shape() -> None:
    codec = get_codec({"name": "reshape", "configuration": {"shape": [[0, 1], [2], 3]}})
    assert codec.resolve(spec("uint8", (100, 50, 64, 3))).shape == (5000, 64, 3)


@pytest.mark.parametrize(
    ("shape", "chunk"),
    [
        ([[1], [0]], (2, 3)),  # input dims not increasing
        ([[1, 0], 10, [3, 4]], (2, 3, 4, 5, 6)),
        ([-1, -1], (4,)),
        ([0], (4,)),
        ([3], (4,)),  # 3 elements cannot hold 4
        ([-1, 3], (4,)),
        ([[0], [2]], (2, 3, 4)),  # dimension 1 lost: [2] is not where its input is
        ([[5]], (4,)),
        ("4", (4,)),
    ],
)
def test_reshape_invalid_shapes_raise_naming_shape(shape: Any, chunk: tuple[int, ...]) -> None:
    with pytest.raises(MetadataError) as info:
        CodecPipeline.from_v3(
            [{"name": "reshape", "configuration": {"shape": shape}}, "bytes"], spec("uint8", chunk)
        )
    assert info.value.field == "shape"


def test_reshape_keeps_c_order() -> None:
    chunk = np.arange(24).reshape(2, 3, 4)
    codec = ReshapeCodec(shape=(4, -1))
    encoded = codec.encode(np.asfortranarray(chunk), spec("int64", (2, 3, 4)))
    assert encoded.shape == (4, 6)
    assert encoded.ravel().tolist() == list(range(24))


# --- scale_offset: the spec's examples ----------------------------------------------------


def test_scale_offset_float32_example() -> None:
    codec = get_codec({"name": "scale_offset", "configuration": {"offset": 5, "scale": 0.1}})
    values = np.array([5.0, 15.0, 25.0], "float32")
    expected = (values - np.float32(5)) * np.float32(0.1)  # in float32 arithmetic
    assert codec.encode(values, spec("float32", (3,))).tobytes() == expected.tobytes()


def test_scale_offset_then_cast_uint16_range_reduction() -> None:
    codecs = [
        {"name": "scale_offset", "configuration": {"offset": 1000}},
        {"name": "cast_value", "configuration": {"data_type": "uint8"}},
        "bytes",
    ]
    pipeline = CodecPipeline.from_v3(codecs, spec("uint16", (3,), fill=1000))
    data = np.array([1000, 1128, 1255], "uint16")
    assert bytes(pipeline.encode(data)) == bytes([0, 128, 255])
    assert pipeline.decode(pipeline.encode(data)).tolist() == data.tolist()
    with pytest.raises(CodecError, match="range"):
        pipeline.encode(np.array([1000, 1256, 1000], "uint16"))  # 256 does not fit uint8
    with pytest.raises(CodecError, match="overflows"):
        pipeline.encode(np.array([999, 1000, 1000], "uint16"))  # -1 is not a uint16


def test_scale_offset_float64_to_uint8_with_nan_example() -> None:
    codecs = [
        {"name": "scale_offset", "configuration": {"offset": -10, "scale": 0.1}},
        {
            "name": "cast_value",
            "configuration": {
                "data_type": "uint8",
                "rounding": "nearest-even",
                "scalar_map": {"encode": [["NaN", 0]], "decode": [[0, "NaN"]]},
            },
        },
        "bytes",
    ]
    pipeline = CodecPipeline.from_v3(codecs, spec("float64", (4,), fill=np.nan))
    data = np.array([0.0, 2540.0, np.nan, 1000.0])
    # (x + 10) * 0.1 in float64, then rounded half to even: 1, 255, NaN -> 0, 101
    assert bytes(pipeline.encode(data)) == bytes([1, 255, 0, 101])
    decoded = pipeline.decode(pipeline.encode(data))
    assert np.isnan(decoded[2]) and decoded[1] == 2540.0
    assert pipeline.array_array[1].resolve(pipeline._specs[1]).fill_value == 0


def test_fixedscaleoffset_conversion_example() -> None:
    """The spec's conversion of numcodecs.fixedscaleoffset: float32 10.0..100.0 with
    scale 0.1, offset 10 -> uint8 0..9, fill 10.0 -> 0."""
    codecs = [
        {"name": "scale_offset", "configuration": {"scale": 0.1, "offset": 10}},
        {"name": "cast_value", "configuration": {"data_type": "uint8", "out_of_range": "wrap"}},
        "bytes",
    ]
    pipeline = CodecPipeline.from_v3(codecs, spec("float32", (3,), fill=10.0))
    assert bytes(pipeline.encode(np.array([10.0, 50.0, 100.0], "float32"))) == bytes([0, 4, 9])
    assert pipeline._inner.fill_value == 0 and pipeline._inner.dtype == np.uint8


def test_scale_offset_zero_scale_refused() -> None:
    with pytest.raises(MetadataError) as info:
        CodecPipeline.from_v3(
            [{"name": "scale_offset", "configuration": {"scale": 0}}, "bytes"], spec("int32")
        )
    assert info.value.field == "scale"


# --- cast_value ----------------------------------------------------------------------------


def test_cast_value_numpy_compatibility_example() -> None:
    codec = get_codec(
        {
            "name": "cast_value",
            "configuration": {
                "data_type": "uint8",
                "rounding": "towards-zero",
                "out_of_range": "wrap",
                "scalar_map": {"encode": [["NaN", 0], ["+Infinity", 0], ["-Infinity", 0]]},
            },
        }
    )
    values = np.array([np.nan, np.inf, -np.inf, 300.7, -1.5, 2.9])
    # truncated, then modulo 256: 300 -> 44, -1 -> 255, 2 -> 2
    assert codec.encode(values, spec("float64", (6,))).tolist() == [0, 0, 0, 44, 255, 2]


def test_cast_value_out_of_range_modes() -> None:
    values = np.array([128.0])
    int8 = spec("float64", (1,))
    with pytest.raises(CodecError, match="out of the range"):
        CastValueCodec(data_type="int8").encode(values, int8)
    assert CastValueCodec(data_type="int8", out_of_range="clamp").encode(values, int8)[0] == 127
    assert CastValueCodec(data_type="int8", out_of_range="wrap").encode(values, int8)[0] == -128
    wrap16 = CastValueCodec(data_type="int16", out_of_range="wrap")
    assert wrap16.encode(np.array([32768, 32769, -32769]), spec("int64", (3,))).tolist() == [
        -32768,
        -32767,
        32767,
    ]


def test_cast_value_rounding_modes() -> None:
    values = np.array([2.5, -2.5, 1.5, -0.5])
    expected = {
        "nearest-even": [2, -2, 2, 0],
        "towards-zero": [2, -2, 1, 0],
        "towards-positive": [3, -2, 2, 0],
        "towards-negative": [2, -3, 1, -1],
        "nearest-away": [3, -3, 2, -1],
    }
    for rounding, result in expected.items():
        codec = CastValueCodec(data_type="int8", rounding=rounding)  # type: ignore[arg-type]
        assert codec.encode(values, spec("float64", (4,))).tolist() == result, rounding


def test_cast_value_nan_needs_a_map_for_integers() -> None:
    with pytest.raises(CodecError, match="NaN"):
        CastValueCodec(data_type="int32").encode(np.array([np.nan]), spec("float64", (1,)))
    kept = CastValueCodec(data_type="float32").encode(
        np.array([np.nan, -0.0]), spec("float64", (2,))
    )
    assert np.isnan(kept[0]) and np.signbit(kept[1])


def test_cast_value_first_map_entry_wins() -> None:
    codec = CastValueCodec(data_type="uint8", scalar_map={"encode": [[1.0, 7], [1.0, 9]]})
    assert codec.encode(np.array([1.0, 2.0]), spec("float64", (2,))).tolist() == [7, 2]


def test_cast_value_fill_value_must_round_trip() -> None:
    with pytest.raises(MetadataError) as info:
        CodecPipeline.from_v3(
            [CastValueCodec(data_type="uint8"), "bytes"], spec("float64", fill=0.5)
        )
    assert info.value.field == "fill_value"
    with pytest.raises(MetadataError) as info:  # NaN -> 0 on the way in, but 0 -> 0.0 back
        CodecPipeline.from_v3(
            [CastValueCodec(data_type="uint8", scalar_map={"encode": [["NaN", 0]]}), "bytes"],
            spec("float64", fill=np.nan),
        )
    assert info.value.field == "fill_value"


def test_cast_value_hands_on_type_and_fill() -> None:
    pipeline = CodecPipeline.from_v3(
        [CastValueCodec(data_type="int16"), "bytes"], spec("float32", fill=-3.0)
    )
    assert pipeline._inner.dtype == np.int16 and pipeline._inner.fill_value == -3
    assert pipeline.to_v3_json()[1] == {"name": "bytes", "configuration": {"endian": "little"}}


# --- zfp (JSON, so that the module imports without zfpy: the zfp extra) ----------------
ZFP_REVERSIBLE = {"name": "zfp", "configuration": {"mode": "reversible"}}


def needs_zfpy_for(codecs: list[Any]) -> None:
    """Skip where zfpy is missing (the no-extras job) if ``codecs`` hold a zfp codec."""
    if any(isinstance(c, dict) and "zfp" in c["name"] for c in codecs):
        needs("zfpy")


@pytest.mark.parametrize(
    "configuration",
    [
        {"mode": "fixed_accuracy", "tolerance": 0.05},
        {"mode": "fixed_rate", "rate": 10.5},
        {"mode": "fixed_precision", "precision": 19},
        {"mode": "reversible"},
    ],
)
def test_zfp_spec_example_configurations(configuration: dict[str, Any]) -> None:
    codec = get_codec({"name": "zfp", "configuration": configuration})
    assert codec.to_json() == {"name": "zfp", "configuration": configuration}
    data = np.linspace(-1, 1, 100).reshape(10, 10)
    pipeline = CodecPipeline.from_v3([codec], spec("float64", (10, 10)))
    decoded = pipeline.decode(pipeline.encode(data))
    assert np.abs(decoded - data).max() <= configuration.get("tolerance", 0.01)


def test_zfp_small_integers_use_the_spec_promotion() -> None:
    data = np.array([-128, -1, 0, 1, 127], "int8")
    pipeline = CodecPipeline.from_v3([ZFP_REVERSIBLE], spec("int8", (5,)))
    assert pipeline.decode(pipeline.encode(data)).tolist() == data.tolist()


# --- configuration errors name the field ---------------------------------------------------

BAD = [
    ({"name": "bitround", "configuration": {}}, "keepbits"),
    ({"name": "bitround", "configuration": {"keepbits": 0}}, "keepbits"),
    ({"name": "bitround", "configuration": {"keepbits": 3, "x": 1}}, "x"),
    ({"name": "packbits", "configuration": {"padding_encoding": "middle"}}, "padding_encoding"),
    ({"name": "packbits", "configuration": {"first_bit": -1}}, "first_bit"),
    ({"name": "packbits", "configuration": {"first_bit": 3, "last_bit": 2}}, "last_bit"),
    ({"name": "reshape", "configuration": {}}, "shape"),
    ({"name": "scale_offset", "configuration": {"offset": [1]}}, "offset"),
    ({"name": "scale_offset", "configuration": {"factor": 2}}, "factor"),
    ({"name": "cast_value", "configuration": {}}, "data_type"),
    ({"name": "cast_value", "configuration": {"data_type": "string"}}, "data_type"),
    ({"name": "cast_value", "configuration": {"data_type": "int8", "rounding": "up"}}, "rounding"),
    (
        {"name": "cast_value", "configuration": {"data_type": "float32", "out_of_range": "wrap"}},
        "out_of_range",
    ),
    (
        {"name": "cast_value", "configuration": {"data_type": "int8", "scalar_map": {"both": []}}},
        "scalar_map",
    ),
    (
        {
            "name": "cast_value",
            "configuration": {"data_type": "int8", "scalar_map": {"encode": [[1]]}},
        },
        "scalar_map",
    ),
    ({"name": "zfp", "configuration": {}}, "mode"),
    ({"name": "zfp", "configuration": {"mode": "fixed_rate"}}, "rate"),
    ({"name": "zfp", "configuration": {"mode": "fixed_rate", "rate": -1}}, "rate"),
    ({"name": "zfp", "configuration": {"mode": "reversible", "rate": 4}}, "rate"),
    (
        {
            "name": "zfp",
            "configuration": {
                "mode": "expert",
                "minbits": 1,
                "maxbits": 2,
                "maxprec": 3,
                "minexp": -4,
            },
        },
        "mode",
    ),
    ({"name": "zfp", "configuration": {"mode": "fast"}}, "mode"),
]


@pytest.mark.parametrize(("entry", "field"), BAD, ids=[str(e) for e, _ in BAD])
def test_bad_config_names_the_field(entry: dict[str, Any], field: str) -> None:
    with pytest.raises(MetadataError) as info:
        get_codec(entry)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("codecs", "dtype", "shape", "field"),
    [
        ([BitroundCodec(keepbits=2), "bytes"], "bool", (4,), "data_type"),
        ([PackBitsCodec(last_bit=8)], "uint8", (4,), "last_bit"),
        ([PackBitsCodec()], "<U3", (4,), "data_type"),
        ([ScaleOffsetCodec(offset=1)], "complex64", (4,), "data_type"),
        ([ScaleOffsetCodec(offset=0.5), "bytes"], "int32", (4,), "offset"),
        ([ZFP_REVERSIBLE], "bool", (4,), "data_type"),
        (
            [{"name": "zfp", "configuration": {"mode": "fixed_accuracy", "tolerance": 0.1}}],
            "int32",
            (4,),
            "mode",
        ),
        ([ZFP_REVERSIBLE], "float32", (1, 1, 1, 1, 2), "codecs"),
    ],
)
def test_codecs_refuse_chunk_specs_naming_the_field(
    codecs: list[Any], dtype: str, shape: tuple[int, ...], field: str
) -> None:
    needs_zfpy_for(codecs)
    with pytest.raises(MetadataError) as info:
        CodecPipeline.from_v3(codecs, spec(dtype, shape))
    assert info.value.field == field


# --- both names of the numcodecs twins, arrays end to end, availability --------------------


def test_registry_names_and_numcodecs_names_are_both_registered() -> None:
    names = {c.name for c in available()}
    assert names >= {"bitround", "numcodecs.bitround", "packbits", "numcodecs.packbits"}
    assert names >= {"zfp", "numcodecs.zfpy", "scale_offset", "numcodecs.fixedscaleoffset"}
    assert names >= {"cast_value", "reshape"}


@pytest.mark.parametrize(
    "codecs",
    [
        [{"name": "bitround", "configuration": {"keepbits": 10}}, "bytes"],
        [{"name": "numcodecs.bitround", "configuration": {"keepbits": 10}}, "bytes"],
        [
            {"name": "scale_offset", "configuration": {"offset": 1, "scale": 4}},
            {"name": "cast_value", "configuration": {"data_type": "int16"}},
            "bytes",
        ],
        [
            {"name": "reshape", "configuration": {"shape": [-1]}},
            {"name": "zfp", "configuration": {"mode": "fixed_accuracy", "tolerance": 0.01}},
        ],
        [{"name": "numcodecs.zfpy", "configuration": {"mode": 4, "tolerance": 0.01}}],
    ],
)
def test_arrays_round_trip_through_the_store(tmp_path: Any, codecs: list[Any]) -> None:
    needs_zfpy_for(codecs)
    data = np.arange(60, dtype="float32").reshape(6, 10) / 4
    written = zarrkit.create_array(
        tmp_path / "a.zarr",
        shape=(6, 10),
        chunks=(4, 4),
        dtype="float32",
        fill_value=1.0,
        filters=codecs[:-1],
        serializer=codecs[-1],
        compressors=None,
    )
    written[:] = data
    reread = zarrkit.open_array(tmp_path / "a.zarr", mode="r")
    assert [c["name"] for c in reread.metadata.to_json()["codecs"]] == [
        c if isinstance(c, str) else c["name"] for c in codecs
    ]
    np.testing.assert_allclose(reread[:], data, atol=0.01)


def test_available_reports_usable_and_where_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    needs("zfpy")
    found = {c.name: c for c in available()}
    assert found["zstd"].usable and found["zstd"].install is None
    assert found["zfp"].usable and found["zfp"].install == "zarrkit[zfp]"
    assert found["numcodecs.zfpy"].module == "numcodecs.zfpy"
    monkeypatch.setitem(__import__("sys").modules, "zfpy", None)  # as if not installed
    missing = {c.name: c for c in available()}
    assert not missing["zfp"].usable and missing["zfp"].module == "zfpy"
