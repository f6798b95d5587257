"""``gzip``: DEFLATE in a gzip container.

Spec: https://zarr-specs.readthedocs.io/en/latest/v3/codecs/gzip/index.html
v3 name: ``gzip``; v2 id: ``gzip``.
Config: ``{"name": "gzip", "configuration": {"level": 5}}``

Encoded with zlib (numcodecs' header with a zero timestamp, so chunks are reproducible),
decoded with isal when installed; see :mod:`zarrkit.codecs.compression.deflate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numcodecs

from zarrkit.codecs.base import JSON
from zarrkit.codecs.compression import FORMATS, Compression
from zarrkit.codecs.compressor import NumcodecBytesBytes
from zarrkit.codecs.parse import parse_int


@dataclass(frozen=True, slots=True, kw_only=True)
class GzipCodec(NumcodecBytesBytes):
    """Compress with gzip at ``level`` 0-9.

    Examples
    --------
    >>> GzipCodec(level=1).to_json()
    {'name': 'gzip', 'configuration': {'level': 1}}
    """

    name: ClassVar[str] = "gzip"
    codec_id: ClassVar[str] = "gzip"
    compression: ClassVar[Compression] = FORMATS["gzip"]
    level: int = 5
    numcodec: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parse_int(self.level, codec=self.name, field="level", lo=0, hi=9)
        object.__setattr__(self, "numcodec", numcodecs.GZip(level=self.level))

    def to_json(self) -> dict[str, JSON]:
        return {"name": self.name, "configuration": {"level": self.level}}
