"""Consolidated metadata: the documents of a whole hierarchy, held by its root group.

Zarr v3 keeps them inline in the group's ``zarr.json`` (``consolidated_metadata``, as
zarr-python 3 writes it); Zarr v2 in a ``.zmetadata`` document beside the group's
``.zgroup`` (zarr-python 2's format, keys relative to the group). A group opened from
them serves its members, ``tree()`` and ``group[name]`` without listing the store.

Beyond zarr-python, a consolidation never goes stale through zarrkit: every metadata
write and delete (:func:`zarrkit.nodes.save_node`, :func:`~zarrkit.nodes.delete_node`)
updates the changed node's entry in each consolidation above it (:func:`holders`).
:func:`check` reports what other tools changed behind a consolidation's back.
"""

from __future__ import annotations

import dataclasses
import threading
import unicodedata
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from zarrkit.arrays import Array
from zarrkit.errors import (
    InvalidKeyError,
    MemberNotFoundError,
    MetadataError,
    NodeTypeError,
    UnsupportedExtensionError,
)
from zarrkit.groups import Group
from zarrkit.keys import validate_key
from zarrkit.metadata.common import JSON, dump_document, parse_document
from zarrkit.metadata.v2 import ArrayMetadataV2
from zarrkit.metadata.v3 import ArrayMetadataV3, GroupMetadataV3
from zarrkit.nodes import (
    ALL_DOCS,
    V2_ARRAY,
    V2_DOCS,
    V2_GROUP,
    V3_DOC,
    GroupMetadata,
    NodeMetadata,
    key_of,
    load_node,
    metadata_kind,
    normalize_path,
    parse_node,
    prefix_of,
)
from zarrkit.storage import StoreLike, make_store
from zarrkit.storage.base import Store

ZMETADATA = ".zmetadata"
_FIELD = "consolidated_metadata"
_INLINE: dict[str, JSON] = {"kind": "inline", "must_understand": False}


