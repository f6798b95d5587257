"""zarr-python 3.1.6's public API, computed from the installed package, against zarrkit's.

Every public name (``zarr.__all__``, ``zarr.api.synchronous``, ``zarr.api.asynchronous``,
``zarr.storage``, ``zarr.codecs``, ``zarr.codecs.numcodecs``, ``zarr.errors``,
``zarr.dtype``, ``zarr.experimental.cache_store``) must exist in zarrkit, and so must the
public members of the classes users touch (arrays, groups, their async twins, stores,
metadata). Functions and methods present in both must take the parameters zarr-python's
take by name, and its positional parameters in the same order. What zarrkit deliberately
does otherwise is in :data:`INTENTIONAL`, each with its reason, and in docs/migrating.md;
every other gap fails the test, all listed at once.
"""

from __future__ import annotations

from optional import module_needs

module_needs("zarr")

import dataclasses
import importlib
import inspect
import re
import warnings
from collections.abc import Callable, Iterator
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

MIGRATING = Path(__file__).resolve().parents[1] / "docs" / "migrating.md"

#: zarr-python module -> the zarrkit module with its names.
MODULES = {
    "zarr": "zarrkit",
    "zarr.api.synchronous": "zarrkit.api.synchronous",
    "zarr.api.asynchronous": "zarrkit.api.asynchronous",
    "zarr.storage": "zarrkit.storage",
    "zarr.codecs": "zarrkit.codecs",
    "zarr.codecs.numcodecs": "zarrkit.codecs.numcodecs",
    "zarr.errors": "zarrkit.errors",
    "zarr.dtype": "zarrkit.dtype",
    "zarr.experimental.cache_store": "zarrkit.experimental.cache_store",
}

#: zarr-python class -> zarrkit class, whose public members are compared.
CLASSES = {
    "zarr.Array": "zarrkit.Array",
    "zarr.Group": "zarrkit.Group",
    "zarr.AsyncArray": "zarrkit.AsyncArray",
    "zarr.AsyncGroup": "zarrkit.AsyncGroup",
    "zarr.storage.LocalStore": "zarrkit.storage.LocalStore",
    "zarr.storage.MemoryStore": "zarrkit.storage.MemoryStore",
    "zarr.storage.ZipStore": "zarrkit.storage.ZipStore",
    "zarr.storage.FsspecStore": "zarrkit.storage.FsspecStore",
    "zarr.storage.StorePath": "zarrkit.storage.StorePath",
    "zarr.experimental.cache_store.CacheStore": "zarrkit.storage.CacheStore",
    "zarr.core.metadata.ArrayV3Metadata": "zarrkit.metadata.v3.ArrayMetadataV3",
    "zarr.core.metadata.ArrayV2Metadata": "zarrkit.metadata.v2.ArrayMetadataV2",
    "zarr.core.group.GroupMetadata": "zarrkit.metadata.v3.GroupMetadataV3",
    "zarr.core.group.ConsolidatedMetadata": "zarrkit.metadata.consolidated.ConsolidatedMetadata",
}

#: What zarrkit does otherwise on purpose: a pattern of gaps (fnmatch) -> why. Each is a
#: line of docs/migrating.md.
INTENTIONAL = {
    "*Store.*: positional (key, prototype, *": (
        "store methods are synchronous and read bytes (zarr-python's are coroutines taking a "
        "buffer prototype): byte_range comes second, prototype= is keyword-only"
    ),
    "missing zarr.storage.GpuMemoryStore": "zarrkit reads and writes host memory only (no GPU)",
    "*Store.set: *byte_range*": (
        "no store writes part of a value (zarr-python's supports_partial_writes is False too)"
    ),
    "missing ZipStore.move": "a ZipStore stays where it was opened: move the file, open it anew",
    "missing AsyncArray.codec_pipeline": "zarr-python's codec pipeline internals",
    "missing Array.async_array": (
        "an Array cannot reach the asynchronous layer above it: AsyncArray(array) wraps one"
    ),
    "missing Array*Metadata.get_chunk_spec": "zarr-python's chunk spec and buffer internals",
    "missing *Metadata.to_buffer_dict": "zarr-python's chunk spec and buffer internals",
}


def public_names(module: Any) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:  # zarr.errors has no __all__: the public classes defined there
        names = [
            n
            for n, v in vars(module).items()
            if inspect.isclass(v) and v.__module__ == module.__name__ and n[0] != "_"
        ]
    return [n for n in names if not n.startswith("_") or n == "__version__"]


