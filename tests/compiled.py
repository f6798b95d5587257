"""Tests that run once with one of zarrkit's compiled loops and once with Python's, and
what the tests of the batch decoding loops share."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from zarrkit.codecs import CodecPipeline


def both_loops(module: Any, attribute: str, what: str) -> Any:
    """A fixture giving "compiled" (``module.attribute``, the loaded library: required in CI,
    else skipped where it was not built) and "python" (the attribute set to ``None``)."""

    @pytest.fixture(params=["compiled", "python"])
    def loop(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
        if request.param == "compiled":
            if getattr(module, attribute) is None:
                assert not os.environ.get("CI"), f"the compiled {what} was not built"
                pytest.skip(f"the compiled {what} was not built here (no C compiler)")
        else:
            monkeypatch.setattr(module, attribute, None)
        return str(request.param)

    return loop


def decode_rows(pipeline: CodecPipeline, blobs: Sequence[object], nbytes: int) -> bytes:
    """``blobs`` decoded by ``pipeline`` (int32 chunks of ``nbytes``) as a batch, as a read
    decodes a row of chunks, into an array first filled with 0xEE bytes; as bytes."""
    out = np.full((len(blobs), nbytes // 4), -0x11111112, "<i4")  # every byte 0xEE
    pipeline.decode_many(blobs, out)  # type: ignore[arg-type]
    return out.tobytes()


def every_form(blob: bytes) -> list[object]:
    """``blob`` in each form a batch may hold it: bytes, missing (``None``), a bytearray,
    and two views of one buffer (a shard's inner chunks)."""
    shard = b"head" + blob + blob
    views = [memoryview(shard)[4 : 4 + len(blob)], memoryview(shard)[4 + len(blob) :]]
    return [blob, None, bytearray(blob), *views]


def assert_rows(out: bytes, blobs: Sequence[object], expected: bytes) -> None:
    """Each row of ``out`` holds ``expected``, or 0xEE bytes where its blob was ``None``."""
    n = len(expected)
    for i, blob in enumerate(blobs):
        want = b"\xee" * n if blob is None else expected
        assert out[i * n : (i + 1) * n] == want, f"chunk {i}"


def batches_decode_in_threads(
    pipeline: CodecPipeline, encode: Callable[[bytes], bytes], nbytes: int
) -> None:
    """Four threads decode batches of 64 chunks, each of its own value, at once."""
    blobs = [encode(bytes([i]) * nbytes) for i in range(64)]

    def decode(_: int) -> bool:
        out = decode_rows(pipeline, blobs, nbytes)
        return all(out[i * nbytes : (i + 1) * nbytes] == bytes([i]) * nbytes for i in range(64))

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(decode, range(64)))