# --- the consolidated documents (pure data) -------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Consolidated:
    """The documents of every node below a group, by store key relative to the group
    (``"a/zarr.json"``; v2: ``"a/.zarray"``, and the group's own ``".zgroup"``).

    Examples
    --------
    >>> group = {"zarr_format": 3, "node_type": "group", "attributes": {"x": 1}}
    >>> data = {"kind": "inline", "must_understand": False, "metadata": {"g": group}}
    >>> c = Consolidated.from_json(data, 3, key="zarr.json")
    >>> c.children(""), c.node("g").attributes
    (('g',), {'x': 1})
    """

    zarr_format: int
    documents: Mapping[str, JSON]
    _children: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names: dict[str, set[str]] = {}
        for key in self.documents:
            path, _, doc = key.rpartition("/")
            if path and doc != ".zattrs":
                parent, _, name = path.rpartition("/")
                names.setdefault(parent, set()).add(name)
        object.__setattr__(self, "_children", {p: tuple(sorted(n)) for p, n in names.items()})

    @classmethod
    def from_json(cls, data: JSON, zarr_format: int, *, key: str) -> Consolidated:
        """Validate v3 ``consolidated_metadata`` or a v2 ``.zmetadata`` object."""
        where = _FIELD if zarr_format == 3 else "metadata"
        if not isinstance(data, dict):
            raise MetadataError(f"expected an object, got {data!r}", key=key, field=where)
        if zarr_format == 3 and data.get("kind") != "inline":
            raise UnsupportedExtensionError(
                f"unsupported kind {data.get('kind')!r}; supported: 'inline'",
                key=key,
                field=f"{_FIELD}.kind",
            )
        if zarr_format == 2 and data.get("zarr_consolidated_format") != 1:
            raise MetadataError(
                f"expected 1, got {data.get('zarr_consolidated_format')!r}",
                key=key,
                field="zarr_consolidated_format",
            )
        entries = data.get("metadata")
        if not isinstance(entries, dict):
            raise MetadataError(f"expected an object, got {entries!r}", key=key, field=where)
        documents = {}
        for name, doc in entries.items():
            entry_key = _parse_entry_key(name, zarr_format, key=key, field=where)
            if not isinstance(doc, dict):
                raise MetadataError(
                    f"expected an object, got {doc!r}", key=key, field=f"{where}.{name}"
                )
            documents[entry_key] = _plain(entry_key, doc)
        return cls(zarr_format=zarr_format, documents=documents)

    def to_json(self) -> dict[str, JSON]:
        """The v3 ``consolidated_metadata`` or v2 ``.zmetadata`` object, as zarr-python
        writes them (v3: child groups carry an empty consolidation, entries sorted by depth)."""
        if self.zarr_format == 2:
            return {"metadata": dict(sorted(self.documents.items())), "zarr_consolidated_format": 1}
        entries = {}
        for key, doc in self.documents.items():
            path = key.rpartition("/")[0]
            is_group = doc.get("node_type") == "group"
            entries[path] = {**doc, _FIELD: {**_INLINE, "metadata": {}}} if is_group else doc
        order = sorted(
            entries, key=lambda p: (p.count("/"), unicodedata.normalize("NFKC", p).casefold())
        )
        return {**_INLINE, "metadata": {path: entries[path] for path in order}}

    def node(self, path: str) -> NodeMetadata | None:
        """The metadata of the node at ``path`` (relative), ``None`` if there is none."""
        docs = {
            name: self.documents[k]
            for name in ALL_DOCS
            if (k := key_of(path, name)) in self.documents
        }
        return parse_node(docs, path) if docs else None

    def children(self, path: str) -> tuple[str, ...]:
        """The sorted names of the nodes directly below ``path``."""
        return self._children.get(path, ())

    def walk(self, path: str, max_depth: int | None = 0) -> Iterator[str]:
        """Paths relative to ``path`` of the nodes below it, depth first (as
        :meth:`Group.members` orders them); ``max_depth`` as there."""
        for name in self.children(path):
            yield name
            if max_depth is None or max_depth > 0:
                deeper = None if max_depth is None else max_depth - 1
                yield from (f"{name}/{sub}" for sub in self.walk(_join(path, name), deeper))

    def nodes(self) -> dict[str, dict[str, JSON]]:
        """Node path -> its documents (name -> JSON object)."""
        found: dict[str, dict[str, JSON]] = {}
        for key, doc in self.documents.items():
            path, _, name = key.rpartition("/")
            found.setdefault(path, {})[name] = doc
        return found

    def with_node(self, path: str, docs: Mapping[str, JSON] | None) -> Consolidated:
        """A copy with the node at ``path`` (relative) given ``docs``; ``None`` removes the
        node and everything below it."""
        below = prefix_of(path)
        mine = {key_of(path, name) for name in ALL_DOCS}
        kept = {
            k: v
            for k, v in self.documents.items()
            if k not in mine and (docs is not None or not k.startswith(below))
        }
        if docs is not None:
            kept |= {key_of(path, name): _plain(name, doc) for name, doc in docs.items()}
        return dataclasses.replace(self, documents=kept)


def _parse_entry_key(name: object, zarr_format: int, *, key: str, field: str) -> str:
    """The relative document key of a consolidated entry (v3 entries are named by path)."""
    try:
        if not isinstance(name, str):
            raise InvalidKeyError(f"{name!r} is not a string")
        if zarr_format == 3:
            return validate_key(f"{name}/{V3_DOC}")
        if validate_key(name).rpartition("/")[2] in V2_DOCS:
            return name
    except InvalidKeyError as e:
        raise MetadataError(f"invalid entry name: {e}", key=key, field=field) from e
    raise MetadataError(
        f"entry {name!r} is not a .zarray, .zgroup or .zattrs document", key=key, field=field
    )


def _plain(key: str, doc: JSON) -> JSON:
    """A node document without a consolidation of its own (zarr-python 3 nests empty ones
    in v3 entries, and even in v2 ``.zgroup`` entries)."""
    if key.endswith((V3_DOC, V2_GROUP)) and isinstance(doc, dict) and _FIELD in doc:
        return {k: v for k, v in doc.items() if k != _FIELD}
    return doc


def _join(path: str, name: str) -> str:
    return "/".join(part for part in (path, name) if part)


def _relative(path: str, holder: str) -> str:
    """``path`` relative to its ancestor (or itself) ``holder``."""
    if path == holder:
        return ""
    return path[len(holder) + 1 :] if holder else path


def _ancestors(path: str) -> list[str]:
    """The paths of the groups above ``path``, root first."""
    parts = path.split("/") if path else []
    return ["/".join(parts[:depth]) for depth in range(len(parts))]


# --- reading and writing the holder documents ---------------------------------------------


