"""``create_array``'s codec arguments as codec JSON, with zarr-python 3.1.6's ``"auto"``
defaults: v3 ``filters``/``serializer``/``compressors``, v2 ``filters``/``compressor``.

Each argument may be one codec or a list, given as a zarrkit codec, a numcodecs codec, a
zarr-python codec object, or its v3 or v2 JSON.
"""

from __future__ import annotations

from typing import Any

import numcodecs
import numpy as np
from numcodecs.abc import Codec as Numcodec

from zarrkit.codecs.base import (
    JSON,
    ArrayArrayCodec,
    ArrayBytesCodec,
    BytesBytesCodec,
    ChunkSpec,
    Codec,
    evolve_all,
)
from zarrkit.codecs.bytes import BytesCodec
from zarrkit.codecs.registry import get_codec, is_zarr_python_codec
from zarrkit.codecs.v2 import v2_config
from zarrkit.codecs.zstd import ZstdCodec
from zarrkit.errors import MetadataError
from zarrkit.metadata.dtypes import object_codec_id


def normalize_v3_codecs(
    filters: Any,
    serializer: Any,
    compressors: Any,
    dtype: np.dtype[Any],
    *,
    chunk_shape: tuple[int, ...] = (),
) -> list[dict[str, JSON]]:
    """The v3 ``codecs`` JSON for ``create_array``'s arguments, with zarr-python 3.1.6's
    "auto" defaults: no filters, ``bytes``, ``zstd`` level 0 without checksum. Filters that
    change the shape (``transpose``, ``reshape``) need the ``chunk_shape``.

    Examples
    --------
    >>> [c["name"] for c in normalize_v3_codecs("auto", "auto", "auto", np.dtype("f8"))]
    ['bytes', 'zstd']
    """
    dtype = np.dtype(dtype)
    array_array = [] if filters is None or _is_auto(filters) else _codecs(filters)
    if _is_auto(serializer):
        serializer = object_codec_id(dtype) or BytesCodec()
    if _is_auto(compressors):
        compressors = ZstdCodec(level=0, checksum=False)
    bytes_bytes = [] if compressors is None else _codecs(compressors)
    groups = (
        ("filters", ArrayArrayCodec, array_array),
        ("serializer", ArrayBytesCodec, [get_codec(serializer)]),
        ("compressors", BytesBytesCodec, bytes_bytes),
    )
    for field, kind, group in groups:
        for codec in group:
            if not isinstance(codec, kind):
                raise MetadataError(f"{codec.name!r} is not a {kind.__name__}", field=field)
    spec = ChunkSpec(shape=chunk_shape, dtype=dtype, fill_value=None)
    codecs = evolve_all([codec for _, _, group in groups for codec in group], spec)
    return [codec.to_json() for codec in codecs]


def normalize_v2_codecs(
    filters: Any, compressors: Any, dtype: np.dtype[Any]
) -> tuple[list[dict[str, JSON]] | None, dict[str, JSON] | None]:
    """The v2 ``filters`` and ``compressor`` JSON for ``create_array``'s arguments, with
    zarr-python 3.1.6's "auto" defaults: no filters (vlen-utf8 for strings), zstd level 0.

    Examples
    --------
    >>> normalize_v2_codecs("auto", "auto", np.dtype("f8"))
    (None, {'id': 'zstd', 'level': 0})
    """
    dtype = np.dtype(dtype)
    if _is_auto(compressors):
        compressor: dict[str, JSON] | None = v2_config(numcodecs.Zstd(level=0, checksum=False))
    else:
        items = [] if compressors is None else _items(compressors)
        if len(items) > 1:
            raise MetadataError(
                f"v2 arrays take one compressor, got {len(items)}", field="compressors"
            )
        compressor = _v2(items[0], "compressors") if items else None
    if _is_auto(filters):
        configs = [{"id": c}] if (c := object_codec_id(dtype)) else []
    else:
        configs = [_v2(f, "filters") for f in ([] if filters is None else _items(filters))]
    return configs or None, compressor


def _is_auto(value: object) -> bool:
    return isinstance(value, str) and value == "auto"


def _items(value: Any) -> list[Any]:
    """One codec given alone, or a sequence of them, as a list."""
    if isinstance(value, dict | str | Codec | Numcodec) or is_zarr_python_codec(value):
        return [value]
    try:
        return list(value)
    except TypeError:
        raise MetadataError(f"expected a codec or a list of codecs, got {value!r}") from None


def _codecs(value: Any) -> list[Codec]:
    return [get_codec(item) for item in _items(value)]


def _v2(value: Any, field: str) -> dict[str, JSON]:
    """The v2 config of a numcodecs codec, an ``{"id": ...}`` config, or a v3 codec's name
    or JSON (converted). A v3 compressor *object* is refused, as zarr-python refuses it:
    its v2 form would be a different object than the one given."""
    if field == "compressors" and (isinstance(value, Codec) or is_zarr_python_codec(value)):
        raise MetadataError(
            "Cannot use a BytesBytesCodec as a compressor for zarr v2 arrays. Use a numcodecs "
            f"codec directly instead (got {value!r}; e.g. numcodecs.Zstd(level=3) or "
            "{'id': 'zstd', 'level': 3}).",
            field=field,
        )
    is_v3 = isinstance(value, str) or (isinstance(value, dict) and "name" in value)
    is_v3 = is_v3 or is_zarr_python_codec(value)
    return v2_config(get_codec(value) if is_v3 else value, field=field)
