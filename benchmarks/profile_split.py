"""Split a py-spy profile of the hot loop into where the time goes, per chunk.

Record with native frames, e.g. ``py-spy record --native -r 500 -f raw -o p.txt -- python
-m benchmarks.hotspots ...``, then ``python -m benchmarks.profile_split p.txt --us 33.8``,
where ``--us`` is the CPU microseconds per chunk that ``benchmarks.hotspots`` printed
without the profiler (py-spy's native unwinding pauses the process, so its own wall time
is inflated; the shares are not). Only samples inside ``benchmarks.hotspots.run`` or a pool
worker count. Each sample goes to the first category its stack matches:

- codec: the compression library and its binding's C code
- I/O: the calls of the ``os`` module and the system calls under them
- placement: NumPy copying values (assignments, ``copyto``, fancy-index gathers)
- GC: the cyclic garbage collector, run because the loop allocates container objects
- wait: waiting for a lock, the GIL, a future or (idle pool threads) for work; not CPU
  time, so shown apart and left out of the shares of the others
- Python: the rest, charged to the innermost Python function (NumPy's call overhead
  included: building views and index tuples is per-chunk work too)

With ``--callgrind BASE UNITS`` it reads callgrind outputs instead (``valgrind
--tool=callgrind`` of ``benchmarks.hotspots``, which counts instructions: repeatable on a
loaded machine, but blind to time in the kernel) and prints the instructions per unit that
each group of shared objects executed beyond the run ``BASE`` with fewer loops.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from collections.abc import Iterable

FRAME = re.compile(r"^(?P<name>.*) \((?P<where>[^()]*)\)$")
CODEC = re.compile(
    r"zstd|ZSTD|HUF_|FSE_|BIT_|decompressionreader|decompressor\.c|compressor\.c|"
    r"libz\.|deflate|inflate|crc32|isal|igzip|blosc|lz4|libdeflate|zlib_ng|_zlib"
)
IO = re.compile(
    r"^(open64|openat|__open|pread64|__libc_pread|read|__read|write|__write|__libc_write|"
    r"close|__close|fstat|fstatat64|__fxstat|newfstatat|rename|renameat|unlink|mkdir|"
    r"fcntl|lockf|fsync|fdatasync|statx|os_\w+)$"
)
COPY = re.compile(
    r"raw_array_assign|PyArray_AssignArray|PyArray_CopyInto|_aligned_|_contig_to_|"
    r"PyArray_TakeFrom|mapiter_|array_assign_subscript|__memmove|__memcpy|memcpy|memmove"
)
WAIT = re.compile(r"futex|pthread_cond|sem_wait|sem_timedwait|take_gil|acquire_lock|poll")
LOOP = ("run.<locals>.<lambda> (benchmarks/hotspots.py", "_worker (concurrent/futures/thread.py")


def parse(lines: Iterable[str]) -> Iterable[tuple[list[str], int]]:
    """(frames from the root, samples) of each line of a py-spy ``raw`` profile."""
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if stack:
            yield stack.split(";"), int(count)


def is_python(frame: str) -> bool:
    match = FRAME.match(frame)
    return match is not None and bool(re.search(r"\.py:\d+$|^<", match["where"]))


def classify(frames: list[str]) -> str:
    """The category of one sample (``Python: function (file)`` for Python work)."""
    python = [i for i, f in enumerate(frames) if is_python(f)]
    native = [FRAME.match(f) for f in frames[python[-1] + 1 :]] if python else []
    names = [m["name"] for m in native if m]
    places = [m["where"] for m in native if m]
    if any(CODEC.search(n) or CODEC.search(p) for n, p in zip(names, places, strict=True)):
        return "codec"
    if any(IO.match(n) for n in names):
        return "I/O"
    if any(COPY.search(n) for n in names):
        return "placement"
    if any(n == "gc_collect_main" or n.startswith("gc_collect") for n in names):
        return "GC"
    if any(WAIT.search(n) for n in names):
        return "wait"
    return "Python: " + _innermost_own(frames, python)


def _innermost_own(frames: list[str], python: list[int]) -> str:
    """The innermost Python frame that is not the standard library's or NumPy's."""
    for i in reversed(python):
        match = FRAME.match(frames[i])
        if match is None:
            continue
        where = match["where"]
        if "zarrkit/" in where or "benchmarks/" in where or where.startswith("<string>"):
            module = where.rsplit(":", 1)[0].removeprefix("zarrkit/")
            return f"{match['name']} ({module})"
    return "other"


def split(lines: Iterable[str]) -> Counter[str]:
    totals: Counter[str] = Counter()
    for frames, count in parse(lines):
        if any(f.startswith(LOOP) for f in frames):
            totals[classify(frames)] += count
    return totals


def callgrind_objects(path: str) -> Counter[str]:
    """Instructions executed in each shared object (self cost) of a callgrind output file."""
    objects: dict[str, str] = {}  # callgrind compresses names to "(id)" after their first use
    totals: Counter[str] = Counter()
    current, skip = "", False
    with open(path) as f:
        for line in f:
            if line.startswith(("ob=", "cob=")):
                name = _expand(line.split("=", 1)[1].strip(), objects)
                current = name if line.startswith("ob=") else current
            elif line.startswith("calls="):
                skip = True  # the next cost line is the call's inclusive cost
            elif line[:1].isdigit() or line[:1] in "+-*":
                if not skip:
                    totals[current] += int(line.split()[1])
                skip = False
    return totals


def _expand(text: str, names: dict[str, str]) -> str:
    """``(id) name`` defines an id, ``(id)`` refers to one."""
    if not text.startswith("("):
        return text
    ident, _, name = text.partition(")")
    if name.strip():
        names[ident] = name.strip()
    return names.get(ident, text)


def object_group(path: str) -> str:
    """The shared objects of a callgrind profile grouped as the categories above."""
    name = path.rsplit("/", 1)[-1]
    if CODEC.search(name) or "zstandard" in path or "numcodecs" in path:
        return "codec"
    if "libpython" in name or name.startswith("python"):
        return "Python interpreter"
    if "_multiarray" in name or "numpy" in path:
        return "NumPy"
    if name.startswith(("libc.", "libc-", "ld-linux")):
        return "libc (memcpy, malloc, syscall stubs)"
    return name or "?"


def callgrind_split(base: str, loaded: str, units: int) -> None:
    """Print instructions per unit by object group: (``loaded`` - ``base``) / ``units``."""
    before, after = callgrind_objects(base), callgrind_objects(loaded)
    groups: Counter[str] = Counter()
    for obj in after.keys() | before.keys():
        groups[object_group(obj)] += after[obj] - before[obj]
    total = sum(groups.values())
    print(f"{total / units:,.0f} instructions per unit ({units} units)")
    for name, n in groups.most_common():
        if abs(n) >= total / 1000:
            print(f"  {name:<40} {n / units:12,.0f}  {n / total:6.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", help="py-spy raw output (-f raw)")
    parser.add_argument("--us", type=float, help="CPU microseconds per chunk, to scale shares")
    parser.add_argument("--top", type=int, default=12, help="Python functions to list")
    parser.add_argument(
        "--callgrind",
        nargs=2,
        metavar=("BASE", "UNITS"),
        help="PROFILE is a callgrind output: subtract callgrind output BASE (fewer loops) "
        "and divide by UNITS (chunks in the extra loops)",
    )
    args = parser.parse_args()
    if args.callgrind:
        callgrind_split(args.callgrind[0], args.profile, int(args.callgrind[1]))
        return
    with open(args.profile) as f:
        totals = split(f)
    waiting = totals.pop("wait", 0)
    total = sum(totals.values()) or 1
    python = sum(n for k, n in totals.items() if k.startswith("Python"))
    groups = {k: n for k, n in totals.items() if not k.startswith("Python")} | {"Python": python}

    def show(name: str, n: int) -> None:
        scaled = f"{n / total * args.us:7.1f} us" if args.us else ""
        print(f"{name:<64} {n / total:6.1%} {scaled}")

    print(f"{total} samples in the loop, and {waiting} waiting (left out)")
    for name, n in sorted(groups.items(), key=lambda kv: -kv[1]):
        show(name, n)
    print("Python, by function:")
    functions = [(k.removeprefix("Python: "), n) for k, n in totals.items() if k.startswith("Py")]
    for name, n in sorted(functions, key=lambda kv: -kv[1])[: args.top]:
        show("  " + name, n)


if __name__ == "__main__":
    main()