def _kind(docs: Mapping[str, JSON]) -> Literal["array", "group"] | None:
    """Whether documents describe an array, a group or nothing (not validated: a
    consolidation copies documents, whatever zarrkit understands of them)."""
    node_type = docs.get(V3_DOC, {}).get("node_type")
    if node_type in ("array", "group"):
        return node_type  # type: ignore[no-any-return]
    if V2_ARRAY in docs:
        return "array"
    return "group" if V2_GROUP in docs else None


def _walk(store: Store, path: str, zarr_format: int) -> dict[str, JSON]:
    """The documents of every node below the group at ``path`` (relative keys), found
    group by group as zarr-python does; a v2 group's own documents are included."""
    names = (V3_DOC,) if zarr_format == 3 else V2_DOCS
    found: dict[str, JSON] = {}
    if zarr_format == 2:
        found |= _read_documents(store, path, [""], names)[""]
    pending = [""]
    while pending:
        rel = pending.pop()
        listed = store.list_dir(prefix_of(_join(path, rel)))
        children = sorted(n for n in listed if n not in ALL_DOCS and n != ZMETADATA)
        nodes = _read_documents(store, path, [_join(rel, c) for c in children], names)
        for child, docs in nodes.items():
            kind = _kind(docs)
            if kind is None:
                continue
            found |= {key_of(child, name): _plain(name, doc) for name, doc in docs.items()}
            if kind == "group":
                pending.append(child)
    return found


def _read_documents(
    store: Store, path: str, children: list[str], names: tuple[str, ...]
) -> dict[str, dict[str, JSON]]:
    """The parsed documents ``names`` of each child (relative path) of ``path``, in one
    ``get_many``."""
    keys = [key_of(_join(path, child), name) for child in children for name in names]
    blobs = iter(zip(keys, store.get_many(keys), strict=True))
    result = {}
    for child in children:
        docs = {}
        for name in names:
            key, raw = next(blobs)
            if raw is not None:
                docs[name] = parse_document(raw, key=key)
        result[child] = docs
    return result


def _holder_key(path: str, zarr_format: int) -> str:
    return key_of(path, V3_DOC if zarr_format == 3 else ZMETADATA)


def _read(store: Store, path: str, meta: GroupMetadata) -> Consolidated | None:
    """The consolidation the group at ``path`` holds, if any (v2: one more get)."""
    if isinstance(meta, GroupMetadataV3):
        data = meta.consolidated_metadata
        return None if data is None else Consolidated.from_json(data, 3, key=key_of(path, V3_DOC))
    key = key_of(path, ZMETADATA)
    raw = store.get(key)
    return None if raw is None else Consolidated.from_json(parse_document(raw, key=key), 2, key=key)


def _with_consolidation(doc: JSON, view: Consolidated | None) -> JSON:
    """A v3 group document carrying ``view`` (or none)."""
    plain = _plain(V3_DOC, doc)
    return plain if view is None else {**plain, _FIELD: view.to_json()}


# --- what each store handle knows ---------------------------------------------------------


@dataclass
class _Handle:
    """Per store handle: the consolidations seen (kept current by this module's writes)
    and the groups known to hold none."""

    generation: int
    lock: threading.RLock = field(default_factory=threading.RLock)
    views: dict[str, Consolidated] = field(default_factory=dict)
    absent: set[tuple[int, str]] = field(default_factory=set)


_handles: weakref.WeakKeyDictionary[Store, _Handle] = weakref.WeakKeyDictionary()
_handles_lock = threading.Lock()
# Bumped whenever zarrkit consolidates anywhere in this process, so that no handle trusts
# an earlier "no consolidation here" (one made by another process is found by check()).
_generation = 0


def _handle(store: Store) -> _Handle:
    with _handles_lock:
        handle = _handles.get(store)
        if handle is None:
            handle = _handles[store] = _Handle(generation=_generation)
        elif handle.generation != _generation:
            handle.absent.clear()
            handle.generation = _generation
        return handle


@dataclass(frozen=True, slots=True)
class _Holder:
    path: str
    view: Consolidated
    document: JSON  # v3: the holder's zarr.json as stored; v2: unused


