"""Why the single-threaded moto fixture exists, and the fault proxy in front of it.

moto's usual server is threaded and checks ``If-Match`` / ``If-None-Match`` apart from the
write, so racing conditional PUTs can both succeed; on one thread each request runs alone and
exactly one wins, as on S3. A test of conditional writes needs the single-threaded server.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from optional import module_needs

module_needs("obstore", "moto")

import numpy as np
import obstore
import obstore.exceptions
import obstore.store
import pytest

import zarrkit
from zarrkit.errors import StoreError
from zarrkit.testing.fault_proxy import FaultProxy
from zarrkit.testing.faults import Fault

from .servers import fast_retry, s3_bucket

WRITERS = 8
# Large bodies widen the window between moto's check and its write (hashing, copying).
BODY = 8 << 20


def store_for(endpoint: str) -> obstore.store.S3Store:
    bucket, options = s3_bucket(endpoint, f"race-{uuid.uuid4().hex[:12]}")
    client = {"allow_http": options.pop("allow_http")}
    options.pop("endpoint")
    return obstore.store.S3Store(bucket, endpoint=endpoint, client_options=client, **options)


def race(store: obstore.store.S3Store, key: str, mode: Any) -> int:
    """How many of WRITERS concurrent conditional PUTs of ``key`` succeed."""
    barrier = threading.Barrier(WRITERS)

    def put(i: int) -> bool:
        body = bytes([i]) * BODY
        barrier.wait()
        try:
            obstore.put(store, key, body, mode=mode)
        except (obstore.exceptions.PreconditionError, obstore.exceptions.AlreadyExistsError):
            return False
        return True

    with ThreadPoolExecutor(WRITERS) as pool:
        return sum(pool.map(put, range(WRITERS)))


def update_race(store: obstore.store.S3Store, trial: int) -> int:
    key = f"update/{trial}"
    version = obstore.put(store, key, b"base")
    return race(store, key, {"e_tag": version["e_tag"]})


def test_threaded_moto_lets_racing_conditional_puts_both_succeed(moto_server: str) -> None:
    store = store_for(moto_server)
    winners = []
    for trial in range(20):  # about half of the trials show it on this machine; stop at one
        winners += [race(store, f"create/{trial}", "create"), update_race(store, trial)]
        if max(winners) > 1:
            break
    assert max(winners) > 1, f"no lost update seen in {len(winners)} races: {winners}"


def test_single_threaded_moto_lets_exactly_one_win(moto_single_server: str) -> None:
    store = store_for(moto_single_server)
    for trial in range(4):
        assert race(store, f"create/{trial}", "create") == 1
        assert update_race(store, trial) == 1


def test_single_threaded_moto_conditional_semantics(moto_single_server: str) -> None:
    store = store_for(moto_single_server)
    first = obstore.put(store, "k", b"one")
    with pytest.raises(obstore.exceptions.AlreadyExistsError):
        obstore.put(store, "k", b"two", mode="create")
    with pytest.raises(obstore.exceptions.PreconditionError):
        obstore.put(store, "k", b"two", mode={"e_tag": '"stale"'})
    with pytest.raises(obstore.exceptions.PreconditionError):  # 404 NoSuchKey on S3
        obstore.put(store, "absent", b"two", mode={"e_tag": first["e_tag"]})
    second = obstore.put(store, "k", b"two", mode={"e_tag": first["e_tag"]})
    with pytest.raises(obstore.exceptions.PreconditionError):
        obstore.get(store, "k", options={"if_match": first["e_tag"], "range": (0, 1)})
    ranged = obstore.get(store, "k", options={"if_match": second["e_tag"], "range": (0, 2)})
    assert bytes(ranged.bytes()) == b"tw"


def test_zarrkit_through_the_fault_proxy(s3_fault_proxy: tuple[FaultProxy, str, dict]) -> None:
    proxy, bucket, options = s3_fault_proxy
    options = {**options, "retry_config": fast_retry(2)}
    data = np.arange(64, dtype="int32").reshape(8, 8)
    url = f"s3://{bucket}/a"
    zarrkit.create_array(url, data=data, chunks=(4, 4), storage_options=options)
    assert proxy.stats().requests["PUT"] == 5  # zarr.json and 4 chunks
    array = zarrkit.open_array(url, mode="r", storage_options=options)
    proxy.configure(faults=[Fault(kind="503", rate=1.0, keys="*/c/*")])
    with pytest.raises(StoreError, match="503"):
        array[...]
    proxy.configure(faults=[])
    np.testing.assert_array_equal(array[...], data)


def test_obstore_resends_only_unconditional_puts_after_a_lost_response(
    s3_fault_proxy: tuple[FaultProxy, str, dict],
) -> None:
    """A conditional PUT whose response is lost is not sent again (it could fail its own
    precondition): obstore raises although the write was applied. Issue 18 must resolve it."""
    proxy, bucket, options = s3_fault_proxy
    client = {"allow_http": options.pop("allow_http")}
    retry = fast_retry(2)
    store = obstore.store.S3Store(bucket, client_options=client, retry_config=retry, **options)
    version = obstore.put(store, "k", b"one")
    proxy.configure(faults=[Fault(kind="lose-put", rate=1.0)])
    proxy.reset_stats()
    with pytest.raises(obstore.exceptions.GenericError, match="error sending request"):
        obstore.put(store, "k", b"two", mode={"e_tag": version["e_tag"]})
    assert proxy.stats().requests == {"PUT": 1}
    proxy.reset_stats()
    with pytest.raises(obstore.exceptions.GenericError, match="after 2 retries"):
        obstore.put(store, "k", b"three")
    assert proxy.stats().requests == {"PUT": 3}
    proxy.configure(faults=[])
    assert bytes(obstore.get(store, "k").bytes()) == b"three"
