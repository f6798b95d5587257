"""The ``zarrkit`` command: inspect, copy, convert, consolidate and check Zarr stores.

``PATH`` arguments are local paths or store URLs (``s3://bucket/x.zarr``, ``zip://a.zip``,
...); ``--path`` selects a node inside. ``info`` and ``check`` print JSON with ``--json``.
Progress bars show on a terminal (``--progress``/``--no-progress`` overrides).

Examples
--------
``zarrkit info data.zarr``, ``zarrkit tree data.zarr``,
``zarrkit cp old_v2.zarr new_v3.zarr --zarr-format 3 --shards 1024,1024 --compressor zstd:3``,
``zarrkit check data.zarr --json``.

Over 400 lines: one short function per subcommand, and the shared argument types.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table

from zarrkit import api, config, telemetry
from zarrkit.codecs.registry import get_codec
from zarrkit.codecs.v2 import v2_config
from zarrkit.demo import run as demo_run
from zarrkit.errors import ZarrkitError
from zarrkit.nodes.arrays import Array
from zarrkit.nodes.check import check_hierarchy
from zarrkit.nodes.consolidated import consolidate as consolidate_hierarchy
from zarrkit.nodes.convert import copy
from zarrkit.nodes.facts import array_facts, codec_facts, group_facts
from zarrkit.nodes.groups import Group
from zarrkit.nodes.info import human_bytes
from zarrkit.nodes.node import locate, normalize_path
from zarrkit.storage import make_store

log = logging.getLogger(__name__)

app = typer.Typer(
    help="Inspect, copy, convert, consolidate and check Zarr v2/v3 stores.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
_log_handler = RichHandler(console=err, show_path=False)

PathArg = Annotated[str, typer.Argument(help="a local path or a store URL")]
NodeOpt = Annotated[str | None, typer.Option("--path", help="a node inside the store")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]
ProgressOpt = Annotated[
    bool | None,
    typer.Option("--progress/--no-progress", help="a progress bar (default: on a terminal)"),
]
ConcurrencyOpt = Annotated[
    int | None, typer.Option("--concurrency", min=1, help="threads encoding/decoding chunks")
]

#: The configuration field that holds a compressor's level, when it is not ``level``.
_LEVEL_FIELDS = {"blosc": "clevel", "lz4": "acceleration", "lzma": "preset"}


def main() -> None:
    """Entry point of the ``zarrkit`` console script."""
    app()


@app.callback()
def _options(
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="log more (-v info, -vv debug)")
    ] = 0,
) -> None:
    if verbose:
        logger = logging.getLogger("zarrkit")
        if _log_handler not in logger.handlers:
            logger.addHandler(_log_handler)
        logger.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)


@contextlib.contextmanager
def _reporting_errors() -> Iterator[None]:
    """Turn zarrkit's errors (and bad arguments) into a one-line message and exit code 1."""
    try:
        yield
    except (ZarrkitError, ValueError, OSError) as e:
        err.print(f"[red]error:[/red] {escape(str(e))}", markup=True)
        raise typer.Exit(1) from e


def _open(path: str, node: str | None) -> Array | Group:
    return api.open(path, mode="r", path=node)


def _show_progress(flag: bool | None, *, as_json: bool = False) -> bool:
    """Whether to draw a progress bar: as asked, else when the output is a terminal (and
    not JSON for a script)."""
    return not as_json and sys.stdout.isatty() if flag is None else flag


@contextlib.contextmanager
def _threads(concurrency: int | None) -> Iterator[None]:
    with config.set(threads=concurrency) if concurrency else contextlib.nullcontext():
        yield


# --- parsing options ---------------------------------------------------------------------------


def parse_shape(text: str, option: str) -> tuple[int, ...]:
    """``"64,64"`` -> ``(64, 64)``; every entry a positive integer."""
    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        raise typer.BadParameter(
            f"expected positive integers separated by commas, got {text!r}", param_hint=option
        )
    return shape


def parse_compressor(text: str, zarr_format: int) -> dict[str, Any] | None:
    """``"name[:level]"`` as the compressor JSON of ``zarr_format`` (``"none"``: no
    compression).

    Examples
    --------
    >>> parse_compressor("zstd:3", 3)
    {'name': 'zstd', 'configuration': {'level': 3, 'checksum': False}}
    >>> parse_compressor("blosc:5", 2)
    {'id': 'blosc', 'cname': 'lz4', 'clevel': 5, 'shuffle': 1, 'blocksize': 0}
    """
    name, _, level = text.partition(":")
    if name == "none":
        return None
    v2: dict[str, Any] = {"id": name}
    if level:
        if not level.lstrip("-").isdigit():
            raise typer.BadParameter(
                f"level must be an integer, got {level!r}", param_hint="--compressor"
            )
        v2[_LEVEL_FIELDS.get(name, "level")] = int(level)
    try:
        return v2_config(v2, field="compressors") if zarr_format == 2 else get_codec(v2).to_json()
    except (ZarrkitError, ValueError, TypeError) as e:
        raise typer.BadParameter(str(e), param_hint="--compressor") from e


