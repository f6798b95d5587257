"""Faults that the test HTTP servers inject, and the seeded plan that picks the requests hit.

A :class:`Fault` names a kind of failure, the share of requests that get it and which keys it
applies to. A :class:`FaultPlan` draws for each request, from the seed and the request itself
(method, key, range and how often that same request was seen before), so a run is reproducible
however concurrent clients interleave, and a retried request gets a fresh draw.
"""

from __future__ import annotations

import fnmatch
import random
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

FaultKind = Literal["503", "429", "reset", "truncate", "slow", "lose-put", "checksum"]
#: What each kind does to a request it hits.
FAULT_KINDS: dict[FaultKind, str] = {
    "503": "answer 503 SlowDown with Retry-After (nothing is written)",
    "429": "answer 429 TooManyRequests with Retry-After (nothing is written)",
    "reset": "reset the connection before answering (nothing is written)",
    "truncate": "send the full Content-Length but half the body, then close (GET only)",
    "slow": "wait the slow delay before answering (past a client's timeout)",
    "lose-put": "apply a successful PUT, then reset the connection instead of answering",
    "checksum": "answer 400 BadDigest, as S3 does for a body damaged in transfer (nothing written)",
}
_METHODS: dict[FaultKind, frozenset[str]] = {
    "truncate": frozenset({"GET"}),
    "lose-put": frozenset({"PUT"}),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Fault:
    """One kind of fault, injected into a share ``rate`` of the requests whose key matches ``keys``.

    ``keys`` is a glob on the request's key (the URL path without its leading ``/``), e.g.
    ``"*/c/*"`` for the chunks of Zarr v3 arrays. ``truncate`` hits GETs only and ``lose-put``
    PUTs only; the other kinds hit any method.

    Examples
    --------
    >>> Fault.parse("503:0.15:*/c/*")
    Fault(kind='503', rate=0.15, keys='*/c/*')
    """

    kind: FaultKind
    rate: float
    keys: str = "*"

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"fault kind {self.kind!r}: expected one of {list(FAULT_KINDS)}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault {self.kind!r}: rate {self.rate} is not within [0, 1]")

    @classmethod
    def parse(cls, text: str) -> Fault:
        """A fault from ``KIND:RATE[:GLOB]``, the command-line form."""
        kind, _, rest = text.partition(":")
        rate, _, keys = rest.partition(":")
        try:
            value = float(rate)
        except ValueError:
            raise ValueError(f"fault {text!r}: expected KIND:RATE[:GLOB], e.g. 503:0.1") from None
        return cls(kind=kind, rate=value, keys=keys or "*")  # type: ignore[arg-type]

    def to_text(self) -> str:
        """The ``KIND:RATE:GLOB`` form that :meth:`parse` reads."""
        return f"{self.kind}:{self.rate}:{self.keys}"

    def applies(self, method: str, key: str) -> bool:
        methods = _METHODS.get(self.kind)
        in_scope = methods is None or method in methods
        return in_scope and fnmatch.fnmatchcase(key, self.keys)


class FaultPlan:
    """Chooses the fault (or none) for each request, reproducibly from ``seed``.

    The rates of the faults that apply to one request are stacked on one draw, so they must
    add up to at most 1 (``503`` at 0.15 and ``truncate`` at 0.15 fail 30% of chunk GETs).
    """

    def __init__(self, faults: Sequence[Fault], seed: int) -> None:
        total = sum(f.rate for f in faults)
        if total > 1.0 + 1e-9:
            raise ValueError(f"fault rates add up to {total:g}; at most 1 is possible")
        self.faults, self.seed = tuple(faults), seed
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()

    def choose(self, method: str, key: str, byte_range: str = "") -> Fault | None:
        """The fault for this request, or None; each repeat of a request draws anew."""
        matching = [f for f in self.faults if f.applies(method, key)]
        if not matching:
            return None
        request = f"{method} {key} {byte_range}"
        with self._lock:
            attempt = self._seen[request]
            self._seen[request] += 1
        draw = random.Random(f"{self.seed}\0{request}\0{attempt}").random()
        for fault in matching:
            if draw < fault.rate:
                return fault
            draw -= fault.rate
        return None
