import time
import uuid

import pytest
from optional import module_needs

module_needs("redis")

import redis

from zarrkit.errors import RetriesExhaustedError, StoreError
from zarrkit.storage import make_store
from zarrkit.storage.redis import RedisStore
from zarrkit.testing import StoreSuite
from zarrkit.types import RangeRequest, Versioned


class TestRedisStore(StoreSuite):
    @pytest.fixture
    def store(self, redis_url):
        store = RedisStore(redis_url, namespace=f"{uuid.uuid4().hex}/")
        yield store
        store.close()


def test_namespaces_are_separate(redis_url):
    a = RedisStore(redis_url, namespace="ns-a:")
    b = make_store(redis_url, storage_options={"namespace": "ns-b:"})
    assert isinstance(b, RedisStore)
    a.set("k", b"a")
    b.set("k", b"b")
    assert a.get("k") == b"a"
    assert list(b.list()) == ["k"]
    raw = RedisStore(redis_url)
    assert raw.get("ns-a:k") == b"a"
    b.delete_many(["k"])
    assert a.get("k") == b"a"
    a.delete("k")


def test_glob_characters_in_prefix_are_literal(redis_url):
    store = RedisStore(redis_url, namespace=f"{uuid.uuid4().hex}[*]?/")
    store.set_many({"a*/x": b"1", "ab/x": b"2", "a[b]/x": b"3"})
    assert list(store.list_prefix("a*/")) == ["a*/x"]
    assert list(store.list_prefix("a[b]/")) == ["a[b]/x"]
    assert sorted(store.list()) == ["a*/x", "a[b]/x", "ab/x"]


def test_unreachable_server_raises_store_error():
    store = RedisStore("redis://127.0.0.1:1/0", socket_connect_timeout=0.5, retry_attempts=2)
    with pytest.raises(StoreError) as info:
        store.get("c/0")
    assert info.value.key == "c/0"
    assert info.value.operation == "get"


# --- faults (issue 18) ------------------------------------------------------------------------
QUICK = {"retry_backoff": 0.001, "retry_max_backoff": 0.01}


def pause_server(url: str, seconds: float) -> None:
    """Hold every client's commands for ``seconds``, as an overloaded server would."""
    with redis.Redis.from_url(url) as admin:
        admin.client_pause(int(seconds * 1000))


def test_commands_that_time_out_are_tried_again(redis_url):
    store = RedisStore(
        redis_url, namespace=f"{uuid.uuid4().hex}/", socket_timeout=0.1, retry_backoff=0.05
    )
    store.set_many({"a": b"1", "b": b"2"})
    pause_server(redis_url, 0.4)
    start = time.monotonic()
    assert store.get("a") == b"1"
    assert time.monotonic() - start >= 0.3  # it waited the pause out
    pause_server(redis_url, 0.4)
    assert store.get("b", RangeRequest(0, 1)) == b"2"  # a transaction, built anew each try


def test_without_retries_a_timeout_is_a_typed_error(redis_url):
    store = RedisStore(
        redis_url, namespace=f"{uuid.uuid4().hex}/", socket_timeout=0.1, retry_attempts=1
    )
    store.set("a", b"1")
    pause_server(redis_url, 0.3)
    with pytest.raises(RetriesExhaustedError) as raised:
        store.get("a")
    assert (raised.value.key, raised.value.reason, raised.value.attempts) == ("a", "timeout", 1)
    time.sleep(0.3)


@pytest.mark.parametrize("applied", [True, False])
def test_a_set_if_whose_answer_was_lost_is_written_once(redis_url, monkeypatch, applied):
    store = RedisStore(redis_url, namespace=f"{uuid.uuid4().hex}/", **QUICK)
    old = store.set_if("k", b"old", if_match=None)
    real, calls = store.client.eval, []

    def lose_first_answer(*args):
        calls.append(args)
        if len(calls) > 1:
            return real(*args)
        if applied:
            real(*args)
        raise redis.ConnectionError("Connection closed by server.")

    monkeypatch.setattr(store.client, "eval", lose_first_answer)
    new = store.set_if("k", b"new", if_match=old)
    assert len(calls) == (1 if applied else 2)  # found written, or sent again
    assert store.get_versioned("k") == Versioned(b"new", new)


def test_redis_py_retries_are_refused(redis_url):
    with pytest.raises(ValueError, match="retry_"):
        RedisStore(redis_url, retry_on_error=[TimeoutError])
