"""The loops of a process's background threads: each turns a runner (a dispatcher, a trader
notifier, the guarantee release loop) while it finds work, and otherwise sleeps on its channel's
wake-up until its next due time or the safety-net poll.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Sequence
from typing import Protocol

from gateway.clock import Clock
from gateway.errors import DatabaseUnavailable
from gateway.fanout.wakeup import Wakeup, Wakeups

# The dispatchers' logger, as when these loops lived in gateway.fanout.dispatch: operators
# filter the lines (a lost database connection, a failed claim) by the logger's name.
log = logging.getLogger("gateway.fanout.dispatch")


class Runner(Protocol):
    """What the threads run: a dispatcher, or a trader notifier. `step` does one turn and says
    how much it handled; nothing handled, the thread waits on its `channel`'s wake-up until
    `next_due()` or the safety-net poll, whichever comes first."""

    name: str
    channel: str
    clock: Clock

    def step(self) -> int: ...

    def next_due(self) -> dt.datetime | None: ...

    def finish(self, timeout_s: float) -> None:
        """After the loop stopped: wait up to `timeout_s` for work it started in the
        background."""


MIN_WAIT_S = 0.05  # a due time already past yet nothing claimed (a race): do not spin on it


def idle_wait_s(runner: Runner, poll_s: float) -> float:
    """How long an idle runner may sleep: until its next due row, at most the safety-net poll
    (work written by another process on SQLite, breakers closing, the deadline sweep)."""
    due = runner.next_due()
    if due is None:
        return poll_s
    return min(poll_s, max(MIN_WAIT_S, (due - runner.clock()).total_seconds()))


def poll(
    runner: Runner, stop: threading.Event, poll_s: float, wakeup: Wakeup | None = None
) -> None:
    """Run `runner` until `stop` is set: turn while it finds work, else sleep on `wakeup` (a
    commit of new work ends the sleep) until its next due time or at most `poll_s`."""
    wakeup = wakeup or Wakeup()
    while not stop.is_set():
        seen = wakeup.seen()  # before looking: a commit while we look wakes the wait below
        try:
            handled = runner.step()
            wait_s = 0.0 if handled else idle_wait_s(runner, poll_s)
        except Exception as exc:
            if isinstance(exc, DatabaseUnavailable):
                # A database restart or a killed backend: the next turn gets a fresh connection,
                # and a claim whose write was lost comes back when its lease runs out.
                log.warning(
                    "%s: database connection lost (%s); carrying on",
                    runner.name,
                    exc.reason,
                )
            else:
                log.exception("%s: claiming failed", runner.name)
            wait_s = poll_s
        if wait_s > 0:
            wakeup.wait(seen, wait_s)


class DispatcherThreads:
    """Dispatcher and notifier threads in a process (the embedded default and `nsw worker`)."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._runners: list[Runner] = []
        self._wakeups: Wakeups | None = None

    def start(self, dispatchers: Sequence[Runner], poll_s: float, wakeups: Wakeups) -> None:
        self._wakeups = wakeups
        self._runners += dispatchers
        for d in dispatchers:
            t = threading.Thread(
                target=poll,
                args=(d, self._stop, poll_s, wakeups[d.channel]),
                name=d.name,
                daemon=True,
            )
            t.start()
            self._threads.append(t)

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._wakeups is not None:
            self._wakeups.signal_all()  # end the waits now
        for runner in self._runners:  # ends a wait for a free slot; deliveries run to their end
            runner.finish(timeout_s)
        for t in self._threads:
            t.join(timeout_s)
        self._threads.clear()
        self._runners.clear()
