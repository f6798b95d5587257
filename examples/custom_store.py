"""A custom store in ~60 lines: read Zarr data straight out of a .tar archive.

A backend subclasses ``zarrkit.storage.Store`` and implements four primitives (``_get``,
``_set``, ``_delete``, ``_list_prefix``); key validation, read-only refusal and the
batch methods come from the base class. ``register_store`` makes ``tar://`` URLs open it,
and ``zarrkit.testing.StoreSuite`` is the conformance suite to run on it.

Run: ``python examples/custom_store.py``
"""

from __future__ import annotations

import io
import tarfile
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from zarrkit.storage import ByteRequest, RangeRequest, Store, make_store, register_store
from zarrkit.storage.base import Blob, slice_for


class TarStore(Store):
    """The regular files of an uncompressed tar archive, read-only."""

    def __init__(self, path: str | Path, *, read_only: bool = True) -> None:
        super().__init__(read_only=True)
        self.path = Path(path)
        self._tar = tarfile.open(self.path, "r:")  # noqa: SIM115 (open until close())
        self._members = {m.name: m for m in self._tar.getmembers() if m.isfile()}
        self._lock = threading.Lock()  # one file position, shared by all readers

    @classmethod
    def from_url(cls, url: str, *, read_only: bool = True, **options: Any) -> TarStore:
        return cls(url.split("://", 1)[1])

    def _get(self, key: str, byte_range: ByteRequest | None) -> bytes | None:
        member = self._members.get(key)
        if member is None:
            return None
        part = slice_for(byte_range, member.size)
        with self._lock, self._tar.extractfile(member) as f:  # type: ignore[union-attr]
            f.seek(part.start)
            return f.read(part.stop - part.start)

    def _set(self, key: str, value: Blob) -> None:
        raise NotImplementedError  # never reached: the store is read-only

    def _delete(self, key: str) -> None:
        raise NotImplementedError

    def _list_prefix(self, prefix: str) -> Iterator[str]:
        return (name for name in sorted(self._members) if name.startswith(prefix))

    def close(self) -> None:
        self._tar.close()


register_store("tar", TarStore.from_url)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "data.tar"
        with tarfile.open(archive, "w") as tar:
            for name, value in {"zarr.json": b"{}", "c/0": b"0123456789"}.items():
                info = tarfile.TarInfo(name)
                info.size = len(value)
                tar.addfile(info, io.BytesIO(value))
        store = make_store(f"tar://{archive}")
        print("keys:", sorted(store.list()))
        print("c/0[2:5]:", store.get("c/0", RangeRequest(2, 5)))
        print("read_only:", store.read_only)
        store.close()


if __name__ == "__main__":
    main()
