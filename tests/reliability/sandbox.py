"""Run bad-input cases in child processes with a memory limit and timeouts.

The parent (:func:`run_cases`) starts a child (``python -m reliability.sandbox``), sends it
case ids, and reads one JSON line per event: ``{"start": id}`` before a case and its
outcome after. A child that dies (a signal, the memory limit) or stops answering (the
parent's timeout) fails the case it had started; the remaining cases run in a new child.

Each case gets a fresh store, is prepared by its ``setup``, then the store is snapshotted
(every file and directory, with hidden ones, hashed), the hostile ``run`` is called, and
the snapshot is taken again: any difference means something was written.

Run it by hand to see the figures: ``python -m reliability.sandbox`` from ``tests/``.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parents[1]
#: Address space a child may use once warmed up (the threads zarrkit starts reserve stacks,
#: so this is counted on top of the size it has then, and never below 1 GiB in total).
HEADROOM = 512 * 2**20
CASE_SECONDS = 10


@dataclass(frozen=True)
class Outcome:
    """How one case ended. ``status`` is "ok" (the expected error, nothing written),
    "no-error", "wrong-error", "wrote", "timeout" or "crash"."""

    id: str
    status: str
    error: str = ""
    message: str = ""
    seconds: float = 0.0
    peak_rss_mib: float = 0.0


def run_cases(ids: list[str], *, timeout: int = CASE_SECONDS, grace: float = 5) -> list[Outcome]:
    """Outcomes of cases ``ids``, each run once, in as few children as crashes allow: a
    case gets ``timeout`` seconds (the child's alarm), plus ``grace`` before the parent
    kills a child whose alarm could not fire."""
    outcomes: dict[str, Outcome] = {}
    todo = list(ids)
    while todo:
        started, results, died = _child(todo, timeout, grace)
        outcomes.update((r.id, r) for r in results)
        if died and started and started not in outcomes:
            outcomes[started] = Outcome(started, died[0], message=died[1])
        todo = [i for i in todo if i not in outcomes]
    return [outcomes[i] for i in ids]


def _child(
    ids: list[str], timeout: int, grace: float
) -> tuple[str | None, list[Outcome], tuple[str, str] | None]:
    """Run ``ids`` in one child: the case last started, the outcomes, and how it died
    (``None`` if it did not). A case that has not answered ``timeout + grace`` seconds
    after it started (the child's own alarm failed: a hang in C code) kills the child."""
    command = [sys.executable, "-m", "reliability.sandbox", "--child", str(timeout)]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONFAULTHANDLER": "1"}
    child = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=TESTS,
        env=env,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None and child.stderr is not None
    child.stdin.write("\n".join(ids))
    child.stdin.close()
    started, results, died = None, [], None
    deadline = time.monotonic() + timeout + 30  # imports and warm-up
    with selectors.DefaultSelector() as selector:
        selector.register(child.stdout, selectors.EVENT_READ)
        while True:
            if not selector.select(max(deadline - time.monotonic(), 0)):
                child.kill()
                died = ("timeout", f"case {started!r} gave no answer within {timeout + grace} s")
                break
            line = child.stdout.readline()
            if not line:
                break
            event = json.loads(line)
            if "start" in event:
                started = event["start"]
            else:
                results.append(Outcome(**event))
            deadline = time.monotonic() + timeout + grace
    code = child.wait()
    stderr = child.stderr.read()
    if died is None and code != 0:
        died = ("crash", f"child exited with {code}: {stderr[-2000:]}")
    return started, results, died


# --- the child -------------------------------------------------------------------------------
def snapshot(root: Path) -> dict[str, str]:
    """Every file (hashed) and directory under ``root``, hidden ones too."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel = Path(dirpath).relative_to(root)
        for name in dirnames:
            found[str(rel / name) + "/"] = "dir"
        for name in filenames:
            found[str(rel / name)] = hashlib.sha256((Path(dirpath) / name).read_bytes()).hexdigest()
    return found


def _memory_snapshot(store: Any) -> dict[str, str]:
    return {k: hashlib.sha256(v).hexdigest() for k, v in store._data.items()}


def _run_one(case: Any, workdir: Path) -> Outcome:
    from zarrkit import config
    from zarrkit.storage import LocalStore, MemoryStore

    root = workdir / case.id.replace("/", "_")
    store = LocalStore(root) if case.store == "local" else MemoryStore()
    take = (lambda: snapshot(root)) if case.store == "local" else (lambda: _memory_snapshot(store))
    root.mkdir()
    start = time.perf_counter()
    with config.set(**case.settings):
        case.setup(store)
        before = take()
        try:
            case.run(store)
            status, error, message = "no-error", "", ""
        except Exception as e:
            status = "ok" if isinstance(e, case.expected) else "wrong-error"
            error, message = type(e).__name__, str(e)[:300]
    if status == "ok" and take() != before:
        status = "wrote"
    seconds = time.perf_counter() - start
    shutil.rmtree(root, ignore_errors=True)
    return Outcome(case.id, status, error, message, seconds, _peak_rss_mib())


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _vm_size() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


class CaseTimeout(BaseException):
    """Raised by the alarm in a case that runs too long (not an Exception: cases catch
    those)."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise CaseTimeout


def child_main(timeout: int) -> None:
    import numpy as np

    import zarrkit
    from reliability.corpus import BY_ID
    from zarrkit.storage import MemoryStore

    # warm up: start the thread pools, so their stacks count before the limit is set
    zarrkit.create_array(MemoryStore(), shape=(64,), chunks=(8,), dtype="i4")[...] = np.ones(64)
    limit = max(2**30, _vm_size() + HEADROOM)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGALRM, _on_alarm)
    with tempfile.TemporaryDirectory() as tmp:
        for case_id in sys.stdin.read().split("\n"):
            print(json.dumps({"start": case_id}), flush=True)
            signal.alarm(timeout)
            try:
                outcome = _run_one(BY_ID[case_id], Path(tmp))
            except CaseTimeout:
                outcome = Outcome(case_id, "timeout", message=f"over {timeout} s")
            signal.alarm(0)
            print(json.dumps(outcome.__dict__), flush=True)


def summary(outcomes: list[Outcome]) -> dict[str, Any]:
    """The figures: counts by status, slowest case, highest peak RSS."""
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    slowest = max(outcomes, key=lambda o: o.seconds)
    heaviest = max(outcomes, key=lambda o: o.peak_rss_mib)
    return {
        "cases": len(outcomes),
        "statuses": counts,
        "slowest": (slowest.id, round(slowest.seconds, 3)),
        "peak_rss_mib": (heaviest.id, round(heaviest.peak_rss_mib, 1)),
    }


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child_main(int(sys.argv[2]))
    else:
        from reliability.corpus import CASES

        results = run_cases([c.id for c in CASES])
        for o in results:
            if o.status != "ok":
                print(o)
        print(json.dumps(summary(results), indent=1))
