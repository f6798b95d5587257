"""User attributes of a node, written through to the store on every change."""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from typing import Any


class Attributes(MutableMapping[str, Any]):
    """A dict-like view of a node's attributes; each change rewrites the metadata.

    Examples
    --------
    >>> import zarrkit
    >>> g = zarrkit.group()
    >>> g.attrs["units"] = "K"
    >>> g.attrs.asdict()
    {'units': 'K'}
    """

    def __init__(
        self, read: Callable[[], dict[str, Any]], write: Callable[[dict[str, Any]], None]
    ) -> None:
        self._read = read
        self._write = write

    def __getitem__(self, name: str) -> Any:
        return self._read()[name]

    def __setitem__(self, name: str, value: Any) -> None:
        self.update({name: value})

    def __delitem__(self, name: str) -> None:
        attrs = dict(self._read())
        del attrs[name]
        self._write(attrs)

    def __iter__(self) -> Iterator[str]:
        return iter(self._read())

    def __len__(self) -> int:
        return len(self._read())

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Change several attributes with one metadata write."""
        self._write({**self._read(), **dict(*args, **kwargs)})

    def put(self, attrs: dict[str, Any]) -> None:
        """Replace all attributes."""
        self._write(dict(attrs))

    def asdict(self) -> dict[str, Any]:
        return dict(self._read())

    def __repr__(self) -> str:
        return repr(self._read())
