"""The interop matrix: zarrkit against zarr-python 3.1.6, zarr-python 2.18.7 and tensorstore.

(a) a peer writes, the subject reads: values, the array's attributes, and the metadata
    document as stored (codecs JSON included; equal up to the defaults a writer may omit,
    see ``docs.normalize_doc``: zarr-python 3 itself does not echo codecs verbatim);
(b) the subject writes, a peer reads: values and the metadata the peer reports;
(c) where the specs fix the bytes, the subject stores the same files as zarr-python 3.
``INTEROP_SUBJECT=zarr3`` runs the matrix with zarr-python 3 as the subject (see subject.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from . import peers
from .cases import Case, expected_data, expected_doc, reader_pairs, same_bytes_cases, writer_pairs
from .checks import assert_doc_equal, assert_values_equal, same_json
from .docs import normalize_doc, stored_doc, stored_files
from .subject import require_subject, subject

require_subject()
SUBJECT = subject()
METADATA_FILES = {"zarr.json", ".zarray", ".zattrs"}


def _skip_if_subject_cannot(case: Case, role: str) -> None:
    reason = SUBJECT.limitation(case, role)
    if reason:
        pytest.skip(f"{SUBJECT.name} as subject: {reason}")


def _pair_id(pair: tuple[str, Case]) -> str:
    return f"{pair[0]}:{pair[1].id}"


@pytest.mark.parametrize(
    ("peer", "case"), writer_pairs(), ids=map(_pair_id, writer_pairs()), indirect=["peer"]
)
def test_peer_writes_subject_reads(peer: str, case: Case, workdir: Path) -> None:
    _skip_if_subject_cannot(case, "read")
    peers.write(peer, workdir, case)
    stored = normalize_doc(stored_doc(workdir))
    assert_doc_equal(stored, expected_doc(case), where=f"{peer} stored for {case.id}")
    values, doc = SUBJECT.read(workdir, case)
    where = f"{SUBJECT.name} reading {peer}'s {case.id}"
    assert_values_equal(values, expected_data(case), where=where)
    assert_doc_equal(normalize_doc(doc), stored, where=where)


@pytest.mark.parametrize(
    ("peer", "case"), reader_pairs(), ids=map(_pair_id, reader_pairs()), indirect=["peer"]
)
def test_subject_writes_peer_reads(peer: str, case: Case, workdir: Path) -> None:
    _skip_if_subject_cannot(case, "write")
    SUBJECT.write(workdir, case)
    want = expected_doc(case)
    assert_doc_equal(
        normalize_doc(stored_doc(workdir)), want, where=f"{SUBJECT.name} stored {case.id}"
    )
    values, doc = peers.read(peer, workdir)
    assert_values_equal(
        values, expected_data(case), where=f"{peer} reading {SUBJECT.name}'s {case.id}"
    )
    assert_doc_equal(doc, want, where=f"{peer} reading {SUBJECT.name}'s {case.id}")


def _comparable(case: Case, key: str, blob: bytes) -> bytes:
    """The blob with the bytes no spec fixes masked: a gzip member's MTIME and OS fields."""
    last = (case.compressors or ({},))[-1]
    if last.get("name", last.get("id")) == "gzip" and key.rsplit("/", 1)[-1] not in METADATA_FILES:
        return blob[:4] + b"\0\0\0\0" + blob[8:9] + b"\0" + blob[10:]
    return blob


@pytest.mark.parametrize("case", same_bytes_cases(), ids=lambda c: c.id)
def test_same_bytes_as_zarr_python(case: Case, workdir: Path) -> None:
    _skip_if_subject_cannot(case, "write")
    SUBJECT.write_as_zarr_python(workdir / "subject", case)
    peers.write("zarr3", workdir / "zarr3", case)
    got, want = stored_files(workdir / "subject"), stored_files(workdir / "zarr3")
    assert sorted(got) == sorted(want), f"{case.id}: stored keys differ"
    for key, blob in want.items():
        if key.rsplit("/", 1)[-1] in METADATA_FILES:
            mine, theirs = json.loads(got[key]), json.loads(blob)
            assert same_json(mine, theirs), f"{case.id}: {key} content differs:\n{mine}\n{theirs}"
        else:
            assert _comparable(case, key, got[key]) == _comparable(case, key, blob), (
                f"{case.id}: chunk {key} differs"
            )
