"""User attributes of a node, written through to the store on every change."""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

#: A change of attributes: the new ones from those stored.
Change = Callable[[dict[str, Any]], dict[str, Any]]


class Attributes(MutableMapping[str, Any]):
    """A dict-like view of a node's attributes; each change rewrites the metadata.

    A change is applied to the attributes as stored (``write`` receives the change), so
    changes made meanwhile by other writers are kept.

    Examples
    --------
    >>> import zarrkit
    >>> g = zarrkit.group()
    >>> g.attrs["units"] = "K"
    >>> g.attrs.asdict()
    {'units': 'K'}
    """

    def __init__(self, read: Callable[[], dict[str, Any]], write: Callable[[Change], None]) -> None:
        self._read = read
        self._write = write

    def __getitem__(self, name: str) -> Any:
        return self._read()[name]

    def __setitem__(self, name: str, value: Any) -> None:
        self.update({name: value})

    def __delitem__(self, name: str) -> None:
        if name not in self._read():
            raise KeyError(name)
        self._write(lambda attrs: {k: v for k, v in attrs.items() if k != name})

    def __iter__(self) -> Iterator[str]:
        return iter(self._read())

    def __len__(self) -> int:
        return len(self._read())

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Change several attributes with one metadata write."""
        new = dict(*args, **kwargs)
        self._write(lambda attrs: {**attrs, **new})

    def put(self, attrs: dict[str, Any]) -> None:
        """Replace all attributes."""
        new = dict(attrs)
        self._write(lambda _: new)

    def asdict(self) -> dict[str, Any]:
        return dict(self._read())

    def __repr__(self) -> str:
        return repr(self._read())
