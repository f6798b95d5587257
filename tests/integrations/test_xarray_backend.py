"""xarray's ``engine="zarrkit"``: reads what xarray writes, identically to ``xr.open_zarr``
(values, attributes, encodings, errors and warnings), lazily."""

from __future__ import annotations

from optional import module_needs

module_needs("xarray", "zarr", "numcodecs")

import asyncio
import inspect
import json
import shutil
import warnings
from pathlib import Path

import numcodecs
import numpy as np
import pandas as pd
import pytest
import xarray as xr
import zarr

import zarrkit
from zarrkit.errors import MetadataError
from zarrkit.integrations.xarray import (
    ZarrkitArrayWrapper,
    ZarrkitBackendEntrypoint,
    ZarrkitDataStore,
    to_zarr,
)

pytestmark = pytest.mark.filterwarnings(
    # zarr-python's notes on v3 consolidated metadata and string data types, and xarray's
    # on its combine defaults: none is about zarrkit
    "ignore:Consolidated metadata is currently not part:UserWarning",
    "ignore:The data type .* does not have a Zarr V3 specification",
    "ignore:In a future version of xarray the default value:FutureWarning",
    "ignore:Failed to open Zarr store with consolidated metadata:RuntimeWarning",
)

#: Encoding entries both readers must agree on: codecs are zarr-python's objects in both.
ENCODING_KEYS = (
    "chunks",
    "preferred_chunks",
    "shards",
    "dtype",
    "scale_factor",
    "add_offset",
    "compressors",
    "filters",
    "serializer",
)


def make_dataset() -> xr.Dataset:
    ds = xr.Dataset(
        {
            "temp": (("time", "x"), np.arange(24.0).reshape(6, 4), {"units": "K"}),
            "packed": (("time", "x"), np.linspace(0, 10, 24).reshape(6, 4)),
            "gappy": (("x",), np.array([1.0, np.nan, 3.0, np.nan])),
        },
        coords={
            "time": pd.date_range("2000-01-01", periods=6, freq="D"),
            "x": [10, 20, 30, 40],
            "lon": (("x",), np.array([1.5, 2.5, 3.5, 4.5])),
        },
        attrs={"title": "zarrkit test", "version": 2},
    )
    ds["packed"].encoding = {"dtype": "int16", "scale_factor": 0.1, "_FillValue": -9999}
    ds["temp"].encoding = {"chunks": (3, 2)}
    return ds


def xarray_writes(path: Path, zarr_format: int, consolidated: bool) -> Path:
    make_dataset().to_zarr(path, zarr_format=zarr_format, consolidated=consolidated, mode="w")
    return path


def open_zarr(path: Path) -> xr.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "not consolidated" fallback notice
        return xr.open_zarr(path)


def assert_same_as_open_zarr(ours: xr.Dataset, path: Path) -> None:
    theirs = open_zarr(path)
    xr.testing.assert_identical(ours, theirs)
    for name, variable in theirs.variables.items():
        for key in ENCODING_KEYS:
            assert ours[name].encoding.get(key) == variable.encoding.get(key), (name, key)
        for key in ("_FillValue", "fill_value"):
            np.testing.assert_equal(ours[name].encoding.get(key), variable.encoding.get(key))


# --- reading ---------------------------------------------------------------------------------


@pytest.mark.parametrize("consolidated", [False, True])
@pytest.mark.parametrize("zarr_format", [2, 3])
def test_open_dataset_matches_open_zarr(tmp_path: Path, zarr_format: int, consolidated: bool):
    path = xarray_writes(tmp_path / "ds.zarr", zarr_format, consolidated)
    ours = xr.open_dataset(path, engine="zarrkit")
    assert_same_as_open_zarr(ours, path)
    assert ours["temp"].encoding["chunks"] == (3, 2)
    assert ours["packed"].encoding["scale_factor"] == 0.1
    assert ours["time"].dtype == np.dtype("datetime64[ns]")
    assert "lon" in ours.coords and np.isnan(ours["gappy"].values[1])


def test_consolidated_metadata_on_demand(tmp_path: Path) -> None:
    plain = xarray_writes(tmp_path / "plain.zarr", 3, False)
    with pytest.raises(MetadataError, match="holds no consolidated metadata"):
        xr.open_dataset(plain, engine="zarrkit", consolidated=True)
    zarrkit.consolidate_metadata(plain)
    (plain / "gappy" / "zarr.json").unlink()  # now only the consolidated copy describes it
    assert "gappy" in xr.open_dataset(plain, engine="zarrkit").data_vars
    assert "gappy" in xr.open_dataset(plain, engine="zarrkit", consolidated=True).data_vars
    assert "gappy" not in xr.open_dataset(plain, engine="zarrkit", consolidated=False).data_vars


