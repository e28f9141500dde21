"""The answers of one claim's deliveries, recorded together.

A dispatcher's turn claims an application's ready cases in one statement and sends each in its
own delivery slot. Recorded as each answer arrives (`SettleGroup`), an application of four or
five agencies answering within milliseconds of each other took about three settle transactions,
each reading the application's cases and trying its decision again; recorded together, it takes
one, as `Dispatcher.run_once` does (issue 17: ~2 settles fewer per application, a millisecond or
more of CPU each).

The first answer of a turn waits in its thread until the turn's other deliveries have ended
(answered, failed or deferred) or `GATHER_S` passed, whichever comes first, and then records
every answer handed in meanwhile. An answer that comes after that is recorded on its own, as
before. So the wait costs no latency where it matters (the decision needs every case's answer
anyway) and a slow or silent agency holds the others' answers back for at most `GATHER_S`.
"""

from __future__ import annotations

import threading

from adapters.base import Outcome
from gateway.fanout.ports import Answered

GATHER_S = 0.1  # the longest the first answer of a turn waits for its siblings
Handed = tuple[Answered, Outcome]  # an answer as recorded, with the agency's outcome for the log


class Gather:
    """The deliveries of one turn: `handed_in` per answer, `ended` once per delivery.

    Only the first answer's thread ever waits, and it is woken once, by the delivery that
    leaves it the only one running (not by every delivery that ends): an application of five
    agencies that all answer at once costs one wake-up here, not four (issue 17)."""

    def __init__(self, deliveries: int, wait_s: float = GATHER_S) -> None:
        self._lock = threading.Lock()
        self._running = deliveries  # deliveries not yet ended
        self._held: list[Handed] | None = []  # None once the first answer's thread took them
        self._first: threading.Lock | None = None  # held while the first answer waits
        self.wait_s = wait_s

    def handed_in(self, answer: Handed) -> list[Handed] | None:
        """Called by a delivery's thread with its answer, before it ends. Returns the answers
        this thread is to record (its own alone when the turn's answers were taken already;
        every answer handed in, after waiting for the others, when it is the first); None when
        the first answer's thread records it."""
        with self._lock:
            if self._held is None:
                return [answer]  # too late for the turn's group
            self._held.append(answer)
            if len(self._held) > 1:
                return None
            # The first: wait until this delivery is the only one still running.
            if self._running > 1:
                first = self._first = threading.Lock()
                first.acquire()
            else:
                first = None
        if first is not None:
            first.acquire(timeout=self.wait_s)  # released by `ended` (or the wait runs out)
        with self._lock:
            taken, self._held = self._held, None
            self._first = None
            return taken

    def ended(self) -> None:
        """Called once by each delivery's thread when it is done (also when it failed or was
        never started), after `handed_in`."""
        with self._lock:
            self._running -= 1
            if self._running > 1 or self._first is None:
                return
            first, self._first = self._first, None  # wake it once
        first.release()
