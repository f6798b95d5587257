"""xarray: ``zarrkit.integrations.xarray.to_zarr`` (and ``ds.zarrkit.to_zarr``) writes what
``Dataset.to_zarr`` writes, with its keywords, modes and errors; Dask data goes through
``zarrkit.store_dask``."""

from __future__ import annotations

from optional import module_needs

module_needs("xarray", "zarr", "dask", "numcodecs")

import json
import warnings
from pathlib import Path

import dask.array as da
import numcodecs
import numpy as np
import pandas as pd
import pytest
import xarray as xr
import zarr

import zarrkit
from zarrkit.integrations import dask as zarrkit_dask
from zarrkit.integrations.xarray import to_zarr

pytestmark = pytest.mark.filterwarnings(
    "ignore:Consolidated metadata is currently not part:UserWarning",
    "ignore:The data type .* does not have a Zarr V3 specification",
    "ignore:In a future version of xarray the default value:FutureWarning",
)


def make_dataset() -> xr.Dataset:
    ds = xr.Dataset(
        {
            "temp": (("time", "x"), np.arange(24.0).reshape(6, 4), {"units": "K"}),
            "packed": (("time", "x"), np.arange(24).reshape(6, 4) / 2),
            "label": ("x", np.array(["a", "bb", "ccc", "d"], dtype=object)),
            "flag": ("x", np.array([True, False, True, False])),
        },
        coords={
            "time": pd.date_range("2000-01-01", periods=6, freq="D"),
            "x": [10, 20, 30, 40],
            "crs": ((), 4326),
        },
        attrs={"title": "zarrkit test", "version": 2},
    )
    ds["packed"].encoding = {"dtype": "int16", "scale_factor": 0.5, "_FillValue": -9999}
    ds["temp"].encoding = {"chunks": (3, 2)}
    return ds


def stored(path: Path, name: str) -> dict:
    """The metadata document of array ``name`` (v3 zarr.json or v2 .zarray)."""
    v3 = path / name / "zarr.json"
    return json.loads((v3 if v3.exists() else path / name / ".zarray").read_text())


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_writes_what_xarray_writes(tmp_path: Path, zarr_format: int) -> None:
    ds = make_dataset()
    to_zarr(ds, tmp_path / "ours.zarr", zarr_format=zarr_format)
    ds.to_zarr(tmp_path / "theirs.zarr", zarr_format=zarr_format)
    back = xr.open_zarr(tmp_path / "ours.zarr", consolidated=True)
    xr.testing.assert_identical(back, xr.open_zarr(tmp_path / "theirs.zarr"))
    xr.testing.assert_identical(back, ds)
    for name in ("temp", "packed", "label", "flag", "crs"):
        ours, theirs = stored(tmp_path / "ours.zarr", name), stored(tmp_path / "theirs.zarr", name)
        for key in ("dtype", "data_type", "filters", "dimension_names", "attributes", "chunks"):
            assert ours.get(key) == theirs.get(key), (name, key)
    assert stored(tmp_path / "ours.zarr", "flag").get("data_type", "|b1") in ("bool", "|b1")
    xr.testing.assert_identical(xr.open_dataset(tmp_path / "ours.zarr", engine="zarrkit"), back)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_encoding_requests_are_honoured(tmp_path: Path, zarr_format: int) -> None:
    ds = xr.Dataset({"a": (("x", "y"), np.arange(100.0).reshape(10, 10))})
    ds["s"] = ("x", ["ab", "cdef"] * 5)
    compressor = (
        zarr.codecs.BloscCodec(cname="zstd", clevel=3, shuffle="shuffle", typesize=8)
        if zarr_format == 3
        else numcodecs.Blosc(cname="zstd", clevel=3, shuffle=2)
    )
    encoding = {
        "a": {"chunks": 5, "compressors": (compressor,), "dtype": "f4", "_FillValue": -1.0},
        "s": {"dtype": "S1", "_Encoding": "ascii"},
    }
    if zarr_format == 3:
        encoding["a"].update(shards=(10, 10), chunks=(5, 5))
    to_zarr(ds, tmp_path / "e.zarr", zarr_format=zarr_format, encoding=encoding)
    assert ds["a"].encoding == {}  # the request is not written into the dataset
    back = xr.open_zarr(tmp_path / "e.zarr")
    assert back["a"].encoding["chunks"] == (5, 5)
    assert back["a"].encoding["compressors"] == (compressor,)
    assert back["a"].encoding["dtype"] == np.dtype("f4")
    assert back["a"].encoding["_FillValue"] == -1.0
    assert back["a"].encoding["shards"] == ((10, 10) if zarr_format == 3 else None)
    assert back["s"].encoding["_Encoding"] == "ascii"
    xr.testing.assert_identical(back, ds)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_object_strings_are_variable_length(tmp_path: Path, zarr_format: int) -> None:
    ds = xr.Dataset({"s": ("x", np.array(["a", "bb", np.nan], dtype=object))})
    ds["empty"] = ("y", np.array([], dtype=xr.coding.strings.create_vlen_dtype(str)))
    to_zarr(ds, tmp_path / "s.zarr", zarr_format=zarr_format)
    for name in ("s", "empty"):
        meta = stored(tmp_path / "s.zarr", name)
        if zarr_format == 3:
            assert meta["data_type"] == "string"
        else:
            assert (meta["dtype"], meta["filters"]) == ("|O", [{"id": "vlen-utf8"}])
    assert zarr.open_group(tmp_path / "s.zarr", mode="r")["s"][:].tolist() == ["a", "bb", ""]
    with pytest.raises(ValueError, match="variable 'mixed'"):  # as xarray: no Zarr type
        mixed = xr.Dataset({"mixed": ("x", np.array([{"a": 1}, {"b": 2}], dtype=object))})
        to_zarr(mixed, tmp_path / "m.zarr", zarr_format=zarr_format)


