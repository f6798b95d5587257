import uuid

import pytest
from optional import module_needs

module_needs("redis")

from zarrkit.errors import StoreError
from zarrkit.storage import make_store
from zarrkit.storage.redis import RedisStore
from zarrkit.testing import StoreSuite


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
    store = RedisStore("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    with pytest.raises(StoreError) as info:
        store.get("c/0")
    assert info.value.key == "c/0"
    assert info.value.operation == "get"
