"""zarrkit over object stores: its ObjectStore (obstore) for http:// and s3:// URLs."""

from __future__ import annotations

from typing import Any

import zarrkit
from benchmarks.remote_child import RemotePeer, S3Target, main
from benchmarks.remote_workloads import Layout, creation_options


class ZarrkitRemote(RemotePeer):
    def version(self) -> str:
        return f"zarrkit {zarrkit.__version__}"

    def open_http(self, url: str) -> Any:
        return zarrkit.open_array(url, mode="r")

    def create_s3(self, target: S3Target, lay: Layout) -> Any:
        return zarrkit.create_array(
            target.url,
            **creation_options(lay),
            overwrite=True,
            storage_options=target.options(),
        )

    def open_s3(self, target: S3Target) -> Any:
        return zarrkit.open_array(target.url, mode="r+", storage_options=target.options())


if __name__ == "__main__":
    main(ZarrkitRemote)