def test_sharded_variables(tmp_path: Path) -> None:
    path = tmp_path / "sharded.zarr"
    encoding = {"temp": {"chunks": (3, 2), "shards": (6, 4)}}
    make_dataset().to_zarr(path, zarr_format=3, encoding=encoding, consolidated=False)
    ours = xr.open_dataset(path, engine="zarrkit")
    assert_same_as_open_zarr(ours, path)
    assert ours["temp"].encoding["shards"] == (6, 4)


def test_undecoded_open_shows_the_stored_values(tmp_path: Path) -> None:
    path = xarray_writes(tmp_path / "ds.zarr", 3, False)
    raw = xr.open_dataset(path, engine="zarrkit", decode_cf=False)
    assert raw["packed"].dtype == np.dtype("int16")
    assert raw["time"].attrs["units"].startswith("days since 2000-01-01")
    xr.testing.assert_identical(raw, xr.open_zarr(path, decode_cf=False, consolidated=False))


def test_variables_are_read_lazily(tmp_path: Path) -> None:
    path = xarray_writes(tmp_path / "ds.zarr", 3, False)
    ds = xr.open_dataset(path, engine="zarrkit")
    shutil.rmtree(path / "temp" / "c")  # after opening: missing chunks read as fill (NaN)
    assert np.isnan(ds["temp"].values).all()
    assert ds["gappy"].values[0] == 1.0  # not deleted, read now


def test_indexing_matches_numpy(tmp_path: Path) -> None:
    path = xarray_writes(tmp_path / "ds.zarr", 2, False)
    ours = xr.open_dataset(path, engine="zarrkit")["temp"]
    expected = open_zarr(path)["temp"].load()
    points = {"time": xr.DataArray([0, 5, 2], dims="p"), "x": xr.DataArray([1, 3, 0], dims="p")}
    grid = xr.DataArray([[0, 1], [5, 3]], dims=("a", "b"))
    for selection in (
        points,
        {"time": [4, 1], "x": [3, 0]},
        {"time": slice(1, 5, 2), "x": 2},
        {"time": grid, "x": slice(1, 3)},
    ):
        xr.testing.assert_identical(ours.isel(selection), expected.isel(selection))


def test_open_mfdataset(tmp_path: Path) -> None:
    ds = make_dataset()
    paths = [tmp_path / "a.zarr", tmp_path / "b.zarr"]
    ds.isel(time=slice(0, 3)).to_zarr(paths[0], zarr_format=3)
    ds.isel(time=slice(3, None)).to_zarr(paths[1], zarr_format=3)
    ours = xr.open_mfdataset(paths, engine="zarrkit", combine="by_coords")
    assert ours["temp"].chunks is not None  # dask-backed, lazy
    theirs = xr.open_mfdataset(paths, engine="zarr", combine="by_coords")
    xr.testing.assert_identical(ours.compute(), theirs.compute())


def test_groups_and_store_objects(tmp_path: Path) -> None:
    make_dataset().to_zarr(tmp_path / "h.zarr", group="inner/level", zarr_format=3)
    store = zarrkit.storage.LocalStore(tmp_path / "h.zarr")
    ours = xr.open_dataset(store, engine="zarrkit", group="inner/level")
    xr.testing.assert_identical(ours, xr.open_zarr(tmp_path / "h.zarr", group="inner/level"))
    assert ZarrkitBackendEntrypoint().guess_can_open(store)
    assert ZarrkitBackendEntrypoint().guess_can_open("x/data.zarr/")
    assert not ZarrkitBackendEntrypoint().guess_can_open("data.nc")


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_arrays_without_dimension_names_are_refused(tmp_path: Path, zarr_format: int) -> None:
    root = zarrkit.group(tmp_path / "plain.zarr", zarr_format=zarr_format)
    root.create_array("a", shape=(3,), dtype="i4")
    with pytest.raises(KeyError, match=r"'a' is missing .* xarray to determine variable dim"):
        xr.open_dataset(tmp_path / "plain.zarr", engine="zarrkit", consolidated=False)


def test_nczarr_attributes_stay_hidden(tmp_path: Path) -> None:
    path = xarray_writes(tmp_path / "nc.zarr", 2, False)
    zarrkit.open_array(path, path="temp").attrs["_nczarr_array"] = {"dimrefs": ["/time", "/x"]}
    zarrkit.open_group(path).attrs["_nczarr_group"] = {"dims": {"time": 6, "x": 4}}
    ours = xr.open_dataset(path, engine="zarrkit", consolidated=False)
    assert "_nczarr_array" not in ours["temp"].attrs and "_nczarr_group" not in ours.attrs
    assert_same_as_open_zarr(ours, path)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_string_variables(tmp_path: Path, zarr_format: int) -> None:
    ds = xr.Dataset({"name": (("x",), np.array(["a", "bb", "ccc"]))}, coords={"x": [1, 2, 3]})
    ds.to_zarr(tmp_path / "s.zarr", zarr_format=zarr_format)
    ours = xr.open_dataset(tmp_path / "s.zarr", engine="zarrkit")
    assert_same_as_open_zarr(ours, tmp_path / "s.zarr")


