"""A fault-injecting HTTP proxy: put it in front of any HTTP server (moto's S3, Azurite ...).

Each request is forwarded to the upstream server as it came (method, target, headers, body;
the ``Host`` header is kept, so signed S3 requests stay valid) and its answer relayed, after the
latency and the faults of :mod:`zarrkit.testing.http_server`: 503, 429 and ``checksum`` (400
BadDigest) are answered by the proxy without forwarding, ``reset`` drops the connection before
forwarding, ``lose-put`` after a successful upstream PUT, ``truncate`` cuts the relayed body,
``slow`` delays the answer. Requests and bytes are counted as by
:class:`~zarrkit.testing.object_server.ObjectServer`.

Examples
--------
::

    with FaultProxy("http://127.0.0.1:5000", faults=[Fault.parse("503:0.2")]) as proxy:
        store = zarrkit.storage.ObjectStore("s3://bucket", endpoint=proxy.url, ...)

    python -m zarrkit.testing.fault_proxy --upstream http://127.0.0.1:5000 --fault reset:0.1
"""

from __future__ import annotations

import http.client
from typing import Any
from urllib.parse import urlsplit

from zarrkit.testing.faults import Fault
from zarrkit.testing.http_server import (
    Request,
    Response,
    ServerProcess,
    Service,
    Settings,
    ThreadedServer,
    argument_parser,
    error_response,
    serve_forever,
    settings_from,
)

__all__ = ["Fault", "FaultProxy", "ProxyService"]

# Per connection, not forwarded (RFC 9110 7.6.1); Content-Length is recomputed, Date and
# Server are the proxy's own, and Expect is answered by the proxy.
_NOT_FORWARDED = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "expect",
        "date",
        "server",
    }
)


class ProxyService(Service):
    """Forwards each request to ``upstream`` (``http://host:port``) on a fresh connection."""

    def __init__(self, settings: Settings, upstream: str, *, timeout: float = 120.0) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream {upstream!r}: expected http://host:port")
        super().__init__(settings)
        self.upstream, self.timeout = upstream, timeout
        self._address = (parts.hostname, parts.port or 80)

    def respond(self, request: Request) -> Response:
        connection = http.client.HTTPConnection(*self._address, timeout=self.timeout)
        try:
            answer = self._forward(connection, request)
            body = answer.read()
        except OSError as e:
            message = f"upstream {self.upstream}: {type(e).__name__}: {e}"
            return error_response(502, "BadGateway", message, request.key)
        finally:
            connection.close()
        headers = {k: v for k, v in answer.getheaders() if k.lower() not in _NOT_FORWARDED}
        if request.method == "HEAD":  # no body, but the length of the one a GET would get
            headers["Content-Length"] = answer.getheader("Content-Length", "0")
        return Response(status=answer.status, headers=headers, body=body)

    @staticmethod
    def _forward(
        connection: http.client.HTTPConnection, request: Request
    ) -> http.client.HTTPResponse:
        connection.putrequest(
            request.method, request.target, skip_host=True, skip_accept_encoding=True
        )
        for name, value in request.headers.items():
            if name.lower() not in _NOT_FORWARDED:
                connection.putheader(name, value)
        if request.body or request.method in ("PUT", "POST"):
            connection.putheader("Content-Length", str(len(request.body)))
        connection.endheaders(request.body or None)
        return connection.getresponse()


class FaultProxy(ThreadedServer):
    """A fault-injecting proxy to ``upstream`` in a thread of this process; a context manager.

    ``**settings`` are :class:`~zarrkit.testing.http_server.Settings` fields (``latency``,
    ``faults``, ``seed``, ``retry_after``, ``slow_delay``, ``count_keys``).
    """

    def __init__(
        self, upstream: str, *, host: str = "127.0.0.1", port: int = 0, **settings: Any
    ) -> None:
        super().__init__(ProxyService(Settings(**settings), upstream), host=host, port=port)

    @staticmethod
    def spawn(upstream: str, **settings: Any) -> ServerProcess:
        """The same proxy in a child process (start it with ``with`` or ``.start()``)."""
        args = [*Settings(**settings).to_args(), f"--upstream={upstream}"]
        return ServerProcess("zarrkit.testing.fault_proxy", args)


def main(argv: list[str] | None = None) -> None:
    parser = argument_parser(
        "python -m zarrkit.testing.fault_proxy", "A fault-injecting HTTP proxy; prints its URL."
    )
    parser.add_argument("--upstream", required=True, help="http://host:port to forward to")
    args = parser.parse_args(argv)
    serve_forever(ProxyService(settings_from(args), args.upstream), args)


if __name__ == "__main__":
    main()
