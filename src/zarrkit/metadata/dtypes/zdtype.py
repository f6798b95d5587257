"""zarr-python's data type objects (``zarr.dtype``): one class per kind of data type, each
instance naming one NumPy dtype.

They are a view of zarrkit's own data types, not a second system: every method converts to
the NumPy dtype and calls the functions of :mod:`zarrkit.metadata.dtypes` (JSON of the
type for v2 and v3, fill values). A NumPy dtype finds its class by the classes' own test
(:func:`zdtype_of`), as zarr-python resolves them.

>>> Int16.from_native_dtype(np.dtype(">i2"))
Int16(endianness='big')
>>> DateTime64(unit="s", scale_factor=10).to_json(zarr_format=3)
{'name': 'numpy.datetime64', 'configuration': {'unit': 's', 'scale_factor': 10}}
>>> Int8().to_json(zarr_format=2)
{'name': '|i1', 'object_codec_id': None}

Over 400 lines: one short class per kind of data type in ``zarr.dtype`` (40 names).
"""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Self

import numpy as np

from zarrkit.errors import DataTypeValidationError, MetadataError, UnknownDataTypeError
from zarrkit.metadata.dtypes.fill import (
    default_fill_value,
    fill_value_to_json,
    normalize_fill_value,
    parse_fill_value,
)
from zarrkit.metadata.dtypes.kinds import JSON, family, object_codec_id
from zarrkit.metadata.dtypes.normalize import normalize_dtype
from zarrkit.metadata.dtypes.v2 import dtype_to_v2, parse_dtype_v2
from zarrkit.metadata.dtypes.v3 import dtype_to_v3, parse_dtype_v3

Endianness = Literal["little", "big"]
ZarrFormat = Literal[2, 3]
_ORDER: dict[str, Literal["<", ">"]] = {"little": "<", "big": ">"}


def endianness_of(dtype: np.dtype[Any]) -> Endianness:
    """The byte order of ``dtype`` (native order named; single bytes are "little")."""
    if dtype.byteorder == "=":
        return sys.byteorder
    return "big" if dtype.byteorder == ">" else "little"


@dataclass(frozen=True, kw_only=True)
class ZDType(ABC):
    """A Zarr data type: one NumPy dtype, with its JSON forms and its scalars."""

    #: The NumPy dtype class the instances stand for.
    dtype_cls: ClassVar[Any]
    _zarr_v3_name: ClassVar[str]

    def __post_init__(self) -> None:
        try:
            self.to_native_dtype()
        except (TypeError, ValueError) as e:
            raise DataTypeValidationError(f"invalid {self!r}: {e}", field="dtype") from e

    @abstractmethod
    def to_native_dtype(self) -> np.dtype[Any]:
        """The NumPy dtype."""

    @classmethod
    def _matches(cls, dtype: np.dtype[Any]) -> bool:
        return isinstance(dtype, cls.dtype_cls)

    @classmethod
    @abstractmethod
    def _from_native(cls, dtype: np.dtype[Any]) -> Self: ...

    @classmethod
    def from_native_dtype(cls, dtype: Any) -> Self:
        """The instance standing for the NumPy dtype ``dtype`` (which must be of its kind)."""
        native = dtype if isinstance(dtype, np.dtype) else np.dtype(dtype)
        if not cls._matches(native):
            raise DataTypeValidationError(
                f"data type {native} is not a {cls.__name__} ({cls.dtype_cls.__name__})",
                field="dtype",
            )
        return cls._from_native(native)

    @classmethod
    def from_json(cls, data: JSON, *, zarr_format: ZarrFormat) -> Self:
        """The instance of a v2 (``{"name": "<i2", "object_codec_id": None}``) or v3 data
        type JSON."""
        try:
            native = _parse_json(data, zarr_format)
        except UnknownDataTypeError as e:
            raise DataTypeValidationError(str(e), field="dtype") from e
        return cls.from_native_dtype(native)

    def to_json(self, zarr_format: ZarrFormat) -> JSON:
        """The v3 ``data_type`` JSON, or for v2 ``{"name": <dtype>, "object_codec_id": ...}``
        (the object codec tells apart the types that v2 all writes ``"|O"``)."""
        native = self.to_native_dtype()
        if zarr_format == 2:
            return {"name": dtype_to_v2(native), "object_codec_id": object_codec_id(native)}
        return dtype_to_v3(native.newbyteorder("=") if native.names else native)

    def default_scalar(self) -> Any:
        """The fill value used when none is given."""
        return default_fill_value(self.to_native_dtype())

    def cast_scalar(self, data: Any) -> Any:
        """``data`` as a scalar of this type."""
        return normalize_fill_value(data, self.to_native_dtype())

    def to_json_scalar(self, data: Any, *, zarr_format: ZarrFormat) -> JSON:
        """The JSON form of the scalar ``data`` (as a fill value is written)."""
        native = self.to_native_dtype()
        return fill_value_to_json(self.cast_scalar(data), native, zarr_format=zarr_format)

    def from_json_scalar(self, data: JSON, *, zarr_format: ZarrFormat) -> Any:
        """The scalar of its JSON form."""
        try:
            return parse_fill_value(data, self.to_native_dtype(), zarr_format=zarr_format)
        except MetadataError as e:
            raise DataTypeValidationError(str(e), field="fill_value") from e


