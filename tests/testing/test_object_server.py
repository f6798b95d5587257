"""The HTTP object server of zarrkit.testing: ranges, ETags, conditionals, latency, counters and
every fault kind, checked with raw HTTP (http.client) so that no client library's retries hide
what the server sent."""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from zarrkit.testing.faults import Fault, FaultPlan
from zarrkit.testing.http_server import Settings, Stats, argument_parser, settings_from
from zarrkit.testing.object_server import ObjectServer, RangeNotSatisfiable, byte_range

VALUE = b"0123456789"


@pytest.fixture
def server() -> Iterator[ObjectServer]:
    with ObjectServer() as running:
        running.put("a/b", VALUE)
        yield running


def connect(server: ObjectServer, timeout: float = 10) -> http.client.HTTPConnection:
    parts = urlsplit(server.url)
    return http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)


def call(
    server: ObjectServer, method: str, key: str, body: bytes | None = None, **headers: str
) -> tuple[int, dict[str, str], bytes]:
    """``(status, headers, body)``; header names given with ``_`` for ``-`` (If_Match)."""
    connection = connect(server)
    try:
        named = {name.replace("_", "-"): value for name, value in headers.items()}
        connection.request(method, f"/{key}", body=body, headers=named)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


# --- ranges -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "status", "body", "content_range"),
    [
        (None, 200, VALUE, None),
        ("bytes=2-5", 206, b"2345", "bytes 2-5/10"),
        ("bytes=7-", 206, b"789", "bytes 7-9/10"),
        ("bytes=-3", 206, b"789", "bytes 7-9/10"),
        ("bytes=-100", 206, VALUE, "bytes 0-9/10"),
        ("bytes=5-100", 206, b"56789", "bytes 5-9/10"),
        ("bytes=0-0", 206, b"0", "bytes 0-0/10"),
        ("bytes=10-", 416, None, "bytes */10"),
        ("bytes=10-20", 416, None, "bytes */10"),
        ("bytes=-0", 416, None, "bytes */10"),
        ("bytes=0-1,4-5", 200, VALUE, None),  # several ranges: ignored, as RFC 9110 allows
        ("items=0-1", 200, VALUE, None),
        ("bytes=5-2", 200, VALUE, None),  # invalid: ignored
    ],
)
def test_get_ranges(
    server: ObjectServer, header: str | None, status: int, body: bytes | None, content_range: str
) -> None:
    headers = {} if header is None else {"Range": header}
    got_status, got_headers, got_body = call(server, "GET", "a/b", **headers)
    assert got_status == status
    assert got_headers.get("Content-Range") == content_range
    if body is not None:
        assert got_body == body
        assert got_headers["Content-Length"] == str(len(body))
    else:
        assert b"InvalidRange" in got_body


def test_byte_range_of_an_empty_object_is_unsatisfiable() -> None:
    assert byte_range(None, 0) is None
    for header in ("bytes=0-", "bytes=-1", "bytes=0-0"):
        with pytest.raises(RangeNotSatisfiable):
            byte_range(header, 0)


def test_head_gives_the_length_and_etag_without_a_body(server: ObjectServer) -> None:
    status, headers, body = call(server, "HEAD", "a/b")
    assert (status, body) == (200, b"")
    assert headers["Content-Length"] == "10"
    assert headers["ETag"] == server.etag("a/b")
    assert headers["Accept-Ranges"] == "bytes"
    assert "Last-Modified" in headers
    assert call(server, "HEAD", "missing")[0] == 404


def test_missing_key_is_404_and_delete_is_idempotent(server: ObjectServer) -> None:
    status, _, body = call(server, "GET", "nope")
    assert status == 404 and b"NoSuchKey" in body
    assert call(server, "DELETE", "a/b")[0] == 204
    assert call(server, "DELETE", "a/b")[0] == 204
    assert server.get("a/b") is None


def test_put_stores_the_body_and_refuses_a_directory_key(server: ObjectServer) -> None:
    status, headers, _ = call(server, "PUT", "x/y", b"payload")
    assert status == 200 and headers["ETag"] == server.etag("x/y")
    assert call(server, "GET", "x/y")[2] == b"payload"
    assert call(server, "PUT", "x/", b"z")[0] == 400
    assert server.keys() == ["a/b", "x/y"]


def test_put_with_a_chunked_body(server: ObjectServer) -> None:
    connection = connect(server)
    connection.request("PUT", "/chunked", body=iter([b"ab", b"cde"]), encode_chunked=True)
    assert connection.getresponse().status == 200
    connection.close()
    assert server.get("chunked") == b"abcde"


