import pytest

from zarrkit.storage import MemoryStore
from zarrkit.testing import StoreSuite


class TestMemoryStore(StoreSuite):
    shares_data_when_pickled = False

    @pytest.fixture
    def store(self):
        yield MemoryStore()


def test_shared_dict_is_visible():
    data = {}
    store = MemoryStore(data)
    store.set("a/b", b"1")
    assert data == {"a/b": b"1"}
