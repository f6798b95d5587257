"""One module per measured library; each runs as ``python -m benchmarks.peers.<name>``.

:data:`PEERS` names them for ``benchmarks.run`` and ``benchmarks.memory``; this module
imports nothing else, so a process measuring one peer's memory loads no other library.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerSpec:
    module: str
    label: str
    variant: str = ""


PEERS = {
    "zarrkit": PeerSpec(module="zarrkit_peer", label="zarrkit"),
    "zp3": PeerSpec(module="zp3", label="zarr-python 3"),
    "zarrs": PeerSpec(module="zp3", label="zp3 + zarrs", variant="zarrs"),
    "zp2": PeerSpec(module="zp2", label="zarr-python 2.18"),
    "ts": PeerSpec(module="ts", label="tensorstore (fsync)"),
    "tsns": PeerSpec(module="ts", label="tensorstore no-fsync", variant="nosync"),
    "limit": PeerSpec(module="limit", label="limit (codec lib)"),
}
