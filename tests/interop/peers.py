"""The peers: zarr-python 3.1.6 (in-process), zarr-python 2.18.7 (a child process in its
own environment, see ``zarr2env``) and tensorstore (in-process), each as a writer and a
reader of ``Case`` arrays on local paths.

``read`` returns the values and the metadata as the peer itself reports it (its own
metadata model, not the file), in the canonical form of ``docs.normalize_doc``, so that
every implementation can be compared with every other and with ``cases.expected_doc``.
A key a peer cannot report (tensorstore ignores v2 ``.zattrs``) is left out.
"""

from __future__ import annotations

import base64
import io
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numcodecs
import numpy as np
from optional import optional

from .cases import Case, make_data, stored_form
from .docs import Doc, normalize_doc
from .zarr2env import run_zarr2

ts = optional("tensorstore")
zarr = optional("zarr")

# --- zarr-python 3 -----------------------------------------------------------------------------


def zarr3_create_kwargs(case: Case) -> dict[str, Any]:
    """``case.create_kwargs()`` with v2 codecs as the numcodecs objects zarr-python 3 wants."""
    kwargs = case.create_kwargs()
    if case.zarr_format == 2:
        kwargs["filters"] = [numcodecs.get_codec(dict(c)) for c in case.filters]
        kwargs["compressors"] = [numcodecs.get_codec(dict(c)) for c in case.compressors]
    kwargs["filters"] = kwargs["filters"] or None
    kwargs["compressors"] = kwargs["compressors"] or None
    return kwargs


def create_and_fill(
    create_array: Callable[..., Any], path: Path, kwargs: dict[str, Any], case: Case
) -> None:
    """``create_array(path, **kwargs)`` (zarr-python 3's signature), then write the case's data."""
    with warnings.catch_warnings():
        # zarr-python warns that numcodecs codecs are not in the Zarr v3 spec.
        warnings.simplefilter("ignore")
        array = create_array(str(path), overwrite=True, **kwargs)
        data = make_data(case)
        if data.size:
            array[...] = data


def _zarr3_write(path: Path, case: Case) -> None:
    create_and_fill(zarr.create_array, path, zarr3_create_kwargs(case), case)


def _zarr3_read(path: Path) -> tuple[np.ndarray, Doc]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        array = zarr.open_array(str(path), mode="r")
        return np.asarray(array[...]), normalize_doc(array.metadata.to_dict())


# --- zarr-python 2 (in its own environment) -------------------------------------------------

_ZARR2_WRITE = """
import base64, io, numcodecs, numpy as np, zarr
case = args["case"]
load = lambda text: np.load(io.BytesIO(base64.b64decode(text)))
data = load(args["data"])
codec = lambda config: numcodecs.get_codec(dict(config))
array = zarr.open_array(
    args["path"], mode="w", shape=case["shape"], chunks=case["chunks"], dtype=case["dtype"],
    fill_value=None if args["fill"] is None else load(args["fill"])[()], order=case["order"],
    compressor=codec(case["compressors"][0]) if case["compressors"] else None,
    filters=[codec(f) for f in case["filters"]] or None, dimension_separator=case["separator"],
)
if data.size:
    array[...] = data
array.attrs.update(case["attributes"] or {})
result = {}
"""

_ZARR2_READ = """
import base64, io, numpy as np, zarr
def dump(value):
    buffer = io.BytesIO()
    np.save(buffer, value)
    return base64.b64encode(buffer.getvalue()).decode()
array = zarr.open_array(args["path"], mode="r")
doc = {
    "zarr_format": 2, "shape": list(array.shape), "chunks": list(array.chunks),
    "dtype": array.dtype.str, "order": array.order, "fill_value": None,
    "filters": [f.get_config() for f in array.filters or []],
    "compressor": array.compressor.get_config() if array.compressor else None,
    "dimension_separator": array._dimension_separator,  # zarr 2 has no public accessor
    "attributes": array.attrs.asdict(),
}
fill = None if array.fill_value is None else dump(np.array(array.fill_value, dtype=array.dtype))
result = {"data": dump(np.asarray(array[...])), "fill": fill, "doc": doc}
"""


def _npy(value: np.ndarray) -> str:
    buffer = io.BytesIO()
    np.save(buffer, value)
    return base64.b64encode(buffer.getvalue()).decode()


def _un_npy(text: str) -> np.ndarray:
    return np.load(io.BytesIO(base64.b64decode(text)))


def _zarr2_write(path: Path, case: Case) -> None:
    fill = (
        None
        if case.fill_value is None
        else _npy(np.array(case.fill_scalar, dtype=case.numpy_dtype))
    )
    run_zarr2(
        _ZARR2_WRITE, path=str(path), case=case.to_json(), data=_npy(make_data(case)), fill=fill
    )


def _zarr2_read(path: Path) -> tuple[np.ndarray, Doc]:
    answer = run_zarr2(_ZARR2_READ, path=str(path))
    doc = answer["doc"]
    if answer["fill"] is not None:
        doc["fill_value"] = _un_npy(answer["fill"])[()]
    return _un_npy(answer["data"]), normalize_doc(doc)


# --- tensorstore --------------------------------------------------------------------------------


def _ts_metadata(case: Case) -> Doc:
    metadata = stored_form(case)
    if case.zarr_format == 2:
        del metadata["attributes"]  # not part of tensorstore's zarr metadata
        if metadata["compressor"]:  # it rejects zstd's "checksum" (False is the default)
            metadata["compressor"] = {
                k: v for k, v in metadata["compressor"].items() if k != "checksum"
            }
    return metadata


def _ts_spec(path: Path, zarr_format: int) -> Doc:
    driver = "zarr" if zarr_format == 2 else "zarr3"
    return {"driver": driver, "kvstore": {"driver": "file", "path": str(path)}}


def _ts_write(path: Path, case: Case) -> None:
    spec = _ts_spec(path, case.zarr_format) | {
        "metadata": _ts_metadata(case),
        "create": True,
        "delete_existing": True,
    }
    array = ts.open(spec).result()
    data = make_data(case)
    if data.size:
        array.write(data.astype(array.dtype.numpy_dtype)).result()


def _ts_read(path: Path) -> tuple[np.ndarray, Doc]:
    zarr_format = 3 if (path / "zarr.json").exists() else 2
    array = ts.open(_ts_spec(path, zarr_format), open=True).result()
    metadata = array.spec().to_json()["metadata"]
    metadata["zarr_format"] = zarr_format
    return np.asarray(array.read().result()), normalize_doc(metadata)


# --- the public face ------------------------------------------------------------------------------

_WRITERS = {"zarr3": _zarr3_write, "zarr2": _zarr2_write, "tensorstore": _ts_write}
_READERS = {"zarr3": _zarr3_read, "zarr2": _zarr2_read, "tensorstore": _ts_read}


def write(peer: str, path: Path, case: Case) -> None:
    """Write ``case`` (filled with ``make_data(case)``) at ``path`` with ``peer``."""
    _WRITERS[peer](Path(path), case)


def read(peer: str, path: Path) -> tuple[np.ndarray, Doc]:
    """Read the array at ``path`` with ``peer``: (values, canonical metadata as it reports it)."""
    return _READERS[peer](Path(path))
