"""Local servers for the storage tests: moto (S3, threaded or on one thread, and behind a
fault-injecting proxy), Azurite (Azure), Redis, PostgreSQL, HTTP.

Each is started once per test session (per xdist worker) on a free 127.0.0.1 port and
stopped at the end. Fixtures only start and stop them: ``make services``
(scripts/services.sh, which ``make test`` runs first) installs them. When a server cannot
be started the tests that need it are skipped with the reason, except when the ``CI``
environment variable is set: then they fail. Without the server's client library (the
no-extras job) they skip as any test needing a missing library does (tests/optional.py).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import http.server
import io
import os
import shutil
import subprocess
import tempfile
import threading
import urllib.request
from email.utils import formatdate
from pathlib import Path

import pytest
from optional import needs

from zarrkit.testing.fault_proxy import FaultProxy

from .servers import (
    Server,
    free_port,
    moto_endpoint,
    s3_bucket,
    servers_allowed,
    start_moto,
    unavailable,
)

REPO = Path(__file__).resolve().parents[2]
AZURITE = REPO / ".cache" / "npm" / "node_modules" / ".bin" / "azurite-blob"
INSTALL = "install it with `make services` (scripts/services.sh)"
AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's documented, public development key.
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


@pytest.fixture(scope="session")
def server_dir():
    path = Path(tempfile.mkdtemp(prefix="zarrkit-servers-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


# --- S3 (moto) --------------------------------------------------------------------------
@pytest.fixture(scope="session")
def moto_server(server_dir):
    needs("moto", "obstore")
    server = start_moto(server_dir)
    yield moto_endpoint(server)
    server.stop()


@pytest.fixture(scope="session")
def s3_options(moto_server):
    """``(bucket, storage_options)`` for a fresh bucket on the moto server."""
    return s3_bucket(moto_server)


@pytest.fixture(scope="session")
def moto_single_server(server_dir):
    """moto's S3 served on one thread: conditional writes are atomic there, as on S3."""
    needs("moto", "obstore")
    server = start_moto(server_dir, "moto-single", threaded=False)
    yield moto_endpoint(server)
    server.stop()


@pytest.fixture(scope="session")
def s3_single_options(moto_single_server):
    """``(bucket, storage_options)`` for a bucket on the single-threaded moto server."""
    return s3_bucket(moto_single_server, "zarrkit-single")


@pytest.fixture
def s3_fault_proxy(moto_single_server, request):
    """``(proxy, bucket, storage_options)``: a fresh bucket on the single-threaded moto, reached
    through a fault-injecting proxy (no faults until ``proxy.configure(faults=[...])``).

    The bucket is named after the test, so the seeded faults hit the same requests every run.
    """
    name = hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:12]
    with FaultProxy(moto_single_server) as proxy:
        bucket, options = s3_bucket(proxy.url, f"faulty-{name}")
        proxy.reset_stats()
        yield proxy, bucket, options


# --- Azure (Azurite) --------------------------------------------------------------------
def create_azure_container(endpoint: str, container: str) -> None:
    """Create a container with a SharedKey-signed request (obstore cannot create one)."""
    headers = {"x-ms-date": formatdate(usegmt=True), "x-ms-version": "2021-08-06"}
    canonical = "".join(f"{name}:{value}\n" for name, value in sorted(headers.items()))
    resource = f"/{AZURITE_ACCOUNT}/{AZURITE_ACCOUNT}/{container}\nrestype:container"
    content_type = "application/octet-stream"
    to_sign = f"PUT\n\n\n\n\n{content_type}\n" + "\n" * 6 + canonical + resource
    digest = hmac.new(base64.b64decode(AZURITE_KEY), to_sign.encode(), hashlib.sha256).digest()
    headers["Content-Type"] = content_type
    headers["Authorization"] = f"SharedKey {AZURITE_ACCOUNT}:{base64.b64encode(digest).decode()}"
    url = f"{endpoint}/{container}?restype=container"
    request = urllib.request.Request(url, data=b"", method="PUT", headers=headers)
    urllib.request.urlopen(request, timeout=10).close()


