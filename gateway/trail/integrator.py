"""The loops that integrate the trail and sign its checkpoints, in every web and worker process.

Business transactions only queue messages (`Trail.append`); the integrator loop, woken when one
commits (the `nsw_trail` wake-up, and on PostgreSQL `NOTIFY nsw_trail` from any process),
sequences the queue at once — whoever takes the leader's lock first does it, the others find
nothing left. The checkpoint loop, a thread of its own, signs the grown log at most once per
`interval_s`: a log that grows is signed at least once every `interval_s`, and a batch being
integrated, a slow disk or a slow witness does not hold the next checkpoint back behind it.
Signing takes time of its own (the signer's state file is synced, the checkpoint stored,
witnesses asked), and it varies with the machine's load, so a signing starts early by the
longest of the last few: checkpoints are *done* an interval apart. A still log costs nothing but
the safety-net look every `poll_s` (messages queued by a process that runs no loop, such as a
CLI command on SQLite).

Woken from a still log, the integrator first gathers for `gather_s` (GATHER_S in the gateway), so
that one round takes what an application's transactions queue close together — its intake, then
each agency's answer and its decision — instead of one round per commit. Nothing on an
application's path waits for its integration (the decision cites answers by their hashes), and a
round per commit competed with that path for the database and the CPU: about six rounds per
application, each holding the leader's lock (issue 17: 37 → 8.5 ms of integrator CPU per
application, p50 submit → decision 702 → 364 ms on PostgreSQL, loaded machine, back to back).
A round that found work does not gather before the next: a backlog is integrated batch after
batch at full speed. Inclusion proofs come at most `gather_s` later; checkpoints keep their
`interval_s`.
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
GATHER_S = 0.2  # how long a loop woken from a still log lets appends gather (see above)
SIGNINGS_REMEMBERED = 8  # how many recent signing durations the loop plans with


class Wakeup(Protocol):
    """`gateway.fanout.wakeup.Wakeup`, the `nsw_trail` channel (named here: fanout imports trail)."""

    def seen(self) -> int: ...

    def wait(self, seen: int, timeout_s: float | None) -> bool: ...

    def signal(self) -> None: ...


class Integrates(Protocol):
    """What the loop needs of `gateway.trail.audit.Auditor`."""

    def integrate(self, wait: bool = True, max_batches: int | None = None) -> int: ...

    def sign_checkpoint(self) -> TreeHead | None: ...


class IntegratorThread:
    def __init__(
        self,
        auditor: Integrates,
        interval_s: float,
        appended: Wakeup,
        poll_s: float | None,
        gather_s: float = 0.0,
    ) -> None:
        self.auditor = auditor
        self.interval_s = interval_s
        self.appended = appended
        self.poll_s = poll_s
        self.gather_s = gather_s
        self.gathering = threading.Event()  # set while a woken loop lets appends gather
        self._stop = threading.Event()
        # Look once at start: the log may have grown while nothing was signing.
        self._owed = threading.Event()
        self._owed.set()
        self._signings: deque[float] = deque(maxlen=SIGNINGS_REMEMBERED)  # seconds each took
        self._threads = [
            threading.Thread(target=self._integrate, name="trail-integrator", daemon=True),
            threading.Thread(target=self._checkpoint, name="trail-checkpoints", daemon=True),
        ]

    def _due(self, last_signed: float) -> float:
        """When the next signing starts: an interval after the last was done, less what a
        signing has lately taken (at most half an interval early). The first is a whole
        interval after start, so that a new log's first messages join it (an empty log's head,
        signed sooner, is what a client might take as the first tree it saw)."""
        lead = min(max(self._signings, default=0.0), self.interval_s / 2)
        return last_signed + self.interval_s - lead

    def _integrate(self) -> None:
        seen = -1  # not a count the wake-up has: the first look happens at once
        busy = True  # the last round found work: no gathering before the next (nor at start)
        while not self._stop.is_set():
            if self.appended.wait(seen, self.poll_s):
                self._owed.set()  # an append, or another process's integration: the log grows
                if self.gather_s > 0 and not busy:
                    # Woken from a still log: let the rest of a burst of commits join this round.
                    self.gathering.set()
                    self._stop.wait(self.gather_s)
                    self.gathering.clear()
            if self._stop.is_set():
                return
            seen = self.appended.seen()  # commits from here on wake the next round
            busy = False
            try:
                # One batch per round: the batch's commit wakes the next. Another leader's work
                # is left to it (its commit wakes us again).
                if self.auditor.integrate(wait=False, max_batches=1):
                    busy = True
                    self._owed.set()
            except Exception as exc:  # keep integrating; the next wake-up or look retries
                self._failed(exc, "trail integration failed")

    def _checkpoint(self) -> None:
        # The first checkpoint an interval after start, so the messages of that interval join
        # it (the head of a still log is already signed; a new empty log needs none yet).
        last_signed = time.monotonic()
        while not self._stop.is_set():
            self._owed.wait()  # set by the integrator loop, and by `stop`
            due = self._due(last_signed) - time.monotonic()
            if due > 0:
                self._stop.wait(due)
                continue
            if self._stop.is_set():
                return
            self._owed.clear()  # growth from here on owes the next checkpoint
            started = last_signed = time.monotonic()  # on failure, retry an interval on
            try:
                self.auditor.sign_checkpoint()  # none for an empty log
                last_signed = time.monotonic()
                self._signings.append(last_signed - started)
            except SignerRefusing:  # logged as an ERROR when it began; /readyz and the gauge tell
                log.debug("checkpoint not signed: the trail signer refuses")
            except Exception as exc:  # the next round retries
                self._owed.set()
                self._failed(exc, "trail checkpoint signing failed")

    @staticmethod
    def _failed(exc: Exception, what: str) -> None:
        if isinstance(exc, DatabaseUnavailable):
            log.warning("%s: database connection lost (%s)", what, exc.reason)
        else:
            log.exception(what)

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._owed.set()  # end the checkpoint loop's wait
        self.appended.signal()  # end the wait for appends
        for thread in self._threads:
            if thread.is_alive():
                thread.join(10)
