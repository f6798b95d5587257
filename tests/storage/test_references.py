"""ReferenceStore: kerchunk references of NetCDF/HDF5 files made here, read through zarrkit
and compared with the files themselves (h5py, xarray), with fsspec's reference file system
under zarr-python, and with xarray's "kerchunk" engine; locally, over HTTP and on S3."""

from __future__ import annotations

import base64
import functools
import http.server
import json
import pickle
import shutil
import sys
import threading
import uuid

import numpy as np
import pytest
from optional import needs, optional

import zarrkit
from zarrkit.errors import (
    MetadataError,
    NodeNotFoundError,
    ReadOnlyError,
    UnresolvedReferenceError,
)
from zarrkit.storage import RangeRequest, SuffixRequest, make_store
from zarrkit.storage.references import ReferenceStore

from .conftest import RangeRequestHandler

# the peers and files references are made from and compared with, and the extras
fsspec = optional("fsspec")
fsspec_references = optional("fsspec.implementations.reference")
h5py = optional("h5py")
kerchunk_hdf = optional("kerchunk.hdf")
pd = optional("pandas")
xr = optional("xarray")
zarr = optional("zarr")
zarr_storage = optional("zarr.storage")
zarrkit_object = optional("zarrkit.storage.object")
zarrkit_xarray = optional("zarrkit.integrations.xarray")


@pytest.fixture
def netcdf(tmp_path):
    """A NetCDF4 file with compressed, chunked and scaled variables and a time axis."""
    rng = np.random.default_rng(0)
    dataset = xr.Dataset(
        {
            "temperature": (
                ("time", "lat", "lon"),
                rng.standard_normal((4, 30, 40)).astype("f4"),
                {"units": "K"},
            ),
            "count": (("lat", "lon"), rng.integers(0, 100, (30, 40)).astype("i2")),
        },
        coords={
            "time": pd.date_range("2020-01-01", periods=4),
            "lat": np.linspace(-10, 10, 30),
            "lon": np.arange(40.0),
        },
        attrs={"title": "made in a test"},
    )
    encoding = {
        "temperature": {"zlib": True, "chunksizes": (1, 10, 20)},
        "count": {"chunksizes": (15, 20)},
    }
    path = tmp_path / "data.nc"
    dataset.to_netcdf(path, engine="h5netcdf", encoding=encoding)
    return path


def kerchunk_refs(path, url=None, inline_threshold=300):
    """kerchunk's references of the HDF5 file at ``path``, naming it ``url``."""
    with open(path, "rb") as f:
        return kerchunk_hdf.SingleHdf5ToZarr(
            f, url or str(path), inline_threshold=inline_threshold
        ).translate()


def assert_same_as_file(store, path):
    expected = xr.open_dataset(path, engine="h5netcdf").load()
    xr.testing.assert_identical(xr.open_dataset(store, engine="zarrkit").load(), expected)


# --- values --------------------------------------------------------------------------------
def test_values_equal_h5py(netcdf):
    root = zarrkit.open_group(ReferenceStore(kerchunk_refs(netcdf)), mode="r")
    with h5py.File(netcdf) as f:
        for name in ("temperature", "count", "lat", "lon", "time"):
            np.testing.assert_array_equal(root[name][...], f[name][...])
            assert root[name].dtype == f[name].dtype


def test_xarray_engine_matches_the_file_and_the_kerchunk_engine(netcdf):
    refs = kerchunk_refs(netcdf)
    assert_same_as_file(ReferenceStore(refs), netcdf)
    via_kerchunk = xr.open_dataset(refs, engine="kerchunk").load()
    xr.testing.assert_identical(xr.open_dataset(refs, engine="zarrkit").load(), via_kerchunk)


def test_values_equal_zarr_python_over_fsspec(netcdf):
    refs = kerchunk_refs(netcdf)
    fs = fsspec.filesystem("reference", fo=refs, asynchronous=True)
    peer = zarr.open_group(zarr_storage.FsspecStore(fs, read_only=True), mode="r", zarr_format=2)
    ours = zarrkit.open_group(ReferenceStore(refs), mode="r")
    for name in ("temperature", "count", "lat"):
        np.testing.assert_array_equal(ours[name][...], peer[name][...])


def test_inline_data_plain_and_base64(netcdf):
    refs = kerchunk_refs(netcdf, inline_threshold=1000)
    inline = {k: v for k, v in refs["refs"].items() if isinstance(v, str) and "/." not in k}
    assert any(v.startswith("base64:") for v in inline.values()), "expected base64 inline data"
    store = ReferenceStore(refs)
    for key, value in inline.items():
        expected = base64.b64decode(value[7:]) if value.startswith("base64:") else value.encode()
        assert store.get(key) == expected
    assert_same_as_file(store, netcdf)


