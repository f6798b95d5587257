"""``zfp``: lossy or lossless compression of 1-4 dimensional numeric chunks (array->bytes).

Spec: https://github.com/zarr-developers/zarr-extensions/tree/main/codecs/zfp
v3 name: ``zfp``; v2 id: none (``numcodecs.zfpy``, in v3 and v2, writes a zfp header and
numbers its modes; it stays a codec of its own).
Config: ``{"name": "zfp", "configuration": {"mode": "fixed_accuracy", "tolerance": 0.05}}``;
modes ``reversible``, ``fixed_accuracy`` (``tolerance``), ``fixed_rate`` (``rate``),
``fixed_precision`` (``precision``) and ``expert``.

Compressed by the zfp library through ``zfpy`` (``pip install zarrkit[zfp]``), without the
zfp header. ``expert`` mode is refused: zfpy cannot set its parameters. Types as the spec
promotes them: int8/16 and uint8/16 shifted into int32, float16 and bfloat16 cast to
float32, uint32/64 clamped to the signed range (as zarrs does: the spec names no mapping).
A zfp stream has no length or checksum: decoding checks that its size is whole 64-bit words
within zfp's bound and reads from a zero-padded copy, so a truncated chunk decodes to wrong
values but never reads past its buffer; add ``crc32c`` to detect corruption.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Self

import numpy as np

from zarrkit.codecs.base import JSON, ArrayBytesCodec, ChunkSpec
from zarrkit.codecs.buffers import blob_size
from zarrkit.codecs.parse import parse_choice, parse_int
from zarrkit.errors import CodecError, MetadataError, UnknownCodecError
from zarrkit.types import Blob

try:
    import zfpy
except ImportError:  # pragma: no cover - the zfp extra is installed in the test environment
    zfpy = None

Mode = Literal["reversible", "fixed_accuracy", "fixed_rate", "fixed_precision", "expert"]
#: The option each mode takes.
_OPTIONS = {"reversible": None, "fixed_accuracy": "tolerance", "fixed_rate": "rate"}
_OPTIONS.update(fixed_precision="precision")
#: Array dtype -> the type zfp compresses it as.
_PROMOTED = {"int8": "int32", "int16": "int32", "uint8": "int32", "uint16": "int32"}
_PROMOTED.update(uint32="int32", uint64="int64", float16="float32", bfloat16="float32")
_NATIVE = ("int32", "int64", "float32", "float64")


@dataclass(frozen=True, slots=True, kw_only=True)
class ZfpCodec(ArrayBytesCodec):
    """Compress chunks with zfp in ``mode``.

    Examples
    --------
    >>> ZfpCodec(mode="fixed_rate", rate=8).to_json()
    {'name': 'zfp', 'configuration': {'mode': 'fixed_rate', 'rate': 8}}
    """

    name: ClassVar[str] = "zfp"
    requires: ClassVar[tuple[str, str] | None] = ("zfpy", "zarrkit[zfp]")
    mode: Mode
    tolerance: float | None = None
    rate: float | None = None
    precision: int | None = None

    @classmethod
    def from_json(cls, configuration: Any) -> Self:
        if isinstance(configuration, dict) and configuration.get("mode") == "expert":
            raise MetadataError(
                "codec 'zfp': mode 'expert' is not supported (zfpy cannot set its parameters)",
                field="mode",
            )
        return super(ZfpCodec, cls).from_json(configuration)

    def __post_init__(self) -> None:
        parse_choice(self.mode, _OPTIONS, codec=self.name, field="mode")
        option = _OPTIONS[self.mode]
        for name in ("tolerance", "rate", "precision"):
            value = getattr(self, name)
            if (name == option) != (value is not None):
                needs = f"needs {option!r}" if option else "takes no options"
                raise MetadataError(f"codec 'zfp': mode {self.mode!r} {needs}", field=name)
        if option == "precision":
            parse_int(self.precision, codec=self.name, field="precision", lo=1, hi=64)
        elif option and (
            isinstance(getattr(self, option), bool)
            or not isinstance(getattr(self, option), int | float)
            or not getattr(self, option) > 0
        ):
            raise MetadataError(f"codec 'zfp': {option} must be a positive number", field=option)
        if zfpy is None:
            missing = ModuleNotFoundError("No module named 'zfpy'", name="zfpy")
            message = "codec 'zfp' needs the zfpy package: pip install zarrkit[zfp]"
            raise UnknownCodecError(message) from missing

    def to_json(self) -> dict[str, JSON]:
        option = _OPTIONS[self.mode]
        options = {"mode": self.mode, **({option: getattr(self, option)} if option else {})}
        return {"name": self.name, "configuration": options}

    def validate(self, spec: ChunkSpec) -> None:
        if _stored(spec.dtype) is None:
            raise MetadataError(
                f"codec 'zfp' compresses integer and float types, not {spec.dtype}",
                field="data_type",
            )
        if len(spec.shape) > 4:
            raise MetadataError(
                f"codec 'zfp' takes at most 4 dimensions, not shape {spec.shape}; put a "
                "'reshape' codec before it",
                field="codecs",
            )
        if self.mode == "fixed_accuracy" and _stored(spec.dtype) not in ("float32", "float64"):
            raise MetadataError(
                f"codec 'zfp': fixed_accuracy needs a float type, not {spec.dtype}", field="mode"
            )

    def encode(self, chunk: np.ndarray[Any, Any], spec: ChunkSpec) -> Blob:
        values = _promote(np.ascontiguousarray(chunk).reshape(_field(spec.shape)))
        return bytes(zfpy.compress_numpy(values, write_header=False, **self._params()))

    def decode(self, blob: Blob, spec: ChunkSpec) -> np.ndarray[Any, Any]:
        stored = np.dtype(_stored(spec.dtype))
        size, bound = blob_size(blob), _max_size(spec.shape, stored, self)
        if not size or size % 8 or size > bound:
            raise CodecError(
                f"zfp: {size} bytes is not a zfp stream for shape {spec.shape} of {spec.dtype} "
                f"(whole 64-bit words, at most {bound})"
            )
        padded = np.zeros(bound, np.uint8)
        padded[:size] = np.frombuffer(blob, np.uint8)
        ztype = zfpy.dtype_to_ztype(stored)
        values = zfpy._decompress(padded, ztype, list(_field(spec.shape)), **self._params())
        return _demote(values, spec.dtype).reshape(spec.shape)

    def _params(self) -> dict[str, Any]:
        option = _OPTIONS[self.mode]
        return {option: getattr(self, option)} if option else {}


def _stored(dtype: np.dtype[Any]) -> str | None:
    """The zfp type ``dtype`` is compressed as, None if it cannot be."""
    name = dtype.name
    return name if name in _NATIVE else _PROMOTED.get(name)


def _field(shape: tuple[int, ...]) -> tuple[int, ...]:
    """The zfp field of a chunk: its shape, a 0-d chunk as one value."""
    return shape or (1,)


def _promote(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Values as the type zfp compresses (the spec's ``zfp_promote_*`` for small ints)."""
    kind, bits = values.dtype.kind, 8 * values.dtype.itemsize
    stored = np.dtype(_stored(values.dtype))
    if kind in "iu" and bits < 32:
        centred = values.astype(np.int32) - (1 << (bits - 1) if kind == "u" else 0)
        return centred << (31 - bits)  # type: ignore[no-any-return]
    if kind == "u":
        return np.minimum(values, np.iinfo(stored).max).astype(stored)  # type: ignore[no-any-return]
    return values.astype(stored)


