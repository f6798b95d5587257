"""The machinery the test HTTP servers share: latency, faults, counters and control, in a thread
or in a child process.

A server is a :class:`Service` (what a request gets back) behind a threaded HTTP/1.1 handler that
adds the configured latency before every response, injects the faults its
:class:`~zarrkit.testing.faults.FaultPlan` chooses and counts requests and bytes. Keep-alive is on
and Nagle's algorithm off: otherwise each response of Python's ``http.server`` waits about 40 ms
for the delayed ACK of its header segment.

The counters and settings are read and changed over HTTP under ``/__control__/`` (never counted,
delayed or faulted), so a test or benchmark drives a server in another process the same way as
one in a thread: ``stats()``, ``reset_stats()``, ``configure(latency=0.02)``.

Over 400 lines: the service, the handler, the control API and the process launcher of
one test server, which are only used together.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import json
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, NoReturn, Self
from urllib.parse import unquote, urlsplit

from zarrkit.testing.faults import Fault, FaultPlan

CONTROL = "__control__/"


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """How a test server behaves; every field can be changed while it runs.

    Parameters
    ----------
    latency
        Seconds added before every response.
    faults
        Faults to inject (their rates stack; see :class:`~zarrkit.testing.faults.FaultPlan`).
    seed
        Seed of the fault draws.
    retry_after
        Seconds announced in ``Retry-After`` by 503 and 429 faults.
    slow_delay
        Seconds a ``slow`` fault waits (on top of ``latency``) before answering.
    count_keys
        Also count requests per key in :attr:`Stats.keys`.
    """

    latency: float = 0.0
    faults: Sequence[Fault] = ()
    seed: int = 0
    retry_after: int = 1
    slow_delay: float = 30.0
    count_keys: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "faults", tuple(self.faults))
        if self.latency < 0 or self.slow_delay < 0 or self.retry_after < 0:
            raise ValueError(f"negative latency, slow_delay or retry_after in {self}")

    def to_json(self) -> dict[str, Any]:
        document = dataclasses.asdict(self)
        document["faults"] = [f.to_text() for f in self.faults]
        return document

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Settings:
        faults = [Fault.parse(text) for text in document.get("faults", ())]
        return cls(**{**document, "faults": faults})

    def to_args(self) -> list[str]:
        """Command-line arguments that give these settings (see :func:`argument_parser`)."""
        args = [f"--latency={self.latency}", f"--seed={self.seed}"]
        args += [f"--retry-after={self.retry_after}", f"--slow-delay={self.slow_delay}"]
        args += [f"--fault={f.to_text()}" for f in self.faults]
        return args + (["--count-keys"] if self.count_keys else [])


@dataclass(frozen=True, slots=True, kw_only=True)
class Stats:
    """What a server counted since it started or was last reset (control requests excluded)."""

    requests: dict[str, int] = field(default_factory=dict)  # by method
    statuses: dict[int, int] = field(default_factory=dict)  # responses sent, by status
    faults: dict[str, int] = field(default_factory=dict)  # injected, by kind
    bytes_sent: int = 0  # response bodies
    bytes_received: int = 0  # request bodies
    keys: dict[str, int] = field(default_factory=dict)  # requests by key, with count_keys

    @property
    def total(self) -> int:
        """All requests, faulted ones included."""
        return sum(self.requests.values())

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Stats:
        statuses = {int(code): n for code, n in document["statuses"].items()}
        return cls(**{**document, "statuses": statuses})


class Counters:
    """The running totals behind :class:`Stats`, safe to update from handler threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._counts: dict[str, Counter[Any]] = {
                name: Counter() for name in ("requests", "statuses", "faults", "keys")
            }
            self._bytes = Counter[str]()

    def add(self, counter: str, name: Any, *, sent: int = 0, received: int = 0) -> None:
        with self._lock:
            self._counts[counter][name] += 1
            self._bytes["sent"] += sent
            self._bytes["received"] += received

    def snapshot(self) -> Stats:
        with self._lock:
            counts = {name: dict(counter) for name, counter in self._counts.items()}
            sent, received = self._bytes["sent"], self._bytes["received"]
        return Stats(**counts, bytes_sent=sent, bytes_received=received)


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    method: str
    key: str  # the URL path without its leading "/", percent-decoded
    target: str  # the request target as sent (path and query)
    headers: Message
    body: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)  # Content-Length added if absent
    body: bytes = b""


