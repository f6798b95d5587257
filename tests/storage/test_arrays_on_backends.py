"""Arrays and groups on every storage backend, reopened through their URLs.

Each backend is a URL factory: it names a fresh location (a new prefix, namespace, table
or file) and the ``storage_options`` to open it with, starting its server on first use.
A tree written through one handle is read back through a fresh handle opened from the URL,
for Zarr v2, v3 and sharded v3. Object stores must read sharded arrays with ranged
requests; zarr-python must read what zarrkit writes on S3 and in ZIP archives, and the
other way round; and a failing store must raise, never read as fill values.
"""

from __future__ import annotations

import datetime
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from optional import available, needs, optional

import zarrkit
from zarrkit.errors import StoreError
from zarrkit.storage import FaultInjectionStore, LoggingStore, MemoryStore, make_store, stores

from .conftest import Server, free_port, moto_endpoint, s3_bucket, start_moto

obstore = optional("obstore")
optional("obstore.store")  # obstore.store, where obstore is installed


@dataclass(frozen=True)
class Backend:
    """Where a test writes (``write_url``, when it differs) and reads (``url``) a tree."""

    name: str
    url: str
    options: dict[str, Any] = field(default_factory=dict)
    write_url: str | None = None

    @property
    def writer(self) -> tuple[str, dict[str, Any]]:
        """``(url, storage_options)`` for writing: HTTP is read-only, so its directory."""
        return (self.write_url, {}) if self.write_url else (self.url, self.options)

    @property
    def listable(self) -> bool:
        return self.name != "http"


BackendFactory = Callable[[pytest.FixtureRequest, Path], Backend]


def _unique() -> str:
    return uuid.uuid4().hex[:12]


