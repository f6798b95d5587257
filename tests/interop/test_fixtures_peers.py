"""The committed fixture tree is sound: intact, as its manifest says, read back by every peer."""

from __future__ import annotations

import pytest

from . import peers
from .cases import PEERS, expected_data, expected_doc, peers_for
from .checks import assert_doc_equal, assert_values_equal
from .docs import normalize_doc, stored_doc
from .fixture_tree import DATA, Fixture, fixtures

FIXTURES = fixtures()
READS = [(peer, f) for f in FIXTURES for peer in peers_for(f.case, "read")]


def test_tree_is_small_and_covers_every_peer() -> None:
    size = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file())
    assert size < 2 * 1024 * 1024, f"fixture tree is {size} bytes, expected < 2 MiB"
    assert 30 <= len(FIXTURES) <= 60, f"{len(FIXTURES)} fixtures, expected 30-60"
    by_peer = {peer: sum(f.peer == peer for f in FIXTURES) for peer in PEERS}
    assert min(by_peer.values()) >= 10, f"fixtures per peer: {by_peer}"
    assert len({f.id for f in FIXTURES}) == len(FIXTURES), "duplicate fixture ids"


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f.id)
def test_files_match_manifest(fixture: Fixture) -> None:
    assert fixture.digests() == fixture.files, (
        f"{fixture.path} differs from manifest.json; regenerate?"
    )


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f.id)
def test_stored_as_the_case_says(fixture: Fixture) -> None:
    where = f"fixture {fixture.id}"
    assert_doc_equal(
        normalize_doc(stored_doc(fixture.path)), expected_doc(fixture.case), where=where
    )
    assert_values_equal(
        fixture.expected(), expected_data(fixture.case), where=f"{where} expected.npy vs generator"
    )


@pytest.mark.parametrize(
    ("peer", "fixture"), READS, ids=[f"{p}<-{f.id}" for p, f in READS], indirect=["peer"]
)
def test_peer_reads_fixture(peer: str, fixture: Fixture) -> None:
    values, doc = peers.read(peer, fixture.path)
    where = f"{peer} reading fixture {fixture.id}"
    assert_values_equal(values, fixture.expected(), where=where)
    assert_doc_equal(doc, expected_doc(fixture.case), where=where)
