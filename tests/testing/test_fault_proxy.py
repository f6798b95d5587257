"""The fault-injecting proxy of zarrkit.testing, in front of an object server: what it forwards,
what it answers itself, and how each fault reaches the client and the upstream server."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from zarrkit.testing.fault_proxy import FaultProxy
from zarrkit.testing.faults import Fault
from zarrkit.testing.object_server import ObjectServer

from .test_object_server import VALUE


@pytest.fixture
def upstream() -> Iterator[ObjectServer]:
    with ObjectServer(count_keys=True) as server:
        server.put("a/b", VALUE)
        yield server


@pytest.fixture
def proxy(upstream: ObjectServer) -> Iterator[FaultProxy]:
    with FaultProxy(upstream.url) as running:
        yield running


def call(
    proxy: FaultProxy, method: str, target: str, body: bytes | None = None, **headers: str
) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(proxy.url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        named = {name.replace("_", "-"): value for name, value in headers.items()}
        connection.request(method, target, body=body, headers=named)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_requests_and_answers_pass_through(proxy: FaultProxy, upstream: ObjectServer) -> None:
    etag = upstream.etag("a/b") or ""
    status, headers, body = call(proxy, "GET", "/a/b?x=1", Range="bytes=2-4", If_Match=etag)
    assert (status, body, headers["Content-Range"], headers["ETag"]) == (
        206,
        b"234",
        "bytes 2-4/10",
        etag,
    )
    status, headers, body = call(proxy, "HEAD", "/a/b")
    assert (status, headers["Content-Length"], body) == (200, "10", b"")
    assert call(proxy, "PUT", "/a/c", b"hello", If_None_Match="*")[0] == 200
    assert call(proxy, "PUT", "/a/c", b"again", If_None_Match="*")[0] == 412
    assert call(proxy, "DELETE", "/a/b")[0] == 204
    assert call(proxy, "GET", "/a/b")[0] == 404
    assert upstream.get("a/c") == b"hello" and upstream.get("a/b") is None
    assert (
        proxy.stats().requests
        == upstream.stats().requests
        == {
            "GET": 2,
            "HEAD": 1,
            "PUT": 2,
            "DELETE": 1,
        }
    )
    assert proxy.stats().bytes_received == upstream.stats().bytes_received == 10


def test_throttling_and_resets_are_answered_without_forwarding(
    proxy: FaultProxy, upstream: ObjectServer
) -> None:
    proxy.configure(faults=[Fault(kind="503", rate=1.0, keys="a/*")], retry_after=4)
    status, headers, _ = call(proxy, "PUT", "/a/b", b"not written")
    assert (status, headers["Retry-After"]) == (503, "4")
    proxy.configure(faults=[Fault(kind="reset", rate=1.0)])
    with pytest.raises(ConnectionResetError):
        call(proxy, "GET", "/a/b")
    assert upstream.stats().total == 0 and upstream.get("a/b") == VALUE


def test_lost_put_reaches_the_upstream(proxy: FaultProxy, upstream: ObjectServer) -> None:
    proxy.configure(faults=[Fault(kind="lose-put", rate=1.0)])
    with pytest.raises(ConnectionResetError):
        call(proxy, "PUT", "/a/b", b"applied")
    assert upstream.get("a/b") == b"applied"
    assert proxy.stats().faults == {"lose-put": 1}


def test_truncated_relay(proxy: FaultProxy) -> None:
    proxy.configure(faults=[Fault(kind="truncate", rate=1.0)])
    with pytest.raises(http.client.IncompleteRead) as info:
        call(proxy, "GET", "/a/b")
    assert info.value.partial == b"01234"


def test_latency_and_key_filters(proxy: FaultProxy, upstream: ObjectServer) -> None:
    upstream.put("arr/c/0", b"chunk")
    proxy.configure(latency=0.01, faults=[Fault(kind="503", rate=1.0, keys="*/c/*")])
    assert call(proxy, "GET", "/a/b")[0] == 200
    assert call(proxy, "GET", "/arr/c/0")[0] == 503
    assert upstream.stats().keys == {"a/b": 1}


def test_an_unreachable_upstream_is_a_502() -> None:
    with ObjectServer() as gone:
        url = gone.url
    with FaultProxy(url) as proxy:
        status, _, body = call(proxy, "GET", "/a/b")
    assert status == 502 and b"BadGateway" in body


def test_upstream_must_be_plain_http() -> None:
    with pytest.raises(ValueError, match="expected http://host:port"):
        FaultProxy("https://example.org")


def test_spawned_proxy(upstream: ObjectServer) -> None:
    with FaultProxy.spawn(upstream.url, faults=[Fault(kind="429", rate=1.0)]) as child:
        assert call(child, "GET", "/a/b")[0] == 429  # type: ignore[arg-type]
        child.configure(faults=[])
        assert call(child, "GET", "/a/b")[2] == VALUE  # type: ignore[arg-type]
        assert child.stats().statuses == {429: 1, 200: 1}
