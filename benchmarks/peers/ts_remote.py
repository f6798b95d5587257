"""tensorstore over object stores: its ``http`` kvstore for reads, ``s3`` for writes.

Every open gets a new ``Context``, so nothing cached by one open serves another.
"""

from __future__ import annotations

import importlib.metadata
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import tensorstore as ts

from benchmarks.peers.ts import metadata
from benchmarks.remote_child import RemotePeer, S3Target, main
from benchmarks.remote_workloads import Layout
from benchmarks.workloads import Workload


def s3_spec(target: S3Target) -> dict[str, Any]:
    kvstore = {
        "driver": "s3",
        "bucket": target.bucket,
        "path": f"{target.path}/",
        "endpoint": target.endpoint,
        "aws_region": target.region,
    }  # credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, set by the harness
    return {"driver": "zarr3", "kvstore": kvstore}


class TensorStoreRemote(RemotePeer):
    def version(self) -> str:
        return f"tensorstore {importlib.metadata.version('tensorstore')}"

    def open_http(self, url: str) -> Any:
        parts = urlsplit(url)
        kvstore = {"driver": "http", "base_url": f"{parts.scheme}://{parts.netloc}"}
        spec = {"driver": "zarr3", "kvstore": {**kvstore, "path": f"{parts.path.strip('/')}/"}}
        return ts.open(spec, read=True, context=ts.Context()).result()

    def create_s3(self, target: S3Target, lay: Layout) -> Any:
        workload = Workload(
            name=lay.name,
            title=lay.title,
            dtype="float32",
            shape=lay.shape,
            chunks=lay.chunks,
            shards=lay.shards,
            codec="zstd",
            ops=(),
        )
        spec = {**s3_spec(target), "metadata": metadata(workload)}
        return ts.open(spec, create=True, delete_existing=True, context=ts.Context()).result()

    def open_s3(self, target: S3Target) -> Any:
        return ts.open(s3_spec(target), open=True, context=ts.Context()).result()

    def read(self, arr: Any, selection: tuple[Any, ...]) -> np.ndarray:
        return arr[selection].read().result()

    def write(self, arr: Any, selection: tuple[Any, ...], value: np.ndarray) -> None:
        arr[selection].write(value).result()


if __name__ == "__main__":
    main(TensorStoreRemote)
