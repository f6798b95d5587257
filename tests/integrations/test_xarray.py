"""xarray: the ``engine="zarrkit"`` backend reads what xarray writes, identically to
``xr.open_zarr``; ``to_zarr`` writes what ``xr.open_zarr`` reads."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

from optional import module_needs

module_needs("xarray", "pandas", "zarr")

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import zarrkit
from zarrkit.errors import MetadataError, UnknownDataTypeError
from zarrkit.integrations.xarray import ZarrkitBackendEntrypoint, to_zarr

pytestmark = pytest.mark.filterwarnings(
    # zarr-python's notes on v3 consolidated metadata and string data types, and xarray's
    # on its combine defaults: none is about zarrkit
    "ignore:Consolidated metadata is currently not part:UserWarning",
    "ignore:The data type .* does not have a Zarr V3 specification",
    "ignore:In a future version of xarray the default value:FutureWarning",
)

#: Encoding entries both readers must agree on (codec objects are each library's own).
ENCODING_KEYS = ("chunks", "preferred_chunks", "shards", "dtype", "scale_factor", "add_offset")


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
        ours_fill = ours[name].encoding.get("_FillValue")
        np.testing.assert_equal(ours_fill, variable.encoding.get("_FillValue"))


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


def test_arrays_without_dimension_names_are_refused(tmp_path: Path) -> None:
    root = zarrkit.group(tmp_path / "plain.zarr")
    root.create_array("a", shape=(3,), dtype="i4")
    with pytest.raises(MetadataError, match=r"array 'a' has no dimension names"):
        xr.open_dataset(tmp_path / "plain.zarr", engine="zarrkit")


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_string_variables(tmp_path: Path, zarr_format: int) -> None:
    ds = xr.Dataset({"name": (("x",), np.array(["a", "bb", "ccc"]))}, coords={"x": [1, 2, 3]})
    ds.to_zarr(tmp_path / "s.zarr", zarr_format=zarr_format)
    ours = xr.open_dataset(tmp_path / "s.zarr", engine="zarrkit")
    assert_same_as_open_zarr(ours, tmp_path / "s.zarr")


# --- writing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_to_zarr_writes_what_xarray_writes(tmp_path: Path, zarr_format: int) -> None:
    ds = make_dataset()
    to_zarr(ds, tmp_path / "ours.zarr", zarr_format=zarr_format)
    ds.to_zarr(tmp_path / "theirs.zarr", zarr_format=zarr_format)
    back = xr.open_zarr(tmp_path / "ours.zarr", consolidated=True)
    xr.testing.assert_identical(back, xr.open_zarr(tmp_path / "theirs.zarr"))
    assert back["temp"].encoding["chunks"] == (3, 2)
    xr.testing.assert_identical(xr.open_dataset(tmp_path / "ours.zarr", engine="zarrkit"), back)


def test_to_zarr_round_trips_exactly_and_writes_dask_blocks(tmp_path: Path) -> None:
    ds = make_dataset().drop_vars("packed").chunk({"time": 4})  # misaligned with chunks (3, 2)
    to_zarr(ds, tmp_path / "d.zarr", group="g")
    xr.testing.assert_identical(xr.open_zarr(tmp_path / "d.zarr", group="g"), ds.compute())
    with pytest.raises(zarrkit.errors.NodeExistsError):
        to_zarr(ds, tmp_path / "d.zarr", group="g")
    to_zarr(ds.isel(time=slice(0, 2)), tmp_path / "d.zarr", group="g", mode="w")
    assert xr.open_zarr(tmp_path / "d.zarr", group="g").sizes["time"] == 2


def test_to_zarr_names_the_unsupported_variable(tmp_path: Path) -> None:
    # objects that are neither str nor bytes have no Zarr data type
    ds = xr.Dataset({"label": (("x",), np.array([{"a": 1}, {"b": 2}], dtype=object))})
    with pytest.raises(UnknownDataTypeError, match="variable 'label'"):
        to_zarr(ds, tmp_path / "s.zarr", zarr_format=3)
