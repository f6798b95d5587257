"""Codec lookup: a codec from any of the forms users and metadata give (the names are in
:data:`zarrkit.registry.codecs`, the built-ins listed in :mod:`zarrkit.codecs`), and a codec
list sorted into v3's three kinds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from numcodecs.abc import Codec as Numcodec

from zarrkit.codecs.base import ArrayArrayCodec, ArrayBytesCodec, BytesBytesCodec, Codec
from zarrkit.codecs.parse import parse_named
from zarrkit.codecs.v2 import codec_from_v2, v2_config
from zarrkit.errors import MetadataError
from zarrkit.registry import codecs, register_codec


def is_zarr_python_codec(data: object) -> bool:
    """Whether ``data`` is a codec object of zarr-python (or alike: it has ``to_dict()``)."""
    return callable(getattr(data, "to_dict", None)) and not isinstance(data, dict | type)


def get_codec(data: object) -> Codec:
    """A codec from its v3 JSON (``{"name": ..., "configuration": ...}`` or a bare name),
    a v2 config (``{"id": ...}``), a numcodecs codec, a zarr-python codec object (through its
    ``to_dict()``) or a codec (returned as is).

    v2 configs and numcodecs codecs become their v3 equivalents: zstd, gzip and blosc the
    v3 codecs of those names, others ``numcodecs.<id>``.

    Examples
    --------
    >>> get_codec({"name": "zstd", "configuration": {"level": 3}})
    ZstdCodec(level=3, checksum=False)
    >>> get_codec({"id": "zstd", "level": 3})
    ZstdCodec(level=3, checksum=False)
    """
    if isinstance(data, Codec):
        return data
    if is_zarr_python_codec(data):
        return get_codec(data.to_dict())  # type: ignore[attr-defined]
    if isinstance(data, Numcodec) or (isinstance(data, dict) and "name" not in data):
        return codec_from_v2(v2_config(data, field="codecs"))
    name, configuration = parse_named(data)
    cls: type[Codec] = codecs.get(name)
    return cls.from_json(configuration)


def classify_codecs(
    codecs: Sequence[Any],
) -> tuple[list[ArrayArrayCodec], ArrayBytesCodec, list[BytesBytesCodec]]:
    """A full v3 codec list as ``(filters, serializer, compressors)``, in the order v3
    requires: array->array codecs, one array->bytes codec, bytes->bytes codecs.

    Examples
    --------
    >>> filters, serializer, compressors = classify_codecs(["bytes", "zstd", "crc32c"])
    >>> filters, serializer.name, [c.name for c in compressors]
    ([], 'bytes', ['zstd', 'crc32c'])
    """
    codecs = [get_codec(codec) for codec in codecs]
    array_array: list[ArrayArrayCodec] = []
    array_bytes: list[ArrayBytesCodec] = []
    bytes_bytes: list[BytesBytesCodec] = []
    for codec in codecs:
        if isinstance(codec, ArrayArrayCodec) and not array_bytes:
            array_array.append(codec)
        elif isinstance(codec, ArrayBytesCodec) and not array_bytes:
            array_bytes.append(codec)
        elif isinstance(codec, BytesBytesCodec) and array_bytes:
            bytes_bytes.append(codec)
        else:
            names = [c.name for c in codecs]
            raise MetadataError(
                f"codec {codec.name!r} is out of place in {names}: expected array->array "
                "codecs, then one array->bytes codec (e.g. 'bytes'), then bytes->bytes codecs",
                field="codecs",
            )
    if not array_bytes:
        names = [c.name for c in codecs]
        raise MetadataError(f"no array->bytes codec (e.g. 'bytes') in {names}", field="codecs")
    return array_array, array_bytes[0], bytes_bytes


__all__ = ["classify_codecs", "codecs", "get_codec", "is_zarr_python_codec", "register_codec"]