@pytest.fixture(scope="session")
def azurite_server(server_dir):
    needs("obstore")
    if not AZURITE.exists():
        unavailable(f"Azurite is not installed at {AZURITE}: {INSTALL}")
    port = free_port()
    location = server_dir / "azurite"
    location.mkdir()
    command = [
        str(AZURITE),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(port),
        "--location",
        str(location),
        "--silent",
        "--skipApiVersionCheck",
        "--loose",
    ]
    server = Server("azurite", command, port, server_dir)
    server.wait_ready()
    yield f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
    server.stop()


@pytest.fixture(scope="session")
def azure_options(azurite_server):
    """``(container, storage_options)`` for a fresh container on Azurite."""
    container = "zarrkit-test"
    create_azure_container(azurite_server, container)
    options = {
        "account_name": AZURITE_ACCOUNT,
        "account_key": AZURITE_KEY,
        "endpoint": azurite_server,
        "allow_http": True,
    }
    return container, options


# --- Redis ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def redis_url(server_dir):
    needs("redis")
    exe = shutil.which("redis-server") or unavailable(f"redis-server is not installed: {INSTALL}")
    port = free_port()
    command = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    server = Server("redis", command, port, server_dir, cwd=server_dir)
    server.wait_ready()
    yield f"redis://127.0.0.1:{port}/0"
    server.stop()


# --- PostgreSQL -------------------------------------------------------------------------
def find_initdb() -> str | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return str(found[-1]) if found else None


@pytest.fixture(scope="session")
def postgres_url():
    needs("psycopg")
    servers_allowed()
    initdb = find_initdb() or unavailable(f"PostgreSQL (initdb) is not installed: {INSTALL}")
    bindir = Path(initdb).parent
    # Not under pytest's tmp dir: the postgres user must be able to reach the directory.
    data = Path(tempfile.mkdtemp(prefix="zarrkit-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    initdb = [str(bindir / "initdb"), "-D", str(data / "db"), "-A", "trust", "-U", "postgres"]
    result = subprocess.run(
        [*as_postgres, *initdb, "--no-sync"], capture_output=True, text=True, timeout=120
    )
    if result.returncode != 0:
        shutil.rmtree(data, ignore_errors=True)
        unavailable(f"initdb failed: {result.stderr[-2000:]}")
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg_ctl = [
        *as_postgres,
        str(bindir / "pg_ctl"),
        "-D",
        str(data / "db"),
        "-l",
        str(data / "pg.log"),
    ]
    result = subprocess.run([*pg_ctl, "-o", options, "-w", "start"], capture_output=True, text=True)
    if result.returncode != 0:
        log = (data / "pg.log").read_text(errors="replace")[-2000:]
        shutil.rmtree(data, ignore_errors=True)
        unavailable(f"PostgreSQL did not start: {result.stderr[-1000:]} {log}")
    yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    subprocess.run([*pg_ctl, "-m", "fast", "-w", "stop"], capture_output=True, timeout=60)
    shutil.rmtree(data, ignore_errors=True)


# --- HTTP -------------------------------------------------------------------------------
class RangeRequestHandler(http.server.SimpleHTTPRequestHandler):
    """Python's file server plus the single byte ranges object-store clients send."""

    def log_message(self, *args) -> None:
        pass

    def send_head(self):
        header = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        if not header or not path.is_file():
            return super().send_head()
        data = path.read_bytes()
        first, _, last = header.removeprefix("bytes=").partition("-")
        if first:
            start, end = int(first), (int(last) + 1 if last else len(data))
        else:
            start, end = max(len(data) - int(last), 0), len(data)
        if start >= len(data):
            self.send_error(416)
            return None
        end = min(end, len(data))
        self.send_response(206)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(data)}")
        self.send_header("Content-Length", str(end - start))
        self.end_headers()
        return io.BytesIO(data[start:end])


@pytest.fixture(scope="session")
def http_root(tmp_path_factory):
    """``(directory, url)``: files written into the directory are served at the URL."""
    root = tmp_path_factory.mktemp("http-root")
    handler = functools.partial(RangeRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
