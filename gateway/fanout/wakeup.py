"""Wake-ups: the background loops wait for committed work instead of polling for it.

A `Wakeup` is a counter under a condition: a loop notes `seen()` before it looks for work, and
`wait(seen, timeout_s)` returns at once if anything was signalled since — so a signal that
arrives while the loop is busy is never lost — or blocks until a signal or the timeout.

The store signals after a transaction that created work commits (`gateway.storage.wake`), never
before: a woken loop must find the row. On PostgreSQL the same transaction also sends `NOTIFY`,
and a listener thread in every process turns those into signals here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

OUTBOX = "nsw_outbox"  # deliveries to agencies: dispatchers
NOTIFICATIONS = "nsw_notifications"  # decisions owed to traders: notifiers
TRAIL = "nsw_trail"  # entries appended to the trail: the tree-head signer
GUARANTEES = "nsw_guarantee_releases"  # guarantees customs should release: the release loop
CHANNELS = (OUTBOX, NOTIFICATIONS, TRAIL, GUARANTEES)


class Wakeup:
    """One channel's signal; any number of threads may wait on it and signal it."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._count = 0

    def seen(self) -> int:
        """The signal count now: pass it to `wait` after looking for work."""
        with self._changed:
            return self._count

    def signal(self) -> None:
        with self._changed:
            self._count += 1
            self._changed.notify_all()

    def wait(self, seen: int, timeout_s: float | None) -> bool:
        """Block until a signal after `seen` (True) or until `timeout_s` passes (False)."""
        with self._changed:
            return self._changed.wait_for(lambda: self._count != seen, timeout_s)


class Wakeups:
    """The wake-ups of one database in one process, by channel."""

    def __init__(self) -> None:
        self._by_channel = {channel: Wakeup() for channel in CHANNELS}

    def __getitem__(self, channel: str) -> Wakeup:
        return self._by_channel[channel]

    def signal(self, channels: Iterable[str]) -> None:
        for channel in channels:
            self._by_channel[channel].signal()

    def signal_all(self) -> None:
        """Everything may have changed (a listener reconnected, the process stops)."""
        self.signal(CHANNELS)