class Holders:
    """The consolidations that hold a node being written or deleted (see :func:`holders`)."""

    def __init__(self, store: Store, handle: _Handle, path: str, meta: NodeMetadata | None):
        self._store = store
        self._handle = handle
        self._path = path
        self._meta = meta
        self._found = self._probe()

    def _probe(self) -> list[_Holder]:
        """One ``get_many`` of the holder documents of the groups above (and, for a
        group, at) the node, skipping those known to hold no consolidation."""
        meta = self._meta
        formats = (2, 3) if meta is None else (meta.zarr_format,)
        paths = _ancestors(self._path)
        if meta is not None and metadata_kind(meta) == "group":
            paths.append(self._path)
        wanted = [(f, p) for p in paths for f in formats if (f, p) not in self._handle.absent]
        if not wanted:
            return []
        blobs = self._store.get_many([_holder_key(p, f) for f, p in wanted])
        found = []
        for (fmt, path), raw in zip(wanted, blobs, strict=True):
            holder = None if raw is None else _parse_holder(raw, path, fmt)
            if holder is None:
                self._handle.absent.add((fmt, path))
            else:
                found.append(holder)
        return found

    def keep_own(self, docs: dict[str, JSON]) -> dict[str, JSON]:
        """``docs`` of a node to save, a v3 group keeping the consolidation stored in it."""
        if V3_DOC not in docs or not isinstance(self._meta, GroupMetadataV3):
            return docs
        own = next((h.view for h in self._found if h.path == self._path), None)
        return {**docs, V3_DOC: _with_consolidation(docs[V3_DOC], own)}

    def update(self, docs: Mapping[str, JSON] | None) -> None:
        """Record the node's new documents (``None``: deleted) in every holder."""
        for holder in self._found:
            rel = _relative(self._path, holder.path)
            if holder.view.zarr_format == 3 and holder.path == self._path:
                continue  # a v3 group is not an entry of its own consolidation
            view = holder.view.with_node(rel, docs)
            if view != holder.view:
                self._write(holder, view)
        if docs is None:
            below = prefix_of(self._path)
            for path in list(self._handle.views):
                if path == self._path or path.startswith(below):
                    del self._handle.views[path]

    def _write(self, holder: _Holder, view: Consolidated) -> None:
        key = _holder_key(holder.path, view.zarr_format)
        doc = (
            view.to_json() if view.zarr_format == 2 else _with_consolidation(holder.document, view)
        )
        self._store.set(key, dump_document(doc))
        self._handle.views[holder.path] = view


def _parse_holder(raw: bytes, path: str, zarr_format: int) -> _Holder | None:
    key = _holder_key(path, zarr_format)
    doc = parse_document(raw, key=key)
    if zarr_format == 2:
        return _Holder(path, Consolidated.from_json(doc, 2, key=key), None)
    if doc.get("node_type") != "group" or doc.get(_FIELD) is None:
        return None
    return _Holder(path, Consolidated.from_json(doc[_FIELD], 3, key=key), doc)


@contextmanager
def holders(store: Store, path: str, meta: NodeMetadata | None) -> Iterator[Holders]:
    """The consolidations above the node at ``path`` (and in it, for a group), for a write
    of ``meta`` (``None``: a delete) that is done inside the block.

    Costs one ``get_many`` of the holder documents not known to be absent from earlier
    probes through the same store handle; writes through one handle are serialized.
    """
    handle = _handle(store)
    with handle.lock:
        yield Holders(store, handle, path, meta)


# --- groups served from a consolidation -----------------------------------------------------


class ConsolidatedGroup(Group):
    """A group whose members, ``tree()`` and ``group[name]`` come from the consolidated
    metadata of ``holder`` (itself or a group above it), without store reads."""

    def __init__(self, store: Store, path: str, metadata: GroupMetadata, *, holder: str) -> None:
        super().__init__(store, path, metadata)
        self._holder = holder

    @property
    def holder(self) -> str:
        """The path of the group holding the consolidated metadata this one is served from."""
        return self._holder

    def _view(self) -> Consolidated | None:
        return _handle(self._store).views.get(self._holder)

    def __getitem__(self, name: str) -> Array | Group:
        view = self._view()
        if view is None:  # the holder was deleted or overwritten since
            return super().__getitem__(name)
        path = self._child_path(name)
        meta = view.node(_relative(path, self._holder))
        if meta is None:
            raise MemberNotFoundError(f"group {self.name} has no member {name!r}")
        if isinstance(meta, ArrayMetadataV2 | ArrayMetadataV3):
            return Array(self._store, path, meta)
        return ConsolidatedGroup(self._store, path, meta, holder=self._holder)

    def members(self, max_depth: int | None = 0) -> tuple[tuple[str, Array | Group], ...]:
        view = self._view()
        if view is None:
            return super().members(max_depth)
        names = view.walk(_relative(self._path, self._holder), max_depth)
        return tuple((name, self[name]) for name in names)


