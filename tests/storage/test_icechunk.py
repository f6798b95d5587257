"""Icechunk repositories through zarrkit: zarrkit writes and commits, Icechunk with
zarr-python reads the same values and metadata, and the reverse; any branch, tag or
snapshot; commit conflicts; on local storage and on S3 (moto, served on one thread so its
conditional writes are atomic as on S3)."""

from __future__ import annotations

import json
import sys
import threading
import uuid
from pathlib import Path

from optional import module_needs

module_needs("icechunk", "xarray", "zarr", "typer")

import icechunk
import numpy as np
import pytest
import xarray as xr
import zarr
from typer.testing import CliRunner

import zarrkit
from zarrkit.cli import app
from zarrkit.errors import ReadOnlyError, StoreError
from zarrkit.integrations.xarray import to_zarr
from zarrkit.storage import RangeRequest, SuffixRequest, make_store

from .conftest import Server, free_port, s3_bucket

SINGLE_THREADED_MOTO = (
    "import sys; from werkzeug.serving import run_simple; "
    "from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app; "
    "run_simple('127.0.0.1', int(sys.argv[1]), "
    "DomainDispatcherApplication(create_backend_app), threaded=False)"
)


@pytest.fixture(scope="module")
def atomic_moto(tmp_path_factory):
    """A moto S3 server handling one request at a time, and its icechunk S3 options."""
    port = free_port()
    log_dir = tmp_path_factory.mktemp("moto-one-thread")
    server = Server(
        "moto-1t", [sys.executable, "-c", SINGLE_THREADED_MOTO, str(port)], port, log_dir
    )
    server.wait_ready()
    endpoint = f"http://127.0.0.1:{port}"
    bucket, _ = s3_bucket(endpoint, "icechunk")
    options = {
        "endpoint_url": endpoint,
        "allow_http": True,
        "force_path_style": True,
        "region": "us-east-1",
        "access_key_id": "testing",
        "secret_access_key": "testing",
    }
    yield bucket, options
    server.stop()


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path):
    """A function making the Storage of a new, empty place for a repository."""
    if request.param == "local":
        return lambda: icechunk.local_filesystem_storage(str(tmp_path / uuid.uuid4().hex))
    bucket, options = request.getfixturevalue("atomic_moto")
    return lambda: icechunk.s3_storage(bucket=bucket, prefix=uuid.uuid4().hex, **options)


@pytest.fixture
def repo(storage):
    return icechunk.Repository.create(storage())


def write_with_zarrkit(store, temperature):
    root = zarrkit.open_group(store, mode="w", attributes={"title": "from zarrkit"})
    array = root.create_array(
        "temperature",
        shape=temperature.shape,
        chunks=(2, 5),
        dtype=temperature.dtype,
        dimension_names=("y", "x"),
        attributes={"units": "K"},
        fill_value=-1.0,
    )
    array[...] = temperature
    sharded = root.create_array("counts", shape=(40,), chunks=(5,), shards=(20,), dtype="i4")
    sharded[...] = np.arange(40)
    return root


TEMPERATURE = np.arange(60, dtype="f4").reshape(6, 10)


# --- round trips ---------------------------------------------------------------------------
def test_zarrkit_writes_and_commits_icechunk_and_zarr_python_read(repo):
    session = repo.writable_session("main")
    write_with_zarrkit(session.store, TEMPERATURE)
    session.commit("written by zarrkit")
    peer = zarr.open_group(repo.readonly_session(branch="main").store, mode="r")
    assert dict(peer.attrs) == {"title": "from zarrkit"}
    temperature = peer["temperature"]
    np.testing.assert_array_equal(temperature[:], TEMPERATURE)
    assert temperature.metadata.dimension_names == ("y", "x")
    assert dict(temperature.attrs) == {"units": "K"}
    assert temperature.chunks == (2, 5) and temperature.fill_value == -1.0
    np.testing.assert_array_equal(peer["counts"][:], np.arange(40))
    assert peer["counts"].shards == (20,)


