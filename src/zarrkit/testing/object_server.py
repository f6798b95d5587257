"""A local HTTP object server: object-store behaviour, latency and faults, offline.

Objects live in memory (optionally copied from a directory at start). It answers what object
stores and their clients rely on, as S3 does:

- ``GET`` whole or one byte range (``bytes=a-b``, ``bytes=a-``, ``bytes=-n``): 206 with
  ``Content-Range``, 416 for a range that starts past the end; other ``Range`` headers (several
  ranges, other units) are ignored and the whole object is sent, as RFC 9110 allows.
- ``HEAD``, ``PUT`` (200 with the new ETag) and ``DELETE`` (204, also for a missing key).
- An ETag per object version: every write gives a new one, even of the same bytes (as GCS
  generations and Azure ETags; S3's MD5 ETags repeat for equal bytes). ``etags=False`` sends
  none, as plain file servers may: clients can then neither condition on a version nor resume
  a body cut short (obstore re-requests the rest only when it knows the ETag).
- ``If-Match`` and ``If-None-Match`` (including ``*``) on every method, checked atomically with
  the read or write: a mismatch is 412, except that ``If-None-Match`` on GET and HEAD answers 304;
  ``If-Match`` on a missing key is 404 NoSuchKey.

On top, from :mod:`zarrkit.testing.http_server`: latency before every response, seeded fault
injection, request and byte counters, and control over HTTP.

Run it in a thread::

    with ObjectServer(latency=0.02, faults=[Fault.parse("503:0.1:*/c/*")]) as server:
        server.put("data/zarr.json", document)
        ...  # read from server.url
        print(server.stats().total, "requests")

or in a child process (``ObjectServer.spawn(...)``, the same methods), or from a shell::

    python -m zarrkit.testing.object_server --port 0 --latency 0.02 --root DIR --fault 503:0.1
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import Any

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

__all__ = ["Fault", "ObjectServer", "ObjectService", "byte_range"]


@dataclass(frozen=True, slots=True)
class StoredObject:
    data: bytes
    etag: str
    modified: float


class RangeNotSatisfiable(Exception):
    """The requested range starts past the end of the object (HTTP 416)."""


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The ``(start, stop)`` that a ``Range`` header asks of ``size`` bytes; None for all of it.

    Raises :class:`RangeNotSatisfiable` for a range that starts at or past ``size`` (or a
    suffix of 0 bytes, or any range of an empty object).

    Examples
    --------
    >>> byte_range("bytes=2-5", 10), byte_range("bytes=-3", 10), byte_range("bytes=0-1,4-5", 10)
    ((2, 6), (7, 10), None)
    """
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", (header or "").strip())
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if not first:
        if int(last) == 0 or size == 0:
            raise RangeNotSatisfiable
        return max(size - int(last), 0), size
    start = int(first)
    if last and int(last) < start:
        return None  # invalid, so ignored
    if start >= size:
        raise RangeNotSatisfiable
    return start, size if not last else min(int(last) + 1, size)


def _matches(header: str, etag: str, *, weak: bool) -> bool:
    """Whether an ``If-Match`` / ``If-None-Match`` list names ``etag`` (or is ``*``)."""
    candidates = [c.strip() for c in header.split(",")]
    if weak:
        candidates = [c.removeprefix("W/") for c in candidates]
    return "*" in candidates or etag in candidates


def _validators(obj: StoredObject) -> dict[str, str]:
    return {"ETag": obj.etag, "Last-Modified": formatdate(obj.modified, usegmt=True)}


def _refusal(current: StoredObject | None, request: Request) -> Response | None:
    """The answer when the request's preconditions fail (RFC 9110 13.2.2 order), else None."""
    key, method = request.key, request.method
    if_match = request.headers.get("If-Match")
    if if_match is not None:
        if current is None:
            return error_response(404, "NoSuchKey", "If-Match on a missing object", key)
        if not _matches(if_match, current.etag, weak=False):
            return error_response(412, "PreconditionFailed", "If-Match did not match", key)
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is None or current is None:
        return None
    if not _matches(if_none_match, current.etag, weak=True):
        return None
    if method in ("GET", "HEAD"):
        return Response(status=304, headers=_validators(current))
    return error_response(412, "PreconditionFailed", "If-None-Match matched", key)


def _content(obj: StoredObject, request: Request) -> Response:
    size = len(obj.data)
    headers = {**_validators(obj), "Accept-Ranges": "bytes"}
    headers["Content-Type"] = "application/octet-stream"
    try:
        span = byte_range(request.headers.get("Range"), size)
    except RangeNotSatisfiable:
        unsatisfied = {"Content-Range": f"bytes */{size}"}
        return error_response(
            416, "InvalidRange", "range not satisfiable", request.key, **unsatisfied
        )
    status, body = 200, obj.data
    if span is not None:
        start, stop = span
        status, body = 206, obj.data[start:stop]
        headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    if request.method == "HEAD":
        return Response(status=status, headers={**headers, "Content-Length": str(len(body))})
    return Response(status=status, headers=headers, body=body)