def test_mode_a_adds_and_overwrites_and_r_plus_only_writes(tmp_path: Path) -> None:
    path = tmp_path / "m.zarr"
    to_zarr(xr.Dataset({"a": ("x", [1, 2])}, attrs={"v": 1}), path)
    to_zarr(xr.Dataset({"a": ("x", [3, 4]), "b": ("x", [5, 6])}, attrs={"v": 2}), path, mode="a")
    back = xr.open_zarr(path)
    assert back["a"].values.tolist() == [3, 4] and back["b"].values.tolist() == [5, 6]
    assert back.attrs == {"v": 2}
    to_zarr(xr.Dataset({"a": ("x", [7, 8])}, attrs={"v": 3}), path, mode="r+")
    back = xr.open_zarr(path)
    assert back["a"].values.tolist() == [7, 8] and back.attrs == {"v": 2}  # values only
    to_zarr(xr.Dataset({"a": ("x", [5, 6])}), path, mode="a-")  # no append_dim: as "a"
    assert xr.open_zarr(path)["a"].values.tolist() == [5, 6]
    with pytest.raises(ValueError, match="non-pre-existing variables \\['c'\\]"):
        to_zarr(xr.Dataset({"c": ("x", [1, 2])}), path, mode="r+")
    with pytest.raises(ValueError, match="different dimension names"):
        to_zarr(xr.Dataset({"a": ("y", [1, 2])}), path, mode="a")
    with pytest.raises(FileExistsError):
        to_zarr(xr.Dataset({"a": ("x", [1, 2])}), path)
    to_zarr(xr.Dataset({"z": ("x", [0])}), path, mode="w")
    assert list(xr.open_zarr(path).data_vars) == ["z"]
    with pytest.raises(ValueError, match="only supported options for mode"):
        to_zarr(xr.Dataset(), path, mode="x")


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_append_along_a_dimension(tmp_path: Path, zarr_format: int) -> None:
    path = tmp_path / "t.zarr"
    ds = make_dataset()
    to_zarr(ds.isel(time=slice(0, 4)), path, zarr_format=zarr_format)
    later = ds.isel(time=slice(4, None))
    to_zarr(later, path, append_dim="time")
    back = xr.open_zarr(path)
    xr.testing.assert_identical(back, ds)
    assert back["packed"].encoding["dtype"] == np.dtype("int16")  # the stored encoding kept
    moved = later.assign(label=later["label"].copy(data=["q", "r", "s", "t"]))
    to_zarr(moved, path, mode="a-", append_dim="time")
    assert xr.open_zarr(path)["label"].values.tolist() == ["a", "bb", "ccc", "d"]
    with pytest.raises(ValueError, match="does not match any existing dataset dimensions"):
        to_zarr(later, path, append_dim="depth")
    with pytest.raises(ValueError, match="cannot set append_dim unless"):
        to_zarr(later, path, append_dim="time", mode="w")
    with pytest.raises(ValueError, match="different dimension sizes"):
        to_zarr(later, path, mode="a")
    with pytest.raises(ValueError, match="'temp' already exists, but encoding was provided"):
        to_zarr(later, path, append_dim="time", encoding={"temp": {"chunks": (1, 1)}})
    to_zarr(xr.Dataset({"s": ("x", ["ab", "cd"])}), tmp_path / "u.zarr")
    with pytest.raises(ValueError, match="Mismatched dtypes for variable s"):
        to_zarr(xr.Dataset({"s": ("x", ["abc"])}), tmp_path / "u.zarr", append_dim="x")


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_regions_explicit_and_auto(tmp_path: Path, zarr_format: int) -> None:
    path = tmp_path / "r.zarr"
    ds = make_dataset()
    to_zarr(ds, path, zarr_format=zarr_format)
    part = ds.isel(time=slice(2, 4), x=slice(1, 3)).drop_vars("crs")
    part = part.assign(temp=part["temp"] + 100)
    to_zarr(part[["temp"]], path, region={"time": slice(2, 4), "x": slice(1, 3)})
    expected = ds.copy(deep=True)
    expected["temp"][2:4, 1:3] += 100
    xr.testing.assert_identical(xr.open_zarr(path)[["temp"]], expected[["temp"]])
    to_zarr(part[["temp"]] + 1, path, region="auto")
    expected["temp"][2:4, 1:3] += 1
    xr.testing.assert_identical(xr.open_zarr(path)[["temp"]], expected[["temp"]])
    to_zarr(part[["temp"]].drop_vars("x") * 0, path, region={"time": "auto", "x": slice(1, 3)})
    assert (xr.open_zarr(path)["temp"][2:4, 1:3] == 0).all()
    with pytest.raises(ValueError, match="non-contiguous"):
        to_zarr(part[["temp"]].isel(time=[0, 0]), path, region="auto")
    with pytest.raises(KeyError, match="Not all values of coordinate 'x'"):
        to_zarr(part[["temp"]].assign_coords(x=part.x + 1), path, region="auto")
    with pytest.raises(ValueError, match="at least one dimension in common"):
        to_zarr(part.assign(v=2), path, region={"time": slice(2, 4), "x": slice(1, 3)})
    with pytest.raises(TypeError, match="must be slice objects"):
        to_zarr(part[["temp"]], path, region={"time": [2, 3]})
    with pytest.raises(ValueError, match="``mode`` must be 'r\\+' or 'a'"):
        to_zarr(part[["temp"]], path, region="auto", mode="a-")