def test_reference_file_url_and_version_0(netcdf, tmp_path):
    refs = kerchunk_refs(netcdf)
    (tmp_path / "v1.json").write_text(json.dumps(refs))
    (tmp_path / "v0.json").write_text(json.dumps(refs["refs"]))
    for name in ("v1.json", "v0.json"):
        store = make_store(f"reference://{tmp_path / name}")
        assert isinstance(store, ReferenceStore)
        assert_same_as_file(store, netcdf)


def write_parquet_refs(refs, path, engine, record_size):
    """Parquet references as kerchunk's ``refs_to_dataframe`` writes them, with ``engine``."""
    out = fsspec_references.LazyReferenceMapper.create(
        str(path), record_size=record_size, engine=engine
    )
    for key in sorted(refs["refs"]):
        out[key] = refs["refs"][key]
    out.flush()


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")
@pytest.mark.parametrize("engine", ["fastparquet", "pyarrow"])
def test_parquet_references(netcdf, tmp_path, engine):
    refs = kerchunk_refs(netcdf, inline_threshold=50)
    write_parquet_refs(refs, tmp_path / "refs.parq", engine, record_size=5)
    store = ReferenceStore(tmp_path / "refs.parq")
    assert_same_as_file(store, netcdf)
    json_keys = {k for k in refs["refs"] if not k.startswith(".z") and "/.z" not in k}
    parquet_keys = {k for k in store.list() if "/.z" not in k and not k.startswith(".z")}
    assert parquet_keys == json_keys
    assert store.get("temperature/9.0.0") is None  # outside the chunk grid
    assert list(store.list_prefix("count/")) == sorted(k for k in refs["refs"] if k[:6] == "count/")
    clone = pickle.loads(pickle.dumps(store))
    assert clone.get("temperature/1.1.1") == store.get("temperature/1.1.1")


def test_parquet_needs_pyarrow(netcdf, tmp_path, monkeypatch):
    write_parquet_refs(kerchunk_refs(netcdf), tmp_path / "refs.parq", "pyarrow", 100)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ImportError, match=r"pip install 'zarrkit\[references\]'"):
        ReferenceStore(tmp_path / "refs.parq")


def test_byte_ranges_stay_inside_the_reference(tmp_path):
    (tmp_path / "f.bin").write_bytes(b"0123456789abcdef")
    store = ReferenceStore({"k": [str(tmp_path / "f.bin"), 4, 6], "w": [str(tmp_path / "f.bin")]})
    assert store.get("k") == b"456789"
    assert store.get("k", RangeRequest(1, 100)) == b"56789"
    assert store.get("k", SuffixRequest(2)) == b"89"
    assert store.get_ranges("k", [RangeRequest(0, 2), SuffixRequest(1)]) == [b"45", b"9"]
    assert store.get("w", SuffixRequest(3)) == b"def"
    assert store.getsize("k") == 6
    assert store.getsize("w") == 16
    assert store.exists("k") and not store.exists("nothing")


def test_requests_to_separate_ranges_run_concurrently(tmp_path, monkeypatch):
    for name in "abcd":
        (tmp_path / name).write_bytes(bytes(1000))
    store = ReferenceStore({name: [str(tmp_path / name), 10, 20] for name in "abcd"})
    # every read waits until all four are in flight: reads one after another break it
    all_in_flight = threading.Barrier(4, timeout=10)
    read_block = ReferenceStore._read_block

    def waiting_read_block(self, block):
        all_in_flight.wait()
        return read_block(self, block)

    monkeypatch.setattr(ReferenceStore, "_read_block", waiting_read_block)
    assert store.get_many(list("abcd")) == [bytes(20)] * 4
    assert not all_in_flight.broken


