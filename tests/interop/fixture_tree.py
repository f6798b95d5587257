"""The committed fixture tree (tests/fixtures/data, written by tests/fixtures/generate.py)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cases import Case
from .docs import stored_files

DATA = Path(__file__).resolve().parents[1] / "fixtures" / "data"


@dataclass(frozen=True, slots=True, kw_only=True)
class Fixture:
    peer: str
    path: Path
    case: Case
    files: dict[str, str]  # relative key -> SHA-256

    @property
    def id(self) -> str:
        return f"{self.peer}:{self.case.id}"

    def expected(self) -> np.ndarray:
        return np.load(self.path / "expected.npy")

    def digests(self) -> dict[str, str]:
        return {
            key: hashlib.sha256(blob).hexdigest() for key, blob in stored_files(self.path).items()
        }


def load_manifest() -> dict[str, object]:
    manifest: dict[str, object] = json.loads((DATA / "manifest.json").read_text())
    return manifest


def fixtures() -> list[Fixture]:
    entries = load_manifest()["arrays"]
    assert isinstance(entries, list)
    return [
        Fixture(
            peer=e["peer"], path=DATA / e["path"], case=Case.from_json(e["case"]), files=e["files"]
        )
        for e in entries
    ]
