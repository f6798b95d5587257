"""Reference sets: kerchunk's JSON (versions 0 and 1) and Parquet formats, parsed.

Spec: https://fsspec.github.io/kerchunk/spec.html. A reference set maps store keys to
either inline data (a string, ``base64:``-prefixed when binary, or a JSON document) or a
target: ``[url]`` (a whole file) or ``[url, offset, length]`` (a byte range of it).
Version 1 adds ``templates`` substituted into URLs (``{{name}}``) and ``gen``: references
generated over a product of dimensions, with Jinja2 expressions for key, URL, offset and
length. Plain ``{{name}}`` substitutions are done here; anything else is rendered with
Jinja2's sandbox, as fsspec does, and needs the ``jinja2`` package.

The Parquet format (written by kerchunk through fsspec's ``LazyReferenceMapper``) keeps
the metadata documents in a ``.zmetadata`` JSON file and each array's chunk references in
``<array>/refs.<record>.parq`` files of ``record_size`` rows (columns ``path``, ``offset``,
``size``, ``raw``), row-major over the chunk grid. Reading it needs ``pyarrow``.

Over 400 lines: kerchunk's three formats (JSON version 0, version 1 with templates and
``gen``, Parquet) parsed into one result.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import itertools
import json
import math
import re
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from zarrkit.errors import MetadataError
from zarrkit.storage.base import Store


@dataclass(frozen=True, slots=True)
class Target:
    """Bytes ``[offset, offset + length)`` of the file at ``url``; the whole file when
    ``length`` is None."""

    url: str
    offset: int = 0
    length: int | None = None


#: What a key refers to: its inline bytes, or a target.
Reference = bytes | Target


class ReferenceSet(ABC):
    """Keys to references."""

    @abstractmethod
    def get(self, key: str) -> Reference | None:
        """The reference of ``key``; None when the set has no such key."""

    @abstractmethod
    def list_keys(self, prefix: str = "") -> Iterator[str]:
        """The keys of the set that start with ``prefix``, sorted."""


# --- JSON ----------------------------------------------------------------------------------


class JsonReferences(ReferenceSet):
    """A JSON reference set (version 0 or 1), expanded once into a dict.

    Examples
    --------
    >>> refs = JsonReferences({"version": 1, "templates": {"u": "data.h5"},
    ...                        "refs": {"a/0": ["{{u}}", 8, 4], "b": "base64:AAE="}})
    >>> refs.get("a/0"), refs.get("b")
    (Target(url='data.h5', offset=8, length=4), b'\\x00\\x01')
    """

    def __init__(self, document: Mapping[str, Any]) -> None:
        self._refs = parse_json_references(document)
        self._sorted: list[str] | None = None

    def get(self, key: str) -> Reference | None:
        return self._refs.get(key)

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        # Sorted once; a prefix is then a slice found by bisection, so listing one group
        # of a set of millions of chunk references costs what the group holds.
        if self._sorted is None:
            self._sorted = sorted(self._refs)
        start = bisect.bisect_left(self._sorted, prefix)
        return itertools.takewhile(lambda key: key.startswith(prefix), self._sorted[start:])

    def __len__(self) -> int:
        return len(self._refs)


def parse_json_references(document: Mapping[str, Any]) -> dict[str, Reference]:
    """A JSON reference set as ``{key: reference}``; raises MetadataError when malformed."""
    if not isinstance(document, Mapping):
        raise MetadataError(f"a reference set must be a JSON object, got {type(document).__name__}")
    version = document.get("version")
    if version is None:
        return {key: parse_reference(key, value, Templates({})) for key, value in document.items()}
    if version != 1:
        raise MetadataError(
            f"unknown reference set version {version!r}; known: 0, 1", field="version"
        )
    templates = Templates(_object(document.get("templates", {}), "templates"))
    refs = _object(document.get("refs", {}), "refs")
    parsed = {key: parse_reference(key, value, templates) for key, value in refs.items()}
    gens = document.get("gen", [])
    if not isinstance(gens, list):
        raise MetadataError(f"expected a list, got {gens!r}", field="gen")
    for gen in gens:
        parsed.update(generate(gen, templates))
    return parsed


def parse_reference(key: str, value: Any, templates: Templates) -> Reference:
    """One reference: inline text, ``base64:`` data, a JSON document, ``[url]`` or
    ``[url, offset, length]``."""
    if isinstance(value, str):
        return decode_inline(key, value)
    if isinstance(value, bytes):
        return (
            decode_inline(key, value.decode("latin-1")) if value.startswith(b"base64:") else value
        )
    if isinstance(value, dict):
        return json.dumps(value).encode()
    if isinstance(value, list | tuple) and value and isinstance(value[0], str):
        url = templates.render(value[0])
        if len(value) == 1:
            return Target(url)
        if len(value) == 3 and all(_is_count(n) for n in value[1:]):
            return Target(url, int(value[1]), int(value[2]))
    raise MetadataError(
        f"expected a string, [url] or [url, offset, length] with offset and length >= 0, "
        f"got {value!r}",
        key=key,
    )


def decode_inline(key: str, text: str) -> bytes:
    """Inline data: ``base64:`` then Base64, or plain text (UTF-8, as fsspec reads it)."""
    if not text.startswith("base64:"):
        return text.encode()
    try:
        return base64.b64decode(text[7:], validate=True)
    except binascii.Error as e:
        raise MetadataError(f"invalid base64 inline data: {e}", key=key) from e


def generate(gen: Any, templates: Templates) -> dict[str, Reference]:
    """The references a version 1 ``gen`` entry makes, one per point of its dimensions."""
    if not isinstance(gen, dict) or not {"key", "url", "dimensions"} <= gen.keys():
        raise MetadataError(
            f"expected an object with key, url and dimensions, got {gen!r}", field="gen"
        )
    if ("offset" in gen) != ("length" in gen):
        raise MetadataError(f"give both offset and length or neither: {gen!r}", field="gen")
    dimensions = {name: _dimension(name, spec) for name, spec in gen["dimensions"].items()}
    made: dict[str, Reference] = {}
    for point in itertools.product(*dimensions.values()):
        variables = dict(zip(dimensions, point, strict=True))
        key = templates.render(gen["key"], variables)
        url = templates.render(gen["url"], variables)
        if "offset" in gen:
            offset = _rendered_count(templates, gen["offset"], variables, key)
            made[key] = Target(
                url, offset, _rendered_count(templates, gen["length"], variables, key)
            )
        else:
            made[key] = Target(url)
    return made


def _dimension(name: str, spec: Any) -> list[Any] | range:
    if isinstance(spec, list):
        return spec
    if isinstance(spec, dict) and "stop" in spec:
        return range(spec.get("start", 0), spec["stop"], spec.get("step", 1))
    raise MetadataError(
        f"dimension {name!r}: expected a list or {{start, stop, step}}, got {spec!r}", field="gen"
    )


def _rendered_count(templates: Templates, text: Any, variables: dict[str, Any], key: str) -> int:
    rendered = templates.render(str(text), variables)
    if not rendered.strip().isdigit():
        raise MetadataError(
            f"offset and length must render to integers >= 0, got {rendered!r}", key=key
        )
    return int(rendered)


class Templates:
    """Version 1 ``templates``, substituted into URLs (``{{name}}``).

    Plain names are replaced directly (the common case, and fast for millions of
    references); expressions and templates that are templates themselves go to Jinja2.
    """

    _NAME = re.compile(r"\{\{\s*([A-Za-z_]\w*)\s*\}\}")

    def __init__(self, templates: Mapping[str, Any]) -> None:
        self.plain = {k: str(v) for k, v in templates.items() if "{{" not in str(v)}
        self.nested = {k: str(v) for k, v in templates.items() if "{{" in str(v)}

    def render(self, text: str, variables: Mapping[str, Any] | None = None) -> str:
        """``text`` with its templates (and ``variables``) substituted."""
        if "{{" not in text:
            return text
        context = {**self.plain, **(variables or {})}
        simple = self._NAME.sub(lambda m: str(context.get(m.group(1), m.group(0))), text)
        return simple if "{{" not in simple else self._jinja(text, context)

    def _jinja(self, text: str, context: dict[str, Any]) -> str:
        try:
            import jinja2.sandbox  # only reference sets with expressions need it
        except ModuleNotFoundError as e:
            raise ImportError(
                f"rendering the reference template {text!r} needs jinja2: "
                "pip install 'zarrkit[references]'",
                name="jinja2",
            ) from e
        environment = jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.StrictUndefined)
        plain = self.plain
        nested = {
            name: (
                lambda source=source, **kw: environment.from_string(source).render(**plain, **kw)
            )
            for name, source in self.nested.items()
        }
        try:
            rendered: str = environment.from_string(text).render(**nested, **context)
        except jinja2.TemplateError as e:
            raise MetadataError(f"reference template {text!r}: {e}", field="templates") from e
        return rendered


def _object(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MetadataError(f"expected a JSON object, got {value!r}", field=field)
    return value


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# --- Parquet -------------------------------------------------------------------------------


class ParquetReferences(ReferenceSet):
    """A Parquet reference set in the directory that ``store`` is rooted at.

    Partitions are read on first use and the ``cache_size`` most recent kept.
    """

    def __init__(self, store: Store, *, cache_size: int = 128) -> None:
        _pyarrow()  # fail early, with the hint, when it is missing
        self.store = store
        self.cache_size = cache_size
        document = _load_json(store, ".zmetadata")
        record_size = document.get("record_size")
        if not _is_count(record_size) or not record_size:
            raise MetadataError(
                f"record_size must be a positive integer, got {record_size!r}", key=".zmetadata"
            )
        self.record_size: int = record_size
        metadata = _object(document.get("metadata"), "metadata")
        self.documents = {key: json.dumps(doc).encode() for key, doc in metadata.items()}
        self._grids = {
            key.rsplit("/", 1)[0]: _chunk_counts(key, doc)
            for key, doc in metadata.items()
            if key.endswith("/.zarray")
        }
        self._partitions: OrderedDict[tuple[str, int], list[Reference | None]] = OrderedDict()
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("_lock", "_partitions")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _lock=threading.Lock(), _partitions=OrderedDict())

    def get(self, key: str) -> Reference | None:
        if key in self.documents:
            return self.documents[key]
        field, _, chunk = key.rpartition("/")
        number = self._chunk_number(field, chunk)
        if number is None:
            return None
        record, row = divmod(number, self.record_size)
        partition = self._partition(field, record)
        return partition[row] if row < len(partition) else None

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        found = list(self.documents)
        for field, counts in self._grids.items():
            if not (f"{field}/".startswith(prefix) or prefix.startswith(f"{field}/")):
                continue
            total = math.prod(counts)
            for record in range(math.ceil(total / self.record_size)):
                first = record * self.record_size
                for row, reference in enumerate(self._partition(field, record)):
                    if reference is not None and first + row < total:
                        coords = _unravel(first + row, counts)
                        found.append(f"{field}/{'.'.join(map(str, coords))}")
        return iter(sorted(key for key in found if key.startswith(prefix)))

    def _chunk_number(self, field: str, chunk: str) -> int | None:
        counts = self._grids.get(field)
        try:
            coords = [int(c) for c in chunk.split(".")]
        except ValueError:
            return None
        if counts is None or len(coords) != len(counts):
            return None
        if any(not 0 <= c < n for c, n in zip(coords, counts, strict=True)):
            return None
        number = 0
        for c, n in zip(coords, counts, strict=True):
            number = number * n + c
        return number

    def _partition(self, field: str, record: int) -> list[Reference | None]:
        with self._lock:
            cached = self._partitions.get((field, record))
            if cached is not None:
                self._partitions.move_to_end((field, record))
                return cached
        loaded = self._load_partition(field, record)
        with self._lock:
            self._partitions[(field, record)] = loaded
            while len(self._partitions) > self.cache_size:
                self._partitions.popitem(last=False)
        return loaded

    def _load_partition(self, field: str, record: int) -> list[Reference | None]:
        key = f"{field}/refs.{record}.parq"
        blob = self.store.get(key)
        if blob is None:
            return []  # a partition never written holds no references
        pyarrow = _pyarrow()
        try:
            table = pyarrow.parquet.read_table(pyarrow.BufferReader(blob))
        except pyarrow.ArrowException as e:
            raise MetadataError(f"unreadable Parquet references: {e}", key=key) from e
        columns = {name: table.column(name).to_pylist() for name in table.column_names}
        if "path" not in columns and "raw" not in columns:
            raise MetadataError(
                f"expected columns path, offset, size, raw; got {table.column_names}", key=key
            )
        rows = table.num_rows
        paths = columns.get("path", [None] * rows)
        raws = columns.get("raw", [None] * rows)
        offsets = columns.get("offset", [0] * rows)
        sizes = columns.get("size", [0] * rows)
        return [_row(*row) for row in zip(paths, offsets, sizes, raws, strict=True)]


def _pyarrow() -> Any:
    """pyarrow with its Parquet reader, or an ImportError saying how to install it."""
    try:
        import pyarrow.parquet  # optional: only Parquet reference sets need it
    except ModuleNotFoundError as e:
        raise ImportError(
            "Parquet reference sets need pyarrow: pip install 'zarrkit[references]'",
            name="pyarrow",
        ) from e
    return pyarrow


def _row(
    path: str | None, offset: int | None, size: int | None, raw: bytes | None
) -> Reference | None:
    if raw is not None:
        return bytes(raw)
    if path is None:
        return None
    if not offset and not size:
        return Target(path)  # fsspec's encoding of a whole-file reference
    return Target(path, int(offset or 0), int(size or 0))


def _chunk_counts(key: str, document: Any) -> tuple[int, ...]:
    try:
        shape, chunks = document["shape"], document["chunks"]
        counts = tuple(math.ceil(s / c) for s, c in zip(shape, chunks, strict=True))
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as e:
        raise MetadataError(f"cannot derive the chunk grid: {e}", key=key) from e
    return counts or (1,)


def _unravel(number: int, counts: tuple[int, ...]) -> list[int]:
    coords = []
    for n in reversed(counts):
        number, c = divmod(number, n)
        coords.append(c)
    return coords[::-1]


def _load_json(store: Store, key: str) -> dict[str, Any]:
    blob = store.get(key)
    if blob is None:
        raise MetadataError(f"no reference set here: {store!r} has no {key!r}", key=key)
    try:
        document = json.loads(blob)
    except ValueError as e:
        raise MetadataError(f"invalid JSON: {e}", key=key) from e
    if not isinstance(document, dict):
        raise MetadataError(f"expected a JSON object, got {type(document).__name__}", key=key)
    return document
