"""The retry policy and loop, and batches that stop at their first failure (zarrkit.retry)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from zarrkit import config, retry, telemetry
from zarrkit.errors import PartialWriteError, RetriesExhaustedError, StoreError
from zarrkit.read_modify_write import write_in_steps
from zarrkit.retry import RetryPolicy

FAST = {"retry_backoff": 0.001, "retry_max_backoff": 0.002}


class Flaky(Exception):
    """A transient failure in these tests."""


def transient(error: BaseException) -> str | None:
    return "flaky" if isinstance(error, Flaky) else None


def failing(times: int, result: str = "ok"):
    """A request failing transiently ``times`` times, then answering ``result``."""
    calls = []

    def request() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise Flaky(f"failure {len(calls)}")
        return result

    return request, calls


# --- the policy -----------------------------------------------------------------------------
def test_policy_comes_from_the_settings_and_store_options_win() -> None:
    with config.set(retry_attempts=4, retry_deadline=9.0):
        policy = RetryPolicy.from_options({"retry_deadline": 2})
    assert (policy.attempts, policy.deadline, policy.backoff) == (4, 2, 0.01)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"retry_attempts": 0}, "retry_attempts must be an integer >= 1"),
        ({"retry_attempts": 2.5}, "retry_attempts must be an integer"),
        ({"retry_deadline": -1}, "retry_deadline must be >= 0"),
        ({"retry_backoff": float("nan")}, "retry_backoff must be >= 0"),
        ({"retry_multiplier": 0.5}, "retry_multiplier must be >= 1"),
    ],
)
def test_policy_refuses_bad_settings(options: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RetryPolicy.from_options(options)


def test_the_first_retry_goes_at_once_the_others_back_off_with_full_jitter() -> None:
    policy = RetryPolicy(backoff=0.1, max_backoff=0.5, multiplier=2)
    assert {policy.delay(1) for _ in range(100)} == {0.0}
    for retry_number, ceiling in [(2, 0.1), (3, 0.2), (4, 0.4), (5, 0.5), (10, 0.5)]:
        delays = [policy.delay(retry_number) for _ in range(300)]
        assert all(0 <= d < ceiling for d in delays)
        assert max(delays) > ceiling * 0.8 and min(delays) < ceiling * 0.2  # spread out


def test_split_options_takes_only_the_retry_options() -> None:
    options = {"retry_attempts": 3, "endpoint": "http://x", "retry_multiplier": 3}
    assert retry.split_options(options) == {"retry_attempts": 3, "retry_multiplier": 3}
    assert options == {"endpoint": "http://x"}


# --- the loop -------------------------------------------------------------------------------
def test_transient_failures_are_tried_again() -> None:
    request, calls = failing(3)
    assert retry.call(request, transient, FAST, key="k", operation="get") == "ok"
    assert len(calls) == 4


def test_other_failures_are_raised_at_once() -> None:
    def request() -> str:
        raise KeyError("no")

    with pytest.raises(KeyError):
        retry.call(request, transient, FAST, key="k", operation="get")


def test_exhausted_attempts_raise_one_typed_error_naming_everything() -> None:
    request, calls = failing(100)
    with pytest.raises(RetriesExhaustedError) as raised:
        retry.call(request, transient, {**FAST, "retry_attempts": 3}, key="c/1", operation="get")
    error = raised.value
    assert len(calls) == 3
    assert (error.key, error.operation, error.attempts, error.reason) == ("c/1", "get", 3, "flaky")
    assert isinstance(error, StoreError) and isinstance(error.__cause__, Flaky)
    assert "get 'c/1': failed 3 times" in str(error) and "retry_attempts=3" in str(error)
    assert "flaky: failure 3" in str(error)


def test_no_retry_starts_after_the_deadline() -> None:
    # attempts never run out first: jittered sleeps may add up to less than the deadline
    request, calls = failing(10_000)
    options = {
        "retry_deadline": 0.3,
        "retry_backoff": 0.1,
        "retry_max_backoff": 0.2,
        "retry_attempts": 10_000,
    }
    start = time.monotonic()
    with pytest.raises(RetriesExhaustedError, match=r"retry_deadline=0\.3 s") as raised:
        retry.call(request, transient, options, key="k", operation="get")
    assert 0.3 <= time.monotonic() - start < 0.5  # the last try at the deadline; sleeps overshoot
    assert 2 <= raised.value.attempts == len(calls)


def test_retries_are_telemetry_events_counted_by_reason() -> None:
    request, _ = failing(2)
    events: list[telemetry.RetryEvent] = []
    with (
        telemetry.subscribed(events.append, telemetry.RetryEvent),
        telemetry.subscribed(telemetry.Summary()) as summary,
    ):
        retry.call(request, transient, FAST, key="k", operation="get", store="S")
    assert [(e.op, e.key, e.store, e.attempt, e.reason) for e in events] == [
        ("get", "k", "'S'", 1, "flaky"),
        ("get", "k", "'S'", 2, "flaky"),
    ]
    assert all(0 <= e.delay < 0.002 for e in events)
    assert dict(summary.rows())["Retries"] == "2 (flaky 2)"


# --- batches --------------------------------------------------------------------------------
@pytest.fixture
def pool():
    with ThreadPoolExecutor(4) as executor:
        yield executor


def test_a_retry_goes_before_the_requests_not_yet_started() -> None:
    """The worker whose try failed sends the retry at once, rather than queueing it behind
    the batch's requests not yet started: a read waits for its slowest request."""
    sent: list[str] = []

    def request(key: str) -> str:
        def attempt() -> str:
            sent.append(key)
            if sent.count(key) == 1 and key == "b":
                raise Flaky("once")
            return key

        return retry.call(attempt, transient, FAST, key=key, operation="get")

    with ThreadPoolExecutor(1) as one:  # "a" runs in this thread, the rest in the pool's
        assert retry.fan_out(request, ["a", "b", "c", "d"], one) == ["a", "b", "c", "d"]
    assert sorted(sent) == ["a", "b", "b", "c", "d"]
    assert [key for key in sent if key != "a"] == ["b", "b", "c", "d"]


