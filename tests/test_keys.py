"""Store keys: the batch check agrees with the check of each key alone."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zarrkit.errors import InvalidKeyError
from zarrkit.keys import validate_key, validate_keys

BAD = ["", "/a", "a/", "a//b", ".", "..", "a/./b", "a/../b", "./a", "a/..", "C:/x", "a\\b", "a\x00"]
GOOD = ["a", "c/0/1", "a.b/..c/d..", "ab:c", "1:x", "a\nb", "...", "a/.zarray", "é/ü"]


def _valid(key: object) -> bool:
    try:
        validate_key(key)  # type: ignore[arg-type]
    except InvalidKeyError:
        return False
    return True


@pytest.mark.parametrize("bad", [*BAD, 3, None])
def test_one_bad_key_in_a_batch_raises_naming_it(bad: object) -> None:
    with pytest.raises(InvalidKeyError) as info:
        validate_keys(["c/0/0", bad, "c/0/1"])  # type: ignore[list-item]
    assert repr(bad) in str(info.value) or not bad


def test_good_batches_pass() -> None:
    validate_keys(GOOD)
    validate_keys([])
    validate_keys([f"c/{i}/{j}" for i in range(40) for j in range(40)])


KEYS = st.one_of(st.sampled_from(BAD + GOOD), st.text(alphabet="aC/.:\\\n\x00", max_size=6))


@given(st.lists(KEYS))
def test_batch_check_agrees_with_each_key(keys: list[str]) -> None:
    if all(_valid(k) for k in keys):
        validate_keys(keys)
    else:
        with pytest.raises(InvalidKeyError):
            validate_keys(keys)