def error_response(status: int, code: str, message: str, key: str, **headers: str) -> Response:
    """An S3-style XML error document."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message><Key>{key}</Key></Error>"
    ).encode()
    return Response(
        status=status, headers={"Content-Type": "application/xml", **headers}, body=body
    )


def json_response(document: Any) -> Response:
    body = json.dumps(document).encode()
    return Response(status=200, headers={"Content-Type": "application/json"}, body=body)


class Service:
    """What a test server answers; subclasses implement :meth:`respond`."""

    def __init__(self, settings: Settings) -> None:
        self.counters = Counters()
        self.configure(settings)

    def configure(self, settings: Settings) -> None:
        # One assignment, so a request in flight sees the old or the new pair, never a mix.
        self.state = (settings, FaultPlan(settings.faults, settings.seed))

    def respond(self, request: Request) -> Response:
        raise NotImplementedError

    def control(self, method: str, command: str, body: bytes) -> Response:
        """Answer a request under ``/__control__/``."""
        if (method, command) == ("GET", "stats"):
            return json_response(self.counters.snapshot().to_json())
        if (method, command) == ("POST", "reset"):
            self.counters.reset()
            return Response(status=204)
        if (method, command) == ("GET", "settings"):
            return json_response(self.state[0].to_json())
        if (method, command) == ("PUT", "settings"):
            try:
                self.configure(Settings.from_json(json.loads(body)))
            except (ValueError, TypeError) as e:
                return error_response(400, "InvalidSettings", str(e), CONTROL + command)
            return Response(status=204)
        return error_response(404, "NoSuchControl", f"{method} {command}", CONTROL + command)


class _Dropped(Exception):
    """The handler dropped the connection on purpose."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def handle(self) -> None:
        # A connection dropped on purpose, or a client that went away (after a slow fault).
        with contextlib.suppress(_Dropped, ConnectionError, TimeoutError):
            super().handle()

    def serve(self) -> None:
        target = self.path
        key = unquote(urlsplit(target).path).lstrip("/")
        try:
            body = self._read_body()
        except ValueError as e:  # a malformed Content-Length or chunk size
            self.close_connection = True
            self._send(error_response(400, "BadRequest", str(e), key), counted=False)
            return
        service = self.server.service
        if key.startswith(CONTROL):
            answer = service.control(self.command, key.removeprefix(CONTROL), body)
            self._send(answer, counted=False)
            return
        request = Request(
            method=self.command, key=key, target=target, headers=self.headers, body=body
        )
        self._serve_faulty(service, request)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = serve

    def _serve_faulty(self, service: Service, request: Request) -> None:
        settings, plan = service.state
        counters = service.counters
        counters.add("requests", request.method, received=len(request.body))
        if settings.count_keys:
            counters.add("keys", request.key)
        fault = plan.choose(request.method, request.key, request.headers.get("Range", ""))
        kind = None if fault is None else fault.kind
        time.sleep(settings.latency + (settings.slow_delay if kind == "slow" else 0.0))
        if kind == "reset":
            counters.add("faults", kind)
            self._reset()
        if kind == "503" or kind == "429":
            counters.add("faults", kind)
            self._send(_throttled(int(kind), settings.retry_after, request.key))
            return
        if kind == "checksum":
            counters.add("faults", kind)
            message = "The Content-MD5 you specified did not match what we received (injected)"
            self._send(error_response(400, "BadDigest", message, request.key))
            return
        response = service.respond(request)
        if kind == "lose-put" and response.status < 300:
            counters.add("faults", kind)
            self._reset()
        truncate = kind == "truncate" and len(response.body) > 0
        if kind == "slow" or truncate:
            counters.add("faults", kind)
        self._send(response, truncate=truncate)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _read_chunked(self) -> bytes:
        parts = []
        while size := int(self.rfile.readline().split(b";")[0], 16):
            parts.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return b"".join(parts)

    def _send(self, response: Response, *, truncate: bool = False, counted: bool = True) -> None:
        # Counted first: a client may read the counters as soon as it has the answer.
        body = b"" if self.command == "HEAD" else response.body
        if truncate:  # the announced length stays: the client sees the body end early
            body = body[: len(body) // 2]
            self.close_connection = True
        if counted:
            self.server.service.counters.add("statuses", response.status, sent=len(body))
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if "Content-Length" not in response.headers:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(body)

    def _reset(self) -> NoReturn:
        """Close with a TCP reset (SO_LINGER 0) instead of an orderly shutdown."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()  # drops the reference of its file object, so close() really closes
        self.connection.close()
        raise _Dropped


def _throttled(status: int, retry_after: int, key: str) -> Response:
    code = "SlowDown" if status == 503 else "TooManyRequests"
    message = "Reduce your request rate (injected fault)"
    return error_response(status, code, message, key, **{"Retry-After": str(retry_after)})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a handler asleep in a slow fault must not hold up stop()
    request_queue_size = 1024  # clients open dozens of connections at once

    def __init__(self, address: tuple[str, int], service: Service) -> None:
        super().__init__(address, _Handler)
        self.service = service

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class ControlClient:
    """Reads and changes the counters and settings of the test server at ``url``, over HTTP."""

    _opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def _control(self, method: str, command: str, document: Any = None) -> Any:
        data = None if document is None else json.dumps(document).encode()
        request = urllib.request.Request(f"{self.url}/{CONTROL}{command}", data, method=method)
        with self._opener.open(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def stats(self) -> Stats:
        return Stats.from_json(self._control("GET", "stats"))

    def reset_stats(self) -> None:
        self._control("POST", "reset")

    def settings(self) -> Settings:
        return Settings.from_json(self._control("GET", "settings"))

    def configure(self, **changes: Any) -> Settings:
        """Change some settings (and restart the fault draws); returns the new settings."""
        settings = dataclasses.replace(self.settings(), **changes)
        self._control("PUT", "settings", settings.to_json())
        return settings


class RunningServer(ControlClient):
    """A test server that this process starts and stops; a context manager."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class ThreadedServer(RunningServer):
    """A :class:`Service` served from a daemon thread of this process; a context manager."""

    def __init__(self, service: Service, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.service = service
        self._server = _Server((host, port), service)
        super().__init__(self._server.url)
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        # A short poll interval, so that stop() returns at once (shutdown waits for a poll).
        serve = functools.partial(self._server.serve_forever, poll_interval=0.02)
        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()


class ServerProcess(RunningServer):
    """A test server run as ``python -m <module> --port 0 <args>`` in a child; a context manager.

    The child prints its URL on the first line of its output; :meth:`start` waits for it.
    """

    def __init__(self, module: str, args: Sequence[str], *, timeout: float = 60.0) -> None:
        super().__init__("")  # known once the child has started
        self.command = [sys.executable, "-m", module, "--port", "0", *args]
        self.timeout = timeout
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> Self:
        self.process = subprocess.Popen(
            self.command, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
        )
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], self.timeout)
        line = self.process.stdout.readline().strip() if ready else ""
        if not line.startswith("http://"):
            self.stop()
            raise RuntimeError(f"{' '.join(self.command)} printed no URL: {line!r}")
        self.url = line
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        stop_process(self.process)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None


def stop_process(process: subprocess.Popen[Any]) -> None:
    """Terminate ``process`` (kill it if it has not ended 10 s later) and reap it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def argument_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """A parser with the options every test server takes (read back with :func:`settings_from`)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each response")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        type=Fault.parse,
        metavar="KIND:RATE[:GLOB]",
        help="inject a fault (repeatable); kinds: 503 429 reset truncate slow lose-put checksum",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault draws")
    parser.add_argument("--retry-after", type=int, default=1, help="seconds, on 503 and 429")
    parser.add_argument("--slow-delay", type=float, default=30.0, help="seconds, 'slow' faults")
    parser.add_argument("--count-keys", action="store_true", help="count requests per key")
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(
        latency=args.latency,
        faults=args.fault,
        seed=args.seed,
        retry_after=args.retry_after,
        slow_delay=args.slow_delay,
        count_keys=args.count_keys,
    )


def serve_forever(service: Service, args: argparse.Namespace) -> None:
    """Serve ``service`` in this process until SIGTERM or SIGINT, after printing its URL."""
    server = _Server((args.host, args.port), service)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    print(server.url, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