def test_stale_and_int_chunk_encodings(tmp_path: Path) -> None:
    path = tmp_path / "c.zarr"
    ds = xr.Dataset({"a": (("x", "y"), np.zeros((4, 6)))})
    ds["a"].encoding["chunks"] = 2
    to_zarr(ds, path)
    opened = xr.open_zarr(path)
    assert opened["a"].encoding["chunks"] == (2, 2)
    to_zarr(opened.isel(x=0).compute(), tmp_path / "row.zarr")  # chunks (2, 2) no longer fit
    assert xr.open_zarr(tmp_path / "row.zarr")["a"].shape == (6,)
    ds["a"].encoding["chunks"] = (2, 2.5)
    with pytest.raises(TypeError, match="must be an int or a tuple of ints"):
        to_zarr(ds, tmp_path / "bad.zarr")
    with pytest.raises(ValueError, match=r"unexpected encoding parameters .*'colour'"):
        to_zarr(ds, tmp_path / "bad2.zarr", encoding={"a": {"units": "m", "colour": 1}})


def test_names_and_attributes_are_checked(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="Invalid name 0 for DataArray or Dataset key"):
        to_zarr(xr.Dataset({0: ("x", [1])}), tmp_path / "a.zarr")
    with pytest.raises(ValueError, match="string must be length 1 or greater"):
        to_zarr(xr.Dataset({"": ("x", [1])}), tmp_path / "b.zarr")
    with pytest.raises(TypeError, match=r"Invalid attribute in Dataset\.attrs"):
        to_zarr(xr.Dataset(attrs={"bad": xr.DataArray()}), tmp_path / "c.zarr")
    with pytest.raises(TypeError, match=r"Invalid attribute in Dataset\.attrs"):
        to_zarr(xr.Dataset({"v": ("x", [1], {"bad": {1, 2}})}), tmp_path / "d.zarr")
    to_zarr(xr.Dataset({None: ("x", [1, 2])}), tmp_path / "none.zarr")
    assert (tmp_path / "none.zarr" / "__values__").is_dir()
    assert list(xr.open_zarr(tmp_path / "none.zarr").data_vars) == [None]


