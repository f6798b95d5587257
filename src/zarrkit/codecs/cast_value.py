"""``cast_value``: store values in another numeric data type, cast by value.

Spec: https://github.com/zarr-developers/zarr-extensions/tree/main/codecs/cast_value
v3 name: ``cast_value``; v2 id: none.
Config: ``{"name": "cast_value", "configuration": {"data_type": "uint8", "rounding":
"towards-zero", "out_of_range": "clamp", "scalar_map": {"encode": [["NaN", 0]],
"decode": [[0, "NaN"]]}}}`` (only ``data_type`` is required)

An array->array codec between integer and float types (ml_dtypes ones included): encoding
casts to ``data_type``, decoding casts back with the same rules and the ``decode`` map
(see :mod:`zarrkit.codecs.casting`). The codecs after it see ``data_type`` and the cast fill
value; a fill value that does not survive the round trip is refused, as the spec requires.
Scalar map entries are fill-value JSON of the type they map from and to (and
``"+Infinity"``, which the spec's own example uses for ``"Infinity"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np

from zarrkit.codecs.base import JSON, ArrayArrayCodec, ChunkSpec
from zarrkit.codecs.casting import ROUNDINGS, OutOfRange, Rounding, cast_values
from zarrkit.codecs.parse import parse_choice
from zarrkit.errors import MetadataError, ZarrkitError
from zarrkit.metadata.dtypes import dtype_to_v3, family, parse_dtype_v3, parse_fill_value


@dataclass(frozen=True, slots=True, kw_only=True)
class CastValueCodec(ArrayArrayCodec):
    """Cast chunks to ``data_type`` (v3 data type JSON) and back.

    Examples
    --------
    >>> codec = CastValueCodec(data_type="uint8", out_of_range="clamp")
    >>> spec = ChunkSpec(shape=(3,), dtype=np.dtype("float64"), fill_value=0.0)
    >>> codec.encode(np.array([1.5, 2.5, 300.0]), spec).tolist()
    [2, 2, 255]
    """

    name: ClassVar[str] = "cast_value"
    data_type: JSON
    rounding: Rounding = "nearest-even"
    out_of_range: OutOfRange = None
    scalar_map: dict[str, JSON] | None = None
    target: np.dtype[Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        target = parse_dtype_v3(self.data_type)
        if family(target) not in ("int", "float"):
            raise _error("data_type", f"data_type must be an integer or float type, not {target}")
        parse_choice(self.rounding, ROUNDINGS, codec=self.name, field="rounding")
        if self.out_of_range is not None:
            parse_choice(
                self.out_of_range, ("clamp", "wrap"), codec=self.name, field="out_of_range"
            )
        if self.out_of_range == "wrap" and family(target) != "int":
            raise _error("out_of_range", f"'wrap' needs an integer data_type, not {target}")
        _check_scalar_map(self.scalar_map)
        object.__setattr__(self, "target", target)

    def to_json(self) -> dict[str, JSON]:
        options: dict[str, JSON] = {"data_type": dtype_to_v3(self.target)}
        if self.rounding != "nearest-even":  # defaults are left out, as zarr-python does
            options["rounding"] = self.rounding
        if self.out_of_range is not None:
            options["out_of_range"] = self.out_of_range
        if self.scalar_map is not None:
            options["scalar_map"] = self.scalar_map
        return {"name": self.name, "configuration": options}

    def validate(self, spec: ChunkSpec) -> None:
        if family(spec.dtype) not in ("int", "float"):
            raise _error("data_type", f"casts integer and float arrays, not {spec.dtype}")
        self._entries("encode", spec.dtype, self.target)  # the map's values must parse
        self._entries("decode", self.target, spec.dtype)
        if spec.fill_value is None:
            return
        fill = np.asarray(spec.fill_value, spec.dtype)
        try:
            back = self.decode(self.encode(fill, spec), spec)
        except ZarrkitError as e:
            raise _error("fill_value", f"fill value {spec.fill_value!r}: {e}") from e
        if not np.array_equal(back, fill, equal_nan=family(spec.dtype) == "float"):
            raise _error(
                "fill_value",
                f"fill value {spec.fill_value!r} does not survive the cast to {self.target} "
                f"and back (got {back[()]!r})",
            )

    def resolve(self, spec: ChunkSpec) -> ChunkSpec:
        fill = spec.fill_value
        if fill is not None:
            fill = self.encode(np.asarray(fill, spec.dtype), spec)[()]
        return replace(spec, dtype=self.target, fill_value=fill)

    def encode(self, chunk: np.ndarray[Any, Any], spec: ChunkSpec) -> np.ndarray[Any, Any]:
        entries = self._entries("encode", spec.dtype, self.target)
        return self._cast(chunk, self.target, entries)

    def decode(self, chunk: np.ndarray[Any, Any], spec: ChunkSpec) -> np.ndarray[Any, Any]:
        entries = self._entries("decode", self.target, spec.dtype)
        return self._cast(chunk, spec.dtype, entries)

    def _cast(
        self, chunk: np.ndarray[Any, Any], dtype: np.dtype[Any], entries: list[tuple[Any, Any]]
    ) -> np.ndarray[Any, Any]:
        return cast_values(
            chunk, dtype, rounding=self.rounding, out_of_range=self.out_of_range, scalar_map=entries
        )

    def _entries(
        self, direction: str, source: np.dtype[Any], target: np.dtype[Any]
    ) -> list[tuple[Any, Any]]:
        """The ``direction`` map as scalars of ``source`` and ``target``."""
        pairs = (self.scalar_map or {}).get(direction, [])
        where = f"scalar_map.{direction}"
        return [(_scalar(a, source, where), _scalar(b, target, where)) for a, b in pairs]


def _scalar(data: JSON, dtype: np.dtype[Any], field: str) -> Any:
    """A scalar map entry: fill-value JSON, also ``"+Infinity"`` as the spec's example has it."""
    return parse_fill_value("Infinity" if data == "+Infinity" else data, dtype, field=field)


def _check_scalar_map(data: object) -> None:
    """The shape of ``scalar_map``: ``{"encode"?: [[in, out], ...], "decode"?: [...]}``."""
    if data is None:
        return
    if not isinstance(data, Mapping) or set(data) - {"encode", "decode"}:
        raise _error("scalar_map", f"scalar_map must be an object with encode/decode, got {data!r}")
    for direction, pairs in data.items():
        if not isinstance(pairs, list) or not all(
            isinstance(p, list) and len(p) == 2 for p in pairs
        ):
            raise _error("scalar_map", f"{direction} must be a list of [from, to] pairs")


def _error(field: str, message: str) -> MetadataError:
    return MetadataError(f"codec 'cast_value': {message}", field=field)