def open_group_node(
    store: Store, path: str, meta: GroupMetadata, use_consolidated: bool | None
) -> Group:
    """The group at ``path`` served from its consolidated metadata when it has some and
    ``use_consolidated`` is not False (True: required)."""
    if use_consolidated is False:
        return Group(store, path, meta)
    view = _read(store, path, meta)
    handle = _handle(store)
    with handle.lock:
        if view is None:
            handle.absent.add((meta.zarr_format, path))
        else:
            handle.views[path] = view
    if view is not None:
        return ConsolidatedGroup(store, path, meta, holder=path)
    if use_consolidated:
        raise MetadataError(
            "use_consolidated=True but the group holds no consolidated metadata "
            "(create it with zarrkit.consolidate_metadata)",
            key=_holder_key(path, meta.zarr_format),
        )
    return Group(store, path, meta)


def consolidate(store: Store, path: str = "", zarr_format: int | None = None) -> Group:
    """Write the consolidated metadata of the group at ``path`` (replacing any) and return
    the group, served from it. See :func:`zarrkit.consolidate_metadata`."""
    global _generation
    meta = load_node(store, path, zarr_format)
    if metadata_kind(meta) == "array":
        raise NodeTypeError(f"cannot consolidate the array at path {path!r}: expected a group")
    view = Consolidated(
        zarr_format=meta.zarr_format, documents=_walk(store, path, meta.zarr_format)
    )
    handle = _handle(store)
    with handle.lock:
        if isinstance(meta, GroupMetadataV3):
            meta = dataclasses.replace(meta, consolidated_metadata=view.to_json())
            store.set(key_of(path, V3_DOC), dump_document(meta.to_json()))
        else:
            store.set(key_of(path, ZMETADATA), dump_document(view.to_json()))
        handle.views[path] = view
        with _handles_lock:
            _generation += 1
    return ConsolidatedGroup(store, path, meta, holder=path)  # type: ignore[arg-type]


# --- finding staleness ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Staleness:
    """A node whose consolidated documents differ from the stored ones: ``added`` (stored,
    not consolidated), ``removed`` (consolidated, no longer stored) or ``changed``."""

    path: str
    change: Literal["added", "removed", "changed"]

    def __str__(self) -> str:
        return f"{self.change}: /{self.path}"


def check(
    store: StoreLike, path: str = "", *, storage_options: dict[str, Any] | None = None
) -> list[Staleness]:
    """Compare the consolidated metadata of the group at ``path`` with the stored
    documents (changes zarrkit did not make); an empty list means it is current.

    Examples
    --------
    >>> import zarrkit
    >>> root = zarrkit.consolidate_metadata(zarrkit.group().store)
    >>> root.store.set("late/zarr.json", b'{"zarr_format": 3, "node_type": "group"}')
    >>> check(root.store)
    [Staleness(path='late', change='added')]
    """
    target = make_store(store, read_only=True, storage_options=storage_options)
    node_path = normalize_path(path)
    meta = load_node(target, node_path)
    if metadata_kind(meta) == "array":
        raise NodeTypeError(f"the node at path {node_path!r} is an array, not a group")
    view = _read(target, node_path, meta)  # type: ignore[arg-type]
    if view is None:
        raise MetadataError(
            "the group holds no consolidated metadata", key=_holder_key(node_path, meta.zarr_format)
        )
    stored = Consolidated(
        zarr_format=view.zarr_format, documents=_walk(target, node_path, view.zarr_format)
    ).nodes()
    consolidated = view.nodes()
    report = []
    for rel in sorted(stored.keys() | consolidated.keys()):
        full = _join(node_path, rel)
        if rel not in consolidated:
            report.append(Staleness(path=full, change="added"))
        elif rel not in stored:
            report.append(Staleness(path=full, change="removed"))
        elif stored[rel] != consolidated[rel]:
            report.append(Staleness(path=full, change="changed"))
    return report


__all__ = [
    "ZMETADATA",
    "Consolidated",
    "ConsolidatedGroup",
    "Staleness",
    "check",
    "consolidate",
    "holders",
    "open_group_node",
]
