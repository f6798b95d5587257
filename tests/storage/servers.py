"""Local servers that tests and benchmarks start: moto (S3) threaded or on one thread.

Importable outside pytest (``benchmarks.remote`` uses it); a server that cannot start is
skipped through :func:`unavailable` (a failure when ``CI`` is set).

moto's usual server (``moto_server``) is threaded and checks ``If-Match`` / ``If-None-Match``
apart from the write, so two racing conditional PUTs can both succeed there. Served on one
thread (``python -m tests.storage.servers PORT``: werkzeug's ``run_simple`` with
``threaded=False``) each request runs alone and the checks are atomic, as on S3.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, NoReturn

import pytest

from zarrkit.testing.http_server import stop_process

REPO = Path(__file__).resolve().parents[2]


def servers_allowed() -> None:
    """Skip where servers are off: ``make test-fast`` sets ZARRKIT_NO_SERVERS=1."""
    if os.environ.get("ZARRKIT_NO_SERVERS", "") not in ("", "0"):
        pytest.skip("no servers in this run (ZARRKIT_NO_SERVERS=1, as make test-fast sets)")


def unavailable(reason: str) -> NoReturn:
    """Skip locally; fail under CI, where every server must start."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so a missing server is a failure)", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A child process listening on 127.0.0.1:port, stopped by its own handle."""

    def __init__(self, name: str, command: list[str], port: int, log_dir: Path, **kwargs) -> None:
        servers_allowed()
        self.name = name
        self.port = port
        self.log = log_dir / f"{name}.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **kwargs
            )

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.5),
            ):
                return
            time.sleep(0.05)
        self.stop()
        tail = self.log.read_text(errors="replace")[-2000:]
        unavailable(f"{self.name} did not start on port {self.port}: {tail}")

    def stop(self) -> None:
        stop_process(self.process)


def start_moto(log_dir: Path, name: str = "moto", *, threaded: bool = True) -> Server:
    """A moto S3 server on a free port, ready; its endpoint is ``moto_endpoint(server)``.

    ``threaded=False`` serves it on one thread, where conditional writes are atomic.
    """
    exe = Path(sys.executable).parent / "moto_server"
    if not exe.exists():
        unavailable(f"moto_server not found next to {sys.executable} (install moto[server])")
    port = free_port()
    if threaded:
        command = [str(exe), "-H", "127.0.0.1", "-p", str(port)]
    else:
        command = [sys.executable, "-m", "tests.storage.servers", str(port)]
    server = Server(name, command, port, log_dir, cwd=REPO)
    server.wait_ready()
    return server


def moto_endpoint(server: Server) -> str:
    return f"http://127.0.0.1:{server.port}"


def s3_bucket(endpoint: str, bucket: str = "zarrkit-test") -> tuple[str, dict[str, Any]]:
    """``(bucket, storage_options)`` after creating ``bucket`` on the S3 server at ``endpoint``."""
    request = urllib.request.Request(f"{endpoint}/{bucket}", method="PUT")
    urllib.request.urlopen(request, timeout=10).close()
    options = {
        "endpoint": endpoint,
        "access_key_id": "testing",
        "secret_access_key": "testing",
        "region": "us-east-1",
        "virtual_hosted_style_request": False,
        "allow_http": True,
    }
    return bucket, options


def fast_retry(max_retries: int) -> dict[str, Any]:
    """obstore retry settings for tests of failures: ``max_retries`` retries, 10 to 50 ms apart."""
    return {
        "max_retries": max_retries,
        "backoff": {
            "init_backoff": datetime.timedelta(milliseconds=10),
            "max_backoff": datetime.timedelta(milliseconds=50),
            "base": 2,
        },
        "retry_timeout": datetime.timedelta(seconds=10),
    }


def serve_moto_on_one_thread(port: int) -> None:
    """Serve moto's S3 on 127.0.0.1:port, one request at a time, until killed."""
    from moto.moto_server.werkzeug_app import (  # moto is a test dependency only
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import run_simple

    os.environ.setdefault("MOTO_PORT", str(port))  # as moto_server does, for URLs it builds
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    serve_moto_on_one_thread(int(sys.argv[1]))
