"""The interoperability case matrix: what to write, with which data, and who can do it.

A ``Case`` describes one array in zarr-python 3's terms (``create_array`` keyword names,
codecs as their metadata JSON). ``all_cases()`` is a covering design, not a cartesian
product: every data type meets every codec family once, and the fill value kind, key
separator, shape (edge chunks, 0-d, zero-length), memory order, attributes and dimension
names rotate across those cases so that each of their values meets every data type.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numcodecs
import numpy as np

from .docs import Doc, Json, fill_from_json, normalize_doc

PEERS = ("zarr3", "zarr2", "tensorstore")
V3_DTYPES = (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128",
)  # fmt: skip
V2_DTYPES = (
    "|b1",
    "|i1",
    "|u1",
    *(
        order + code
        for code in ("i2", "i4", "i8", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16")
        for order in "<>"
    ),
)
SHAPES = (  # (shape, chunks)
    ((7, 5), (3, 2)),  # partial edge chunks on both axes
    ((10,), (4,)),
    ((4, 3, 5), (2, 2, 3)),
    ((), ()),  # 0-d
    ((6, 4), (3, 2)),  # an exact multiple
    ((0, 4), (2, 2)),  # zero-length dimension
    ((9,), (9,)),  # a single chunk
    ((5, 6), (4, 4)),
    ((12,), (5,)),
    ((3, 0, 2), (2, 2, 2)),
)
V3_KEY_ENCODINGS = (("default", "/"), ("default", "."), ("v2", "."), ("v2", "/"))
ATTRIBUTES = {"title": "interop", "nested": {"list": [1, 2.5, "x", None]}, "unicode": "µ-δ"}
# Filters that change values (the expected data is their numcodecs round trip) and
# filters whose arithmetic needs finite, small data.
LOSSY = frozenset({"quantize", "bitround", "fixedscaleoffset", "astype"})
NEEDS_PLAIN_DATA = LOSSY | {"delta"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    """One array to write and read back.

    ``dtype`` is a NumPy type string with byte order for Zarr v2 (``"<i4"``, ``"|b1"``)
    and a data type name for v3 (``"int32"``). Codecs are metadata JSON: numcodecs
    configs for v2 (``filters``, at most one of ``compressors``), v3 codec objects for v3
    (``filters`` array->array, ``serializer`` array->bytes, ``compressors`` bytes->bytes).
    ``fill_value`` is in its JSON form (``"NaN"``, ``[1.5, "-Infinity"]``, ``None``).
    """

    id: str
    zarr_format: int
    dtype: str
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    filters: tuple[Json, ...] = ()
    serializer: Json = None
    compressors: tuple[Json, ...] = ()
    key_encoding: str = "v2"
    separator: str = "."
    fill_value: Json = 0
    order: str = "C"
    attributes: Json = None
    dimension_names: tuple[str | None, ...] | None = None

    @property
    def numpy_dtype(self) -> np.dtype[Any]:
        return np.dtype(self.dtype)

    @property
    def codec_ids(self) -> tuple[str, ...]:
        """Every codec's numcodecs id or v3 name, ``numcodecs.`` prefix removed, in order."""
        codecs = [*self.filters, *([self.serializer] if self.serializer else []), *self.compressors]
        return tuple(codec_id(c) for c in codecs)

    @property
    def shards(self) -> tuple[int, ...] | None:
        """The shard shape when the serializer is the sharding codec (then ``chunks``)."""
        sharded = self.serializer is not None and self.serializer["name"] == "sharding_indexed"
        return self.chunks if sharded else None

    @property
    def read_chunks(self) -> tuple[int, ...]:
        """What an array's ``chunks`` reports: the inner chunk shape of a sharded array."""
        if self.shards is None:
            return self.chunks
        return tuple(self.serializer["configuration"]["chunk_shape"])

    @property
    def fill_scalar(self) -> Any:
        return fill_from_json(self.fill_value, self.numpy_dtype)

    def create_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for zarr-python 3's (and zarrkit's) ``create_array``."""
        v3 = self.zarr_format == 3
        return {
            "shape": self.shape,
            "dtype": self.dtype,
            "chunks": self.chunks,
            "filters": list(self.filters),
            "compressors": list(self.compressors),
            "serializer": self.serializer if v3 else "auto",
            "fill_value": self.fill_scalar,
            "order": self.order,
            "zarr_format": self.zarr_format,
            "attributes": dict(self.attributes or {}),
            "chunk_key_encoding": {"name": self.key_encoding, "separator": self.separator},
            "dimension_names": self.dimension_names,
        }

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Case:
        tuples = ("shape", "chunks", "filters", "compressors")
        fixed = {k: tuple(v) if k in tuples else v for k, v in data.items()}
        if fixed.get("dimension_names") is not None:
            fixed["dimension_names"] = tuple(fixed["dimension_names"])
        return cls(**fixed)


def codec_id(codec: Json) -> str:
    name = codec["id"] if "id" in codec else codec["name"]
    return str(name).removeprefix("numcodecs.")


def fill_kinds(dtype: np.dtype[Any], zarr_format: int) -> tuple[tuple[str, Json], ...]:
    """The fill value kinds for a data type: (label, JSON value)."""
    kinds: tuple[tuple[str, Json], ...]
    if dtype.kind == "b":
        kinds = (("true", True), ("false", False))
    elif dtype.kind in "iu":
        number = -7 if dtype.kind == "i" else 7
        kinds = (("0", 0), ("num", number), ("max", int(np.iinfo(dtype).max)))
    elif dtype.kind == "f":
        kinds = (("0", 0.0), ("num", 1.5), ("nan", "NaN"), ("inf", "Infinity"))
        kinds += (("ninf", "-Infinity"),)
    else:
        kinds = (("c0", [0.0, 0.0]), ("cnum", [1.5, -2.0]), ("cnan", ["NaN", 0.0]))
        kinds += (("cinf", ["Infinity", "-Infinity"]),)
    return kinds + ((("null", None),) if zarr_format == 2 else ())


# --- codec variants ---------------------------------------------------------------------
# A variant maps (dtype, chunks, rotation index k) to (label, filters, serializer,
# compressors), or to None where it does not apply; ``min_ndim`` says which shapes it needs.

Codecs = tuple[str, tuple[Json, ...], Json, tuple[Json, ...]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Variant:
    build: Callable[[np.dtype[Any], tuple[int, ...], int], Codecs | None]
    min_ndim: int = 0


def _bytes(dtype: np.dtype[Any], endian: str = "little") -> Json:
    if dtype.itemsize == 1:
        return {"name": "bytes"}
    return {"name": "bytes", "configuration": {"endian": endian}}


def _nc(name: str, **config: Any) -> Json:
    return {"name": f"numcodecs.{name}", "configuration": config}


def _transpose(ndim: int) -> Json:
    return {"name": "transpose", "configuration": {"order": list(range(ndim))[::-1]}}


def _gzip3(k: int) -> Json:
    return {"name": "gzip", "configuration": {"level": (1, 6)[k % 2]}}


def _zstd3(k: int) -> Json:
    return {"name": "zstd", "configuration": {"level": (3, 1)[k % 2], "checksum": bool(k % 2)}}


_CRC32C = {"name": "crc32c"}
_BLOSC = (
    ("lz4", "shuffle"),
    ("zstd", "bitshuffle"),
    ("blosclz", "noshuffle"),
    ("lz4", "bitshuffle"),
)
_V2_SHUFFLE = {"noshuffle": 0, "shuffle": 1, "bitshuffle": 2}


def _blosc3(dtype: np.dtype[Any], k: int) -> Json:
    cname, shuffle = _BLOSC[k % len(_BLOSC)]
    config = {"cname": cname, "clevel": 5, "shuffle": shuffle, "typesize": dtype.itemsize}
    return {"name": "blosc", "configuration": {**config, "blocksize": 0}}


def _blosc2(k: int) -> Json:
    cname, shuffle = _BLOSC[k % len(_BLOSC)]
    return {
        "id": "blosc",
        "cname": cname,
        "clevel": 5,
        "shuffle": _V2_SHUFFLE[shuffle],
        "blocksize": 0,
    }


def _blosc_label(k: int) -> str:
    return "blosc-" + "-".join(_BLOSC[k % len(_BLOSC)])


def _shard(dtype: np.dtype[Any], chunks: tuple[int, ...], k: int) -> Json:
    inner = [c // 2 if c % 2 == 0 else c for c in chunks]
    codecs = [_bytes(dtype), _gzip3(1)][: 1 + k % 2]
    index = [{"name": "bytes", "configuration": {"endian": "little"}}, _CRC32C]
    location = ("end", "start")[k % 2]
    config = {
        "chunk_shape": inner,
        "codecs": codecs,
        "index_codecs": index,
        "index_location": location,
    }
    return {"name": "sharding_indexed", "configuration": config}


_NC3_COMPRESSORS = (
    _nc("zlib", level=1),
    _nc("lz4", acceleration=1),
    _nc("bz2", level=1),
    _nc("lzma", format=1, check=-1, preset=None, filters=None),
    _nc("gzip", level=1),
    _nc("zstd", level=1, checksum=False),
    _nc("crc32"),
    _nc("adler32"),
    _nc("fletcher32"),
)


def _nc3_compressor(offset: int) -> Variant:
    def build(d: np.dtype[Any], chunks: tuple[int, ...], k: int) -> Codecs:
        codec = _NC3_COMPRESSORS[(k + offset) % len(_NC3_COMPRESSORS)]
        return f"nc-{codec_id(codec)}", (), _bytes(d), (codec,)

    return Variant(build=build)


def _v3_variants() -> Iterator[Variant]:
    yield Variant(build=lambda d, c, k: ("raw", (), _bytes(d), ()))
    yield Variant(
        build=lambda d, c, k: ("be", (), _bytes(d, "big"), ()) if d.itemsize > 1 else None,
    )
    yield Variant(
        min_ndim=2,
        build=lambda d, c, k: ("transpose", (_transpose(len(c)),), _bytes(d), ()),
    )
    yield Variant(
        build=lambda d, c, k: (f"gzip{(1, 6)[k % 2]}", (), _bytes(d), (_gzip3(k),)),
    )
    yield Variant(build=lambda d, c, k: (f"zstd{k % 2}", (), _bytes(d), (_zstd3(k),)))
    for offset in (0, 2):
        yield Variant(
            build=lambda d, c, k, o=offset: (
                _blosc_label(k + o),
                (),
                _bytes(d),
                (_blosc3(d, k + o),),
            ),
        )
    yield Variant(build=lambda d, c, k: ("crc32c", (), _bytes(d), (_CRC32C,)))
    yield Variant(
        min_ndim=2,
        build=lambda d, c, k: (
            "chain",
            (_transpose(len(c)),),
            _bytes(d, "big"),
            (_zstd3(k), _CRC32C),
        ),
    )
    yield Variant(build=lambda d, c, k: (f"shard{k % 2}", (), _shard(d, c, k), ()))
    yield _nc3_compressor(0)
    yield _nc3_compressor(4)


_V2_COMPRESSORS: tuple[Json, ...] = (
    None,
    {"id": "zlib", "level": 1},
    {"id": "gzip", "level": 5},
    {"id": "zstd", "level": 3, "checksum": False},
    {"id": "lz4", "acceleration": 1},
    {"id": "bz2", "level": 1},
    {"id": "lzma", "format": 1, "check": -1, "preset": None, "filters": None},
)


def _v2_variants() -> Iterator[Variant]:
    for compressor in _V2_COMPRESSORS:
        label = codec_id(compressor) if compressor else "none"
        yield Variant(
            build=lambda d, c, k, x=compressor, lb=label: (lb, (), None, (x,) if x else ()),
        )
    for offset in (0, 2):
        yield Variant(
            build=lambda d, c, k, o=offset: (_blosc_label(k + o), (), None, (_blosc2(k + o),)),
        )
    shuffle = lambda d: {"id": "shuffle", "elementsize": d.itemsize}  # noqa: E731
    yield Variant(
        build=lambda d, c, k: ("shuffle", (shuffle(d),), None, ({"id": "zlib", "level": 1},)),
    )


def _narrower(dtype: np.dtype[Any]) -> np.dtype[Any] | None:
    """A smaller type of the same kind and byte order, for the astype filter."""
    smallest = {"i": 1, "u": 1, "f": 2, "c": 8}.get(dtype.kind)
    if smallest is None or dtype.itemsize <= smallest:
        return None
    return np.dtype(f"{dtype.byteorder}{dtype.kind}{dtype.itemsize // 2}")


def value_filters(dtype: np.dtype[Any]) -> dict[str, Json]:
    """numcodecs filter configs (with ``id``) that apply to ``dtype``, by id."""
    s, kind = dtype.str, dtype.kind
    out: dict[str, Json] = {}
    if kind in "iuf":
        out["delta"] = {"id": "delta", "dtype": s, "astype": s}
        astype = s if kind != "f" else s[0] + "i4"
        out["fixedscaleoffset"] = {
            "id": "fixedscaleoffset",
            "scale": 4,
            "offset": 3,
            "dtype": s,
            "astype": astype,
        }
    if kind == "f" and dtype.itemsize >= 4:
        out["quantize"] = {"id": "quantize", "digits": 1, "dtype": s, "astype": s}
        if dtype.byteorder in "=<":  # numcodecs' bitround looks up native type names only
            out["bitround"] = {"id": "bitround", "keepbits": 3}
    narrow = _narrower(dtype)
    if narrow is not None:
        out["astype"] = {"id": "astype", "encode_dtype": narrow.str, "decode_dtype": s}
    if kind == "b":
        out["packbits"] = {"id": "packbits"}
    return out


def _filter_variants(fmt: int) -> Iterator[Variant]:
    """One variant per value filter; each applies where ``value_filters`` offers it."""
    compressors2 = (None, {"id": "zlib", "level": 1}, _blosc2(0))
    for n, fid in enumerate(
        ("astype", "bitround", "delta", "fixedscaleoffset", "packbits", "quantize")
    ):

        def build(
            d: np.dtype[Any], c: tuple[int, ...], k: int, fid: str = fid, n: int = n
        ) -> Codecs | None:
            config = value_filters(d).get(fid)
            if config is None:
                return None
            if fmt == 2:
                compressor = compressors2[n % 3]
                return fid, (config,), None, (compressor,) if compressor else ()
            v3 = _nc(fid, **{key: v for key, v in config.items() if key != "id"})
            return f"nc-{fid}", (v3,), _bytes(d), ()

        yield Variant(build=build)


# --- the generator -----------------------------------------------------------------------


def _shape_for(k: int, min_ndim: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    for step in range(len(SHAPES)):
        shape, chunks = SHAPES[(k + step) % len(SHAPES)]
        if len(shape) >= min_ndim:
            return shape, chunks
    raise ValueError(f"no shape with ndim >= {min_ndim}")


def _shape_tag(shape: tuple[int, ...], chunks: tuple[int, ...]) -> str:
    if not shape:
        return "0d"
    return "x".join(map(str, shape)) + "c" + "x".join(map(str, chunks))


def _dtype_tag(dtype: str) -> str:
    order = {"<": "le", ">": "be", "|": ""}.get(dtype[0])
    return dtype if order is None else dtype[1:] + order


def _make_case(fmt: int, dtype: str, i: int, j: int, variant: Variant) -> Case | None:
    npd = np.dtype(dtype)
    k = i + j
    shape, chunks = _shape_for(i * 3 + j, variant.min_ndim)
    codecs = variant.build(npd, chunks, k)
    if codecs is None:
        return None
    label, filters, serializer, compressors = codecs
    kinds = fill_kinds(npd, fmt)
    fill_label, fill = kinds[k % len(kinds)]
    if fmt == 3:
        key_encoding, separator = V3_KEY_ENCODINGS[(i + j) % 4]
        sep_tag = f"k{key_encoding}{'slash' if separator == '/' else 'dot'}"
    else:
        key_encoding, separator = "v2", "./"[(i + j // 2) % 2]
        sep_tag = "slash" if separator == "/" else "dot"
    order = "F" if fmt == 2 and len(shape) >= 2 and k % 2 else "C"
    names = ("z", None, "x")[-len(shape) :] if fmt == 3 and shape and k % 3 == 1 else None
    parts = [
        f"v{fmt}",
        _dtype_tag(dtype),
        label,
        f"f{fill_label}",
        sep_tag,
        _shape_tag(shape, chunks),
    ]
    return Case(
        id="-".join(parts) + ("-F" if order == "F" else ""),
        zarr_format=fmt,
        dtype=dtype,
        shape=shape,
        chunks=chunks,
        filters=filters,
        serializer=serializer,
        compressors=compressors,
        key_encoding=key_encoding,
        separator=separator,
        fill_value=fill,
        order=order,
        attributes=dict(ATTRIBUTES) if k % 3 == 0 else None,
        dimension_names=tuple(names) if names else None,
    )


@functools.cache
def all_cases() -> tuple[Case, ...]:
    """Every case of the matrix, in a stable order."""
    cases = []
    for fmt, dtypes, variants in ((3, V3_DTYPES, _v3_variants), (2, V2_DTYPES, _v2_variants)):
        for i, dtype in enumerate(dtypes):
            j = 0
            for variant in (*variants(), *_filter_variants(fmt)):
                case = _make_case(fmt, dtype, i, j, variant)
                if case is not None:
                    cases.append(case)
                    j += 1
    return tuple(cases)


# --- which peer can do what ----------------------------------------------------------------

_TS_V2_COMPRESSORS = {"zlib", "gzip", "bz2", "blosc", "zstd"}
_TS_V3_CODECS = {"bytes", "transpose", "gzip", "zstd", "blosc", "crc32c", "sharding_indexed"}


def unsupported(peer: str, case: Case, role: str) -> str | None:
    """Why ``peer`` cannot ``role`` ("write" or "read") ``case``, or None if it can."""
    if peer == "zarr2":
        return _zarr2_unsupported(case, role)
    if peer == "zarr3":
        return _zarr3_unsupported(case, role)
    if case.zarr_format == 2:
        if case.filters:
            return "tensorstore's zarr driver has no filters"
        if case.compressors and codec_id(case.compressors[0]) not in _TS_V2_COMPRESSORS:
            return f"tensorstore's zarr driver has no {codec_id(case.compressors[0])!r} compressor"
        if role == "write" and case.attributes:
            return "tensorstore's zarr driver does not write .zattrs"
        if role == "read" and case.compressors and codec_id(case.compressors[0]) == "zstd":
            return 'tensorstore\'s zarr driver rejects the zstd "checksum" member numcodecs writes'
        return None
    names = {c["name"] for c in (*case.filters, case.serializer, *case.compressors)}
    missing = sorted(names - _TS_V3_CODECS)
    return f"tensorstore's zarr3 driver lacks {missing}" if missing else None


def _quantize_bug(case: Case, role: str) -> str | None:
    """numcodecs' Quantize.encode returns a native-order scalar for a 0-d chunk, which
    its decode then reads as the big-endian dtype: zarr-python stores garbage there."""
    if (
        role == "write"
        and not case.shape
        and case.numpy_dtype.byteorder == ">"
        and any(codec_id(c) == "quantize" for c in case.filters)
    ):
        return "numcodecs Quantize corrupts 0-d big-endian chunks that zarr-python writes"
    return None


def _zarr3_unsupported(case: Case, role: str) -> str | None:
    if role == "write" and not case.shape and case.shards is not None:
        return "zarr-python 3.1.6 fails writing a 0-d sharded array (IndexError in sharding.py)"
    return _quantize_bug(case, role)


def _zarr2_unsupported(case: Case, role: str) -> str | None:
    if case.zarr_format == 3:
        return "zarr-python 2 has no Zarr v3"
    if role == "write" and not case.shape and (case.filters or case.compressors):
        return "zarr-python 2.18.7 drops the compressor and filters of 0-d arrays"
    if _quantize_bug(case, role):
        return _quantize_bug(case, role)
    fill = case.fill_scalar
    if (
        role == "read"
        and isinstance(fill, complex)
        and (math.isinf(fill.real) or math.isinf(fill.imag))
    ):
        return "zarr-python 2.18.7 reads a complex fill value with an infinite part as NaN"
    return None


def peers_for(case: Case, role: str) -> tuple[str, ...]:
    return tuple(p for p in PEERS if unsupported(p, case, role) is None)


# --- data ------------------------------------------------------------------------------------


def _base_values(dtype: np.dtype[Any], n: int) -> np.ndarray:
    """Varied values with no zeros (so no chunk reads as "empty" when fill_value is null)."""
    k = np.arange(n)
    if dtype.kind == "b":
        return k % 3 != 0  # no two neighbours are both False
    if dtype.kind in "iu":
        v = (k * 37 + 11) % 251 - (125 if dtype.kind == "i" else -1)
        return np.where(v == 0, 126, v)
    # Multiples of 1/32 below 16 in magnitude: exact even in float16 (so delta round-trips),
    # yet finer than what the quantize, bitround and fixedscaleoffset cases keep.
    re = (k * 8 + 4 - 4 * n + k % 4) / 32
    re = np.where(re == 0, 0.75, re)
    return re if dtype.kind == "f" else re - 1j * re[::-1]


def _specials(dtype: np.dtype[Any]) -> list[Any]:
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return [info.max, info.min]
    if dtype.kind == "b":
        return []
    big = float(np.finfo(dtype).max)
    if dtype.kind == "f":
        return [math.nan, math.inf, -math.inf, big, -0.0]
    return [
        complex(math.nan, 1),
        complex(math.inf, -math.inf),
        complex(-math.inf, math.nan),
        complex(big, -0.0),
    ]


def _last_chunk(case: Case) -> tuple[slice, ...]:
    return tuple(slice((s - 1) // c * c, s) for s, c in zip(case.shape, case.chunks, strict=True))


def _nchunks(case: Case) -> int:
    return math.prod(-(-s // c) for s, c in zip(case.shape, case.chunks, strict=True))


def make_data(case: Case) -> np.ndarray:
    """The array every writer writes for ``case`` (deterministic).

    Special values (NaN, +-inf, -0.0, extremes) sit at the first flat positions unless a
    filter needs plain data; the last chunk holds the fill value (so a writer may skip
    it and a reader must produce it) when there are several chunks and no lossy filter.
    """
    dtype = case.numpy_dtype
    n = math.prod(case.shape)
    values = _base_values(dtype, n).astype(dtype)
    if not set(case.codec_ids) & NEEDS_PLAIN_DATA:
        specials = _specials(dtype)[:n]
        values[: len(specials)] = np.array(specials, dtype=dtype)
    data = values.reshape(case.shape)
    if case.fill_value is not None and _nchunks(case) > 1 and not set(case.codec_ids) & LOSSY:
        data[_last_chunk(case)] = case.fill_scalar
    return data


def _numcodecs_config(codec: Json) -> Json:
    if "id" in codec:
        return codec
    return {"id": codec_id(codec), **codec.get("configuration", {})}


def expected_data(case: Case) -> np.ndarray:
    """What every reader must return: ``make_data`` through the lossy filters."""
    data = make_data(case)
    for codec in case.filters:
        if codec_id(codec) in LOSSY and data.size:
            filt = numcodecs.get_codec(_numcodecs_config(codec))
            # through a 1-d view: numcodecs' Quantize garbles 0-d big-endian input
            decoded = np.asarray(filt.decode(filt.encode(data.reshape(-1))))
            data = decoded.reshape(case.shape).astype(case.numpy_dtype)
    return data


# --- the metadata every implementation must agree on ------------------------------------------


def stored_form(case: Case) -> Doc:
    """``case`` as a metadata document in its stored form (v2 ``.zarray`` plus ``attributes``)."""
    common = {
        "zarr_format": case.zarr_format,
        "shape": list(case.shape),
        "fill_value": case.fill_value,
    }
    if case.zarr_format == 2:
        return common | {
            "chunks": list(case.chunks),
            "dtype": case.dtype,
            "order": case.order,
            "filters": list(case.filters) or None,
            "compressor": case.compressors[0] if case.compressors else None,
            "dimension_separator": case.separator,
            "attributes": dict(case.attributes or {}),
        }
    doc = common | {
        "node_type": "array",
        "data_type": case.dtype,
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(case.chunks)}},
        "chunk_key_encoding": {
            "name": case.key_encoding,
            "configuration": {"separator": case.separator},
        },
        "codecs": [*case.filters, case.serializer, *case.compressors],
    }
    if case.attributes:
        doc["attributes"] = dict(case.attributes)
    if case.dimension_names:
        doc["dimension_names"] = list(case.dimension_names)
    return doc


def expected_doc(case: Case) -> Doc:
    """The canonical metadata every writer must store and every reader report for ``case``."""
    return normalize_doc(stored_form(case))


# --- the matrix --------------------------------------------------------------------------------

_SPEC_FIXED_V3 = frozenset({"bytes", "transpose", "gzip", "zstd", "crc32c"})
_SPEC_FIXED_V2 = frozenset({"gzip", "zstd"})


def spec_fixes_bytes(case: Case) -> bool:
    """Whether the specs fix every stored byte (metadata content, chunks at a given level)."""
    if case.zarr_format == 2:
        return not case.filters and all(c["id"] in _SPEC_FIXED_V2 for c in case.compressors)
    return all(
        c["name"] in _SPEC_FIXED_V3 for c in (*case.filters, case.serializer, *case.compressors)
    )


def writer_pairs() -> list[tuple[str, Case]]:
    """(peer, case) for every peer that can write the case: peer writes, subject reads."""
    return [(peer, case) for case in all_cases() for peer in peers_for(case, "write")]


def reader_pairs() -> list[tuple[str, Case]]:
    """(peer, case) for every peer that can read the case: subject writes, peer reads."""
    return [(peer, case) for case in all_cases() for peer in peers_for(case, "read")]


def same_bytes_cases() -> list[Case]:
    return [case for case in all_cases() if spec_fixes_bytes(case)]


def matrix_plan() -> dict[str, Any]:
    directions = {
        "peer->subject": len(writer_pairs()),
        "subject->peer": len(reader_pairs()),
        "same-bytes": len(same_bytes_cases()),
    }
    return {"cases": len(all_cases()), "directions": directions, "checks": sum(directions.values())}