def test_zarr_python_writes_through_icechunk_and_zarrkit_reads(repo):
    session = repo.writable_session("main")
    root = zarr.open_group(session.store, mode="w", attributes={"source": "zarr-python"})
    written = root.create_array(
        "v", shape=(7, 9), chunks=(3, 4), dtype="i2", dimension_names=("a", "b")
    )
    written[:] = np.arange(63, dtype="i2").reshape(7, 9)
    session.commit("written by zarr-python")
    ours = zarrkit.open_group(repo.readonly_session(branch="main").store, mode="r")
    assert dict(ours.attrs) == {"source": "zarr-python"}
    np.testing.assert_array_equal(ours["v"][...], written[:])
    assert ours["v"].dimension_names == ("a", "b")
    assert ours["v"].metadata.to_json() == json.loads(json.dumps(written.metadata.to_dict()))


def test_any_branch_tag_or_snapshot(repo):
    first = repo.writable_session("main")
    write_with_zarrkit(first.store, TEMPERATURE)
    first_snapshot = first.commit("v1")
    repo.create_tag("v1", first_snapshot)
    repo.create_branch("dev", first_snapshot)
    second = repo.writable_session("main")
    zarrkit.open_array(second.store, path="temperature")[0, :] = 100.0
    second.commit("v2")
    changed = TEMPERATURE.copy()
    changed[0, :] = 100.0
    versions = {
        "main": repo.readonly_session(branch="main"),
        "dev": repo.readonly_session(branch="dev"),
        "tag": repo.readonly_session(tag="v1"),
        "snapshot": repo.readonly_session(snapshot_id=first_snapshot),
    }
    expected = {"main": changed, "dev": TEMPERATURE, "tag": TEMPERATURE, "snapshot": TEMPERATURE}
    for name, session in versions.items():
        array = zarrkit.open_array(session.store, path="temperature", mode="r")
        np.testing.assert_array_equal(array[...], expected[name], err_msg=name)


def test_read_only_sessions_refuse_writes(repo):
    session = repo.writable_session("main")
    write_with_zarrkit(session.store, TEMPERATURE)
    session.commit("one")
    array = committed_temperature(repo)
    assert array.read_only
    with pytest.raises(ReadOnlyError):
        array[0, 0] = 1.0


# --- conflicts -----------------------------------------------------------------------------
def conflicting_second_session(repo, where):
    """After a base commit, two sessions write ``[0, 0]`` and ``[where]``; the first
    commits, the second's commit must raise ConflictError: that session is returned."""
    base = repo.writable_session("main")
    write_with_zarrkit(base.store, TEMPERATURE)
    base.commit("base")
    one, two = repo.writable_session("main"), repo.writable_session("main")
    zarrkit.open_array(one.store, path="temperature")[0, 0] = 1000.0
    zarrkit.open_array(two.store, path="temperature")[where] = 2000.0
    one.commit("one")
    with pytest.raises(icechunk.ConflictError):
        two.commit("two")
    return two


def committed_temperature(repo):
    return zarrkit.open_array(repo.readonly_session(branch="main").store, path="temperature")


def test_conflicting_commits_raise_and_lose_nothing(repo):
    two = conflicting_second_session(repo, (0, 0))
    assert committed_temperature(repo)[0, 0] == 1000.0  # the first commit stands
    assert zarrkit.open_array(two.store, path="temperature")[0, 0] == 2000.0  # still pending
    with pytest.raises(icechunk.RebaseFailedError):
        two.rebase(icechunk.ConflictDetector())


def test_disjoint_writes_rebase_and_both_commit(repo):
    two = conflicting_second_session(repo, (5, 9))
    two.rebase(icechunk.ConflictDetector())
    two.commit("two, rebased")
    final = committed_temperature(repo)
    assert final[0, 0] == 1000.0 and final[5, 9] == 2000.0


def test_simultaneous_commits_one_wins(atomic_moto):
    """On S3 (Icechunk warns that local storage is not safe for concurrent commits)."""
    bucket, options = atomic_moto
    storage = icechunk.s3_storage(bucket=bucket, prefix=uuid.uuid4().hex, **options)
    repo = icechunk.Repository.create(storage)
    base = repo.writable_session("main")
    write_with_zarrkit(base.store, TEMPERATURE)
    base.commit("base")
    sessions = [repo.writable_session("main") for _ in range(2)]
    for value, session in enumerate(sessions):
        zarrkit.open_array(session.store, path="temperature")[...] = float(value)
    outcomes: list[str] = []
    barrier = threading.Barrier(len(sessions))

    def commit(session):
        barrier.wait()
        try:
            session.commit("race")
            outcomes.append("committed")
        except icechunk.ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=commit, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["committed", "conflict"]
    assert len(np.unique(committed_temperature(repo)[...])) == 1  # one whole commit, not a mix