# --- templates and generators --------------------------------------------------------------
def test_templates_and_generators(tmp_path):
    needs("jinja2")  # the nested template is an expression
    (tmp_path / "part_1.bin").write_bytes(bytes(range(100)))
    (tmp_path / "part_2.bin").write_bytes(bytes(range(100, 200)))
    refs = {
        "version": 1,
        "templates": {"d": str(tmp_path), "part": "{{d}}/part_{{n}}.bin"},
        "refs": {"plain": ["{{d}}/part_1.bin", 10, 3], "nested": ["{{part(n=2)}}", 0, 2]},
        "gen": [
            {
                "key": "g/{{i}}.{{n}}",
                "url": "{{d}}/part_{{n}}.bin",
                "offset": "{{i * 10}}",
                "length": "{{5}}",
                "dimensions": {"i": {"stop": 3}, "n": [1, 2]},
            }
        ],
    }
    store = ReferenceStore(refs)
    assert store.get("plain") == bytes([10, 11, 12])
    assert store.get("nested") == bytes([100, 101])
    assert store.get("g/2.1") == bytes(range(20, 25))
    assert store.get("g/1.2") == bytes(range(110, 115))
    assert sorted(store.list_prefix("g/")) == [f"g/{i}.{n}" for i in range(3) for n in (1, 2)]


def test_json_documents_and_bytes_as_values():
    store = ReferenceStore({".zgroup": {"zarr_format": 2}, "raw": b"\x00\x01"})
    assert json.loads(store.get(".zgroup")) == {"zarr_format": 2}
    assert store.get("raw") == b"\x00\x01"


def test_expressions_need_jinja2(monkeypatch):
    monkeypatch.setitem(sys.modules, "jinja2.sandbox", None)
    assert ReferenceStore({"version": 1, "templates": {"u": "x"}, "refs": {"k": ["{{u}}"]}})
    with pytest.raises(ImportError, match=r"jinja2: pip install 'zarrkit\[references\]'"):
        ReferenceStore({"version": 1, "templates": {"u": "x"}, "refs": {"k": ["{{u ~ 'y'}}"]}})


def test_malformed_references_name_the_key():
    with pytest.raises(MetadataError, match="'a/0'"):
        ReferenceStore({"a/0": ["file.bin", -1, 3]})
    with pytest.raises(MetadataError, match="version"):
        ReferenceStore({"version": 2, "refs": {}})
    with pytest.raises(MetadataError, match="base64"):
        ReferenceStore({"version": 1, "refs": {"x": "base64:@@@"}})
    with pytest.raises(MetadataError, match="offset and length"):
        ReferenceStore(
            {"version": 1, "gen": [{"key": "k", "url": "u", "offset": "1", "dimensions": {}}]}
        )


# --- failures ------------------------------------------------------------------------------
def test_missing_target_file_is_an_error_naming_the_key(tmp_path):
    store = ReferenceStore({"x/.zarray": "{}", "x/0": [str(tmp_path / "gone.h5"), 0, 8]})
    with pytest.raises(UnresolvedReferenceError, match=r"'x/0'.*gone\.h5.*does not exist") as e:
        store.get_many(["x/.zarray", "x/0"])
    assert e.value.key == "x/0"


def test_range_past_the_end_is_an_error_naming_the_key(tmp_path):
    (tmp_path / "f.bin").write_bytes(b"x" * 100)
    store = ReferenceStore(
        {"ok": [str(tmp_path / "f.bin"), 0, 50], "bad": [str(tmp_path / "f.bin"), 90, 20]}
    )
    with pytest.raises(UnresolvedReferenceError, match=r"'bad'.*\[90, 110\).*holds only 100") as e:
        store.get_many(["ok", "bad"])
    assert e.value.key == "bad"


def test_a_chunk_with_a_missing_target_never_reads_as_fill_value(netcdf, tmp_path):
    refs = kerchunk_refs(netcdf, url=str(tmp_path / "moved.nc"))
    root = zarrkit.open_group(ReferenceStore(refs), mode="r")
    with pytest.raises(UnresolvedReferenceError, match=r"moved\.nc"):
        root["temperature"][...]


def test_read_only(netcdf):
    store = ReferenceStore(kerchunk_refs(netcdf))
    with pytest.raises(ReadOnlyError):
        store.set("x", b"1")
    with pytest.raises(ReadOnlyError):
        zarrkit.open_group(store, mode="a").create_array("new", shape=(1,), dtype="i1")


def test_pickles(netcdf):
    store = ReferenceStore(kerchunk_refs(netcdf))
    clone = pickle.loads(pickle.dumps(store))
    assert clone.get("temperature/0.0.0") == store.get("temperature/0.0.0")


def test_missing_reference_set(tmp_path):
    with pytest.raises(NodeNotFoundError, match="no reference set"):
        make_store(f"reference://{tmp_path / 'nothing.json'}")


def test_xarray_engine_claims_virtual_urls():
    engine = zarrkit_xarray.ZarrkitBackendEntrypoint()
    assert engine.guess_can_open("reference://refs.json")
    assert engine.guess_can_open("icechunk://repo?tag=v1")
    assert not engine.guess_can_open("data.nc")


