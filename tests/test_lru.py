"""The byte-budgeted LRU map both caches keep their entries in."""

from zarrkit.lru import LRUBytes


def test_least_recently_used_go_first_past_the_budget() -> None:
    lru: LRUBytes[str, bytes] = LRUBytes(len)
    assert lru.put("a", b"12", 5) == [] and lru.put("b", b"34", 5) == []
    assert lru.get("a") == b"12"  # now "b" is the least recently used
    assert lru.put("c", b"56", 5) == [("b", b"34")]
    assert (lru.get("b"), lru.nbytes, len(lru)) == (None, 4, 2)
    assert (lru.hits, lru.misses) == (1, 1)


def test_an_entry_over_the_budget_is_not_kept_and_a_replaced_one_is_reweighed() -> None:
    lru: LRUBytes[str, bytes] = LRUBytes(len)
    assert lru.put("big", b"123456", 5) == [] and len(lru) == 0
    lru.put("a", b"1234", 5)
    lru.put("a", b"1", 5)
    assert lru.nbytes == 1
    lru.discard("a")
    lru.discard("absent")
    assert (lru.nbytes, len(lru)) == (0, 0)
