"""Consolidated metadata: the documents of a whole hierarchy, held by its root group (pure
data; reading, writing and serving it is :mod:`zarrkit.nodes.consolidated`).

Zarr v3 keeps them inline in the group's ``zarr.json`` (``consolidated_metadata``, as
zarr-python 3 writes it); Zarr v2 in a ``.zmetadata`` document beside the group's
``.zgroup`` (zarr-python 2's format, keys relative to the group).
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from zarrkit.errors import InvalidKeyError, MetadataError, UnsupportedExtensionError
from zarrkit.keys import validate_key
from zarrkit.metadata.common import JSON
from zarrkit.metadata.documents import (
    ALL_DOCS,
    V2_ARRAY,
    V2_DOCS,
    V2_GROUP,
    V3_DOC,
    NodeMetadata,
    key_of,
    parse_node,
    prefix_of,
)

ZMETADATA = ".zmetadata"
FIELD = "consolidated_metadata"
_INLINE: dict[str, JSON] = {"kind": "inline", "must_understand": False}


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
        where = FIELD if zarr_format == 3 else "metadata"
        if not isinstance(data, dict):
            raise MetadataError(f"expected an object, got {data!r}", key=key, field=where)
        if zarr_format == 3 and data.get("kind") != "inline":
            raise UnsupportedExtensionError(
                f"unsupported kind {data.get('kind')!r}; supported: 'inline'",
                key=key,
                field=f"{FIELD}.kind",
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
            documents[entry_key] = plain(entry_key, doc)
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
            entries[path] = {**doc, FIELD: {**_INLINE, "metadata": {}}} if is_group else doc
        order = sorted(
            entries, key=lambda p: (p.count("/"), unicodedata.normalize("NFKC", p).casefold())
        )
        return {**_INLINE, "metadata": {path: entries[path] for path in order}}

    def node(self, path: str) -> NodeMetadata | None:
        """The metadata of the node at ``path`` (relative), ``None`` if there is none; a
        group's carries the part of this consolidation below it, as zarr-python's does."""
        docs = {
            name: self.documents[k]
            for name in ALL_DOCS
            if (k := key_of(path, name)) in self.documents
        }
        meta = parse_node(docs, path) if docs else None
        if meta is None or node_kind(docs) == "array":
            return meta
        return dataclasses.replace(meta, consolidated_metadata=self.subtree(path))  # type: ignore[arg-type]

    def subtree(self, path: str = "") -> ConsolidatedMetadata:
        """zarr-python's view of the nodes below the group at ``path`` (relative)."""
        return ConsolidatedMetadata(view=self, path=path)

    def below(self, path: str) -> Consolidated:
        """The consolidation of the nodes below ``path``, keyed relative to it."""
        if not path:
            return self
        prefix = prefix_of(path)
        return Consolidated(
            zarr_format=self.zarr_format,
            documents={
                k[len(prefix) :]: v for k, v in self.documents.items() if k.startswith(prefix)
            },
        )

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
                yield from (f"{name}/{sub}" for sub in self.walk(join(path, name), deeper))

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
            kept |= {key_of(path, name): plain(name, doc) for name, doc in docs.items()}
        return dataclasses.replace(self, documents=kept)


@dataclass(frozen=True, kw_only=True, eq=False)
class ConsolidatedMetadata:
    """A consolidation seen from one group, as zarr-python shows it: ``metadata`` maps the
    name of each member to its metadata (a member group's carries its own part below it);
    ``flattened_metadata`` maps the relative path of every node below. Members are parsed
    on first use, not when a group is opened.

    Examples
    --------
    >>> group = {"zarr_format": 3, "node_type": "group", "attributes": {}}
    >>> data = {"kind": "inline", "must_understand": False,
    ...         "metadata": {"g": group, "g/h": group}}
    >>> view = Consolidated.from_json(data, 3, key="zarr.json").subtree()
    >>> list(view.metadata), list(view.metadata["g"].consolidated_metadata.metadata)
    (['g'], ['h'])
    >>> list(view.flattened_metadata)
    ['g', 'g/h']
    """

    view: Consolidated = field(repr=False)
    path: str = ""
    kind: Literal["inline"] = "inline"
    must_understand: Literal[False] = False

    @cached_property
    def metadata(self) -> dict[str, NodeMetadata]:
        return {name: self._node(name) for name in self.view.children(self.path)}

    @property
    def flattened_metadata(self) -> dict[str, NodeMetadata]:
        return {rel: self._node(rel) for rel in self.view.walk(self.path, max_depth=None)}

    def _node(self, rel: str) -> NodeMetadata:
        meta = self.view.node(join(self.path, rel))
        if meta is None:  # the view lists only nodes it holds
            raise MetadataError(f"consolidated metadata has no node {rel!r}", field=FIELD)
        return meta

    def to_dict(self) -> dict[str, JSON]:
        """The stored form (v3 inline ``consolidated_metadata``; v2 ``.zmetadata``)."""
        return self.view.below(self.path).to_json()

    @classmethod
    def from_dict(cls, data: dict[str, JSON]) -> ConsolidatedMetadata:
        """The view of a v3 ``consolidated_metadata`` object."""
        return Consolidated.from_json(data, 3, key=FIELD).subtree()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ConsolidatedMetadata) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"ConsolidatedMetadata(metadata={self.metadata!r}, kind={self.kind!r}, "
            f"must_understand={self.must_understand!r})"
        )


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


def plain(key: str, doc: JSON) -> JSON:
    """A node document without a consolidation of its own (zarr-python 3 nests empty ones
    in v3 entries, and even in v2 ``.zgroup`` entries)."""
    if key.endswith((V3_DOC, V2_GROUP)) and isinstance(doc, dict) and FIELD in doc:
        return {k: v for k, v in doc.items() if k != FIELD}
    return doc


def join(path: str, name: str) -> str:
    return "/".join(part for part in (path, name) if part)


def relative(path: str, holder: str) -> str:
    """``path`` relative to its ancestor (or itself) ``holder``."""
    if path == holder:
        return ""
    return path[len(holder) + 1 :] if holder else path


def node_kind(docs: Mapping[str, JSON]) -> Literal["array", "group"] | None:
    """Whether documents describe an array, a group or nothing (not validated: a
    consolidation copies documents, whatever zarrkit understands of them)."""
    node_type = docs.get(V3_DOC, {}).get("node_type")
    if node_type in ("array", "group"):
        return node_type  # type: ignore[no-any-return]
    if V2_ARRAY in docs:
        return "array"
    return "group" if V2_GROUP in docs else None


def holder_key(path: str, zarr_format: int) -> str:
    return key_of(path, V3_DOC if zarr_format == 3 else ZMETADATA)


def with_consolidation(doc: JSON, view: Consolidated | None) -> JSON:
    """A v3 group document carrying ``view`` (or none)."""
    bare = plain(V3_DOC, doc)
    return bare if view is None else {**bare, FIELD: view.to_json()}
