"""``Group``: a node holding arrays and groups, with attributes.

Over 400 lines because zarr-python's Group is wide: besides children, members and
creation it keeps zarr-python 2's names (``array``, ``create_dataset``, ``zeros`` ...) for
old code; each of those is a line or two over :meth:`Group.create_array`.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Iterator
from typing import Any, Self

import numpy as np

from zarrkit.errors import (
    MemberNotFoundError,
    NodeNotFoundError,
    NodeTypeError,
    ZarrDeprecationWarning,
    ZarrUserWarning,
)
from zarrkit.metadata.consolidated import ZMETADATA
from zarrkit.metadata.documents import ALL_DOCS, GroupMetadata, NodeMetadata, metadata_kind
from zarrkit.metadata.dtypes import normalize_dtype
from zarrkit.nodes.arrays import Array, create_array
from zarrkit.nodes.chunking import normalize_shape
from zarrkit.nodes.creation import DEFAULT_FILL, group_metadata, like_arguments, modern_arguments
from zarrkit.nodes.hierarchy import NodeSpec, create_nodes
from zarrkit.nodes.info import GroupInfo
from zarrkit.nodes.node import (
    Node,
    copy_node,
    delete_node,
    exists_error,
    load_group,
    load_node,
    load_nodes,
    locate,
    new_node,
    normalize_path,
)
from zarrkit.storage import StoreLike
from zarrkit.storage.base import Store

#: Keys of a group that are documents, not members (v2 consolidated metadata included).
_DOCUMENTS = (*ALL_DOCS, ZMETADATA)


def node_from_metadata(store: Store, path: str, meta: NodeMetadata) -> Array | Group:
    """The Array or Group object for ``meta`` found at ``path``."""
    if metadata_kind(meta) == "array":
        return Array(store, path, meta)  # type: ignore[arg-type]
    return Group(store, path, meta)  # type: ignore[arg-type]


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"{old} is deprecated. Use {new} instead.", ZarrDeprecationWarning, stacklevel=3)


def child_signature(method: Callable[..., Any], **extra: Any) -> inspect.Signature:
    """``method``'s ``(self, name)``, then :func:`create_array`'s keywords and ``extra``
    ones (defaults given): what a Group method forwarding them to it accepts."""
    head = list(inspect.signature(method).parameters.values())[:2]
    keyword = inspect.Parameter.KEYWORD_ONLY
    forwarded = [
        p
        for p in inspect.signature(create_array).parameters.values()
        if p.kind is keyword and p.name not in ("name", "zarr_format", *extra)
    ]
    added = [inspect.Parameter(name, keyword, default=value) for name, value in extra.items()]
    rest = inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD)
    return inspect.Signature([*head, *forwarded, *added, rest], return_annotation=Array)


class Group(Node[GroupMetadata]):
    """A group of arrays and groups (v2 or v3).

    Examples
    --------
    >>> import zarrkit
    >>> root = zarrkit.group()
    >>> _ = root.create_group("climate").create_array("t2m", shape=(2, 3), dtype="f4")
    >>> print(root.tree())
    /
    └── climate
        └── t2m (2, 3) float32
    """

    node_type = "group"

    @classmethod
    def from_store(
        cls,
        store: StoreLike,
        *,
        attributes: dict[str, Any] | None = None,
        zarr_format: int | None = 3,
        overwrite: bool = False,
    ) -> Self:
        """A new group at ``store`` (a store, path, URL or ``StorePath``); an existing
        node of the same format is an error unless ``overwrite``."""
        made = create_group(
            store, zarr_format=zarr_format, attributes=attributes, overwrite=overwrite
        )
        return cls(made.store, made.path, made.metadata)

    @classmethod
    def open(cls, store: StoreLike, zarr_format: int | None = None) -> Self:
        """The existing group at ``store`` (format auto-detected unless given)."""
        target, path = locate(store)
        return cls(target, path, load_group(target, path, zarr_format))

    def __repr__(self) -> str:
        return f"<zarrkit.Group {self._store!r}{self.name}>"

    def __eq__(self, other: object) -> bool:
        """Groups are equal when they are the same node: store, path and metadata."""
        if not isinstance(other, Group):
            return NotImplemented
        mine = (self._store, self._path, self._metadata)
        return mine == (other._store, other._path, other._metadata)

    def __hash__(self) -> int:
        return hash((type(self._store), self._path))

    # --- children ----------------------------------------------------------------------------
    def _child_path(self, name: str) -> str:
        rel = normalize_path(name)
        if not rel:
            raise NodeNotFoundError(f"empty member name {name!r}")
        return f"{self._path}/{rel}" if self._path else rel

    def __getitem__(self, name: str) -> Array | Group:
        path = self._child_path(name)
        try:
            meta = load_node(self._store, path, self.zarr_format)
        except NodeNotFoundError as e:
            raise MemberNotFoundError(f"group {self.name} has no member {name!r}") from e
        return node_from_metadata(self._store, path, meta)

    def __setitem__(self, key: str, value: Any) -> None:
        """``group[name] = data`` writes ``data`` as a new array ``name`` (replacing any
        node there), chunked and compressed by default."""
        data = np.asanyarray(value)
        self.create_array(key, data=data, overwrite=True)

    def get(self, path: str, default: Any = None) -> Any:
        """The member at ``path`` (relative, may be nested), or ``default``."""
        try:
            return self[path]
        except NodeNotFoundError:
            return default

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(name for name, _ in self.members())

    def __len__(self) -> int:
        return len(self.members())

    def __delitem__(self, name: str) -> None:
        self._check_writable()
        path = self._child_path(name)
        if self.get(name) is None:
            raise MemberNotFoundError(f"group {self.name} has no member {name!r}")
        delete_node(self._store, path)

    def members(
        self, max_depth: int | None = 0, *, use_consolidated_for_children: bool = True
    ) -> tuple[tuple[str, Array | Group], ...]:
        """``(name, node)`` pairs of the children, sorted by name; ``max_depth`` > 0 (or
        ``None`` for unlimited) also lists descendants with their relative paths.

        Each level of the hierarchy costs one listing and one ``get_many``. Objects under
        the group that are no Zarr node are skipped with a warning.
        ``use_consolidated_for_children`` matters only for groups opened from
        consolidated metadata.
        """
        if max_depth is not None and max_depth < 0:
            raise ValueError(f"max_depth must be None or >= 0, got {max_depth}")
        names = sorted(n for n in self._store.list_dir(self._prefix) if n not in _DOCUMENTS)
        paths = [self._child_path(name) for name in names]
        metas = load_nodes(self._store, paths, self.zarr_format)
        found: list[tuple[str, Array | Group]] = []
        for name, meta in zip(names, metas.values(), strict=True):
            if meta is None:
                warnings.warn(
                    f"Object at {self._child_path(name)} is not recognized as a component "
                    "of a Zarr hierarchy.",
                    ZarrUserWarning,
                    stacklevel=2,
                )
                continue
            node = node_from_metadata(self._store, self._child_path(name), meta)
            found.append((name, node))
            if isinstance(node, Group) and (max_depth is None or max_depth > 0):
                deeper = None if max_depth is None else max_depth - 1
                found += [(f"{name}/{sub}", n) for sub, n in node.members(deeper)]
        return tuple(found)

    @property
    def _prefix(self) -> str:
        return f"{self._path}/" if self._path else ""

    def nmembers(self, max_depth: int | None = 0) -> int:
        """The number of members (to ``max_depth``, like :meth:`members`)."""
        return len(self.members(max_depth))

    def keys(self) -> Iterator[str]:
        """The names of the children."""
        return iter(self)

    def arrays(self) -> Iterator[tuple[str, Array]]:
        return ((n, a) for n, a in self.members() if isinstance(a, Array))

    def groups(self) -> Iterator[tuple[str, Group]]:
        return ((n, g) for n, g in self.members() if isinstance(g, Group))

    def array_keys(self) -> Iterator[str]:
        return (name for name, _ in self.arrays())

    def group_keys(self) -> Iterator[str]:
        return (name for name, _ in self.groups())

    def array_values(self) -> Iterator[Array]:
        return (array for _, array in self.arrays())

    def group_values(self) -> Iterator[Group]:
        return (group for _, group in self.groups())

    # --- creating children ----------------------------------------------------------------------
    def create_group(
        self, name: str, *, attributes: dict[str, Any] | None = None, overwrite: bool = False
    ) -> Group:
        """A new child group (v2 or v3 like this group)."""
        path = self._child_path(name)
        meta = group_metadata(self.zarr_format, attributes)
        new_node(self._store, path, meta, overwrite=overwrite)
        return Group(self._store, path, meta)

    def require_group(self, name: str, overwrite: bool = False, **kwargs: Any) -> Group:
        """The child group ``name``, created if missing (``overwrite``: always new)."""
        node = None if overwrite else self.get(name)
        if node is None:
            return self.create_group(name, overwrite=overwrite, **kwargs)
        if not isinstance(node, Group):
            raise NodeTypeError(f"Incompatible object (array {node.name}) already exists")
        return node

    async def update_attributes_async(self, new_attributes: dict[str, Any]) -> Group:
        """:meth:`update_attributes` as a coroutine (run in a worker thread)."""
        import asyncio  # here: importing it (and ssl with it) costs 5 MiB and 12 ms

        return await asyncio.to_thread(self.update_attributes, new_attributes)

    def require_groups(self, *names: str) -> tuple[Group, ...]:
        """:meth:`require_group` for each of ``names``."""
        return tuple(self.require_group(name) for name in names)

    def create_array(self, name: str, **kwargs: Any) -> Array:
        """A new child array; takes :func:`zarrkit.create_array`'s keyword arguments
        (and zarr-python's older ``compressor``, ``chunk_shape``, ``codecs``)."""
        kwargs.setdefault("zarr_format", self.zarr_format)
        if kwargs.get("compressor", "auto") not in ("auto", None):
            warnings.warn(
                "The `compressor` argument is deprecated. Use `compressors` instead.",
                ZarrUserWarning,
                stacklevel=2,
            )
        kwargs = modern_arguments(kwargs, kwargs["zarr_format"])
        return create_array(self._store, name=self._child_path(name), **kwargs)

    create_array.__signature__ = child_signature(create_array, compressor="auto")  # type: ignore[attr-defined]
    create = create_array

    def require_array(
        self, name: str, *, shape: Any, dtype: Any = None, exact: bool = False, **kwargs: Any
    ) -> Array:
        """The child array ``name``, created if missing. An existing one must have
        ``shape`` and a dtype ``dtype`` can hold (``exact``: the same dtype)."""
        node = self.get(name)
        if node is None:
            return self.create_array(name, shape=shape, dtype=dtype, **kwargs)
        if not isinstance(node, Array):
            raise NodeTypeError(f"Incompatible object (group {node.name}) already exists")
        if node.shape != normalize_shape(shape):
            raise NodeTypeError(f"Incompatible shape ({node.shape} vs {normalize_shape(shape)})")
        if dtype is not None:
            wanted = normalize_dtype(dtype)
            fits = node.dtype == wanted if exact else np.can_cast(node.dtype, wanted)
            if not fits:
                raise NodeTypeError(f"Incompatible dtype ({node.dtype} vs {wanted})")
        return node

    def create_hierarchy(
        self, nodes: dict[str, NodeSpec], *, overwrite: bool = False
    ) -> Iterator[tuple[str, Array | Group]]:
        """Create the nodes ``nodes`` (path relative to this group -> metadata) and the
        groups between them, writing every document in one batch; returns the nodes below
        this group by relative path. See :func:`zarrkit.create_hierarchy`."""
        created = create_nodes(self._store, self._path, nodes, overwrite=overwrite)
        return iter(
            [
                (path, node_from_metadata(self._store, self._child_path(path), meta))
                for path, meta in created
                if path
            ]
        )

    # --- zarr-python 2's names ----------------------------------------------------------------
    def array(self, name: str, *, compressor: Any = None, **kwargs: Any) -> Array:
        """Deprecated: :meth:`create_array`. As in zarr-python, its ``compressor``
        (default ``None``: no compression) applies unless ``compressors`` is given."""
        _deprecated("Group.array", "Group.create_array")
        if "compressors" not in kwargs:
            warnings.warn(
                "The `compressor` argument is deprecated. Use `compressors` instead.",
                ZarrUserWarning,
                stacklevel=2,
            )
            kwargs["compressors"] = compressor
        return self.create_array(name, **kwargs)

    array.__signature__ = child_signature(array, compressor=None)  # type: ignore[attr-defined]

    def create_dataset(self, name: str, *, shape: Any, **kwargs: Any) -> Array:
        """Deprecated: :meth:`create_array`."""
        _deprecated("Group.create_dataset", "Group.create_array")
        return self.create_array(name, shape=shape, **kwargs)

    def require_dataset(
        self, name: str, *, shape: Any, dtype: Any = None, exact: bool = False, **kwargs: Any
    ) -> Array:
        """Deprecated: :meth:`require_array`."""
        _deprecated("Group.require_dataset", "Group.require_array")
        return self.require_array(name, shape=shape, dtype=dtype, exact=exact, **kwargs)

    def zeros(self, *, name: str, shape: Any, **kwargs: Any) -> Array:
        """A new child array of zeros."""
        return self.create_array(name, shape=shape, fill_value=0, **kwargs)

    def ones(self, *, name: str, shape: Any, **kwargs: Any) -> Array:
        """A new child array of ones."""
        return self.create_array(name, shape=shape, fill_value=1, **kwargs)

    def full(self, *, name: str, shape: Any, fill_value: Any, **kwargs: Any) -> Array:
        """A new child array filled with ``fill_value``."""
        return self.create_array(name, shape=shape, fill_value=fill_value, **kwargs)

    def empty(self, *, name: str, shape: Any, **kwargs: Any) -> Array:
        """A new child array (unwritten chunks read as the default fill value)."""
        return self.create_array(name, shape=shape, **kwargs)

    def zeros_like(self, *, name: str, data: Any, **kwargs: Any) -> Array:
        """A new child array of zeros shaped like ``data``."""
        return self.zeros(name=name, **(like_arguments(data) | kwargs))

    def ones_like(self, *, name: str, data: Any, **kwargs: Any) -> Array:
        """A new child array of ones shaped like ``data``."""
        return self.ones(name=name, **(like_arguments(data) | kwargs))

    def full_like(self, *, name: str, data: Any, **kwargs: Any) -> Array:
        """A new child array shaped like ``data``, filled with its fill value (or
        ``fill_value``)."""
        kwargs.setdefault("fill_value", getattr(data, "fill_value", DEFAULT_FILL))
        return self.full(name=name, **(like_arguments(data) | kwargs))

    def empty_like(self, *, name: str, data: Any, **kwargs: Any) -> Array:
        """A new child array shaped like ``data``."""
        kwargs.setdefault("fill_value", getattr(data, "fill_value", DEFAULT_FILL))
        return self.empty(name=name, **(like_arguments(data) | kwargs))

    # --- changing the hierarchy ---------------------------------------------------------------
    def move(self, source: str, dest: str) -> None:
        """Move the member ``source`` (with everything under it) to ``dest``, both
        relative to this group. Everything is copied before the source is deleted, so an
        interruption leaves the source whole; an existing ``dest`` is refused."""
        self._check_writable()
        src, dst = self._child_path(source), self._child_path(dest)
        node = self[source]
        existing = self.get(dest)
        if existing is not None:
            raise exists_error(self._store, dst, existing.metadata)
        below = node.members(max_depth=None) if isinstance(node, Group) else ()
        copy_node(self._store, src, dst, node.metadata, [(n, m.metadata) for n, m in below])

    @property
    def synchronizer(self) -> None:
        """zarr-python 2's lock object, always ``None``: zarrkit locks shared chunks itself."""
        return None

    # --- display ------------------------------------------------------------------------------
    @property
    def info(self) -> GroupInfo:
        """A summary of the group (printable)."""
        return GroupInfo(
            name=self._path,
            zarr_format=self.zarr_format,
            read_only=self.read_only,
            store_type=type(self._store).__name__,
        )

    def info_complete(self) -> GroupInfo:
        """:attr:`info` plus the numbers of members, arrays and groups below, at any depth."""
        below = [node for _, node in self.members(max_depth=None)]
        arrays = sum(isinstance(node, Array) for node in below)
        info = self.info
        return GroupInfo(
            name=info.name,
            zarr_format=info.zarr_format,
            read_only=info.read_only,
            store_type=info.store_type,
            count_members=len(below),
            count_arrays=arrays,
            count_groups=len(below) - arrays,
        )

    def tree(
        self,
        expand: bool | None = None,
        level: int | None = None,
        *,
        max_nodes: int = 500,
        plain: bool = False,
    ) -> Tree:
        """The hierarchy below this group, printed like zarr-python's ``tree()``: to
        ``level`` levels below the children, as ``members(max_depth=level)`` (``0``: the
        children only, ``None``: all), at most ``max_nodes`` nodes, nearest levels first.
        ``expand`` and ``plain`` concern zarr-python's rich rendering; zarrkit's is plain
        text always."""
        return Tree(self, level, max_nodes)


class Tree:
    """A printable view of a group's hierarchy."""

    def __init__(self, group: Group, level: int | None, max_nodes: int = 500) -> None:
        self._budget = max_nodes
        self._truncated = False
        shown = self._choose(group, level)
        self._lines = ["/" if not group.path else group.basename]
        self._walk(group, "", shown)
        if self._truncated:
            self._lines.append(
                f"Truncated at max_nodes={max_nodes}, some nodes and their children may be missing"
            )

    def _choose(self, group: Group, level: int | None) -> dict[str, list[tuple[str, Any]]]:
        """The members shown under each group path, breadth first within the budget."""
        shown: dict[str, list[tuple[str, Any]]] = {}
        if level is not None and level < 0:
            return shown
        pending = [(group, 0)]
        while pending:
            current, depth = pending.pop(0)
            for name, node in current.members():
                if self._budget <= 0:
                    self._truncated = True
                    return shown
                self._budget -= 1
                shown.setdefault(current.path, []).append((name, node))
                if isinstance(node, Group) and (level is None or depth < level):
                    pending.append((node, depth + 1))
        return shown

    def _walk(self, group: Group, indent: str, shown: dict[str, list[tuple[str, Any]]]) -> None:
        members = shown.get(group.path, [])
        for i, (name, node) in enumerate(members):
            last = i == len(members) - 1
            label = f"{name} {node.shape} {node.dtype}" if isinstance(node, Array) else name
            self._lines.append(f"{indent}{'└── ' if last else '├── '}{label}")
            if isinstance(node, Group):
                self._walk(node, indent + ("    " if last else "│   "), shown)

    def __str__(self) -> str:
        return "\n".join(self._lines)

    __repr__ = __str__


def create_group(
    store: StoreLike | None = None,
    *,
    path: str | None = None,
    zarr_format: int | None = None,
    overwrite: bool = False,
    attributes: dict[str, Any] | None = None,
    storage_options: dict[str, Any] | None = None,
) -> Group:
    """Create a group (format: the ``default_zarr_format`` setting unless given) and
    return it; an existing node of the same format is an error unless ``overwrite``."""
    target, node_path = locate(store, path, storage_options=storage_options)
    meta = group_metadata(zarr_format, attributes)
    new_node(target, node_path, meta, overwrite=overwrite)
    return Group(target, node_path, meta)


__all__ = ["Group", "Tree", "create_group", "node_from_metadata"]
