"""``CodecSuite``: the conformance tests every codec passes, shipped for plugin authors.

Subclass it in a pytest module (the class name must start with ``Test``) and say which
pipeline to test::

    class TestMyCodec(CodecSuite):
        codecs = [{"name": "bytes"}, MyCodec(level=3)]
        dtypes = ("int32", "float64")          # optional: the types the codec supports

A v2 pipeline is tested by setting ``v2 = (filters, compressor)`` instead of ``codecs``.
Each test checks every dtype and shape: round trips (also from non-contiguous input and
into non-contiguous output), the JSON round trip, corrupt input raising
:class:`~zarrkit.errors.CodecError` that names the chunk key, and concurrent use.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar, Literal

import numpy as np

from zarrkit.codecs import ChunkSpec, CodecPipeline, get_codec
from zarrkit.codecs.base import evolve_all
from zarrkit.errors import CodecError

KEY = "c/1/2"


def sample(dtype: np.dtype[Any], shape: tuple[int, ...], seed: int = 0) -> np.ndarray[Any, Any]:
    """Compressible test data of ``dtype``, exact through lossy filters (quarter-integers)."""
    rng = np.random.default_rng(seed)
    if dtype.kind == "b":
        return rng.random(shape) > 0.5
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(max(info.min, -1000), min(info.max, 1000), shape).astype(dtype)
    values = rng.integers(-50, 50, shape) / 4
    if dtype.kind == "c":
        values = values + 1j * rng.integers(-50, 50, shape) / 4
    return values.astype(dtype)


class CodecSuite:
    """Conformance tests for one codec pipeline; see the module docstring."""

    #: The v3 codec list (JSON, codecs or numcodecs codecs).
    codecs: ClassVar[Sequence[Any]] = ()
    #: ``(filters, compressor)`` to test a v2 pipeline instead.
    v2: ClassVar[tuple[Sequence[Any] | None, Any] | None] = None
    order: ClassVar[Literal["C", "F"]] = "C"
    dtypes: ClassVar[Sequence[str]] = ("bool", "uint8", "int16", "int32", "uint64", "float32")
    shapes: ClassVar[Sequence[tuple[int, ...]]] = ((13,), (5, 7), (2, 3, 4))

    def make_pipeline(self, spec: ChunkSpec) -> CodecPipeline:
        if self.v2 is not None:
            return CodecPipeline.from_v2(self.v2[0], self.v2[1], spec)
        return CodecPipeline.from_v3(self.codecs, spec)

    def cases(self) -> Iterator[tuple[CodecPipeline, np.ndarray[Any, Any]]]:
        for dtype in self.dtypes:
            for shape in self.shapes:
                spec = ChunkSpec(shape=shape, dtype=np.dtype(dtype), fill_value=0, order=self.order)
                yield self.make_pipeline(spec), sample(spec.dtype, shape)

    def test_round_trip(self) -> None:
        for pipeline, data in self.cases():
            where = f"{data.dtype} {data.shape}"
            for chunk in (data, np.asfortranarray(data), _strided(data)):
                decoded = pipeline.decode(pipeline.encode(chunk), key=KEY)
                assert decoded.dtype == pipeline.spec.dtype, where
                assert decoded.shape == data.shape, where
                np.testing.assert_array_equal(decoded, data, err_msg=where)
                decoded[...] = data  # decoded chunks are writable
            blob = pipeline.encode(data)
            for out in _outputs(data):
                pipeline.decode_into(blob, out, key=KEY)
                np.testing.assert_array_equal(out, data, err_msg=where)

    def test_json_round_trip(self) -> None:
        for pipeline, _ in self.cases():
            if self.v2 is not None:
                filters, compressor = json.loads(json.dumps(pipeline.to_v2_json()))
                again = CodecPipeline.from_v2(filters, compressor, pipeline.spec)
                assert again.to_v2_json() == pipeline.to_v2_json()
                continue
            document = json.loads(json.dumps(pipeline.to_v3_json()))
            codecs = evolve_all([get_codec(entry) for entry in document], pipeline.spec)
            for codec, entry, reread in zip(pipeline.codecs, document, codecs, strict=True):
                assert reread == codec, entry
            assert CodecPipeline.from_v3(document, pipeline.spec).to_v3_json() == document

    def test_corrupt_input_raises(self) -> None:
        for pipeline, data in self.cases():
            blob = bytes(pipeline.encode(data))
            for bad in self.corruptions(blob):
                try:
                    pipeline.decode(bad, key=KEY)
                except CodecError as e:
                    assert KEY in str(e), e
                else:
                    raise AssertionError(f"{data.dtype} {data.shape}: decoded corrupt {bad!r}")

    def corruptions(self, blob: bytes) -> list[bytes]:
        """Blobs that must not decode (extend for codecs that detect more)."""
        return [b"", blob[:-1], blob[: len(blob) // 2], blob + b"garbage!"]

    def test_wrong_size_raises(self) -> None:
        for pipeline, data in self.cases():
            bigger = np.concatenate([data, data[:1]])
            spec = ChunkSpec(shape=bigger.shape, dtype=data.dtype, fill_value=0, order=self.order)
            blob = self.make_pipeline(spec).encode(bigger)
            try:
                pipeline.decode(blob, key=KEY)
            except CodecError:
                continue
            raise AssertionError(f"{data.dtype} {data.shape}: decoded a chunk of {bigger.shape}")

    def test_threads(self) -> None:
        for pipeline, data in list(self.cases())[:3]:
            chunks = [np.roll(data, i) for i in range(24)]
            blobs = [bytes(pipeline.encode(c)) for c in chunks]
            with ThreadPoolExecutor(4) as pool:
                same = pool.map(_same_both_ways, [pipeline] * len(chunks), chunks, blobs)
                assert all(same), f"{data.dtype} {data.shape}: threads disagree"


def _same_both_ways(pipeline: CodecPipeline, chunk: np.ndarray[Any, Any], blob: bytes) -> bool:
    """Whether ``chunk`` encodes to ``blob`` and ``blob`` decodes to ``chunk``."""
    same_blob = bytes(pipeline.encode(chunk)) == blob
    return same_blob and np.array_equal(pipeline.decode(blob), chunk)


def _strided(data: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """A non-contiguous view holding a copy of ``data``."""
    wide = np.zeros((*data.shape[:-1], data.shape[-1] * 2), data.dtype)
    view = wide[..., ::2]
    view[...] = data
    return view


def _outputs(data: np.ndarray[Any, Any]) -> list[np.ndarray[Any, Any]]:
    """Zeroed output arrays of every layout: C, F and a strided view."""
    zeros = np.zeros_like(data)
    return [zeros.copy(order="C"), zeros.copy(order="F"), _strided(zeros)]
