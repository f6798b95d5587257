from tests.storage.test_arrays_on_backends import *  # noqa

def test_dbg():
    inner, keys = _memory_array(LAYOUTS["v3"])
    print(keys)
    store = FaultInjectionStore(inner, probability=0.3, seed=1, keys=keys)
    array = zarrkit.open_array(store, path="a", mode="r")
    print("after open", store.faults, dict(store.injected.calls), dict(store.stats.calls))
    assert 0
