"""The integrator loop sequences the queue as soon as an append commits, signs a checkpoint for the
grown log at most once per interval, and is still while the log is."""

from __future__ import annotations

import threading
import time
from typing import Any

from gateway.fanout.wakeup import Wakeup
from gateway.trail.integrator import IntegratorThread
from tests.polling import wait_until


class FakeAuditor:
    """Counts the loop's calls; `queued` messages wait until `integrate` takes them."""

    def __init__(self) -> None:
        self.queued = 0
        self.integrated = 0
        self.heads = 0
        self.integrations = 0
        self._lock = threading.Lock()

    def integrate(self, wait: bool = True, max_batches: int | None = None) -> int:
        with self._lock:
            self.integrations += 1
            done, self.queued = self.queued, 0
            self.integrated += done
            return done

    def sign_checkpoint(self) -> None:
        with self._lock:
            self.heads += 1

    def append(self, appended: Wakeup) -> None:
        with self._lock:
            self.queued += 1
        appended.signal()


def test_appends_are_integrated_when_they_commit_and_heads_follow() -> None:
    auditor, appended = FakeAuditor(), Wakeup()
    thread = IntegratorThread(auditor, 0.05, appended, poll_s=None)
    thread.start()
    try:
        # One look at start: messages may have been queued while nothing was integrating.
        wait_until(lambda: auditor.heads == 1, 10, "the first checkpoint, an interval after start")
        looks = auditor.integrations
        end = time.monotonic() + 0.3  # six intervals without an append
        wait_until(lambda: time.monotonic() >= end, 10, "the window passed")
        assert (auditor.integrations, auditor.heads) == (looks, 1)  # a still log: no query

        auditor.append(appended)
        wait_until(lambda: auditor.integrated == 1, 10, "the append integrated")
        wait_until(lambda: auditor.heads == 2, 10, "a checkpoint for the grown log")
    finally:
        thread.stop()


def test_a_growing_log_gets_one_checkpoint_per_interval_not_one_per_append() -> None:
    auditor, appended = FakeAuditor(), Wakeup()
    thread = IntegratorThread(auditor, 3600, appended, poll_s=None)
    thread.start()
    try:
        wait_until(lambda: auditor.integrations == 1, 10, "the first look")
        for _ in range(20):
            auditor.append(appended)
        wait_until(lambda: auditor.integrated == 20, 10, "every append integrated at once")
        assert auditor.heads == 0  # the first checkpoint is due an hour after start
    finally:
        thread.stop()


def test_the_safety_net_finds_messages_no_one_woke_it_for() -> None:
    auditor, appended = FakeAuditor(), Wakeup()
    thread = IntegratorThread(auditor, 0.01, appended, poll_s=0.05)
    thread.start()
    try:
        wait_until(lambda: auditor.heads == 1, 10, "the first look")
        with auditor._lock:  # queued by another process on SQLite: no signal here
            auditor.queued = 3
        wait_until(lambda: auditor.integrated == 3, 10, "found by the safety-net look")
        wait_until(lambda: auditor.heads == 2, 10, "and signed")
    finally:
        thread.stop()


def test_stop_ends_the_wait_for_appends() -> None:
    thread: Any = IntegratorThread(FakeAuditor(), 3600, Wakeup(), None)
    thread.start()
    thread.stop()
    assert not any(t.is_alive() for t in thread._threads)  # the integrator and checkpoint loops


def test_commits_close_together_wait_for_the_gathering() -> None:
    auditor, appended = FakeAuditor(), Wakeup()
    thread = IntegratorThread(auditor, 3600, appended, poll_s=None, gather_s=3600)
    thread.start()
    try:
        wait_until(lambda: auditor.integrations == 1, 10, "the first look")
        auditor.append(appended)  # an intake commits ...
        wait_until(thread.gathering.is_set, 10, "the loop lets appends gather")
        for _ in range(5):  # ... then its cases' answers and the decision
            auditor.append(appended)
        assert auditor.integrated == 0  # nothing yet: the round waits for the gathering
    finally:
        thread.stop()  # ends the gathering at once
    assert not any(t.is_alive() for t in thread._threads)


def test_a_gathered_round_takes_every_append_of_the_window() -> None:
    auditor, appended = FakeAuditor(), Wakeup()
    thread = IntegratorThread(auditor, 3600, appended, poll_s=None, gather_s=0.05)

    class AppendWhileGathering(threading.Event):
        """The rest of the burst commits as the gathering begins: inside the window whatever
        the machine's load (a test that polled for the 50 ms window could miss it)."""

        def set(self) -> None:
            super().set()
            for _ in range(5):
                auditor.append(appended)

    thread.gathering = AppendWhileGathering()
    thread.start()
    try:
        wait_until(lambda: auditor.integrations == 1, 10, "the first look")
        auditor.append(appended)  # wakes the loop, which gathers
        wait_until(lambda: auditor.integrated == 6, 10, "all six integrated")
        assert auditor.integrations == 2  # in one round
    finally:
        thread.stop()
    assert not any(t.is_alive() for t in thread._threads)


def test_a_round_that_found_work_does_not_gather_before_the_next() -> None:
    """A backlog (each batch's commit wakes the next round) goes at full speed: only a loop
    woken from a still log gathers."""
    auditor, appended = FakeAuditor(), Wakeup()
    auditor.append(appended)  # queued before the loop starts: the first look finds it
    thread = IntegratorThread(auditor, 3600, appended, poll_s=None, gather_s=3600)
    thread.start()
    try:
        wait_until(lambda: auditor.integrated == 1, 10, "the first look integrates the backlog")
        auditor.append(appended)  # the next batch: taken at once, no hour of gathering
        wait_until(lambda: auditor.integrated == 2, 10, "the next round, without gathering")
    finally:
        thread.stop()
    assert not any(t.is_alive() for t in thread._threads)


class SlowBatches(FakeAuditor):
    """Each integration takes `batch_s` (a long batch on a loaded machine)."""

    def __init__(self, batch_s: float) -> None:
        super().__init__()
        self.batch_s = batch_s
        self.busy = threading.Event()
        self.release = threading.Event()  # set at the end: each batch lasts until then

    def integrate(self, wait: bool = True, max_batches: int | None = None) -> int:
        self.busy.set()
        self.release.wait(self.batch_s)
        return super().integrate(wait, max_batches)


def test_a_long_batch_does_not_hold_the_checkpoint_back() -> None:
    auditor, appended = SlowBatches(batch_s=3600), Wakeup()
    thread = IntegratorThread(auditor, 0.05, appended, poll_s=None)
    thread.start()
    try:
        wait_until(auditor.busy.is_set, 10, "a batch under way")
        # The checkpoint falls due while the batch runs, and is signed meanwhile: it is a loop
        # of its own (one loop waited for the batch, so a checkpoint came a batch late).
        wait_until(lambda: auditor.heads >= 1, 10, "a checkpoint during the batch")
        assert auditor.integrated == 0  # the batch is still running
    finally:
        auditor.release.set()
        thread.stop()
