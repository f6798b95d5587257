"""``blosc``: Blosc 1 (shuffle + a fast compressor), via numcodecs.

Spec: https://zarr-specs.readthedocs.io/en/latest/v3/codecs/blosc/index.html
v3 name: ``blosc``; v2 id: ``blosc`` (``shuffle`` there is -1/0/1/2).
Config: ``{"name": "blosc", "configuration": {"typesize": 8, "cname": "zstd", "clevel": 5,
"shuffle": "shuffle", "blocksize": 0}}``

As in zarr-python, an unset ``typesize`` comes from the array's dtype and an unset
``shuffle`` is ``bitshuffle`` for 1-byte types and ``shuffle`` otherwise. Blosc's own
threads are off (:mod:`zarrkit.codecs.compression.blosc`): zarrkit decodes chunks in parallel.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, ClassVar, Self

from numcodecs.blosc import Blosc

from zarrkit.codecs.base import JSON, ChunkSpec
from zarrkit.codecs.compression import FORMATS, Compression
from zarrkit.codecs.compressor import NumcodecBytesBytes
from zarrkit.codecs.parse import parse_choice, parse_int


class BloscCname(StrEnum):
    """Blosc's compressors, as zarr-python names them (strings work too)."""

    lz4 = "lz4"
    lz4hc = "lz4hc"
    blosclz = "blosclz"
    zstd = "zstd"
    snappy = "snappy"
    zlib = "zlib"


class BloscShuffle(StrEnum):
    """Blosc's shuffles, as zarr-python names them (strings work too)."""

    noshuffle = "noshuffle"
    shuffle = "shuffle"
    bitshuffle = "bitshuffle"


CNAMES = tuple(BloscCname)
#: v3 shuffle names, indexed by their numcodecs/v2 number.
SHUFFLES = tuple(BloscShuffle)


@dataclass(frozen=True, slots=True, kw_only=True)
class BloscCodec(NumcodecBytesBytes):
    """Compress with Blosc.

    Examples
    --------
    >>> BloscCodec(cname="lz4", typesize=4, shuffle="shuffle").to_json()["configuration"]
    {'typesize': 4, 'cname': 'lz4', 'clevel': 5, 'shuffle': 'shuffle', 'blocksize': 0}
    >>> BloscCodec(cname="zstd", shuffle="bitshuffle").shuffle
    <BloscShuffle.bitshuffle: 'bitshuffle'>
    """

    name: ClassVar[str] = "blosc"
    codec_id: ClassVar[str] = "blosc"
    compression: ClassVar[Compression] = FORMATS["blosc"]
    typesize: int | None = None
    cname: BloscCname | str = "zstd"
    clevel: int = 5
    shuffle: BloscShuffle | str | None = None
    blocksize: int = 0
    numcodec: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.typesize is not None:
            parse_int(self.typesize, codec=self.name, field="typesize", lo=1)
        cname = parse_choice(self.cname, CNAMES, codec=self.name, field="cname")
        object.__setattr__(self, "cname", BloscCname(cname))  # as zarr-python: str enums
        parse_int(self.clevel, codec=self.name, field="clevel", lo=0, hi=9)
        if self.shuffle is not None:
            shuffle = parse_choice(self.shuffle, SHUFFLES, codec=self.name, field="shuffle")
            object.__setattr__(self, "shuffle", BloscShuffle(shuffle))
        parse_int(self.blocksize, codec=self.name, field="blocksize", lo=0)
        codec = Blosc(
            cname=self.cname,
            clevel=self.clevel,
            shuffle=SHUFFLES.index(self.shuffle or "bitshuffle"),
            blocksize=self.blocksize,
            typesize=self.typesize or 1,
        )
        object.__setattr__(self, "numcodec", codec)

    def to_json(self) -> dict[str, JSON]:
        configuration = {
            "typesize": self.typesize or 1,
            "cname": str(self.cname),
            "clevel": self.clevel,
            "shuffle": str(self.shuffle or "bitshuffle"),
            "blocksize": self.blocksize,
        }
        return {"name": self.name, "configuration": configuration}

    def evolve(self, spec: ChunkSpec) -> Self:
        itemsize = 1 if spec.dtype.kind in "OT" else spec.dtype.itemsize
        typesize = self.typesize or itemsize
        shuffle = self.shuffle or ("bitshuffle" if itemsize == 1 else "shuffle")
        if (typesize, shuffle) == (self.typesize, self.shuffle):
            return self
        return replace(self, typesize=typesize, shuffle=shuffle)