def resolve(dotted: str) -> Any:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def members(cls: type) -> list[str]:
    found = set(dir(cls))
    if dataclasses.is_dataclass(cls):
        found |= {f.name for f in dataclasses.fields(cls)}
    return sorted(n for n in found if not n.startswith("_"))


def params(function: Callable[..., Any]) -> list[inspect.Parameter] | None:
    try:
        found = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return None
    return [p for p in found if p.name not in ("self", "cls")]


def signature_gaps(where: str, theirs: Any, ours: Any) -> Iterator[str]:
    """Parameters zarr-python takes by name that ``ours`` lacks, and positional order."""
    if isinstance(theirs, type) or isinstance(ours, type):
        theirs, ours = getattr(theirs, "__init__", theirs), getattr(ours, "__init__", ours)
    mine, other = params(ours), params(theirs)
    if mine is None or other is None or not callable(theirs):
        return
    named = {p.name for p in mine if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    for p in other:
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.POSITIONAL_ONLY) and (
            p.name not in named
        ):
            yield f"{where}: no parameter {p.name}"
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    their_order = [p.name for p in other if p.kind in positional]
    our_order = [p.name for p in mine if p.kind in positional]
    takes_more = any(p.kind == p.VAR_POSITIONAL for p in mine)
    if our_order[: len(their_order)] != their_order and not (
        takes_more and their_order[: len(our_order)] == our_order
    ):
        yield f"{where}: positional ({', '.join(their_order)}) vs ({', '.join(our_order)})"


def module_gaps() -> Iterator[str]:
    for theirs_name, ours_name in MODULES.items():
        theirs = importlib.import_module(theirs_name)
        try:
            ours = importlib.import_module(ours_name)
        except ImportError:
            yield f"missing module {ours_name}"
            continue
        for name in public_names(theirs):
            if not hasattr(ours, name):
                yield f"missing {theirs_name}.{name}"
            elif callable(getattr(theirs, name)) and not inspect.isclass(getattr(theirs, name)):
                where = f"{theirs_name.removeprefix('zarr.')}.{name}".removeprefix("zarr.")
                yield from signature_gaps(where, getattr(theirs, name), getattr(ours, name))


def class_gaps() -> Iterator[str]:
    for theirs_name, ours_name in CLASSES.items():
        theirs = resolve(theirs_name)
        try:
            ours = resolve(ours_name)
        except (ImportError, AttributeError):
            yield f"missing class {ours_name}"
            continue
        label = theirs_name.rpartition(".")[2]
        for name in members(theirs):
            if not hasattr(ours, name):
                yield f"missing {label}.{name}"
                continue
            static = inspect.getattr_static(theirs, name, None)
            if static is None or isinstance(static, property) or not callable(static):
                continue
            yield from signature_gaps(f"{label}.{name}", getattr(theirs, name), getattr(ours, name))
        if "Store" in label:
            yield from signature_gaps(f"{label}()", theirs, ours)


def all_gaps() -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sorted({*module_gaps(), *class_gaps()})


def intentional(gap: str) -> bool:
    return any(fnmatch(gap, pattern) for pattern in INTENTIONAL)


def test_every_public_name_of_zarr_python_exists_with_a_compatible_signature() -> None:
    gaps = [gap for gap in all_gaps() if not intentional(gap)]
    assert gaps == [], f"{len(gaps)} gaps from zarr-python 3.1.6:\n" + "\n".join(gaps)


def test_every_intentional_difference_is_still_one() -> None:
    gaps = all_gaps()
    assert [p for p in INTENTIONAL if not any(fnmatch(g, p) for g in gaps)] == []


def test_the_differences_are_in_the_migration_guide() -> None:
    section = MIGRATING.read_text().split("## Intentional differences", 1)[1]
    section = section.split("\n## ", 1)[0]
    items = re.findall(r"^- ((?:`[^`]+`(?:,\s+)?)+):", section, re.MULTILINE)
    listed = {pattern for item in items for pattern in re.findall(r"`([^`]+)`", item)}
    assert listed == set(INTENTIONAL)


def test_the_checks_find_gaps() -> None:
    def theirs(store, *, path=None, mode="a"): ...

    def ours(store, *, mode="a"): ...

    def reordered(mode, store): ...

    assert list(signature_gaps("f", theirs, ours)) == ["f: no parameter path"]
    assert list(signature_gaps("f", theirs, reordered)) == [
        "f: no parameter path",
        "f: positional (store) vs (mode, store)",
    ]
    assert list(signature_gaps("f", theirs, theirs)) == []
    assert intentional("MemoryStore.set: no parameter byte_range")
    assert intentional(
        "LocalStore.get: positional (key, prototype, byte_range) vs (key, byte_range)"
    )
    assert not intentional("missing zarr.open")