def test_storage_options_are_keyed_by_scheme():
    with pytest.raises(ValueError, match="keyed by URL scheme"):
        ReferenceStore({}, storage_options={"region": "eu-west-1"})


# --- coalescing, HTTP and S3 -----------------------------------------------------------------
class CountingHandler(RangeRequestHandler):
    """The range-serving handler, recording each request's method and path."""

    requests: list[str]

    def log_request(self, code="-", size="-") -> None:
        self.requests.append(f"{self.command} {self.path}")


@pytest.fixture
def counted_http(tmp_path):
    """``(directory, url, requests)``: a file server that logs the requests it serves."""
    root = tmp_path / "served"
    root.mkdir()
    requests: list[str] = []
    handler = type("Handler", (CountingHandler,), {"requests": requests})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(root))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()
    server.server_close()


def served_refs(netcdf, root, url):
    shutil.copy(netcdf, root / "data.nc")
    refs = kerchunk_refs(netcdf, url=f"{url}/data.nc")
    (root / "refs.json").write_text(json.dumps(refs))
    return refs


def test_reference_set_served_over_http(netcdf, counted_http):
    root, url, requests = counted_http
    served_refs(netcdf, root, url)
    store = make_store(f"reference://{url}/refs.json")
    assert_same_as_file(store, netcdf)
    assert "GET /refs.json" in requests


def test_neighbouring_ranges_are_coalesced(netcdf, counted_http):
    root, url, requests = counted_http
    refs = served_refs(netcdf, root, url)
    targets = [v for v in refs["refs"].values() if isinstance(v, list)]
    store = ReferenceStore(refs)
    root_group = zarrkit.open_group(store, mode="r")
    requests.clear()
    root_group["temperature"][...]
    # 24 chunks of one file, all within 64 KiB of each other: one request.
    assert len([t for t in targets if t[0].endswith("data.nc")]) > 24
    assert requests == ["GET /data.nc"]


def test_full_read_requests_against_fsspec(netcdf, counted_http):
    """A full read of every variable: zarrkit's requests and fsspec's reference file
    system's (zarr-python 3 over it), counted by the server."""
    root, url, requests = counted_http
    refs = served_refs(netcdf, root, url)
    names = ["temperature", "count", "lat", "lon", "time"]
    ours = zarrkit.open_group(ReferenceStore(refs), mode="r")
    requests.clear()
    ours_values = [ours[name][...] for name in names]
    ours_requests = len(requests)
    fs = fsspec.filesystem(
        "reference",
        fo=refs,
        remote_protocol="http",
        remote_options={"asynchronous": True},
        asynchronous=True,
    )
    peer = zarr.open_group(zarr_storage.FsspecStore(fs, read_only=True), mode="r", zarr_format=2)
    requests.clear()
    peer_values = [peer[name][...] for name in names]
    peer_requests = len(requests)
    for a, b in zip(ours_values, peer_values, strict=True):
        np.testing.assert_array_equal(a, b)
    print(f"\nfull read over HTTP: zarrkit {ours_requests} requests, fsspec {peer_requests}")
    assert ours_requests <= peer_requests


def test_referenced_files_on_s3(netcdf, s3_options):
    bucket, options = s3_options
    prefix = uuid.uuid4().hex
    zarrkit_object.ObjectStore(f"s3://{bucket}/{prefix}", **options).set(
        "data.nc", netcdf.read_bytes()
    )
    refs = kerchunk_refs(netcdf, url=f"s3://{bucket}/{prefix}/data.nc")
    assert_same_as_file(ReferenceStore(refs, storage_options={"s3": options}), netcdf)
    with pytest.raises(UnresolvedReferenceError, match="does not exist"):
        ReferenceStore(
            {"k": [f"s3://{bucket}/{prefix}/missing.nc", 0, 4]}, storage_options={"s3": options}
        ).get("k")


def test_cli_cp_materialises_references_sharded(netcdf, tmp_path):
    from typer.testing import CliRunner

    from zarrkit.cli import app

    (tmp_path / "refs.json").write_text(json.dumps(kerchunk_refs(netcdf)))
    out = tmp_path / "out.zarr"
    args = ["cp", f"reference://{tmp_path / 'refs.json'}", str(out), "--zarr-format", "3"]
    args += ["--shards", "4,30,40", "--chunks", "1,10,20", "--path", "temperature"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    copied = zarrkit.open_array(out, path="temperature", mode="r")
    assert copied.shards == (4, 30, 40)
    with h5py.File(netcdf) as f:
        np.testing.assert_array_equal(copied[...], f["temperature"][...])