def _server_backend(name: str, scheme: str, fixture: str) -> BackendFactory:
    def make(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
        place, options = request.getfixturevalue(fixture)
        return Backend(name, f"{scheme}://{place}/{_unique()}", options)

    return make


def _redis(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return Backend("redis", request.getfixturevalue("redis_url"), {"namespace": f"{_unique()}/"})


def _postgres(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    url = request.getfixturevalue("postgres_url")
    return Backend("postgresql", url, {"table": f"arrays_{_unique()}"})


def _lmdb(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    needs("lmdb")
    return Backend("lmdb", f"lmdb://{tmp_path / 'data.lmdb'}")


def _http(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    needs("obstore")
    root, url = request.getfixturevalue("http_root")
    name = _unique()
    return Backend("http", f"{url}/{name}", write_url=f"file://{root / name}")


BACKENDS: dict[str, BackendFactory] = {
    "memory": lambda request, tmp: Backend("memory", f"memory://{_unique()}"),
    "local": lambda request, tmp: Backend("local", f"file://{tmp / 'data.zarr'}"),
    "zip": lambda request, tmp: Backend("zip", f"zip://{tmp / 'data.zip'}"),
    "sqlite": lambda request, tmp: Backend("sqlite", f"sqlite:///{tmp / 'data.db'}"),
    "lmdb": _lmdb,
    "s3": _server_backend("s3", "s3", "s3_options"),
    "azure": _server_backend("azure", "az", "azure_options"),
    "redis": _redis,
    "postgresql": _postgres,
    "http": _http,
}
OBJECT_BACKENDS = ["s3", "azure", "http"]

LAYOUTS: dict[str, dict[str, Any]] = {
    "v2": {"zarr_format": 2},
    "v3": {"zarr_format": 3},
    "v3-sharded": {"zarr_format": 3, "shards": (8, 8)},
}


@pytest.fixture(params=list(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return BACKENDS[request.param](request, tmp_path)


@pytest.fixture(params=OBJECT_BACKENDS)
def object_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return BACKENDS[request.param](request, tmp_path)


@pytest.fixture(params=list(LAYOUTS))
def layout(request: pytest.FixtureRequest) -> dict[str, Any]:
    return LAYOUTS[request.param]


# --- the tree written and expected back ---------------------------------------------------
ROOT_ATTRS = {"title": "round trip", "nested": {"list": [1, 2.5, None], "flag": True}}
TREE = """\
/
├── b (10, 9) float64
└── sub
    ├── a (13, 11) int32
    └── empty"""
# 13 x 11 over 4 x 4 chunks (and 8 x 8 shards) leaves partial edge chunks and shards.
A = np.arange(13 * 11, dtype="int32").reshape(13, 11) - 50


def expected_b() -> np.ndarray:
    b = np.full((10, 9), np.nan)
    b[2:9, 1:6] = 1.5
    b[5:10, 4:9] = np.arange(25).reshape(5, 5)
    return b


def write_tree(
    url: str, options: dict[str, Any], layout: dict[str, Any], consolidate: bool
) -> None:
    fmt, shards = layout["zarr_format"], layout.get("shards")
    root = zarrkit.open_group(url, mode="w", zarr_format=fmt, storage_options=options)
    try:
        root.attrs.update({"title": "draft"})
        sub = root.create_group("sub", attributes={"level": 1})
        sub.create_group("empty")
        a = sub.create_array(
            "a", shape=A.shape, chunks=(4, 4), shards=shards, dtype="int32", fill_value=-1
        )
        a[...] = A
        a.attrs["units"] = "m"
        b = root.create_array(
            "b", shape=(10, 9), chunks=(4, 4), shards=shards, dtype="float64", fill_value=np.nan
        )
        b[2:9, 1:6] = 1.5  # partial chunks: read-modify-write of missing ones
        b[5:10, 4:9] = np.arange(25).reshape(5, 5)  # ... and of stored ones
        root.attrs.put(ROOT_ATTRS)  # metadata replaced after the fact
        if consolidate:
            zarrkit.consolidate_metadata(root.store)
    finally:
        root.store.close()


def check_array(array: zarrkit.Array, expected: np.ndarray, layout: dict[str, Any]) -> None:
    assert array.zarr_format == layout["zarr_format"]
    assert array.shape == expected.shape
    assert array.dtype == expected.dtype
    assert array.chunks == (4, 4)
    assert array.shards == layout.get("shards")
    np.testing.assert_array_equal(array[...], expected)
    np.testing.assert_array_equal(array[3:12, 2:9], expected[3:12, 2:9])  # edges included
    np.testing.assert_array_equal(array.oindex[[0, 9], [8, 1]], expected[np.ix_([0, 9], [8, 1])])


def test_round_trip(backend: Backend, layout: dict[str, Any]) -> None:
    write_url, write_options = backend.writer
    write_tree(write_url, write_options, layout, consolidate=not backend.listable)

    root = zarrkit.open_group(backend.url, mode="r", storage_options=backend.options)
    try:
        assert root.read_only
        assert root.zarr_format == layout["zarr_format"]
        assert root.attrs.asdict() == ROOT_ATTRS
        assert str(root.tree()) == TREE
        members = root.members(max_depth=None)
        assert [(name, isinstance(node, zarrkit.Group)) for name, node in members] == [
            ("b", False),
            ("sub", True),
            ("sub/a", False),
            ("sub/empty", True),
        ]
        assert root["sub"].attrs.asdict() == {"level": 1}
        assert root["sub/empty"].attrs.asdict() == {}
        assert root["sub/a"].attrs.asdict() == {"units": "m"}
        assert root["sub/a"].fill_value == -1
        assert np.isnan(root["b"].fill_value)
        check_array(root["sub/a"], A, layout)
        check_array(root["b"], expected_b(), layout)
    finally:
        root.store.close()
    direct = zarrkit.open_array(
        backend.url, path="sub/a", mode="r", storage_options=backend.options
    )
    try:
        np.testing.assert_array_equal(direct[...], A)
    finally:
        direct.store.close()


def test_sharded_reads_on_object_stores_are_ranged(object_backend: Backend) -> None:
    data = np.arange(16 * 16, dtype="int32").reshape(16, 16)
    write_url, write_options = object_backend.writer
    zarrkit.create_array(
        write_url, name="s", data=data, chunks=(4, 4), shards=(8, 8), storage_options=write_options
    )
    shard_size = make_store(write_url, storage_options=write_options).getsize("s/c/0/0")
    index_size = 2 * 2 * 16 + 4  # 2 x 2 (offset, length) uint64 pairs and a CRC32C
    store = LoggingStore(
        make_store(object_backend.url, read_only=True, storage_options=object_backend.options)
    )
    # the test's plain HTTP file server sends no ETag: no versions there
    versioned = store.get_versioned("s/zarr.json").version is not None
    array = zarrkit.open_array(store, path="s", mode="r")
    store.stats.reset()
    with zarrkit.config.set(shard_read_ahead=0):
        assert array[5, 6] == data[5, 6]  # inner chunk (1, 1) of shard (0, 0)
        # the index, then the one inner chunk's range, from one version of the shard
        assert dict(store.stats.calls) == {"get_then": 1}
        fetched = store.stats.bytes["get_then"] - index_size
        assert 0 < fetched < (shard_size - index_size) / 2  # one inner chunk, not the shard
        store.stats.reset()
        assert array[1, 2] == data[1, 2]  # another inner chunk of that shard
        # one request through the cached index where there are versions
        assert dict(store.stats.calls) == ({"get_ranges_if": 1} if versioned else {"get_then": 1})
        store.stats.reset()
        np.testing.assert_array_equal(array[...], data)
        # every inner chunk of each shard: the whole shard in one request
        whole = {"get_ranges_if": 1, "get_then": 3} if versioned else {"get_then": 4}
        assert dict(store.stats.calls) == whole


# --- zarr-python interoperability at the array level: S3 and ZIP -------------------------------
@dataclass(frozen=True)
class Shared:
    """A location both libraries open: zarrkit by ``url``, zarr-python by ``peer``."""

    url: str
    options: dict[str, Any]
    peer: Callable[[bool], Any]


def _s3_shared(request: pytest.FixtureRequest, tmp_path: Path) -> Shared:
    needs("zarr")
    import zarr.storage

    bucket, options = request.getfixturevalue("s3_options")
    prefix = f"interop-{_unique()}"
    config = dict(options)
    client = {"allow_http": config.pop("allow_http")}

    def peer(read_only: bool) -> Any:
        s3 = obstore.store.S3Store(bucket, prefix=prefix, client_options=client, **config)
        return zarr.storage.ObjectStore(s3, read_only=read_only)

    return Shared(f"s3://{bucket}/{prefix}", options, peer)


def _zip_shared(request: pytest.FixtureRequest, tmp_path: Path) -> Shared:
    needs("zarr")
    import zarr.storage

    path = tmp_path / "shared.zip"
    return Shared(
        f"zip://{path}",
        {},
        lambda read_only: zarr.storage.ZipStore(path, mode="r" if read_only else "w"),
    )


@pytest.fixture(params=["s3", "zip"])
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Shared:
    return {"s3": _s3_shared, "zip": _zip_shared}[request.param](request, tmp_path)


def _document(meta: dict[str, Any]) -> Any:
    """Metadata as plain JSON, so tuples and lists compare equal."""
    return json.loads(json.dumps(meta))


def our_document(array: zarrkit.Array) -> Any:
    doc = array.metadata.to_json()
    if array.zarr_format == 2:  # zarr-python's v2 metadata carries the .zattrs
        doc = {**doc, "attributes": array.attrs.asdict()}
    return _document(doc)


def check_interop(ours: Any, theirs: Any, layout: dict[str, Any]) -> None:
    """``ours`` (a zarrkit group) and ``theirs`` (a zarr-python group) hold the same tree."""
    assert ours.attrs.asdict() == dict(theirs.attrs) == ROOT_ATTRS
    assert sorted(ours.array_keys()) == sorted(theirs.array_keys()) == ["a"]
    mine, peer = ours["a"], theirs["a"]
    assert our_document(mine) == _document(peer.metadata.to_dict())
    assert mine.shards == peer.shards == layout.get("shards")
    assert mine.attrs.asdict() == dict(peer.attrs) == {"units": "m"}
    np.testing.assert_array_equal(mine[...], A)
    np.testing.assert_array_equal(peer[...], A)


def test_zarr_python_writes_zarrkit_reads(shared: Shared, layout: dict[str, Any]) -> None:
    needs("zarr")
    import zarr

    store = shared.peer(False)
    theirs = zarr.create_group(store, zarr_format=layout["zarr_format"], attributes=ROOT_ATTRS)
    array = theirs.create_array(
        "a",
        shape=A.shape,
        chunks=(4, 4),
        shards=layout.get("shards"),
        dtype="int32",
        fill_value=-1,
        attributes={"units": "m"},
    )
    array[...] = A
    store.close()
    ours = zarrkit.open_group(shared.url, mode="r", storage_options=shared.options)
    check_interop(ours, zarr.open_group(shared.peer(True), mode="r"), layout)
    ours.store.close()


def test_zarrkit_writes_zarr_python_reads(shared: Shared, layout: dict[str, Any]) -> None:
    needs("zarr")
    import zarr

    ours = zarrkit.open_group(
        shared.url,
        mode="w",
        zarr_format=layout["zarr_format"],
        attributes=ROOT_ATTRS,
        storage_options=shared.options,
    )
    array = ours.create_array(
        "a",
        shape=A.shape,
        chunks=(4, 4),
        shards=layout.get("shards"),
        dtype="int32",
        fill_value=-1,
        attributes={"units": "m"},
    )
    array[...] = A
    ours.store.close()
    store = shared.peer(True)
    again = zarrkit.open_group(shared.url, mode="r", storage_options=shared.options)
    check_interop(again, zarr.open_group(store, mode="r"), layout)
    store.close()


# --- failures are errors, never fill values -----------------------------------------------
#: The documents an open reads at once (its error names the first that failed for good).
METADATA = {"zarr.json", ".zarray", ".zgroup", ".zattrs", ".zmetadata"}
#: The chunks (or shards) of each layout of A (13x11, chunks 4x4, shards 8x8): a read
#: whose requests all fail names one of them.
CHUNK_KEYS = {
    "v2": {f"a/{i}.{j}" for i in range(4) for j in range(3)},
    "v3": {f"a/c/{i}/{j}" for i in range(4) for j in range(3)},
    "v3-sharded": {f"a/c/{i}/{j}" for i in range(2) for j in range(2)},
}
FAULTS = [  # (layout, operation, key): the request of one chunk or shard fails
    ("v2", "get_many", "a/1.2"),
    ("v3", "get_many", "a/c/1/2"),
    ("v3-sharded", "get_then", "a/c/1/1"),  # the shard index and its inner chunks
]


def _memory_array(layout: dict[str, Any]) -> tuple[MemoryStore, list[str]]:
    """A store holding array ``a`` (A, 4 x 4 chunks) and the keys of its chunks or shards."""
    store = MemoryStore()
    zarrkit.create_array(store, name="a", data=A, chunks=(4, 4), fill_value=-1, **layout)
    keys = [
        k for k in store.list_prefix("a/") if not k.endswith(("zarr.json", ".zarray", ".zattrs"))
    ]
    return store, keys


@pytest.mark.parametrize(("name", "operation", "key"), FAULTS)
def test_injected_fault_raises_naming_key_and_operation(
    name: str, operation: str, key: str
) -> None:
    inner, _ = _memory_array(LAYOUTS[name])
    store = FaultInjectionStore(inner, operations={operation}, keys={key})
    array = zarrkit.open_array(store, path="a", mode="r")
    np.testing.assert_array_equal(array[:4, :4], A[:4, :4])  # other chunks still read
    with pytest.raises(StoreError) as info:
        array[...]
    assert (info.value.key, info.value.operation) == (key, operation)
    assert key in str(info.value) and operation in str(info.value)
    assert store.faults == 1


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_random_faults_never_read_as_fill_values(name: str) -> None:
    inner, keys = _memory_array(LAYOUTS[name])
    store = FaultInjectionStore(inner, probability=0.1, seed=1, keys=keys)
    array = zarrkit.open_array(store, path="a", mode="r")
    errors = 0
    for i in range(40):
        selection = (slice(i % 12, i % 12 + 2), slice(None))
        try:
            values = array[selection]
        except StoreError as e:
            assert e.key in keys
            errors += 1
        else:  # a swallowed fault would read as -1 (the fill value) here
            np.testing.assert_array_equal(values, A[selection])
    # Reads fan out on threads, so which calls fail varies; that both outcomes occur does
    # not (each read makes 3 to 8 requests: P(no error in 40 reads) < 1e-5).
    assert 0 < errors < 40
    assert store.faults >= errors


# Fail fast: one retry 10 ms later, at most 2 s per request.
FAST_FAILURE = {
    "retry_config": {
        "max_retries": 1,
        "backoff": {
            "init_backoff": datetime.timedelta(milliseconds=10),
            "max_backoff": datetime.timedelta(milliseconds=10),
            "base": 2,
        },
        "retry_timeout": datetime.timedelta(seconds=2),
    },
    "connect_timeout": "1s",
    "timeout": "2s",
}


@pytest.fixture
def doomed_moto(server_dir: Path) -> Iterator[Server]:
    """A moto server of this test's own, which it may stop."""
    needs("moto", "obstore")
    server = start_moto(server_dir, "moto-doomed")
    yield server
    server.stop()


def test_stopped_server_raises(doomed_moto: Server) -> None:
    bucket, options = s3_bucket(moto_endpoint(doomed_moto))
    options = {**options, **FAST_FAILURE}
    readers = {}
    for name, layout in LAYOUTS.items():
        url = f"s3://{bucket}/{name}"
        zarrkit.create_array(
            url, name="a", data=A, chunks=(4, 4), fill_value=-1, storage_options=options, **layout
        )
        readers[name] = zarrkit.open_array(url, path="a", mode="r", storage_options=options)
        np.testing.assert_array_equal(readers[name][...], A)
    doomed_moto.stop()
    for name, reader in readers.items():
        with pytest.raises(StoreError) as info:
            reader[...]
        assert info.value.key in CHUNK_KEYS[name] and info.value.operation == "get"
        assert f"get {info.value.key!r}" in str(info.value)
    with pytest.raises(StoreError) as info:
        zarrkit.open_group(f"s3://{bucket}/v3", mode="r", storage_options=options)
    assert info.value.key in METADATA and info.value.operation == "get"


def test_wrong_endpoint_raises(s3_options: tuple[str, dict[str, Any]]) -> None:
    bucket, options = s3_options
    url = f"s3://{bucket}/{_unique()}"
    written = zarrkit.create_array(url, name="a", data=A, chunks=(4, 4), storage_options=options)
    wrong = {**options, **FAST_FAILURE, "endpoint": f"http://127.0.0.1:{free_port()}"}
    with pytest.raises(StoreError) as info:
        zarrkit.open_array(url, path="a", mode="r", storage_options=wrong)
    assert info.value.key in {f"a/{name}" for name in METADATA} and info.value.operation == "get"
    # A handle whose metadata is already known (pickled, consolidated) fails on its chunks.
    array = zarrkit.Array(
        make_store(url, read_only=True, storage_options=wrong), "a", written.metadata
    )
    with pytest.raises(StoreError) as info:
        array[...]
    assert info.value.key in CHUNK_KEYS["v3"] and info.value.operation == "get"


# --- the documented one-liners --------------------------------------------------------------
STORAGE_DOC = Path(__file__).resolve().parents[2] / "docs" / "storage.md"
SERVERLESS = {"file", "memory", "zip", "sqlite", "lmdb"}


def one_liners() -> dict[str, str]:
    """Backend name -> code of the docs' "One line per backend" table."""
    section = STORAGE_DOC.read_text().split("## One line per backend", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| ([^|`]+?) \| `([^`]+)` \|$", section, re.MULTILINE))


def _scheme(url: str) -> str:
    return url.split("://")[0] if "://" in url else "file"


def test_docs_give_one_working_line_per_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    lines = one_liners()
    urls = {
        name: re.search(r'open_group\("([^"]+)"', code).group(1) for name, code in lines.items()
    }
    assert {_scheme(url) for url in urls.values()} == SERVERLESS | {
        "redis",
        "postgresql",
        "s3",
        "gs",
        "az",
        "https",
    }
    for name, code in lines.items():
        scheme = _scheme(urls[name])
        assert stores.get(scheme) is not None
        if scheme not in SERVERLESS or (scheme == "lmdb" and not available("lmdb")):
            continue  # the round trips above run these schemes against local servers
        namespace: dict[str, Any] = {"zarrkit": zarrkit}
        exec(code, namespace)
        root = namespace["root"]
        root.create_array("x", data=np.arange(3), overwrite=True)
        root.store.close()
        again = zarrkit.open_group(urls[name], mode="r")
        np.testing.assert_array_equal(again["x"][...], np.arange(3))
        again.store.close()