def test_fan_out_returns_results_in_order(pool: ThreadPoolExecutor) -> None:
    assert retry.fan_out(lambda x: x * 2, [1, 2, 3], pool) == [2, 4, 6]
    assert retry.fan_out(lambda x: x * 2, [5], pool) == [10]
    assert retry.fan_out(lambda x: x * 2, [], pool) == []


def test_first_failure_stops_the_batch_and_is_raised_once(pool: ThreadPoolExecutor) -> None:
    """The requests backing off give up at once, the ones not started never start."""
    started = []

    def request(i: int) -> str:
        started.append(i)
        if i == 0:
            time.sleep(0.05)  # the others are backing off by now
            raise StoreError("down for good", key="k0", operation="get")
        flaky, _ = failing(100)
        return retry.call(flaky, transient, {"retry_backoff": 10}, key=f"k{i}", operation="get")

    start = time.monotonic()
    with pytest.raises(StoreError, match="down for good"):
        retry.fan_out(request, list(range(40)), pool)
    assert time.monotonic() - start < 2  # not 10 s of backoff
    assert len(started) < 10  # about the pool's 4 threads: the queued requests never ran


def test_a_failure_in_the_pool_stops_the_request_the_caller_runs(pool) -> None:
    """The caller runs the batch's first request itself; a failure on a pool thread stops
    its backoff at once instead of after it."""

    def request(i: int) -> str:
        if i == 1:
            time.sleep(0.05)  # the caller's request is backing off by now
            raise StoreError("down for good", key="k1", operation="get")
        flaky, _ = failing(100)
        return retry.call(flaky, transient, {"retry_backoff": 10}, key="k0", operation="get")

    start = time.monotonic()
    with pytest.raises(StoreError, match="down for good"):
        retry.fan_out(request, [0, 1], pool)
    assert time.monotonic() - start < 2


def test_an_interrupt_in_the_callers_request_cancels_the_rest() -> None:
    started = []

    def request(i: int) -> None:
        started.append(i)
        if i == 0:
            time.sleep(0.05)
            raise KeyboardInterrupt
        time.sleep(0.02)

    with ThreadPoolExecutor(1) as one, pytest.raises(KeyboardInterrupt):
        retry.fan_out(request, list(range(20)), one)
    assert 0 in started and len(started) < 10  # the queued requests never ran


def test_nested_batches_share_the_cancellation(pool: ThreadPoolExecutor) -> None:
    """A failure in one inner batch (one shard's ranges) stops the other inner batches."""
    inner_pool = ThreadPoolExecutor(8)

    def inner(i: int) -> str:
        if i == 5:
            time.sleep(0.05)
            raise StoreError("gone", key="s1", operation="get")
        flaky, _ = failing(100)
        return retry.call(flaky, transient, {"retry_backoff": 10}, key="k", operation="get")

    def outer(shard: int) -> list[str]:
        return retry.fan_out(inner, [shard * 10 + i for i in range(3)] + [5] * shard, inner_pool)

    start = time.monotonic()
    with pytest.raises(StoreError, match="gone"):
        retry.fan_out(outer, [0, 1], pool)
    assert time.monotonic() - start < 2
    inner_pool.shutdown()


