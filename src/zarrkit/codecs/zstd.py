"""``zstd``: Zstandard compression.

Spec: https://github.com/zarr-developers/zarr-extensions/tree/main/codecs/zstd
v3 name: ``zstd``; v2 id: ``zstd``.
Config: ``{"name": "zstd", "configuration": {"level": 0, "checksum": false}}``

Encoded with numcodecs (the bytes zarr-python writes), decoded with ``zstandard`` when
installed, straight into the output array; see :mod:`zarrkit.codecs.compression.zstd`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numcodecs

from zarrkit.codecs.base import JSON
from zarrkit.codecs.compression import FORMATS, Compression
from zarrkit.codecs.compressor import NumcodecBytesBytes
from zarrkit.codecs.parse import parse_bool, parse_int

#: zstd's negative "fast" levels go down to -(1 << 17); 22 is the strongest.
MIN_LEVEL, MAX_LEVEL = -(1 << 17), 22


@dataclass(frozen=True, slots=True, kw_only=True)
class ZstdCodec(NumcodecBytesBytes):
    """Compress with Zstandard at ``level``, with an optional content checksum.

    Examples
    --------
    >>> ZstdCodec(level=3).to_json()
    {'name': 'zstd', 'configuration': {'level': 3, 'checksum': False}}
    """

    name: ClassVar[str] = "zstd"
    codec_id: ClassVar[str] = "zstd"
    compression: ClassVar[Compression] = FORMATS["zstd"]
    level: int = 0
    checksum: bool = False
    numcodec: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parse_int(self.level, codec=self.name, field="level", lo=MIN_LEVEL, hi=MAX_LEVEL)
        parse_bool(self.checksum, codec=self.name, field="checksum")
        codec = numcodecs.Zstd(level=self.level, checksum=self.checksum)
        object.__setattr__(self, "numcodec", codec)

    def to_json(self) -> dict[str, JSON]:
        return {
            "name": self.name,
            "configuration": {"level": self.level, "checksum": self.checksum},
        }
