"""The group-commit writer (bot/db/group_commit.py) with plain write functions: what it batches, in
what order, what close() and its timeout do, the retry and split policies, and that each waiting
caller gets its own result. The outbox and the webhook writer built on it are tested against real
databases in tests/test_worker.py and tests/test_signal_writer.py."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future

import pytest

from bot.db.group_commit import Attempts, GroupCommit, Write, log_lost, once

WAIT = 5.0  # seconds a test waits for the writer thread before failing


class Recorder:
    """A write function that records each batch and the thread it ran in, and can hold the first batch
    until released, so that what is handed over meanwhile piles up for the next one."""

    def __init__(self, hold_first: bool = False, fail_on: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.threads: list[str] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self._hold = hold_first
        self._fail_on = fail_on

    def __call__(self, batch: list[int]) -> list[int]:
        self.batches.append(list(batch))
        self.threads.append(threading.current_thread().name)
        self.started.set()
        if self._hold:
            self._hold = False
            assert self.release.wait(WAIT)
        if self._fail_on is not None and self._fail_on in batch:
            raise ValueError(f"item {self._fail_on} is bad")
        return [item * 10 for item in batch]

    @property
    def written(self) -> list[int]:
        """Every item a write was called with, in order (a failed write's too)."""
        return [item for batch in self.batches for item in batch]


class Lost:
    def __init__(self) -> None:
        self.reports: list[tuple[Exception, list[int]]] = []

    def __call__(self, error: Exception, items: list[int]) -> None:
        self.reports.append((error, items))


def held(
    *,
    max_batch: int = 100,
    fail_on: int | None = None,
    attempts: Attempts[int, int] = once,
    split_when: Callable[[Exception], bool] | None = None,
    on_lost: Callable[[Exception, list[int]], None] = log_lost,
    name: str = "test",
) -> tuple[GroupCommit[int, int], Recorder]:
    """A writer whose thread is busy with item 0: what is handed over next waits for one batch."""
    write = Recorder(hold_first=True, fail_on=fail_on)
    writer = GroupCommit(
        write, name=name, max_batch=max_batch, attempts=attempts, split_when=split_when, on_lost=on_lost
    )
    writer.put(0)
    assert write.started.wait(WAIT)
    return writer, write


def test_what_arrives_while_a_batch_is_written_is_written_together_up_to_the_batch_size() -> None:
    writer, write = held(max_batch=3)
    for item in range(1, 8):
        writer.put(item)
    write.release.set()
    writer.close()
    assert write.batches == [[0], [1, 2, 3], [4, 5, 6], [7]]
    assert set(write.threads) == {"compass-test"}


def test_items_from_many_threads_are_all_written_each_threads_in_its_order() -> None:
    write = Recorder()
    writer: GroupCommit[int, int] = GroupCommit(write, name="test", max_batch=7)

    def put(t: int) -> None:
        for i in range(100):
            writer.put(t * 1000 + i)

    threads = [threading.Thread(target=put, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()
    assert sorted(write.written) == sorted(t * 1000 + i for t in range(4) for i in range(100))
    for t in range(4):
        assert [item - t * 1000 for item in write.written if item // 1000 == t] == list(range(100))
    assert max(len(batch) for batch in write.batches) <= 7


def test_with_settle_a_burst_handed_over_item_by_item_is_written_once_after_it_settles() -> None:
    write = Recorder()
    writer: GroupCommit[int, int] = GroupCommit(write, name="test", max_batch=100, settle=0.2, settle_max=5.0)
    for item in range(5):  # each arrives well within the settle time of the one before
        writer.put(item)
        time.sleep(0.02)
    assert write.started.wait(WAIT)
    writer.close()
    assert write.batches == [[0, 1, 2, 3, 4]]


def test_settle_max_bounds_how_long_a_steady_stream_waits_for_its_write() -> None:
    write = Recorder()
    writer: GroupCommit[int, int] = GroupCommit(write, name="test", max_batch=100, settle=0.2, settle_max=0.1)
    started = time.monotonic()
    for item in range(20):  # never settles: one item every 20 ms for 400 ms
        writer.put(item)
        time.sleep(0.02)
    writer.close()
    assert write.written == list(range(20))
    assert len(write.batches) >= 2, "the first batch was written after settle_max, not after the stream"
    assert time.monotonic() - started < WAIT


def test_close_writes_everything_handed_over_then_stops_the_thread() -> None:
    writer, write = held(name="closing")
    for item in range(1, 5):
        writer.put(item)
    closing = threading.Thread(target=writer.close)
    closing.start()
    write.release.set()
    closing.join(WAIT)
    assert not closing.is_alive()
    assert write.written == [0, 1, 2, 3, 4]
    assert "compass-closing" not in {t.name for t in threading.enumerate()}


def test_after_close_an_item_is_written_at_once_in_the_callers_thread() -> None:
    write = Recorder()
    writer: GroupCommit[int, int] = GroupCommit(write, name="test", max_batch=10)
    writer.put(1)
    writer.close()
    writer.put(2)
    assert write.batches == [[1], [2]]  # written before put returned
    answer = writer.submit(3)
    assert answer.done() and answer.result() == 30
    assert write.threads == ["compass-test", threading.current_thread().name, threading.current_thread().name]


def test_close_before_any_item_starts_no_thread_and_writes_later_items_directly() -> None:
    write = Recorder()
    writer: GroupCommit[int, int] = GroupCommit(write, name="test", max_batch=10)
    writer.close()
    writer.put(1)
    assert write.threads == [threading.current_thread().name]


def retry(times: int, calls: list[int]) -> Attempts[int, int]:
    """An attempts policy: the write again at once, up to ``times`` tries in all."""

    def attempts(write: Write[int, int], batch: list[int]) -> Sequence[int]:
        for attempt in range(1, times + 1):
            calls.append(attempt)
            try:
                return write(batch)
            except ValueError:
                if attempt == times:
                    raise
        raise AssertionError("unreachable")

    return attempts


def test_a_batch_is_tried_through_the_attempts_policy_and_succeeds_once_the_write_does() -> None:
    failures = [ValueError("once"), ValueError("twice")]
    written: list[list[int]] = []

    def flaky(batch: list[int]) -> list[int]:
        if failures:
            raise failures.pop(0)
        written.append(batch)
        return batch

    calls: list[int] = []
    lost = Lost()
    writer: GroupCommit[int, int] = GroupCommit(
        flaky,
        name="test",
        max_batch=10,
        attempts=retry(3, calls),
        on_lost=lost,
    )
    answer = writer.submit(7)
    assert answer.result(WAIT) == 7
    writer.close()
    assert calls == [1, 2, 3] and written == [[7]] and lost.reports == []


def test_a_batch_that_fails_for_good_goes_to_on_lost_once_with_all_its_items(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []
    lost = Lost()
    writer, write = held(attempts=retry(2, calls), on_lost=lost, fail_on=2)
    for item in (1, 2, 3):
        writer.put(item)
    write.release.set()
    writer.close()
    assert write.batches == [[0], [1, 2, 3], [1, 2, 3]]  # tried twice, never split (no split policy)
    assert [(str(error), items) for error, items in lost.reports] == [("item 2 is bad", [1, 2, 3])]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]  # saying so is on_lost's business


def test_without_on_lost_a_lost_item_is_logged_and_nothing_is_raised_to_its_caller(
    caplog: pytest.LogCaptureFixture,
) -> None:
    writer: GroupCommit[int, int] = GroupCommit(Recorder(fail_on=1), name="test", max_batch=10)
    writer.close()
    writer.put(1)  # written here, since the writer is closed
    assert [r.getMessage() for r in caplog.records] == ["giving up on 1 item(s) nobody waits for: item 1 is bad"]


def test_each_waiting_caller_gets_its_own_result_from_one_batch() -> None:
    writer, write = held()
    answers: dict[int, Future[int]] = {}

    def submit(item: int) -> None:
        answers[item] = writer.submit(item)

    threads = [threading.Thread(target=submit, args=(item,)) for item in range(1, 21)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    write.release.set()
    assert {item: answer.result(WAIT) for item, answer in answers.items()} == {i: i * 10 for i in range(1, 21)}
    writer.close()
    assert write.batches[0] == [0] and sorted(write.batches[1]) == list(range(1, 21))  # one batch for all twenty


def test_a_failed_batch_is_split_when_the_policy_says_one_item_may_be_to_blame() -> None:
    lost = Lost()
    writer, write = held(split_when=lambda error: isinstance(error, ValueError), on_lost=lost, fail_on=2)
    answers = [writer.submit(item) for item in (1, 2, 3)]
    writer.put(4)
    write.release.set()
    writer.close()
    assert write.batches == [[0], [1, 2, 3, 4], [1], [2], [3], [4]]
    assert answers[0].result() == 10 and answers[2].result() == 30
    assert str(answers[1].exception()) == "item 2 is bad"
    assert lost.reports == []


def test_a_failed_batch_is_not_split_when_the_policy_blames_them_all() -> None:
    lost = Lost()
    writer, write = held(split_when=lambda error: False, on_lost=lost, fail_on=2)
    answers = [writer.submit(item) for item in (1, 2, 3)]
    writer.put(4)
    write.release.set()
    writer.close()
    assert write.batches == [[0], [1, 2, 3, 4]]
    assert all(str(answer.exception()) == "item 2 is bad" for answer in answers)
    assert [items for _, items in lost.reports] == [[4]]  # the one nobody waits for


def test_an_item_whose_caller_gave_up_before_the_writer_took_it_is_never_written() -> None:
    writer, write = held()
    given_up = writer.submit(1)
    kept = writer.submit(2)
    assert given_up.cancel()
    write.release.set()
    assert kept.result(WAIT) == 20
    writer.close()
    assert write.written == [0, 2]


def test_a_caller_cannot_give_up_an_item_the_writer_has_taken() -> None:
    write = Recorder(hold_first=True)
    writer: GroupCommit[int, int] = GroupCommit(write, name="test", max_batch=10)
    taken = writer.submit(1)
    assert write.started.wait(WAIT)
    assert not taken.cancel()
    write.release.set()
    assert taken.result(WAIT) == 10
    writer.close()


def test_write_batch_writes_in_the_callers_thread_with_the_same_policies() -> None:
    write = Recorder(fail_on=2)
    writer: GroupCommit[int, int] = GroupCommit(write, name="test", max_batch=10, split_when=lambda error: True)
    answers = writer.write_batch([1, 2, 3])
    assert [a.exception() is None for a in answers] == [True, False, True]
    assert write.batches == [[1, 2, 3], [1], [2], [3]]
    assert set(write.threads) == {threading.current_thread().name}


def test_when_close_times_out_what_the_writer_never_reached_is_reported_lost(caplog: pytest.LogCaptureFixture) -> None:
    lost = Lost()
    writer, write = held(on_lost=lost)
    writer.put(1)
    waiting = writer.submit(2)
    given_up = writer.submit(3)
    given_up.cancel()
    writer.close(timeout=0.05)
    assert [(type(error), items) for error, items in lost.reports] == [(TimeoutError, [1])]
    assert isinstance(waiting.exception(), TimeoutError)
    assert "test writer still busy after 0 s; 3 item(s) not written" in caplog.text
    write.release.set()
    assert write.written == [0]  # the writer, back from its batch, finds nothing left
