"""``packbits``: pack each element into the bits it needs (array->bytes).

Spec: https://github.com/zarr-developers/zarr-extensions/tree/main/codecs/packbits
v3 name: ``packbits``; v2 id: none (numcodecs' ``packbits`` is a bool-only array->array
filter that fills bytes from the most significant bit; it stays ``numcodecs.packbits``).
Config: ``{"name": "packbits", "configuration": {"padding_encoding": "first_byte",
"first_bit": 0, "last_bit": 3}}`` (every field optional)

Bits ``first_bit..last_bit`` of every component (see :mod:`zarrkit.codecs.bits`) follow
each other from the least significant bit of the first byte on, as zarrs writes them;
decoding sign-extends signed integers. The spec's README names the fields ``first_bit``,
``last_bit`` and ``"first_byte"``/``"last_byte"``; its schema says ``start_bit``,
``end_bit``, ``"start_byte"``/``"end_byte"``. Both are read; the README's are written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Self

import numpy as np

from zarrkit.codecs.base import JSON, ArrayBytesCodec, ChunkSpec
from zarrkit.codecs.bits import component_bits, components, from_bits, to_bits
from zarrkit.codecs.parse import parse_choice, parse_int
from zarrkit.errors import CodecError, MetadataError
from zarrkit.metadata.dtypes import family
from zarrkit.metadata.dtypes.ml import ml_name
from zarrkit.types import Blob

Padding = Literal["none", "first_byte", "last_byte"]
#: The schema's spellings, read as the README's.
_ALIASES: dict[str, str] = {"start_bit": "first_bit", "end_bit": "last_bit"}
_PADDING_ALIASES = {"start_byte": "first_byte", "end_byte": "last_byte"}


@dataclass(frozen=True, slots=True, kw_only=True)
class PackBitsCodec(ArrayBytesCodec):
    """Store bits ``first_bit..last_bit`` (default: all) of every element, back to back.

    Examples
    --------
    >>> codec = PackBitsCodec(first_bit=1, last_bit=3)
    >>> spec = ChunkSpec(shape=(5,), dtype=np.dtype("int8"), fill_value=0)
    >>> bytes(codec.encode(np.array([-1, 2, 5, -8, 7], "int8"), spec)).hex()
    '8f38'
    """

    name: ClassVar[str] = "packbits"
    padding_encoding: Padding = "none"
    first_bit: int | None = None
    last_bit: int | None = None

    def __post_init__(self) -> None:
        parse_choice(
            self.padding_encoding,
            ("none", "first_byte", "last_byte"),
            codec=self.name,
            field="padding_encoding",
        )
        for field in ("first_bit", "last_bit"):
            if (value := getattr(self, field)) is not None:
                parse_int(value, codec=self.name, field=field, lo=0)
        if None not in (self.first_bit, self.last_bit) and self.last_bit < self.first_bit:  # type: ignore[operator]
            raise MetadataError(
                f"codec 'packbits': last_bit {self.last_bit} is below first_bit {self.first_bit}",
                field="last_bit",
            )

    @classmethod
    def from_json(cls, configuration: Any) -> Self:
        if not isinstance(configuration, dict):
            return super(PackBitsCodec, cls).from_json(configuration)
        renamed: dict[str, Any] = {_ALIASES.get(k, str(k)): v for k, v in configuration.items()}
        padding = renamed.get("padding_encoding")
        if isinstance(padding, str):
            renamed["padding_encoding"] = _PADDING_ALIASES.get(padding, padding)
        return super(PackBitsCodec, cls).from_json(renamed)

    def to_json(self) -> dict[str, JSON]:
        options: dict[str, JSON] = {}
        if self.padding_encoding != "none":  # the default, left out as zarrs does
            options["padding_encoding"] = self.padding_encoding
        for field in ("first_bit", "last_bit"):
            if (value := getattr(self, field)) is not None:
                options[field] = value
        return {"name": self.name, "configuration": options}

    def validate(self, spec: ChunkSpec) -> None:
        if family(spec.dtype) not in ("bool", "int", "float", "complex"):
            raise MetadataError(
                f"codec 'packbits' packs bool, integer, float and complex types, not {spec.dtype}",
                field="data_type",
            )
        width = component_bits(spec.dtype)
        for field in ("first_bit", "last_bit"):
            value = getattr(self, field)
            if value is not None and value >= width:
                raise MetadataError(
                    f"codec 'packbits': {field} {value} is outside the {width} bits "
                    f"of {spec.dtype}",
                    field=field,
                )

    def encode(self, chunk: np.ndarray[Any, Any], spec: ChunkSpec) -> Blob:
        first, count = self._span(spec)
        packed = _pack(to_bits(chunk) >> np.asarray(first, _word(spec)), count)
        pad = np.uint8(-(count * math.prod(spec.shape) * components(spec.dtype)) % 8)
        if self.padding_encoding == "first_byte":
            return np.concatenate([[pad], packed]).astype(np.uint8).data
        if self.padding_encoding == "last_byte":
            return np.concatenate([packed, [pad]]).astype(np.uint8).data
        return packed.data

    def decode(self, blob: Blob, spec: ChunkSpec) -> np.ndarray[Any, Any]:
        first, count = self._span(spec)
        total = math.prod(spec.shape) * components(spec.dtype) * count
        packed = self._payload(np.frombuffer(blob, np.uint8), total)
        values = _unpack(packed, total, count, _word(spec))
        values = values << np.asarray(first, values.dtype)
        if _signed(spec.dtype):
            values = _sign_extend(values, first + count, component_bits(spec.dtype))
        return from_bits(values, spec.dtype).reshape(spec.shape)

    def _span(self, spec: ChunkSpec) -> tuple[int, int]:
        """The first bit and the number of bits stored per component."""
        first = self.first_bit or 0
        last = component_bits(spec.dtype) - 1 if self.last_bit is None else self.last_bit
        return first, last - first + 1

    def _payload(self, data: np.ndarray[Any, Any], total: int) -> np.ndarray[Any, Any]:
        """The packed bits without the padding byte, after checking sizes and padding."""
        size, pad = math.ceil(total / 8), -total % 8
        extra = self.padding_encoding != "none"
        if data.size != size + extra:
            raise CodecError(f"packbits: got {data.size} bytes, expected {size + extra}")
        if not extra:
            return data
        stored = data[0] if self.padding_encoding == "first_byte" else data[-1]
        if stored != pad:
            raise CodecError(f"packbits: padding byte says {stored} bits, expected {pad}")
        return data[1:] if self.padding_encoding == "first_byte" else data[:-1]


def _word(spec: ChunkSpec) -> np.dtype[Any]:
    """The unsigned type holding one component's bits."""
    return np.dtype(f"u{spec.dtype.itemsize // components(spec.dtype)}")


