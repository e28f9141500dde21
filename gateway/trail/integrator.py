"""The loop that integrates the trail and signs its checkpoints, in every web and worker process.

Business transactions only queue messages (`Trail.append`); this loop, woken when one commits
(the `nsw_trail` wake-up, and on PostgreSQL `NOTIFY nsw_trail` from any process), sequences the
queue at once — whoever takes the leader's lock first does it, the others find nothing left — and
signs a checkpoint for the grown log, at most one per `interval_s`: a log that grows is signed at
least once every `interval_s`. Signing takes time of its own (the signer's state file is synced,
the checkpoint stored, witnesses asked), and it varies with the machine's load, so a signing
starts early by the longest of the last few: checkpoints are *done* an interval apart. A still log costs nothing but the safety-net look every `poll_s`
(messages queued by a process that runs no loop, such as a CLI command on SQLite).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Protocol

from gateway.errors import DatabaseUnavailable
from gateway.trail.format import TreeHead
from gateway.trail.signer import SignerRefusing

log = logging.getLogger(__name__)
SIGNINGS_REMEMBERED = 8  # how many recent signing durations the loop plans with


class Wakeup(Protocol):
    """`gateway.fanout.wakeup.Wakeup`, the `nsw_trail` channel (named here: fanout imports trail)."""

    def seen(self) -> int: ...

    def wait(self, seen: int, timeout_s: float | None) -> bool: ...

    def signal(self) -> None: ...


class Integrates(Protocol):
    """What the loop needs of `gateway.trail.audit.Auditor`."""

    def integrate(self, wait: bool = True, max_batches: int | None = None) -> int: ...

    def issue_tree_head(self, integrate: bool = True) -> TreeHead: ...


class IntegratorThread:
    def __init__(
        self, auditor: Integrates, interval_s: float, appended: Wakeup, poll_s: float | None
    ) -> None:
        self.auditor = auditor
        self.interval_s = interval_s
        self.appended = appended
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="trail-integrator", daemon=True)
        self._signings: deque[float] = deque(maxlen=SIGNINGS_REMEMBERED)  # seconds each took

    def _due(self, last_signed: float) -> float:
        """When the next signing starts: an interval after the last was done, less what a
        signing has lately taken (at most half an interval early)."""
        lead = min(max(self._signings, default=0.0), self.interval_s / 2)
        return last_signed + self.interval_s - lead

    def _timeout(self, owed: bool, last_signed: float) -> float | None:
        """How long to sleep: until the next checkpoint is due if one is owed, else until the
        safety-net look (None: until woken)."""
        timeout = self.poll_s
        if owed:
            due = max(0.0, self._due(last_signed) - time.monotonic())
            timeout = due if timeout is None else min(timeout, due)
        return timeout

    def _run(self) -> None:
        seen = -1  # not a count the wake-up has: the first look happens at once
        owed = True  # look once at start: the log may have grown while nothing was signing
        # The first checkpoint an interval after start, so the messages of that interval join
        # it (the head of a still log is already signed; a new empty log needs none yet).
        last_signed = time.monotonic()
        while not self._stop.is_set():
            if self.appended.wait(seen, self._timeout(owed, last_signed)):
                owed = True  # an append, or another process's integration: the log may grow
            if self._stop.is_set():
                return
            seen = self.appended.seen()  # commits from here on wake the next round
            try:
                # Step 1: sequence what is queued, now, one batch per round: the batch's commit
                # wakes the next round, and a checkpoint falls due between two. Another leader's
                # work is left to it (its commit wakes us again).
                if self.auditor.integrate(wait=False, max_batches=1):
                    owed = True
                # Step 2: sign the grown log once its checkpoint is due.
                if owed and time.monotonic() >= self._due(last_signed):
                    started, owed = time.monotonic(), False
                    last_signed = started  # if signing fails, the retry is an interval on
                    self.auditor.issue_tree_head(integrate=False)
                    last_signed = time.monotonic()
                    self._signings.append(last_signed - started)
            except SignerRefusing:  # logged as an ERROR when it began; /readyz and the gauge tell
                log.debug("checkpoint not signed: the trail signer refuses")
            except Exception as exc:  # keep integrating; the next round retries
                if isinstance(exc, DatabaseUnavailable):
                    log.warning("trail integrator: database connection lost (%s)", exc.reason)
                else:
                    log.exception("trail integration or signing failed")
                owed, last_signed = True, time.monotonic()  # try again after one interval

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.appended.signal()  # end the wait for appends
        if self._thread.is_alive():
            self._thread.join(10)