# --- info and tree -----------------------------------------------------------------------------


@app.command()
def info(
    path: Annotated[str | None, typer.Argument(help="a local path or a store URL")] = None,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
    codecs: Annotated[
        bool, typer.Option("--codecs", help="list the codecs and whether each works here")
    ] = False,
) -> None:
    """Describe an array (shape, chunks, shards, codecs, stored size) or a group.

    For a group: totals, then every array and group below it. With --codecs (and no
    path): every registered codec, whether it is usable here, and what provides it if not.
    """
    if codecs:
        return _print_codecs(as_json)
    if path is None:
        raise typer.BadParameter("give a path, or --codecs", param_hint="PATH")
    with _reporting_errors():
        found = _open(path, node)
        facts = array_facts(found) if isinstance(found, Array) else group_facts(found)
    if as_json:
        typer.echo(json.dumps(facts, indent=2))
    elif isinstance(found, Array):
        _print_rows(found.info_complete().rows(), f"array {found.name}")
    else:
        _print_group(facts)


def _print_codecs(as_json: bool) -> None:
    facts = codec_facts()
    if as_json:
        typer.echo(json.dumps(facts, indent=2))
        return
    table = Table(title="codecs", title_justify="left")
    for column in ("name", "usable", "needs"):
        table.add_column(column)
    for c in facts:
        needs = f"{c['module']} ({c['install']})" if c["module"] else ""
        table.add_row(c["name"], "yes" if c["usable"] else "[red]no[/red]", escape(needs))
    out.print(table)


def _print_rows(rows: list[tuple[str, str]], title: str) -> None:
    table = Table(title=title, show_header=False, title_justify="left")
    for label, value in rows:
        table.add_row(label, value)
    out.print(table)


def _print_group(facts: dict[str, Any]) -> None:
    stored = facts["nbytes_stored"]
    ratio = f"{facts['nbytes'] / stored:.1f}" if stored else "-"
    _print_rows(
        [
            ("Type", "Group"),
            ("Zarr format", str(facts["zarr_format"])),
            ("Arrays", str(facts["arrays"])),
            ("Groups", str(facts["groups"])),
            ("No. bytes", human_bytes(facts["nbytes"])),
            ("No. bytes stored", human_bytes(stored)),
            ("Storage ratio", ratio),
        ],
        f"group /{facts['path']}",
    )
    table = Table("member", "type", "shape", "dtype", "chunks", "shards")
    for m in facts["members"]:
        shapes = (
            "" if m.get(k) is None else str(tuple(m[k])) for k in ("shape", "chunks", "shards")
        )
        shape, chunks, shards = shapes
        table.add_row(m["path"], m["node_type"], shape, m.get("dtype", ""), chunks, shards)
    out.print(table)


@app.command()
def tree(
    path: PathArg,
    node: NodeOpt = None,
    level: Annotated[int | None, typer.Option(help="how many levels deep")] = None,
) -> None:
    """Print the hierarchy: groups, and arrays with their shape and data type."""
    with _reporting_errors():
        found = _open(path, node)
        text = (
            f"{found.basename or '/'} {found.shape} {found.dtype}"
            if isinstance(found, Array)
            else str(found.tree(level=None if level is None else level - 1))
        )
    typer.echo(text)


# --- cp and consolidate ------------------------------------------------------------------------


@app.command()
def cp(
    src: Annotated[str, typer.Argument(help="the source store: a path or URL")],
    dst: Annotated[str, typer.Argument(help="the destination store: a path or URL")],
    node: NodeOpt = None,
    zarr_format: Annotated[
        int | None, typer.Option("--zarr-format", min=2, max=3, help="2 or 3 (default: keep)")
    ] = None,
    chunks: Annotated[str | None, typer.Option(help="new chunk shape, e.g. 64,64")] = None,
    shards: Annotated[
        str | None, typer.Option(help="new shard shape, e.g. 1024,1024, or none to unshard")
    ] = None,
    compressor: Annotated[
        str | None, typer.Option(help="name[:level], e.g. zstd:3, blosc:5, gzip:6 or none")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="replace what is at DST")] = False,
    concurrency: ConcurrencyOpt = None,
    progress: ProgressOpt = None,
    stats: Annotated[
        bool, typer.Option("--stats", help="print store requests, bytes and codec time")
    ] = False,
) -> None:
    """Copy an array or a hierarchy between stores, converting format, chunks and codecs.

    Data streams through memory a few chunks at a time. With ``--path`` only that node
    (and what is below it) is copied, to the same path in DST. ``--stats`` prints what the
    copy did, as telemetry saw it (requests to both stores, bytes, codec time).
    """
    options: dict[str, Any] = {}
    if chunks:
        options["chunks"] = parse_shape(chunks, "--chunks")
    if shards:
        options["shards"] = False if shards == "none" else parse_shape(shards, "--shards")
    started = time.perf_counter()
    summary = telemetry.Summary()
    watching = telemetry.subscribed(summary) if stats else contextlib.nullcontext()
    with _reporting_errors(), _threads(concurrency), watching:
        source = _open(src, node)
        if compressor:
            options["compressors"] = parse_compressor(compressor, zarr_format or source.zarr_format)
        copy(
            source,
            dst,
            path=node,
            zarr_format=zarr_format,
            overwrite=overwrite,
            progress=_show_progress(progress),
            **options,
        )
    err.print(f"copied {source.name} of {src} to {dst} in {time.perf_counter() - started:.2f} s")
    if stats:
        _print_rows(summary.rows(), "cp --stats")


