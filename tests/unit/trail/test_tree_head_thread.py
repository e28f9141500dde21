"""The tree-head signer signs when the trail has grown, woken by appends, and not on a timer."""

from __future__ import annotations

import threading
import time
from typing import Any

from gateway.fanout.wakeup import Wakeup
from gateway.trail.audit import TreeHeadThread
from tests.polling import wait_until


class CountingAuditor:
    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def issue_tree_head(self) -> None:
        with self._lock:
            self.calls += 1


def test_heads_are_signed_after_appends_and_not_while_the_log_is_still() -> None:
    auditor, appended = CountingAuditor(), Wakeup()
    thread = TreeHeadThread(auditor, 0.01, appended)  # type: ignore[arg-type]
    thread.start()
    try:
        # One look at start: entries may have been appended while nothing was signing.
        wait_until(lambda: auditor.calls == 1, 10, "the first look")
        end = time.monotonic() + 0.3  # thirty intervals without an append
        wait_until(lambda: time.monotonic() >= end, 10, "the window passed")
        assert auditor.calls == 1

        appended.signal()
        wait_until(lambda: auditor.calls == 2, 10, "a head after the append")
    finally:
        thread.stop()


def test_stop_ends_the_wait_for_appends() -> None:
    thread: Any = TreeHeadThread(CountingAuditor(), 3600, Wakeup())  # type: ignore[arg-type]
    thread.start()
    thread.stop()
    assert not thread._thread.is_alive()