def test_an_unreadable_body_length_is_a_400(server: ObjectServer) -> None:
    connection = connect(server)
    connection.putrequest("PUT", "/x")
    connection.putheader("Content-Length", "many")
    connection.endheaders()
    assert connection.getresponse().status == 400
    connection.close()
    assert server.get("x") is None


def test_seeded_from_a_directory(tmp_path: Path) -> None:
    (tmp_path / "arr" / "c").mkdir(parents=True)
    (tmp_path / "arr" / "zarr.json").write_bytes(b"{}")
    (tmp_path / "arr" / "c" / "0").write_bytes(b"chunk")
    with ObjectServer(tmp_path) as server:
        assert server.keys() == ["arr/c/0", "arr/zarr.json"]
        assert call(server, "GET", "arr/c/0")[2] == b"chunk"


# --- ETags and conditional requests ---------------------------------------------------------
def test_every_write_makes_a_new_etag(server: ObjectServer) -> None:
    first = server.etag("a/b")
    _, headers, _ = call(server, "PUT", "a/b", VALUE)  # the same bytes
    assert headers["ETag"] != first
    assert call(server, "GET", "a/b")[1]["ETag"] == headers["ETag"]


def test_without_etags_no_response_names_a_version() -> None:
    with ObjectServer(etags=False) as server:
        server.put("k", VALUE)
        for method, body in (("GET", None), ("HEAD", None), ("PUT", b"new")):
            status, headers, _ = call(server, method, "k", body)
            assert status == 200 and "ETag" not in headers, method


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_conditional_reads(server: ObjectServer, method: str) -> None:
    etag = server.etag("a/b")
    assert etag is not None
    assert call(server, method, "a/b", If_Match=etag)[0] == 200
    assert call(server, method, "a/b", If_Match=f'"other", {etag}')[0] == 200
    assert call(server, method, "a/b", If_Match="*")[0] == 200
    assert call(server, method, "a/b", If_Match='"other"')[0] == 412
    assert call(server, method, "missing", If_Match="*")[0] == 404
    status, headers, body = call(server, method, "a/b", If_None_Match=etag)
    assert (status, headers["ETag"], body) == (304, etag, b"")
    assert call(server, method, "a/b", If_None_Match="*")[0] == 304
    assert call(server, method, "a/b", If_None_Match=f"W/{etag}")[0] == 304  # weak comparison
    assert call(server, method, "a/b", If_None_Match='"other"')[0] == 200
    assert call(server, method, "missing", If_None_Match="*")[0] == 404


def test_ranged_read_conditioned_on_a_version(server: ObjectServer) -> None:
    etag = server.etag("a/b") or ""
    assert call(server, "GET", "a/b", Range="bytes=1-2", If_Match=etag)[2] == b"12"
    server.put("a/b", b"replaced!!")
    status, _, body = call(server, "GET", "a/b", Range="bytes=1-2", If_Match=etag)
    assert status == 412 and b"PreconditionFailed" in body


def test_conditional_writes(server: ObjectServer) -> None:
    etag = server.etag("a/b") or ""
    assert call(server, "PUT", "a/b", b"x", If_None_Match="*")[0] == 412
    assert call(server, "PUT", "a/b", b"x", If_Match='"stale"')[0] == 412
    assert call(server, "PUT", "gone", b"x", If_Match=etag)[0] == 404
    assert server.get("a/b") == VALUE and server.get("gone") is None
    status, headers, _ = call(server, "PUT", "a/b", b"new", If_Match=etag)
    assert status == 200 and server.get("a/b") == b"new"
    assert call(server, "PUT", "a/b", b"newer", If_Match=etag)[0] == 412  # etag is stale now
    assert call(server, "PUT", "fresh", b"x", If_None_Match="*")[0] == 200
    assert call(server, "DELETE", "a/b", If_Match=etag)[0] == 412
    assert call(server, "DELETE", "a/b", If_Match=headers["ETag"])[0] == 204