def _parse_json(data: JSON, zarr_format: ZarrFormat) -> np.dtype[Any]:
    if zarr_format == 3:
        return parse_dtype_v3(data)
    if isinstance(data, dict) and "name" in data:
        codec = data.get("object_codec_id")
        return parse_dtype_v2(data["name"], filters=({"id": codec},) if codec else None)
    return parse_dtype_v2(data)


# --- numbers --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Single(ZDType):
    """A one-byte type, named as NumPy names it."""

    def to_native_dtype(self) -> np.dtype[Any]:
        return np.dtype(self._zarr_v3_name)

    @classmethod
    def _from_native(cls, dtype: np.dtype[Any]) -> Self:
        return cls()


@dataclass(frozen=True, kw_only=True)
class _Ordered(ZDType):
    """A multi-byte number, named as NumPy names it, in either byte order."""

    endianness: Endianness = "little"

    def to_native_dtype(self) -> np.dtype[Any]:
        return np.dtype(self._zarr_v3_name).newbyteorder(_ORDER[self.endianness])

    @classmethod
    def _from_native(cls, dtype: np.dtype[Any]) -> Self:
        return cls(endianness=endianness_of(dtype))


@dataclass(frozen=True, kw_only=True)
class Bool(_Single):
    dtype_cls = np.dtypes.BoolDType
    _zarr_v3_name = "bool"


@dataclass(frozen=True, kw_only=True)
class Int8(_Single):
    dtype_cls = np.dtypes.Int8DType
    _zarr_v3_name = "int8"


@dataclass(frozen=True, kw_only=True)
class UInt8(_Single):
    dtype_cls = np.dtypes.UInt8DType
    _zarr_v3_name = "uint8"


@dataclass(frozen=True, kw_only=True)
class Int16(_Ordered):
    dtype_cls = np.dtypes.Int16DType
    _zarr_v3_name = "int16"


@dataclass(frozen=True, kw_only=True)
class Int32(_Ordered):
    dtype_cls = np.dtypes.Int32DType
    _zarr_v3_name = "int32"


@dataclass(frozen=True, kw_only=True)
class Int64(_Ordered):
    dtype_cls = np.dtypes.Int64DType
    _zarr_v3_name = "int64"


@dataclass(frozen=True, kw_only=True)
class UInt16(_Ordered):
    dtype_cls = np.dtypes.UInt16DType
    _zarr_v3_name = "uint16"


@dataclass(frozen=True, kw_only=True)
class UInt32(_Ordered):
    dtype_cls = np.dtypes.UInt32DType
    _zarr_v3_name = "uint32"


@dataclass(frozen=True, kw_only=True)
class UInt64(_Ordered):
    dtype_cls = np.dtypes.UInt64DType
    _zarr_v3_name = "uint64"


@dataclass(frozen=True, kw_only=True)
class Float16(_Ordered):
    dtype_cls = np.dtypes.Float16DType
    _zarr_v3_name = "float16"


@dataclass(frozen=True, kw_only=True)
class Float32(_Ordered):
    dtype_cls = np.dtypes.Float32DType
    _zarr_v3_name = "float32"


@dataclass(frozen=True, kw_only=True)
class Float64(_Ordered):
    dtype_cls = np.dtypes.Float64DType
    _zarr_v3_name = "float64"


@dataclass(frozen=True, kw_only=True)
class Complex64(_Ordered):
    dtype_cls = np.dtypes.Complex64DType
    _zarr_v3_name = "complex64"


@dataclass(frozen=True, kw_only=True)
class Complex128(_Ordered):
    dtype_cls = np.dtypes.Complex128DType
    _zarr_v3_name = "complex128"