# --- Dask data ---------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:variable label has data in the form of a dask array")
def test_compute_false_returns_a_delayed_that_writes(tmp_path: Path) -> None:
    from dask.delayed import Delayed

    path = tmp_path / "d.zarr"
    ds = make_dataset().chunk({"time": 3})
    delayed = to_zarr(ds, path, compute=False)
    assert isinstance(delayed, Delayed)
    assert not list((path / "temp").glob("c/*"))  # metadata only, so far
    assert xr.open_zarr(path)["temp"].isnull().all()  # the fill value, NaN
    delayed.compute()
    xr.testing.assert_identical(xr.open_zarr(path), ds.compute())
    appended = to_zarr(ds.isel(time=slice(0, 3)), path, append_dim="time", compute=False)
    assert xr.open_zarr(path).sizes["time"] == 9  # resized now, written on compute
    appended.compute(scheduler="sync")
    assert xr.open_zarr(path)["temp"][6:].values.tolist() == ds["temp"][:3].values.tolist()


def test_dask_data_goes_through_store_dask(tmp_path: Path, monkeypatch) -> None:
    calls = []

    def spy(source, target, **kwargs):
        calls.append((target.path, kwargs["region"], kwargs["align"]))
        return real(source, target, **kwargs)

    real = zarrkit_dask.store_dask
    monkeypatch.setattr(zarrkit_dask, "store_dask", spy)
    ds = xr.Dataset({"a": ("x", da.arange(12, chunks=4))})
    path = tmp_path / "s.zarr"
    to_zarr(ds, path, chunkmanager_store_kwargs={"scheduler": "sync"})
    to_zarr(ds.isel(x=slice(4, 8)) * 10, path, region={"x": slice(4, 8)})
    assert calls == [
        ("a", (slice(None),), "lock"),
        ("a", (slice(4, 8),), "lock"),
    ]
    assert xr.open_zarr(path)["a"].values.tolist() == [0, 1, 2, 3, 40, 50, 60, 70, 8, 9, 10, 11]


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_dask_blocks_sharing_chunks(tmp_path: Path, zarr_format: int) -> None:
    ds = xr.Dataset({"a": ("x", da.arange(12.0, chunks=4))})
    ds["a"].encoding["chunks"] = (6,)
    with pytest.raises(ValueError, match="variable named 'a' would overlap multiple Dask chunks"):
        to_zarr(ds, tmp_path / "a.zarr", zarr_format=zarr_format)
    # safe_chunks=False: zarrkit locks each shared chunk, so nothing is lost
    to_zarr(ds, tmp_path / "b.zarr", zarr_format=zarr_format, safe_chunks=False)
    assert xr.open_zarr(tmp_path / "b.zarr")["a"].values.tolist() == list(range(12))
    to_zarr(ds, tmp_path / "c.zarr", zarr_format=zarr_format, align_chunks=True)
    assert xr.open_zarr(tmp_path / "c.zarr")["a"].values.tolist() == list(range(12))
    irregular = xr.Dataset({"a": ("x", da.arange(12.0, chunks=((5, 4, 3),)))})
    with pytest.raises(ValueError, match="uniform chunk sizes"):
        to_zarr(irregular, tmp_path / "d.zarr", zarr_format=zarr_format)