def test_write_all_names_exactly_the_keys_not_written(pool: ThreadPoolExecutor) -> None:
    written = []

    def write(key: str) -> None:
        if key in ("b", "d"):
            raise StoreError("refused", key=key, operation="set")
        written.append(key)

    keys = ["a", "b", "c", "d"]
    with pytest.raises(PartialWriteError) as raised:
        retry.write_all(write, keys, [[k] for k in keys], ThreadPoolExecutor(1))
    error = raised.value
    assert set(error.unwritten) == {"a", "b", "c", "d"} - set(written)
    assert "b" in error.unwritten and written  # stopped after b, but a was written
    assert error.key == "b" and error.operation == "set"
    assert isinstance(error.__cause__, StoreError) and error.error is error.__cause__
    assert f"{len(error.unwritten)} keys not written" in str(error)


def test_write_all_that_wrote_nothing_raises_the_failure_itself(pool) -> None:
    def write(key: str) -> None:
        raise StoreError("refused", key=key, operation="set")

    with pytest.raises(StoreError) as raised:
        retry.write_all(write, ["a", "b"], [["a"], ["b"]], pool)
    assert not isinstance(raised.value, PartialWriteError)


def test_write_taken_loops_work_through_their_share_then_take_from_the_others(
    pool: ThreadPoolExecutor,
) -> None:
    both_started = threading.Barrier(2, timeout=10)
    release = threading.Event()
    by_thread: dict[int, list[int]] = {}

    def write(item: int) -> None:
        mine = by_thread.setdefault(threading.get_ident(), [])
        if not mine:  # each loop has taken the first item of its share
            both_started.wait()
        mine.append(item)
        if item == 0:  # the first loop is held up until the other has written the rest
            assert release.wait(10)

    def watch() -> None:
        while sum(map(len, by_thread.values())) < 12:
            time.sleep(0.001)
        release.set()

    threading.Thread(target=watch).start()
    items = list(range(12))
    retry.write_taken(write, items, [[str(i)] for i in items], 2, pool)
    # shares 0-5 and 6-11: the second loop did its own in order, then the first's from its end
    assert sorted(by_thread.values()) == [[0], [6, 7, 8, 9, 10, 11, 5, 4, 3, 2, 1]]


def test_write_taken_names_the_keys_of_the_failed_item_and_those_never_taken() -> None:
    written = []

    def write(item: int) -> None:
        if item == 2:
            raise PartialWriteError(["2b"], error=StoreError("refused", key="2b", operation="set"))
        written.append(item)

    keys = [[f"{i}a", f"{i}b"] for i in range(6)]
    with pytest.raises(PartialWriteError) as raised:
        retry.write_taken(write, list(range(6)), keys, 1, ThreadPoolExecutor(1))
    assert written == [0, 1]  # one loop: in order, and nothing taken after the failure
    assert raised.value.unwritten == ("2b", "3a", "3b", "4a", "4b", "5a", "5b")
    assert raised.value.key == "2b"


def test_write_taken_loops_take_nothing_after_a_failure(pool: ThreadPoolExecutor) -> None:
    both_started = threading.Barrier(2, timeout=10)
    written = []

    def write(item: int) -> None:
        if item in (0, 6):  # the first item of each loop's share
            both_started.wait()
        if item == 0:
            raise StoreError("refused", key="0", operation="set")
        time.sleep(0.2)  # the failure is recorded meanwhile
        written.append(item)

    keys = [[str(i)] for i in range(12)]
    with pytest.raises(PartialWriteError) as raised:
        retry.write_taken(write, list(range(12)), keys, 2, pool)
    assert written == [6]
    assert sorted(raised.value.unwritten, key=int) == [str(i) for i in range(12) if i != 6]


def test_write_taken_that_wrote_nothing_raises_the_failure_itself(pool) -> None:
    def write(item: int) -> None:
        raise StoreError("refused", key=str(item), operation="set")

    with pytest.raises(StoreError) as raised:
        retry.write_taken(write, [0, 1, 2], [["0"], ["1"], ["2"]], 2, pool)
    assert not isinstance(raised.value, PartialWriteError)


def test_steps_after_a_failed_one_count_as_not_written() -> None:
    done = []

    def fail() -> None:
        raise PartialWriteError(["b2"], error=StoreError("x", key="b2", operation="set_many"))

    steps = [(["a"], lambda: done.append("a")), (["b1", "b2"], fail), (["c"], lambda: 1 / 0)]
    with pytest.raises(PartialWriteError) as raised:
        write_in_steps(steps)
    assert raised.value.unwritten == ("b2", "c") and done == ["a"]
    # a first step that wrote nothing raises its own error
    with pytest.raises(StoreError) as first:
        write_in_steps([(["a"], lambda: _refuse("a")), (["b"], print)])
    assert type(first.value) is StoreError


def _refuse(key: str) -> None:
    raise StoreError("refused", key=key, operation="set")


def test_cancelled_requests_do_not_look_like_failures_of_their_own() -> None:
    """Backends catch ``Exception`` to wrap their errors; a cancellation must pass them."""
    assert not issubclass(retry.Cancelled, Exception)
