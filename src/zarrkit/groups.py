"""``Group``: a node holding arrays and groups, with attributes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from zarrkit.arrays import Array
from zarrkit.chunking import normalize_shape
from zarrkit.creation import create_array, group_metadata, new_node
from zarrkit.errors import MemberNotFoundError, NodeNotFoundError, NodeTypeError
from zarrkit.metadata.documents import (
    ALL_DOCS,
    GroupMetadata,
    NodeMetadata,
    metadata_kind,
    prefix_of,
)
from zarrkit.metadata.dtypes import normalize_dtype
from zarrkit.nodes import Node, delete_node, load_node, normalize_path
from zarrkit.storage.base import Store


def node_from_metadata(store: Store, path: str, meta: NodeMetadata) -> Array | Group:
    """The Array or Group object for ``meta`` found at ``path``."""
    if metadata_kind(meta) == "array":
        return Array(store, path, meta)  # type: ignore[arg-type]
    return Group(store, path, meta)  # type: ignore[arg-type]


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

    def __repr__(self) -> str:
        return f"<zarrkit.Group {self._store!r}{self.name}>"

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

    def get(self, name: str, default: Any = None) -> Any:
        try:
            return self[name]
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

    def members(self, max_depth: int | None = 0) -> tuple[tuple[str, Array | Group], ...]:
        """``(name, node)`` pairs of the children, sorted by name; ``max_depth`` > 0 (or
        ``None`` for unlimited) also lists descendants with their relative paths."""
        found: list[tuple[str, Array | Group]] = []
        for name in sorted(self._store.list_dir(prefix_of(self._path))):
            if name in ALL_DOCS:
                continue
            try:
                node = self[name]
            except NodeNotFoundError:
                continue
            found.append((name, node))
            if isinstance(node, Group) and (max_depth is None or max_depth > 0):
                deeper = None if max_depth is None else max_depth - 1
                found += [(f"{name}/{sub}", n) for sub, n in node.members(deeper)]
        return tuple(found)

    def arrays(self) -> Iterator[tuple[str, Array]]:
        return ((n, a) for n, a in self.members() if isinstance(a, Array))

    def groups(self) -> Iterator[tuple[str, Group]]:
        return ((n, g) for n, g in self.members() if isinstance(g, Group))

    def array_keys(self) -> Iterator[str]:
        return (name for name, _ in self.arrays())

    def group_keys(self) -> Iterator[str]:
        return (name for name, _ in self.groups())

    # --- creating children ----------------------------------------------------------------------
    def create_group(
        self, name: str, *, attributes: dict[str, Any] | None = None, overwrite: bool = False
    ) -> Group:
        """A new child group (v2 or v3 like this group)."""
        path = self._child_path(name)
        meta = group_metadata(self.zarr_format, attributes)
        new_node(self._store, path, meta, overwrite=overwrite)
        return Group(self._store, path, meta)

    def require_group(self, name: str, **kwargs: Any) -> Group:
        """The child group ``name``, created if missing."""
        node = self.get(name)
        if node is None:
            return self.create_group(name, **kwargs)
        if not isinstance(node, Group):
            raise NodeTypeError(f"{node.name} is an array, not a group")
        return node

    def create_array(self, name: str, **kwargs: Any) -> Array:
        """A new child array; takes :func:`zarrkit.create_array`'s keyword arguments."""
        kwargs.setdefault("zarr_format", self.zarr_format)
        return create_array(self._store, name=self._child_path(name), **kwargs)

    def require_array(self, name: str, *, shape: Any, dtype: Any = None, **kwargs: Any) -> Array:
        """The child array ``name``, created if missing; an existing one must match."""
        node = self.get(name)
        if node is None:
            return self.create_array(name, shape=shape, dtype=dtype, **kwargs)
        if not isinstance(node, Array):
            raise NodeTypeError(f"{node.name} is a group, not an array")
        if node.shape != normalize_shape(shape) or (
            dtype is not None and node.dtype != normalize_dtype(dtype)
        ):
            raise NodeTypeError(
                f"array {node.name} has shape {node.shape} and dtype {node.dtype}, "
                f"not shape {shape} and dtype {dtype}"
            )
        return node

    # --- display ------------------------------------------------------------------------------
    def tree(self, level: int | None = None) -> Tree:
        """The hierarchy below this group, printed like zarr-python's ``tree()``."""
        return Tree(self, level)


class Tree:
    """A printable view of a group's hierarchy."""

    def __init__(self, group: Group, level: int | None) -> None:
        self._lines = ["/" if not group.path else group.basename]
        self._walk(group, "", level)

    def _walk(self, group: Group, indent: str, level: int | None) -> None:
        if level is not None and level <= 0:
            return
        members = group.members()
        for i, (name, node) in enumerate(members):
            last = i == len(members) - 1
            label = f"{name} {node.shape} {node.dtype}" if isinstance(node, Array) else name
            self._lines.append(f"{indent}{'└── ' if last else '├── '}{label}")
            if isinstance(node, Group):
                deeper = None if level is None else level - 1
                self._walk(node, indent + ("    " if last else "│   "), deeper)

    def __str__(self) -> str:
        return "\n".join(self._lines)

    __repr__ = __str__


__all__ = ["Group", "Tree", "node_from_metadata"]
