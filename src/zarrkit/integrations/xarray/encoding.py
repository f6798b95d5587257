"""A variable's ``encoding`` <-> a zarrkit array, as xarray's own Zarr engine has it.

Reading fills ``encoding`` with what ``xr.open_zarr`` puts there, so that a dataset opened
with zarrkit writes back through either writer: ``chunks``, ``preferred_chunks``,
``shards``, ``compressors`` and ``filters`` (plus ``serializer`` and ``fill_value`` in v3).
Codecs come as zarr-python codec objects when zarr-python is installed (numcodecs codecs
for v2 arrays, as zarr-python gives them), else as their JSON; for sharded arrays they are
the codecs of the inner chunks. Writing takes any of those forms back (zarrkit codecs too).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from zarrkit.codecs.base import Codec
from zarrkit.nodes.arrays import Array

#: The attribute in which xarray keeps the dimension names of v2 arrays.
DIMENSION_KEY = "_ARRAY_DIMENSIONS"


def read_encoding(array: Array, dims: tuple[str, ...]) -> dict[str, Any]:
    """The ``encoding`` of the variable stored in ``array`` (before CF decoding)."""
    encoding: dict[str, Any] = {
        "chunks": array.chunks,
        "preferred_chunks": dict(zip(dims, array.chunks, strict=True)),
        "shards": array.shards,
    }
    if array.zarr_format == 2:
        encoding.update(compressors=array.compressors, filters=array.filters)
        return encoding
    # a sharded array reports its inner codecs, which are the encoding xarray writes back
    encoding.update(
        compressors=tuple(map(_zarr_python_codec, array.compressors)),
        filters=tuple(map(_zarr_python_codec, array.filters)),
        serializer=_zarr_python_codec(array.serializer),
        fill_value=array.fill_value,
    )
    return encoding


def _zarr_python_codec(codec: Codec) -> Any:
    """zarr-python's codec object for ``codec`` (its JSON if zarr-python lacks it)."""
    data = codec.to_json()
    codec_class = _zarr_python_codec_class(str(data["name"]))
    if codec_class is None:
        return data
    if data == {"name": "bytes"}:  # one-byte types: no endian (from_dict would say little)
        return codec_class(endian=None)
    with warnings.catch_warnings():  # zarr-python's note on numcodecs.* codecs: not ours
        warnings.filterwarnings("ignore", "Numcodecs codecs are not in the Zarr version 3")
        return codec_class.from_dict(data)


@functools.cache
def _zarr_python_codec_class(name: str) -> Any:
    try:
        from zarr.registry import get_codec_class
    except ImportError:  # zarr-python is not installed: JSON is what every writer takes
        return None
    try:
        return get_codec_class(name)
    except KeyError:
        return None


def create_arguments(
    encoding: Mapping[str, Any], write_empty_chunks: bool | None
) -> dict[str, Any]:
    """``Group.create_array`` keywords for the Zarr ``encoding`` of a variable (as
    ``xarray.backends.zarr.extract_zarr_variable_encoding`` leaves it)."""
    arguments = {k: v for k, v in encoding.items() if k not in ("cache_metadata", "fill_value")}
    if "compressor" in arguments:  # older xarray also passes v2's one compressor
        compressor = arguments.pop("compressor")
        arguments.setdefault("compressors", compressor)
    if write_empty_chunks is not None:
        given = arguments.get("write_empty_chunks", write_empty_chunks)
        if given != write_empty_chunks:
            raise ValueError(
                f'Differing "write_empty_chunks" values in encoding and parameters: '
                f"encoding has {given!r}, to_zarr was given {write_empty_chunks!r}"
            )
        arguments["write_empty_chunks"] = write_empty_chunks
    return {k: v for k, v in arguments.items() if v is not None or k == "compressors"}


def json_attributes(attributes: Mapping[Any, Any]) -> dict[str, Any]:
    """Attribute values as JSON-ready Python values (arrays to lists, scalars unwrapped)."""
    return {str(k): _json_value(v) for k, v in attributes.items()}


def _json_value(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
