"""The implementation under test: zarrkit, or zarr-python 3 for a dry run of the harness.

``INTEROP_SUBJECT=zarr3 pytest tests/interop`` puts zarr-python 3 in zarrkit's place (same
``create_array``/``open_array`` names), which proves the matrix before zarrkit exists and
whenever the harness changes. The two differ only in what ``Subject`` abstracts.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from .cases import Case, unsupported
from .checks import same_json
from .docs import Doc, fill_to_json, plain_json
from .peers import create_and_fill, zarr3_create_kwargs

NAME = os.environ.get("INTEROP_SUBJECT", "zarrkit")


def require_subject() -> None:
    """Skip the calling test module while zarrkit has no array API (the lead removes this)."""
    if NAME == "zarrkit":
        import zarrkit

        if not hasattr(zarrkit, "create_array"):
            pytest.skip("zarrkit array API not available yet", allow_module_level=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class Subject:
    name: str
    module: ModuleType

    def create_kwargs(self, case: Case) -> dict[str, Any]:
        # zarrkit takes codecs as metadata JSON; zarr-python 3 wants numcodecs objects for v2.
        return case.create_kwargs() if self.name == "zarrkit" else zarr3_create_kwargs(case)

    def metadata_json(self, array: Any) -> Doc:
        doc: Doc = array.metadata.to_json() if self.name == "zarrkit" else array.metadata.to_dict()
        return doc

    def attribute(self, array: Any, name: str) -> Any:
        if self.name == "zarrkit" or hasattr(array, name):
            return getattr(array, name)
        # zarr-python 3 keeps zarr_format and dimension_names on the metadata only.
        return getattr(array.metadata, name, None)

    def limitation(self, case: Case, role: str) -> str | None:
        """Why a peer standing in as the subject cannot ``role`` the case (zarrkit: never)."""
        return None if self.name == "zarrkit" else unsupported(self.name, case, role)

    def write(self, path: Path, case: Case) -> None:
        create_and_fill(self.module.create_array, path, self.create_kwargs(case), case)

    def write_as_zarr_python(self, path: Path, case: Case) -> None:
        """:meth:`write` with the encoders that promise zarr-python's bytes (zarrkit's
        default ones write other valid gzip streams and zstd frames; the matrix checks
        that every peer reads those)."""
        if self.name != "zarrkit":
            return self.write(path, case)
        with self.module.config.set(encoders="numcodecs"):
            return self.write(path, case)

    def read(self, path: Path, case: Case) -> tuple[np.ndarray, Doc]:
        """Values and the metadata document as the subject serializes it (attributes merged).

        Also checks the array's own attributes (shape, chunks, fill_value ...) against ``case``.
        """
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            array = self.module.open_array(str(path), mode="r")
            values = np.asarray(array[...])
        self._check_attributes(array, case)
        return values, plain_json({**self.metadata_json(array), "attributes": dict(array.attrs)})

    def _check_attributes(self, array: Any, case: Case) -> None:
        names = self.attribute(array, "dimension_names")
        got = {
            "shape": tuple(array.shape),
            "chunks": tuple(array.chunks),
            "shards": self.attribute(array, "shards"),
            "zarr_format": self.attribute(array, "zarr_format"),
            "dtype": np.dtype(array.dtype).newbyteorder("=").str,
            "fill_value": fill_to_json(array.fill_value, case.numpy_dtype),
            "attrs": dict(array.attrs),
            "dimension_names": tuple(names) if names is not None else None,
        }
        want = {
            "shape": case.shape,
            "chunks": case.read_chunks,
            "shards": case.shards,
            "zarr_format": case.zarr_format,
            "dtype": case.numpy_dtype.newbyteorder("=").str,
            "fill_value": case.fill_value,
            "attrs": case.attributes or {},
            "dimension_names": case.dimension_names,
        }
        wrong = {k: (got[k], want[k]) for k in got if not same_json(got[k], want[k])}
        assert not wrong, f"{self.name} array attributes (got, expected): {wrong}"


def subject() -> Subject:
    """The subject selected by ``INTEROP_SUBJECT`` (default zarrkit)."""
    if NAME == "zarrkit":
        import zarrkit

        return Subject(name=NAME, module=zarrkit)
    if NAME == "zarr3":
        import zarr

        return Subject(name=NAME, module=zarr)
    raise ValueError(f"INTEROP_SUBJECT={NAME!r}: expected 'zarrkit' or 'zarr3'")