def _demote(values: np.ndarray[Any, Any], dtype: np.dtype[Any]) -> np.ndarray[Any, Any]:
    """Invert :func:`_promote` (``zfp_demote_*``: shift back, clamp to the type)."""
    kind, bits = dtype.kind, 8 * dtype.itemsize
    if kind in "iu" and bits < 32:
        shifted = (values >> (31 - bits)) + (1 << (bits - 1) if kind == "u" else 0)
        info = np.iinfo(dtype)
        return np.clip(shifted, info.min, info.max).astype(dtype)  # type: ignore[no-any-return]
    if kind == "u":
        return np.maximum(values, 0).astype(dtype)  # type: ignore[no-any-return]
    return values.astype(dtype)


def _max_size(shape: tuple[int, ...], stored: np.dtype[Any], codec: ZfpCodec) -> int:
    """An upper bound of the stream size (zfp's ``zfp_stream_maximum_size``, rounded up)."""
    field = _field(shape)
    blocks = math.prod(-(-n // 4) for n in field)
    values = 4 ** len(field)
    bits = 13 + values * (8 * stored.itemsize + 1)  # sign, exponent, every bit plane
    if codec.rate is not None:
        bits = max(bits, math.ceil(float(codec.rate) * values))
    return int(8 * -(-(blocks * bits + 148) // 64))
