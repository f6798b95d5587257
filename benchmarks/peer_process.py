"""A benchmark child seen from the driver: one JSON command in, one JSON answer out, in time.

Once the child crashes, stops answering within the timeout or answers garbage, it is killed,
the last lines of its stderr are printed, and every later command gets an error answer at
once, so the driver goes on with the other peers.
"""

from __future__ import annotations

import collections
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

STDERR_LINES = 20  # printed when a child fails


class PeerProcess:
    """``command`` started at once in ``cwd``, its stderr to the file ``log``; ``close()`` it."""

    def __init__(self, name: str, command: list[str], *, cwd: Path, log: Path, timeout: float):
        self.name, self.timeout = name, timeout
        self.failure: str | None = None
        self.log = log.open("w+")  # a file, not a pipe: a chatty child never blocks on it
        self.process = subprocess.Popen(
            command, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log
        )

    def ask(self, command: dict[str, Any]) -> dict[str, Any]:
        """The child's answer; an error answer once the child has failed."""
        if self.failure is None:
            try:
                self._send(command)
                answer: dict[str, Any] = json.loads(self._receive(command))
                return answer
            except (OSError, EOFError, ValueError) as e:
                self._fail(f"{type(e).__name__}: {e}")
        return {"status": "error", "message": self.failure}

    def close(self) -> None:
        """Kill the child if it still runs, and release its pipes and log."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate()
        self.log.close()

    def _send(self, command: dict[str, Any]) -> None:
        self.process.stdin.write(json.dumps(command).encode() + b"\n")
        self.process.stdin.flush()

    def _receive(self, command: dict[str, Any]) -> bytes:
        """One line of the child's stdout, waiting at most ``timeout`` seconds for it."""
        deadline, line = time.monotonic() + self.timeout, b""
        while not line.endswith(b"\n"):
            wait = deadline - time.monotonic()
            if not select.select([self.process.stdout], [], [], max(wait, 0))[0]:
                raise TimeoutError(f"no answer to {command} within {self.timeout:g} s")
            chunk = os.read(self.process.stdout.fileno(), 1 << 16)
            if not chunk:
                raise EOFError(f"exited with code {self.process.wait()} while asked {command}")
            line += chunk
        return line

    def _fail(self, reason: str) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.log.seek(0)
        tail = [line.rstrip() for line in collections.deque(self.log, STDERR_LINES)]
        self.failure = f"{reason}; stderr: {tail[-1] if tail else '(empty)'}"[:300]
        print(f"{self.name} failed: {reason}; last lines of its stderr:", file=sys.stderr)
        print(*("  " + line for line in tail), sep="\n", file=sys.stderr, flush=True)