class ObjectService(Service):
    """The objects of an :class:`ObjectServer` and how requests read and change them."""

    def __init__(
        self, settings: Settings, root: str | Path | None = None, *, etags: bool = True
    ) -> None:
        super().__init__(settings)
        self.etags = etags
        self._objects: dict[str, StoredObject] = {}
        self._lock = threading.Lock()
        self._versions = itertools.count(1)
        if root is not None:
            for path in sorted(Path(root).rglob("*")):
                if path.is_file():
                    self.put(path.relative_to(root).as_posix(), path.read_bytes())

    def put(self, key: str, data: bytes) -> str:
        """Store ``data`` at ``key`` as a new version; returns its ETag."""
        with self._lock:
            return self._store(key, data).etag

    def get(self, key: str) -> bytes | None:
        with self._lock:
            found = self._objects.get(key)
        return None if found is None else found.data

    def etag(self, key: str) -> str | None:
        with self._lock:
            found = self._objects.get(key)
        return None if found is None else found.etag

    def delete(self, key: str) -> None:
        with self._lock:
            self._objects.pop(key, None)

    def keys(self) -> list[str]:
        with self._lock:
            return sorted(self._objects)

    def _store(self, key: str, data: bytes) -> StoredObject:
        stored = StoredObject(bytes(data), f'"v{next(self._versions)}"', time.time())
        self._objects[key] = stored
        return stored

    def respond(self, request: Request) -> Response:
        response = self._respond(request)
        if not self.etags:
            headers = {k: v for k, v in response.headers.items() if k != "ETag"}
            response = Response(status=response.status, headers=headers, body=response.body)
        return response

    def _respond(self, request: Request) -> Response:
        if request.method in ("GET", "HEAD"):
            return self._read(request)
        if request.method == "PUT":
            return self._write(request)
        if request.method == "DELETE":
            return self._delete(request)
        return error_response(405, "MethodNotAllowed", request.method, request.key)

    def _read(self, request: Request) -> Response:
        with self._lock:
            current = self._objects.get(request.key)  # immutable: the snapshot is consistent
        refused = _refusal(current, request)
        if refused is not None:
            return refused
        if current is None:
            return error_response(404, "NoSuchKey", "no such key", request.key)
        return _content(current, request)

    def _write(self, request: Request) -> Response:
        if not request.key or request.key.endswith("/"):
            return error_response(400, "InvalidKey", "an object key is needed", request.key)
        with self._lock:
            refused = _refusal(self._objects.get(request.key), request)
            if refused is not None:
                return refused
            stored = self._store(request.key, request.body)
        return Response(status=200, headers={"ETag": stored.etag})

    def _delete(self, request: Request) -> Response:
        with self._lock:
            refused = _refusal(self._objects.get(request.key), request)
            if refused is not None:
                return refused
            self._objects.pop(request.key, None)
        return Response(status=204)


class ObjectServer(ThreadedServer):
    """An HTTP object server in a thread of this process; a context manager giving ``url``.

    Parameters
    ----------
    root
        Copy the files under this directory in as objects (keys are their relative paths).
    etags
        Send ETags (see the module docstring for ``False``).
    host, port
        Where to listen; port 0 picks a free one.
    **settings
        :class:`~zarrkit.testing.http_server.Settings` fields: ``latency``, ``faults``,
        ``seed``, ``retry_after``, ``slow_delay``, ``count_keys``.

    Examples
    --------
    >>> import urllib.request
    >>> with ObjectServer() as server:
    ...     etag = server.put("data/x", b"hello")
    ...     urllib.request.urlopen(f"{server.url}/data/x").read()
    b'hello'
    """

    service: ObjectService

    def __init__(
        self,
        root: str | Path | None = None,
        *,
        etags: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        **settings: Any,
    ) -> None:
        service = ObjectService(Settings(**settings), root, etags=etags)
        super().__init__(service, host=host, port=port)

    def put(self, key: str, data: bytes) -> str:
        """Store ``data`` at ``key`` directly (not counted); returns its ETag."""
        return self.service.put(key, data)

    def get(self, key: str) -> bytes | None:
        return self.service.get(key)

    def etag(self, key: str) -> str | None:
        return self.service.etag(key)

    def delete(self, key: str) -> None:
        self.service.delete(key)

    def keys(self) -> list[str]:
        return self.service.keys()

    @staticmethod
    def spawn(
        root: str | Path | None = None, *, etags: bool = True, **settings: Any
    ) -> ServerProcess:
        """The same server in a child process (start it with ``with`` or ``.start()``)."""
        args = Settings(**settings).to_args() + ([f"--root={root}"] if root else [])
        args += [] if etags else ["--no-etags"]
        return ServerProcess("zarrkit.testing.object_server", args)


def main(argv: list[str] | None = None) -> None:
    parser = argument_parser(
        "python -m zarrkit.testing.object_server", "A local HTTP object server; prints its URL."
    )
    parser.add_argument("--root", type=Path, help="serve copies of the files under this directory")
    parser.add_argument("--no-etags", action="store_true", help="send no ETag headers")
    args = parser.parse_args(argv)
    serve_forever(ObjectService(settings_from(args), args.root, etags=not args.no_etags), args)


if __name__ == "__main__":
    main()