def test_racing_conditional_writes_have_one_winner(server: ObjectServer) -> None:
    """If-Match is checked atomically with the write: of 16 writers of one version, one wins."""
    etag = server.etag("a/b") or ""
    barrier = threading.Barrier(16)
    statuses: list[int] = []

    def write(i: int) -> None:
        barrier.wait()
        statuses.append(call(server, "PUT", "a/b", b"w%d" % i, If_Match=etag)[0])

    threads = [threading.Thread(target=write, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [412] * 15


# --- latency, keep-alive, counters, control -------------------------------------------------
def test_latency_is_added_before_each_response(server: ObjectServer) -> None:
    server.configure(latency=0.1)
    start = time.perf_counter()
    assert call(server, "GET", "a/b")[0] == 200
    assert call(server, "PUT", "a/c", b"x")[0] == 200
    assert time.perf_counter() - start >= 0.2


def test_keep_alive_answers_without_the_delayed_ack_stall(server: ObjectServer) -> None:
    """20 requests on one connection: Nagle's algorithm would add about 40 ms to each."""
    connection = connect(server)
    connection.request("GET", "/a/b")
    connection.getresponse().read()
    sock = connection.sock
    start = time.perf_counter()
    for _ in range(20):
        connection.request("GET", "/a/b")
        assert connection.getresponse().read() == VALUE
    elapsed = time.perf_counter() - start
    assert connection.sock is sock  # http.client would reconnect had the server closed it
    connection.close()
    assert elapsed < 0.4, f"20 keep-alive requests took {elapsed:.3f} s"


def test_counters(server: ObjectServer) -> None:
    server.configure(count_keys=True)
    call(server, "GET", "a/b")
    call(server, "GET", "a/b", Range="bytes=0-3")
    call(server, "HEAD", "a/b")
    call(server, "PUT", "a/c", b"12345")
    call(server, "GET", "missing")
    stats = server.stats()
    assert stats.requests == {"GET": 3, "HEAD": 1, "PUT": 1}
    assert stats.total == 5
    assert stats.statuses == {200: 3, 206: 1, 404: 1}
    not_found = len(call(server, "GET", "missing")[2])
    assert stats.bytes_sent == 10 + 4 + not_found
    assert stats.bytes_received == 5
    assert stats.keys == {"a/b": 3, "a/c": 1, "missing": 1}
    server.reset_stats()
    assert server.stats() == Stats()


def test_settings_change_over_http(server: ObjectServer) -> None:
    faults = (Fault(kind="503", rate=0.5, keys="c/*"),)
    settings = server.configure(latency=0.01, faults=faults, seed=7, retry_after=3)
    assert server.settings() == settings
    assert settings.faults == faults and settings.retry_after == 3
    request = urllib.request.Request(f"{server.url}/__control__/settings", b"{", method="PUT")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)
    assert info.value.code == 400
    assert server.settings() == settings


def test_settings_round_trip_through_the_command_line() -> None:
    settings = Settings(
        latency=0.02, faults=[Fault.parse("truncate:0.25:*/c/*")], seed=3, count_keys=True
    )
    parsed = settings_from(argument_parser("x", "y").parse_args(settings.to_args()))
    assert parsed == settings
    assert Settings.from_json(settings.to_json()) == settings


def test_invalid_faults_are_refused() -> None:
    with pytest.raises(ValueError, match="kind 'boom'"):
        Fault.parse("boom:0.1")
    with pytest.raises(ValueError, match="not within"):
        Fault(kind="503", rate=1.5)
    with pytest.raises(ValueError, match="expected KIND:RATE"):
        Fault.parse("503")
    with pytest.raises(ValueError, match=r"add up to 1\.2"):
        FaultPlan([Fault(kind="503", rate=0.6), Fault(kind="reset", rate=0.6)], seed=0)


# --- faults -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["503", "429"])
def test_throttling_faults_answer_with_retry_after(server: ObjectServer, kind: str) -> None:
    server.configure(faults=[Fault(kind=kind, rate=1.0)], retry_after=2)  # type: ignore[arg-type]
    status, headers, body = call(server, "GET", "a/b")
    assert (status, headers["Retry-After"]) == (int(kind), "2")
    assert (b"SlowDown" if kind == "503" else b"TooManyRequests") in body
    assert call(server, "PUT", "a/b", b"not written")[0] == int(kind)
    assert server.get("a/b") == VALUE
    assert server.stats().faults == {kind: 2}


def test_checksum_fault_answers_bad_digest_and_writes_nothing(server: ObjectServer) -> None:
    server.configure(faults=[Fault(kind="checksum", rate=1.0)])
    status, _, body = call(server, "PUT", "a/b", b"not written")
    assert status == 400 and b"<Code>BadDigest</Code>" in body
    assert server.get("a/b") == VALUE
    assert server.stats().faults == {"checksum": 1}


def test_reset_fault_drops_the_connection_before_answering(server: ObjectServer) -> None:
    server.configure(faults=[Fault(kind="reset", rate=1.0)])
    with pytest.raises(ConnectionResetError):
        call(server, "GET", "a/b")
    with pytest.raises(ConnectionResetError):
        call(server, "PUT", "a/b", b"not written")
    assert server.get("a/b") == VALUE
    assert server.stats().faults == {"reset": 2}


def test_truncate_fault_sends_half_the_announced_body_then_closes(server: ObjectServer) -> None:
    server.configure(faults=[Fault(kind="truncate", rate=1.0)])
    connection = connect(server)
    connection.request("GET", "/a/b")
    response = connection.getresponse()
    assert response.getheader("Content-Length") == "10"
    with pytest.raises(http.client.IncompleteRead) as info:
        response.read()
    assert info.value.partial == b"01234"
    connection.close()
    with pytest.raises(http.client.IncompleteRead):
        call(server, "GET", "a/b", Range="bytes=-4")  # ranges are cut short too
    assert call(server, "HEAD", "a/b")[0] == 200  # GETs only
    assert call(server, "PUT", "a/b", VALUE)[0] == 200
    assert server.stats().faults == {"truncate": 2}


def test_slow_fault_answers_after_the_slow_delay(server: ObjectServer) -> None:
    server.configure(faults=[Fault(kind="slow", rate=1.0)], slow_delay=0.5)
    connection = connect(server, timeout=0.2)
    connection.request("GET", "/a/b")
    with pytest.raises(socket.timeout):
        connection.getresponse()
    connection.close()
    start = time.perf_counter()
    assert call(server, "GET", "a/b")[2] == VALUE
    assert time.perf_counter() - start >= 0.5


def test_lose_put_applies_the_write_then_drops_the_response(server: ObjectServer) -> None:
    server.configure(faults=[Fault(kind="lose-put", rate=1.0)])
    with pytest.raises(ConnectionResetError):
        call(server, "PUT", "a/b", b"applied")
    assert server.get("a/b") == b"applied"
    etag = server.etag("a/b") or ""
    # A refused conditional write is not lost: only successful PUTs are.
    assert call(server, "PUT", "a/b", b"x", If_Match='"stale"')[0] == 412
    assert call(server, "GET", "a/b", If_Match=etag)[2] == b"applied"  # GETs are untouched
    assert server.stats().faults == {"lose-put": 1}


def test_faults_hit_only_matching_keys(server: ObjectServer) -> None:
    server.put("arr/c/0", b"chunk")
    server.put("arr/zarr.json", b"{}")
    server.configure(faults=[Fault(kind="503", rate=1.0, keys="*/c/*")])
    assert call(server, "GET", "arr/zarr.json")[0] == 200
    assert call(server, "GET", "arr/c/0")[0] == 503


def faulted_keys(seed: int, keys: list[str]) -> set[str]:
    with ObjectServer(faults=[Fault(kind="503", rate=0.3)], seed=seed) as server:
        return {key for key in keys if call(server, "GET", key)[0] == 503}


def test_fault_draws_are_reproducible_whatever_the_order() -> None:
    keys = [f"k/{i}" for i in range(200)]
    first = faulted_keys(1, keys)
    assert 30 <= len(first) <= 90  # 30% of 200, give or take
    assert faulted_keys(1, keys[::-1]) == first
    assert faulted_keys(2, keys) != first


def test_a_retried_request_draws_anew(server: ObjectServer) -> None:
    server.configure(faults=[Fault(kind="503", rate=0.5)], seed=4)
    statuses = [call(server, "GET", "a/b")[0] for _ in range(40)]
    assert set(statuses) == {200, 503}  # the same request is not doomed to fail forever


def test_control_requests_are_not_counted_delayed_or_faulted(server: ObjectServer) -> None:
    server.configure(latency=0.5, faults=[Fault(kind="reset", rate=1.0)])
    start = time.perf_counter()
    for _ in range(3):
        assert server.stats() == Stats()
    assert time.perf_counter() - start < 0.5


# --- in a child process ------------------------------------------------------------------------
def test_spawned_server_prints_its_url_and_is_controlled_over_http(tmp_path: Path) -> None:
    (tmp_path / "k").write_bytes(VALUE)
    with ObjectServer.spawn(tmp_path, etags=False, latency=0.05, count_keys=True) as child:
        assert child.url.startswith("http://127.0.0.1:")
        start = time.perf_counter()
        with urllib.request.urlopen(f"{child.url}/k", timeout=10) as response:
            assert response.read() == VALUE
            assert response.headers["ETag"] is None
        assert time.perf_counter() - start >= 0.05
        assert child.stats().keys == {"k": 1}
        child.configure(faults=[Fault(kind="503", rate=1.0)])
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(f"{child.url}/k", timeout=10)
        assert info.value.code == 503
        process = child.process
    assert process is not None and process.poll() is not None  # stopped on exit


def test_server_module_runs_without_pytest():
    """`python -m zarrkit.testing.object_server` is for users' own test rigs: it must not
    need pytest, which only the conformance suites of zarrkit.testing use."""
    script = (
        "import builtins\n"
        "real = builtins.__import__\n"
        "def guard(name, *a, **k):\n"
        "    if name.split('.')[0] == 'pytest':\n"
        "        raise ModuleNotFoundError('no pytest here', name='pytest')\n"
        "    return real(name, *a, **k)\n"
        "builtins.__import__ = guard\n"
        "import zarrkit.testing.object_server\n"
        "print('imported')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "imported"
