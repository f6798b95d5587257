"""zarrkit reads every committed fixture: the values, the array's attributes, the metadata."""

from __future__ import annotations

import pytest

from .cases import expected_doc
from .checks import assert_doc_equal, assert_values_equal
from .docs import normalize_doc, stored_doc
from .fixture_tree import Fixture, fixtures
from .subject import require_subject, subject

require_subject()
SUBJECT = subject()
FIXTURES = fixtures()


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f.id)
def test_subject_reads_fixture(fixture: Fixture) -> None:
    reason = SUBJECT.limitation(fixture.case, "read")
    if reason:
        pytest.skip(f"{SUBJECT.name} as subject: {reason}")
    values, doc = SUBJECT.read(fixture.path, fixture.case)
    where = f"{SUBJECT.name} reading fixture {fixture.id}"
    assert_values_equal(values, fixture.expected(), where=where)
    assert_doc_equal(normalize_doc(doc), normalize_doc(stored_doc(fixture.path)), where=where)
    assert_doc_equal(normalize_doc(doc), expected_doc(fixture.case), where=where)