def test_scalar_v3_variables_need_no_dimension_names(tmp_path: Path) -> None:
    # zarr-python writes 0-d arrays without dimension_names (CRS, time origins ...)
    path = tmp_path / "scalar.zarr"
    xr.Dataset({"crs": ((), 4326), "t": ("x", [1.0, 2.0])}).to_zarr(path, zarr_format=3)
    assert "dimension_names" not in json.loads((path / "crs" / "zarr.json").read_text())
    ours = xr.open_dataset(path, engine="zarrkit")
    assert ours["crs"].dims == () and int(ours["crs"]) == 4326
    assert_same_as_open_zarr(ours, path)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_encodings_are_what_xarrays_writer_takes(tmp_path: Path, zarr_format: int) -> None:
    ds = make_dataset()
    ds["flag"] = ("x", np.array([True, False, True, True]))
    ds["temp"].encoding["compressors"] = (
        zarr.codecs.BloscCodec(cname="lz4", clevel=3, shuffle="bitshuffle", typesize=8)
        if zarr_format == 3
        else (numcodecs.Blosc(cname="lz4", clevel=3, shuffle=2),)
    )
    if zarr_format == 3:
        ds["temp"].encoding["shards"] = (6, 4)
    ds.to_zarr(tmp_path / "in.zarr", zarr_format=zarr_format)
    ours = xr.open_dataset(tmp_path / "in.zarr", engine="zarrkit")
    assert_same_as_open_zarr(ours, tmp_path / "in.zarr")
    ours.to_zarr(tmp_path / "out.zarr", zarr_format=zarr_format)  # xarray's own writer
    again = xr.open_zarr(tmp_path / "out.zarr")
    xr.testing.assert_identical(again, ours)
    assert again["temp"].encoding["compressors"] == ours["temp"].encoding["compressors"]
    assert again["temp"].encoding["shards"] == ((6, 4) if zarr_format == 3 else None)


def test_numcodecs_codecs_convert_quietly(tmp_path: Path) -> None:
    root = zarrkit.group(tmp_path / "z.zarr")
    array = root.create_array(
        "a", shape=(4,), dtype="i4", dimension_names=["x"], compressors={"id": "zlib", "level": 5}
    )
    array[:] = [1, 2, 3, 4]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opened = xr.open_dataset(tmp_path / "z.zarr", engine="zarrkit", consolidated=False)
    (codec,) = opened["a"].encoding["compressors"]
    assert codec.to_dict() == {"name": "numcodecs.zlib", "configuration": {"level": 5}}


def test_encodings_without_zarr_python_are_json(tmp_path: Path, monkeypatch) -> None:
    from zarrkit.integrations.xarray import encoding

    path = xarray_writes(tmp_path / "ds.zarr", 3, True)
    monkeypatch.setattr(encoding, "_zarr_python_codec_class", lambda name: None)
    temp = xr.open_dataset(path, engine="zarrkit")["temp"]
    assert temp.encoding["serializer"] == {"name": "bytes", "configuration": {"endian": "little"}}
    assert temp.encoding["compressors"][0]["name"] == "zstd"


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_fill_value_masks_where_xarray_says(tmp_path: Path, zarr_format: int) -> None:
    path = tmp_path / "fill.zarr"
    root = zarrkit.open_group(path, mode="w", zarr_format=zarr_format)
    names = {"dimension_names": ["x"]} if zarr_format == 3 else {}
    attributes = {} if zarr_format == 3 else {"_ARRAY_DIMENSIONS": ["x"]}
    array = root.create_array(
        "a", shape=(3,), dtype="f8", fill_value=-1.0, attributes=attributes, **names
    )
    array[:] = [1.0, -1.0, 2.0]

    def opened(mask: bool | None) -> list[float]:
        ds = xr.open_dataset(path, engine="zarrkit", use_zarr_fill_value_as_mask=mask)
        return ds["a"].values.tolist()

    masked, plain = [1.0, np.nan, 2.0], [1.0, -1.0, 2.0]
    np.testing.assert_equal(opened(None), masked if zarr_format == 2 else plain)
    np.testing.assert_equal(opened(True), masked)
    np.testing.assert_equal(opened(False), plain)