# --- text and bytes -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class FixedLengthUTF32(ZDType):
    """``length`` characters of UTF-32 (NumPy's ``U``)."""

    length: int
    endianness: Endianness = "little"
    dtype_cls = np.dtypes.StrDType
    _zarr_v3_name = "fixed_length_utf32"

    def to_native_dtype(self) -> np.dtype[Any]:
        return np.dtype(f"{_ORDER[self.endianness]}U{self.length}")

    @classmethod
    def _from_native(cls, dtype: np.dtype[Any]) -> Self:
        return cls(length=dtype.itemsize // 4, endianness=endianness_of(dtype))


@dataclass(frozen=True, kw_only=True)
class _Sized(ZDType):
    """``length`` bytes of NumPy's kind ``_kind``."""

    length: int
    _kind: ClassVar[str]

    def to_native_dtype(self) -> np.dtype[Any]:
        return np.dtype(f"{self._kind}{self.length}")

    @classmethod
    def _from_native(cls, dtype: np.dtype[Any]) -> Self:
        return cls(length=dtype.itemsize)


@dataclass(frozen=True, kw_only=True)
class NullTerminatedBytes(_Sized):
    """``length`` bytes, trailing zeros cut (NumPy's ``S``)."""

    dtype_cls = np.dtypes.BytesDType
    _zarr_v3_name = "null_terminated_bytes"
    _kind = "S"


@dataclass(frozen=True, kw_only=True)
class RawBytes(_Sized):
    """``length`` opaque bytes (NumPy's ``V``, without fields)."""

    dtype_cls = np.dtypes.VoidDType
    _zarr_v3_name = "raw_bytes"
    _kind = "V"

    @classmethod
    def _matches(cls, dtype: np.dtype[Any]) -> bool:
        return isinstance(dtype, cls.dtype_cls) and dtype.names is None and dtype.subdtype is None


@dataclass(frozen=True, kw_only=True)
class VariableLengthUTF8(ZDType):
    """Text of any length (NumPy's ``StringDType``)."""

    dtype_cls = np.dtypes.StringDType
    _zarr_v3_name = "string"

    def to_native_dtype(self) -> np.dtype[Any]:
        return np.dtypes.StringDType()

    @classmethod
    def _from_native(cls, dtype: np.dtype[Any]) -> Self:
        return cls()


@dataclass(frozen=True, kw_only=True)
class VariableLengthBytes(ZDType):
    """Bytes of any length (NumPy objects holding ``bytes``)."""

    dtype_cls = np.dtypes.ObjectDType
    _zarr_v3_name = "variable_length_bytes"

    def to_native_dtype(self) -> np.dtype[Any]:
        return parse_dtype_v3("bytes")

    @classmethod
    def _matches(cls, dtype: np.dtype[Any]) -> bool:
        return isinstance(dtype, cls.dtype_cls) and family(dtype) == "vlen_bytes"

    @classmethod
    def _from_native(cls, dtype: np.dtype[Any]) -> Self:
        return cls()


# --- times and records ----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Time(ZDType):
    """NumPy's datetime64 / timedelta64 in units of ``scale_factor`` ``unit``."""

    endianness: Endianness = "little"
    scale_factor: int = 1
    unit: str = "generic"
    _kind: ClassVar[str]

    def to_native_dtype(self) -> np.dtype[Any]:
        unit = "" if self.unit == "generic" else f"[{self.scale_factor}{self.unit}]"
        return np.dtype(f"{_ORDER[self.endianness]}{self._kind}8{unit}")

    @classmethod
    def _from_native(cls, dtype: np.dtype[Any]) -> Self:
        unit, scale = np.datetime_data(dtype)
        return cls(endianness=endianness_of(dtype), scale_factor=scale, unit=unit)


@dataclass(frozen=True, kw_only=True)
class DateTime64(_Time):
    dtype_cls = np.dtypes.DateTime64DType
    _zarr_v3_name = "numpy.datetime64"
    _kind = "M"


@dataclass(frozen=True, kw_only=True)
class TimeDelta64(_Time):
    dtype_cls = np.dtypes.TimeDelta64DType
    _zarr_v3_name = "numpy.timedelta64"
    _kind = "m"


@dataclass(frozen=True, kw_only=True)
class Structured(ZDType):
    """Records of named fields, each of its own data type."""

    fields: tuple[tuple[str, ZDType], ...]
    dtype_cls = np.dtypes.VoidDType
    _zarr_v3_name = "structured"

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", tuple((str(n), t) for n, t in self.fields))
        super().__post_init__()

    def to_native_dtype(self) -> np.dtype[Any]:
        return np.dtype([(name, field.to_native_dtype()) for name, field in self.fields])

    @classmethod
    def _matches(cls, dtype: np.dtype[Any]) -> bool:
        return isinstance(dtype, cls.dtype_cls) and dtype.names is not None

    @classmethod
    def _from_native(cls, dtype: np.dtype[Any]) -> Self:
        fields: dict[str, Any] = dict(dtype.fields or {})
        return cls(fields=tuple((name, zdtype_of(fields[name][0])) for name in dtype.names or ()))


@dataclass(frozen=True, kw_only=True)
class NumpyDType(ZDType):
    """A data type zarr-python 3.1.6 has no class for, which zarrkit stores all the same
    (the ml_dtypes types, v2 object arrays of other object codecs, record fields holding
    sub-arrays): the NumPy dtype itself."""

    dtype: np.dtype[Any]
    dtype_cls = np.dtype
    _zarr_v3_name = "numpy"

    def to_native_dtype(self) -> np.dtype[Any]:
        return self.dtype

    @classmethod
    def _from_native(cls, dtype: np.dtype[Any]) -> Self:
        return cls(dtype=dtype)


#: zarr-python's data types by their v3 names, in the order they are tried.
DATA_TYPES: dict[str, type[ZDType]] = {
    cls._zarr_v3_name: cls
    for cls in (
        Bool,
        Int8,
        Int16,
        Int32,
        Int64,
        UInt8,
        UInt16,
        UInt32,
        UInt64,
        Float16,
        Float32,
        Float64,
        Complex64,
        Complex128,
        FixedLengthUTF32,
        NullTerminatedBytes,
        RawBytes,
        Structured,
        DateTime64,
        TimeDelta64,
        VariableLengthUTF8,
        VariableLengthBytes,
    )
}


def zdtype_of(dtype: np.dtype[Any]) -> ZDType:
    """The data type object of the NumPy dtype ``dtype`` (:class:`NumpyDType` for those
    zarr-python has no class for).

    Examples
    --------
    >>> zdtype_of(np.dtype([("a", "<f8"), ("b", ">i2")]))
    Structured(fields=(('a', Float64(endianness='little')), ('b', Int16(endianness='big'))))
    """
    for cls in DATA_TYPES.values():
        if cls._matches(dtype):
            return cls._from_native(dtype)
    return NumpyDType(dtype=dtype)


def parse_dtype(dtype_spec: Any, *, zarr_format: ZarrFormat) -> ZDType:
    """The data type object of anything ``create_array(dtype=...)`` takes: a data type
    object (returned as is), a NumPy dtype or its name, ``str``/``bytes``, or v3 JSON.

    Examples
    --------
    >>> parse_dtype(">M8[10s]", zarr_format=2)
    DateTime64(endianness='big', scale_factor=10, unit='s')
    """
    if isinstance(dtype_spec, ZDType):
        return dtype_spec
    if zarr_format == 2 and isinstance(dtype_spec, dict) and "object_codec_id" in dtype_spec:
        native = _parse_json(dtype_spec, 2)
    else:
        native = normalize_dtype(dtype_spec)
    if family(native) == "object":
        raise DataTypeValidationError(
            f"data type {dtype_spec!r} is ambiguous: say str (text) or bytes (binary)",
            field="dtype",
        )
    return zdtype_of(native)


class DataTypeRegistry:
    """zarr-python's registry of data type classes, read-only here: zarrkit's data types
    are its own (see docs/data-types.md)."""

    @property
    def contents(self) -> dict[str, type[ZDType]]:
        return dict(DATA_TYPES)

    def get(self, key: str) -> type[ZDType]:
        """The class registered as ``key`` (its v3 name)."""
        try:
            return DATA_TYPES[key]
        except KeyError:
            raise UnknownDataTypeError(
                f"no data type {key!r}; known: {', '.join(DATA_TYPES)}", field="dtype"
            ) from None

    def match_dtype(self, dtype: Any) -> ZDType:
        """The data type object of a NumPy dtype."""
        return zdtype_of(np.dtype(dtype))

    def match_json(self, data: JSON, *, zarr_format: ZarrFormat) -> ZDType:
        """The data type object of v2 or v3 data type JSON."""
        return zdtype_of(_parse_json(data, zarr_format))


data_type_registry = DataTypeRegistry()
