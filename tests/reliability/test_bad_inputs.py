"""G6: the bad-input corpus (:mod:`reliability.corpus`), each case in a child process with
a memory limit and a timeout, must end in its typed error with nothing written.

The figures (cases tried, crashes, hangs, peak memory) are printed at the end of the run.
"""

from __future__ import annotations

import pytest

from reliability.conftest import record
from reliability.corpus import CASES, FUZZ, GAPS
from reliability.sandbox import run_cases, summary

pytestmark = pytest.mark.slow  # hundreds of child processes


def test_corpus_is_large_and_covers_every_group() -> None:
    groups = {case.group for case in CASES if case.id not in GAPS}
    assert len(CASES) - len(GAPS) >= 90
    assert groups == set("ABCDEFGH")


def test_every_bad_input_raises_its_typed_error_and_writes_nothing() -> None:
    ids = [case.id for case in CASES if case.id not in GAPS]
    outcomes = run_cases(ids)
    record("bad inputs", summary(outcomes))
    failed = [o for o in outcomes if o.status != "ok"]
    assert not failed, "\n".join(f"{o.id}: {o.status} {o.error} {o.message}" for o in failed)


def test_mutated_chunks_never_crash_hang_or_raise_outside_codec_errors() -> None:
    outcomes = run_cases([case.id for case in FUZZ])
    record("fuzzed chunks", summary(outcomes))
    failed = [o for o in outcomes if o.status not in ("ok", "no-error")]
    assert not failed, "\n".join(f"{o.id}: {o.status} {o.error} {o.message}" for o in failed)


def test_known_gaps_still_fail() -> None:
    # When one of these passes, the gap is fixed: remove it from corpus.GAPS.
    if not GAPS:
        pytest.skip("no known gaps: every case of the corpus passes")
    assert set(GAPS) <= {case.id for case in CASES}, "GAPS names cases that do not exist"
    outcomes = run_cases(sorted(GAPS))
    fixed = [o.id for o in outcomes if o.status == "ok"]
    assert not fixed, f"fixed, remove from GAPS: {fixed}"


def test_harness_reports_each_kind_of_failure() -> None:
    expected = {
        "harness-ok": "ok",
        "harness-crash": "crash",
        "harness-timeout": "timeout",
        "harness-hang-in-c": "timeout",
        "harness-memory-limit": "ok",  # MemoryError under the limit, not a swap storm
        "harness-wrote": "wrote",
        "harness-wrong-error": "wrong-error",
        "harness-no-error": "no-error",
    }
    # the cases after a crash or a hang run in a new child, so none is lost
    outcomes = run_cases(list(expected), timeout=1, grace=1)
    assert {o.id: o.status for o in outcomes} == expected
