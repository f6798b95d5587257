"""zarr-python 2.18.7 in a virtual environment of its own, driven over JSON pipes.

zarr 2 and zarr 3 cannot share one environment, so the suite builds
``.cache/zarr2-venv`` with uv the first time it is needed (under a file lock, so two
pytest-xdist workers never build it twice) and runs scripts there. A script reads its
arguments from the name ``args`` (a dict) and leaves its answer, a JSON-able dict, in
``result``. One child process per test process serves every script, because starting
Python and importing zarr 2 costs ~0.3 s and the matrix runs hundreds of them.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".cache" / "zarr2-venv"
PINS = ("zarr==2.18.7", "numcodecs==0.15.2", "numpy")
_CHECK = (
    "import zarr, numcodecs as n; assert (zarr.__version__, n.__version__) == ('2.18.7', '0.15.2')"
)

# The child: one request per line on stdin, one answer per line on the original stdout.
# A script's own prints go to stderr, so they cannot corrupt the protocol.
_SERVER = """
import json, sys, traceback
out = sys.stdout
sys.stdout = sys.stderr
for line in sys.stdin:
    request = json.loads(line)
    namespace = {"args": request["args"]}
    try:
        exec(compile(request["script"], "<zarr2 script>", "exec"), namespace)
        answer = {"ok": True, "result": namespace["result"]}
    except BaseException:
        answer = {"ok": False, "error": traceback.format_exc()}
    out.write(json.dumps(answer) + "\\n")
    out.flush()
"""


class Zarr2Error(RuntimeError):
    """The zarr 2 environment could not be built, or a script failed in it."""


def venv_python() -> Path:
    return VENV / "bin" / "python"


def _uv() -> str:
    local = REPO / ".tools" / "bin" / "uv"
    found = str(local) if local.exists() else shutil.which("uv")
    if found is None:
        raise Zarr2Error(
            f"uv not found at {local} nor on PATH; run `make test` once to bootstrap it"
        )
    return found


def _healthy() -> bool:
    python = venv_python()
    if not python.exists():
        return False
    return subprocess.run([python, "-c", _CHECK], capture_output=True).returncode == 0


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise Zarr2Error(f"`{' '.join(command)}` failed ({done.returncode}):\n{done.stderr}")


def ensure_venv() -> Path:
    """Build the zarr 2 environment if it is missing or broken; return its python."""
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(VENV.parent / "zarr2-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _healthy():
            shutil.rmtree(VENV, ignore_errors=True)
            _run([_uv(), "venv", "--quiet", "--python", sys.executable, str(VENV)])
            _run([_uv(), "pip", "install", "--quiet", "--python", str(venv_python()), *PINS])
            if not _healthy():
                raise Zarr2Error(f"{VENV} was built but does not import zarr 2.18.7")
    return venv_python()


class _Server:
    """The long-lived child process; restarted if it dies."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        # Lives as long as the server; the child writes its stderr here.
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115

    def _start(self) -> subprocess.Popen[str]:
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen(
                [str(ensure_venv()), "-u", "-c", _SERVER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                text=True,
                env={**os.environ, "PYTHONWARNINGS": "ignore"},
            )
        return self._process

    def _stderr_tail(self) -> str:
        self._stderr.seek(0)
        text = self._stderr.read()[-4000:]
        self._stderr.seek(0)
        self._stderr.truncate()
        return text

    def call(self, script: str, args: dict[str, Any]) -> dict[str, Any]:
        process = self._start()
        assert process.stdin is not None and process.stdout is not None
        self._stderr_tail()
        process.stdin.write(json.dumps({"script": script, "args": args}) + "\n")
        process.stdin.flush()
        line = process.stdout.readline()
        if not line:
            process.wait()
            raise Zarr2Error(
                f"zarr 2 child exited ({process.returncode}); stderr:\n{self._stderr_tail()}"
            )
        answer = json.loads(line)
        if not answer["ok"]:
            raise Zarr2Error(f"zarr 2 script failed:\n{answer['error']}\n{self._stderr_tail()}")
        result: dict[str, Any] = answer["result"]
        return result

    def close(self) -> None:
        if self._process is not None and self._process.poll() is None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            self._process.wait(timeout=10)
        self._process = None


_server = _Server()


def run_zarr2(script: str, **json_args: Any) -> dict[str, Any]:
    """Run ``script`` under zarr-python 2.18.7 with ``args = json_args``; return its ``result``.

    Raises ``Zarr2Error`` with the child's traceback and stderr if the script fails.

    >>> run_zarr2("import zarr; result = {'v': zarr.__version__, 'x': args['x']}", x=1)
    {'v': '2.18.7', 'x': 1}
    """
    return _server.call(script, json_args)


def close() -> None:
    """Stop the child process (the next ``run_zarr2`` starts a new one)."""
    _server.close()