def _signed(dtype: np.dtype[Any]) -> bool:
    """Whether ``dtype`` holds signed integers (NumPy's or ml_dtypes' int2/int4)."""
    return family(dtype) == "int" and (dtype.kind == "i" or ml_name(dtype) in ("int2", "int4"))


def _pack(values: np.ndarray[Any, Any], count: int) -> np.ndarray[Any, Any]:
    """The low ``count`` bits of each value, back to back from the least significant bit."""
    if count == 8 * values.itemsize:  # whole components: their little-endian bytes
        return np.ascontiguousarray(values, values.dtype.newbyteorder("<")).view(np.uint8)
    bits = np.empty((values.size, count), np.uint8)
    for i in range(count):  # one bit plane at a time keeps memory at one byte per bit
        bits[:, i] = (values >> np.asarray(i, values.dtype)) & np.asarray(1, values.dtype)
    return np.packbits(bits.reshape(-1), bitorder="little")


def _unpack(
    packed: np.ndarray[Any, Any], total: int, count: int, word: np.dtype[Any]
) -> np.ndarray[Any, Any]:
    """Invert :func:`_pack`: values of type ``word`` from the first ``total`` bits,
    ``count`` bits each."""
    if count == 8 * word.itemsize:
        return packed.view(word.newbyteorder("<")).astype(word)
    planes = np.unpackbits(packed, count=total, bitorder="little").reshape(-1, count)
    values = np.zeros(planes.shape[0], word)
    for i in range(count):
        values |= planes[:, i].astype(word) << np.asarray(i, word)
    return values


def _sign_extend(values: np.ndarray[Any, Any], top: int, width: int) -> np.ndarray[Any, Any]:
    """Copy bit ``top - 1`` into bits ``top..width-1`` (two's complement of ``width`` bits)."""
    if top >= width:
        return values
    word = values.dtype
    full = np.iinfo(word).max if width == 8 * word.itemsize else (1 << width) - 1
    high = np.asarray(full ^ ((1 << top) - 1), word)
    negative = ((values >> np.asarray(top - 1, word)) & np.asarray(1, word)).astype(bool)
    return np.where(negative, values | high, values)