# --- the adapter's contract, xarray and the CLI -------------------------------------------
def test_store_operations_on_a_session(repo):
    """Icechunk stores Zarr hierarchies only (a key must be a node's document or a chunk of
    an array), so it runs these instead of the whole StoreSuite."""
    store = make_store(repo.writable_session("main").store)
    write_with_zarrkit(store, TEMPERATURE)
    keys = sorted(store.list())
    assert "temperature/zarr.json" in keys and "temperature/c/0/0" in keys
    assert sorted(store.list_dir("")) == ["counts", "temperature", "zarr.json"]
    assert sorted(store.list_dir("temperature/c/")) == ["0", "1", "2"]
    chunk = store.get("temperature/c/0/0")
    assert store.get_many(["temperature/c/0/0", "temperature/c/9/9"]) == [chunk, None]
    assert store.get_ranges("temperature/c/0/0", [RangeRequest(0, 4), SuffixRequest(2)]) == [
        chunk[:4],
        chunk[-2:],
    ]
    assert store.get("temperature/c/0/0", RangeRequest(3, 3)) == b""
    assert store.getsize("temperature/c/0/0") == len(chunk)
    assert store.exists("temperature/c/0/0") and not store.exists("temperature/c/9/9")
    store.delete("temperature/c/0/0")
    store.delete("temperature/c/0/0")  # deleting a missing key is not an error
    assert store.get("temperature/c/0/0") is None
    store.delete_prefix("counts/")
    assert not any(key.startswith("counts/") for key in store.list())


def test_xarray_opens_a_session(repo):
    dataset = xr.Dataset(
        {"t": (("time", "x"), np.arange(12.0).reshape(3, 4), {"units": "K"})},
        coords={"x": [1, 2, 3, 4]},
    )
    session = repo.writable_session("main")
    to_zarr(dataset, session.store, consolidated=False)
    session.commit("dataset")
    store = repo.readonly_session(branch="main").store
    xr.testing.assert_identical(xr.open_dataset(store, engine="zarrkit").load(), dataset)
    via_zarr = xr.open_zarr(store, consolidated=False).load()
    xr.testing.assert_identical(via_zarr, dataset)


def test_icechunk_urls_and_cli_cp_to_plain_zarr(tmp_path):
    path = tmp_path / "repo"
    repo = icechunk.Repository.create(icechunk.local_filesystem_storage(str(path)))
    session = repo.writable_session("main")
    write_with_zarrkit(session.store, TEMPERATURE)
    snapshot = session.commit("one")
    repo.create_tag("v1", snapshot)
    for query in ("", "?branch=main", "?tag=v1", f"?snapshot={snapshot}"):
        store = make_store(f"icechunk://{path}{query}")
        np.testing.assert_array_equal(
            zarrkit.open_array(store, path="temperature")[...], TEMPERATURE
        )
    out = tmp_path / "plain.zarr"
    result = CliRunner().invoke(
        app, ["cp", f"icechunk://{path}?tag=v1", str(out), "--shards", "6,10"]
    )
    assert result.exit_code == 0, result.output
    copied = zarrkit.open_group(out, mode="r")
    np.testing.assert_array_equal(copied["temperature"][...], TEMPERATURE)
    assert copied["temperature"].shards == (6, 10)
    assert not (Path(out) / "refs").exists()  # a plain Zarr store, not a repository
    with pytest.raises(ValueError, match="at most one"):
        make_store(f"icechunk://{path}?branch=main&tag=v1")
    with pytest.raises(StoreError, match=r"Icechunk: ref not found .v9."):
        make_store(f"icechunk://{path}?tag=v9")
    missing = CliRunner().invoke(app, ["info", f"icechunk://{tmp_path / 'nothing'}"])
    assert missing.exit_code == 1 and "Icechunk: the repository doesn't exist" in missing.output


def test_icechunk_url_on_s3(atomic_moto):
    bucket, options = atomic_moto
    prefix = uuid.uuid4().hex
    repo = icechunk.Repository.create(icechunk.s3_storage(bucket=bucket, prefix=prefix, **options))
    session = repo.writable_session("main")
    write_with_zarrkit(session.store, TEMPERATURE)
    session.commit("one")
    root = zarrkit.open_group(f"icechunk+s3://{bucket}/{prefix}", mode="r", storage_options=options)
    np.testing.assert_array_equal(root["temperature"][...], TEMPERATURE)
