"""Codec lookup: a codec from any of the forms users and metadata give (the names are in
:data:`zarrkit.registry.codecs`, the built-ins listed in :mod:`zarrkit.codecs`)."""

from __future__ import annotations

from numcodecs.abc import Codec as Numcodec

from zarrkit.codecs.base import Codec
from zarrkit.codecs.parse import parse_named
from zarrkit.codecs.v2 import codec_from_v2, v2_config
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


__all__ = ["codecs", "get_codec", "is_zarr_python_codec", "register_codec"]