def test_load_async_reads_in_threads(tmp_path: Path) -> None:
    path = xarray_writes(tmp_path / "ds.zarr", 3, True)
    ds = xr.open_dataset(path, engine="zarrkit")
    assert not ds["temp"].variable._in_memory
    loaded = asyncio.run(ds.load_async())
    assert loaded["temp"].variable._in_memory
    xr.testing.assert_identical(loaded, open_zarr(path).load())
    points = ds["temp"].isel(time=xr.DataArray([0, 5], dims="p"), x=xr.DataArray([1, 3], dims="p"))
    assert asyncio.run(points.load_async()).values.tolist() == [1.0, 23.0]


def test_the_wrapped_array_is_private(tmp_path: Path) -> None:
    # xarray walks ``.array`` down its wrappers and rejects any that is not its own
    path = xarray_writes(tmp_path / "ds.zarr", 2, True)
    ds = xr.open_dataset(path, engine="zarrkit")
    wrapper = ds["temp"].variable._data
    while not isinstance(wrapper, ZarrkitArrayWrapper):
        wrapper = wrapper.array
    assert not hasattr(wrapper, "array")
    assert isinstance(wrapper.get_array(), zarrkit.Array)
    assert ds["temp"].isel(x=[0, 2]).dropna("time").shape == (6, 2)


def test_a_missing_consolidation_warns_as_xarray_does(tmp_path: Path) -> None:
    path = xarray_writes(tmp_path / "ds.zarr", 3, False)
    with pytest.warns(RuntimeWarning, match="Failed to open Zarr store with consolidated") as seen:
        xr.open_dataset(path, engine="zarrkit")
    assert seen[0].filename == __file__  # named at the caller, not inside xarray or zarrkit
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        xr.open_dataset(path, engine="zarrkit", consolidated=False)
    with pytest.warns(zarrkit.errors.ZarrUserWarning, match="not part in the Zarr format 3"):
        zarrkit.consolidate_metadata(path)  # as zarr-python warns
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        xr.open_dataset(path, engine="zarrkit")


def test_stores_without_consolidated_metadata_are_read_as_they_are() -> None:
    class Plain(zarr.storage.MemoryStore):  # as Icechunk's stores say of themselves
        supports_consolidated_metadata = False

    store = Plain()
    make_dataset().to_zarr(store, consolidated=False, zarr_format=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = xr.open_dataset(store, engine="zarrkit")
        to_zarr(make_dataset(), store, mode="w")  # writes no consolidated metadata there
    xr.testing.assert_identical(ours["temp"], make_dataset()["temp"])
    assert "consolidated_metadata" not in json.loads(store._store_dict["zarr.json"].to_bytes())


def test_a_missing_store_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"missing\.zarr' does not exist"):
        xr.open_dataset(tmp_path / "missing.zarr", engine="zarrkit")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        xr.open_zarr(tmp_path / "missing.zarr", consolidated=False)
    path = xarray_writes(tmp_path / "ds.zarr", 3, True)
    with pytest.raises(KeyError):
        xr.open_dataset(path, engine="zarrkit", group="nowhere")


def test_engine_zarr_keywords(tmp_path: Path) -> None:
    from xarray.backends.zarr import ZarrBackendEntrypoint

    theirs = inspect.signature(ZarrBackendEntrypoint.open_dataset).parameters
    ours = inspect.signature(ZarrkitBackendEntrypoint.open_dataset).parameters
    assert set(theirs) <= set(ours)
    path = xarray_writes(tmp_path / "ds.zarr", 3, True)
    ds = xr.open_dataset(path, engine="zarrkit", mode="r", cache_members=False)
    assert_same_as_open_zarr(ds, path)
    store = ZarrkitDataStore.open(str(path))
    assert xr.open_dataset(path, engine="zarrkit", store=store)["temp"].shape == (6, 4)


@pytest.mark.parametrize(
    ("group", "paths"),
    [(None, ["/", "/surface", "/surface/hourly"]), ("surface", ["/", "/hourly"])],
)
def test_datatrees_and_groups(tmp_path: Path, group: str | None, paths: list[str]) -> None:
    path = tmp_path / "tree.zarr"
    tree = xr.DataTree.from_dict(
        {
            "/": xr.Dataset(attrs={"title": "tree"}),
            "/surface": make_dataset().isel(time=slice(0, 2)),
            "/surface/hourly": xr.Dataset({"wind": ("hour", np.arange(24.0))}),
        }
    )
    tree.to_zarr(path, zarr_format=3)
    ours = xr.open_datatree(path, engine="zarrkit", group=group)
    xr.testing.assert_identical(ours, xr.open_datatree(path, engine="zarr", group=group))
    groups = xr.open_groups(path, engine="zarrkit", group=group)
    assert sorted(groups) == paths
    hourly = tree["/surface/hourly"].to_dataset(inherit=False)
    xr.testing.assert_identical(groups[paths[-1]], hourly)