@app.command()
def consolidate(path: PathArg, node: NodeOpt = None) -> None:
    """Consolidate the metadata of every node below a group into that group.

    Readers then open the whole hierarchy with one request.
    """
    with _reporting_errors():
        # not api.consolidate_metadata: its zarr-python warning is for code ported from it
        group = consolidate_hierarchy(*locate(path, node))
        count = len(group.members(max_depth=None))
    typer.echo(f"consolidated the metadata of {count} nodes into group /{group.path}")


# --- check -------------------------------------------------------------------------------------


@app.command()
def check(
    path: PathArg,
    node: NodeOpt = None,
    as_json: JsonOpt = False,
    concurrency: ConcurrencyOpt = None,
    progress: ProgressOpt = None,
) -> None:
    """Validate every node's metadata and decode every stored chunk.

    Reports the keys of broken ones, and of stray objects under an array (keys that are
    not chunks of its grid: malformed, out of the grid, another separator), and exits
    with 1, else exits with 0. Missing chunks are fill values, not problems.
    """
    with _reporting_errors():
        store = make_store(path, read_only=True)
        report = check_hierarchy(
            store,
            normalize_path(node),
            concurrency=concurrency or config.get("threads"),
            progress=_show_progress(progress, as_json=as_json),
        )
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        for problem in report["problems"]:
            key, error = escape(problem["key"]), escape(problem["error"])
            out.print(f"[red]{key}[/red]: {error}", markup=True)
        verdict = "[red]problems found[/red]" if report["problems"] else "[green]ok[/green]"
        out.print(
            f"{report['nodes']} nodes, {report['chunks']} chunks checked: {verdict}", markup=True
        )
    if report["problems"]:
        raise typer.Exit(1)


# --- bench and demo ----------------------------------------------------------------------------


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench(
    ctx: typer.Context,
    builtin: Annotated[
        bool, typer.Option(help="time a small read/write here instead of benchmarks/")
    ] = False,
    size: Annotated[int, typer.Option(min=1, help="MiB written by the built-in timing")] = 64,
) -> None:
    """Run the benchmarks, or a small built-in read/write timing.

    In a checkout (./benchmarks exists) this runs ``python -m benchmarks.run`` with the
    extra arguments passed on.
    """
    suite = Path.cwd() / "benchmarks" / "run.py"
    if suite.is_file() and not builtin:
        command = [sys.executable, "-m", "benchmarks.run", *ctx.args]
        log.info("running %s", " ".join(command))
        raise typer.Exit(subprocess.call(command, cwd=suite.parent.parent))
    table = Table("store", "write MB/s", "read MB/s", title=f"{size} MiB of float32, zstd")
    megabytes = size * 2**20 / 1e6
    for label, write, read in _builtin_timings(size):
        table.add_row(label, f"{megabytes / write:.0f}", f"{megabytes / read:.0f}")
        log.info("%s: wrote in %.3f s, read in %.3f s", label, write, read)
    out.print(table)


def _builtin_timings(size: int) -> Iterator[tuple[str, float, float]]:
    """``(store, write seconds, read seconds)`` for ``size`` MiB of float32, in memory and
    in local files."""
    side = int((size * 2**20 / 4) ** 0.5)
    data = np.random.default_rng(0).standard_normal((side, side), dtype="f4")
    with tempfile.TemporaryDirectory(prefix="zarrkit-bench-") as tmp:
        for label, where in (("memory", "memory://"), ("local files", os.path.join(tmp, "b"))):
            array = api.create_array(where, shape=data.shape, chunks=(256, 256), dtype="f4")
            started = time.perf_counter()
            array[...] = data
            written = time.perf_counter()
            array[...]
            yield label, written - started, time.perf_counter() - written


@app.command()
def demo(
    directory: Annotated[
        Path | None, typer.Argument(help="where to write (default: a temporary directory)")
    ] = None,
) -> None:
    """Run the end-to-end demo (``python -m zarrkit.demo``)."""
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
        demo_run(directory)
        return
    with tempfile.TemporaryDirectory(prefix="zarrkit-demo-") as tmp:
        demo_run(Path(tmp))


if __name__ == "__main__":
    main()