def test_partial_chunks_of_a_region_only_with_mode_a(tmp_path: Path) -> None:
    path = tmp_path / "r.zarr"
    base = xr.Dataset({"a": ("x", np.arange(11))}, coords={"x": np.arange(11)}).chunk(x=3)
    to_zarr(base, path)
    part = base.isel(x=slice(3, 8))  # ends inside the chunk [6, 9)
    with pytest.raises(ValueError, match="would overlap"):
        to_zarr(part, path, region="auto", mode="r+")
    to_zarr(part * 2, path, region="auto", mode="a")
    assert xr.open_zarr(path)["a"].values[3:9].tolist() == [6, 8, 10, 12, 14, 8]
    to_zarr(base.isel(x=slice(9, None)), path, region="auto", mode="r+")  # the array's end


def test_shards_must_hold_whole_chunks_and_dask_blocks_whole_shards(tmp_path: Path) -> None:
    ds = xr.Dataset({"a": ("x", np.arange(12))})
    with pytest.raises(ValueError, match="must be whole multiples"):
        to_zarr(ds, tmp_path / "a.zarr", encoding={"a": {"chunks": (2,), "shards": (5,)}})
    chunked = ds.chunk(x=3)
    with pytest.raises(ValueError, match="would overlap"):
        to_zarr(chunked, tmp_path / "b.zarr", encoding={"a": {"chunks": (2,), "shards": (4,)}})
    to_zarr(
        chunked.chunk(x=6), tmp_path / "c.zarr", encoding={"a": {"chunks": (3,), "shards": (6,)}}
    )
    assert zarrkit.open_array(tmp_path / "c.zarr", path="a").shards == (6,)


@pytest.mark.parametrize("write_empty", [None, False, True])
def test_write_empty_chunks(tmp_path: Path, write_empty: bool | None) -> None:
    path = tmp_path / "w.zarr"
    ds = xr.Dataset({"a": ("x", [np.nan, np.nan, 1.0, np.nan])})
    to_zarr(ds, path, encoding={"a": {"chunks": (1,)}}, write_empty_chunks=write_empty)
    written = sorted(p.name for p in (path / "a" / "c").iterdir())
    assert written == (["0", "1", "2", "3"] if write_empty else ["2"])
    to_zarr(ds, path, append_dim="x", write_empty_chunks=write_empty)
    assert len(list((path / "a" / "c").iterdir())) == (8 if write_empty else 2)
    with pytest.raises(ValueError, match='Differing "write_empty_chunks"'):
        encoding = {"a": {"write_empty_chunks": not write_empty}}
        to_zarr(ds, tmp_path / "x.zarr", encoding=encoding, write_empty_chunks=bool(write_empty))


# --- where and how -----------------------------------------------------------------------------


def test_groups_formats_and_consolidation(tmp_path: Path) -> None:
    path = tmp_path / "g.zarr"
    to_zarr(make_dataset(), path, group="a/b", zarr_format=2, consolidated=False)
    assert not (path / ".zmetadata").exists()
    to_zarr(make_dataset(), path, group="a/b", mode="a")  # the stored group's format
    assert (path / ".zmetadata").exists() and not (path / "a" / "b" / "zarr.json").exists()
    xr.testing.assert_identical(xr.open_zarr(path, group="a/b"), make_dataset())
    store = zarrkit.storage.MemoryStore()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # consolidating v3 warns in the API, not here (as xarray)
        to_zarr(make_dataset(), store)
    xr.testing.assert_identical(xr.open_dataset(store, engine="zarrkit"), make_dataset())
    with pytest.raises(ValueError, match="store must be a string to use storage_options"):
        to_zarr(make_dataset(), store, mode="w", storage_options={"anon": True})
    with pytest.raises(TypeError, match="zarr_version"):  # gone from Dataset.to_zarr too
        make_dataset().zarrkit.to_zarr(tmp_path / "v.zarr", zarr_version=3)


def test_accessors(tmp_path: Path) -> None:
    ds = make_dataset()
    ds.zarrkit.to_zarr(tmp_path / "ds.zarr", mode="w", zarr_format=2)
    xr.testing.assert_identical(xr.open_zarr(tmp_path / "ds.zarr"), ds)
    named = xr.DataArray(np.arange(4), dims="x", coords={"x": [1, 2, 3, 4]}, name="x")
    for array in (named, named.rename(None), named.rename("v")):
        array.zarrkit.to_zarr(tmp_path / f"{array.name}.zarr")
        xr.testing.assert_identical(xr.open_dataarray(tmp_path / f"{array.name}.zarr"), array)
