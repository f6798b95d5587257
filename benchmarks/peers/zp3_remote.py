"""zarr-python 3 over object stores: ``zarr.storage.ObjectStore`` over obstore's stores."""

from __future__ import annotations

from typing import Any

import obstore.store
import zarr
from zarr.storage import ObjectStore

from benchmarks.remote_child import RemotePeer, S3Target, main
from benchmarks.remote_workloads import Layout, creation_options


def s3_store(target: S3Target) -> ObjectStore:
    options = target.options()
    client = {"allow_http": options.pop("allow_http")}
    store = obstore.store.S3Store(
        target.bucket, prefix=target.path, client_options=client, **options
    )
    return ObjectStore(store)


class ZarrPython3Remote(RemotePeer):
    def version(self) -> str:
        return f"zarr {zarr.__version__} (ObjectStore, obstore {obstore.__version__})"

    def open_http(self, url: str) -> Any:
        store = obstore.store.HTTPStore.from_url(url, client_options={"allow_http": True})
        return zarr.open_array(ObjectStore(store, read_only=True), mode="r")

    def create_s3(self, target: S3Target, lay: Layout) -> Any:
        return zarr.create_array(s3_store(target), **creation_options(lay), overwrite=True)

    def open_s3(self, target: S3Target) -> Any:
        return zarr.open_array(s3_store(target), mode="r+")


if __name__ == "__main__":
    main(ZarrPython3Remote)
