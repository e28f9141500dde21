"""Delivery slots: a dispatcher's bounded set of deliveries in flight.

A dispatcher thread claims only as many deliveries as it has free slots, hands each to a thread
of its own, and claims again as soon as one slot frees — it never waits for the slowest delivery
of its last claim before taking the next ready row. So one slow agency holds up its own slot, not
the cases queued behind it, and at most `size` calls are in flight per dispatcher: no claimed row
sits waiting for a thread while its lease runs down.

The threads are kept between deliveries (starting one cost about a millisecond of CPU per
application, issue 17): a thread that finishes waits up to `IDLE_S` for its next delivery and
then ends, so an idle dispatcher keeps no threads. A delivery is handed straight to a waiting
thread, which is woken through a lock of its own: one wake-up per delivery, and the woken thread
does not then queue for the lock the dispatcher thread still holds (a Condition's notify woke it
only to wait again, for the lock).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

# Delivery slots per dispatcher thread a process runs (`Services.start_dispatchers`), and so the
# connections its pool keeps for them (`bootstrap.pool_connections`). An application fans out to
# four or five agencies at once, so at 4 a worker of 4 threads (16 slots) ran out at 4
# applications in flight: the rest waited for a slot while their agencies idled (issue 17:
# intake -> first claim 0.5 s with one worker, 39 ms with two). A slot is a thread that mostly
# waits for an agency; it holds a connection only while its delivery settles.
SLOTS_PER_DISPATCHER = 8
IDLE_S = 0.5  # how long a slot's thread waits for the next delivery before it ends


class _Parked:
    """A slot's thread waiting for its next piece: `wake` is held until `run` hands it one
    (`piece`) or `close` ends the wait (`piece` stays None)."""

    __slots__ = ("piece", "wake")

    def __init__(self) -> None:
        self.piece: tuple[Callable[[], None], str] | None = None
        self.wake = threading.Lock()
        self.wake.acquire()


class DeliverySlots:
    """At most `size` pieces of work running at once, on daemon threads of its own."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a dispatcher needs at least one delivery slot")
        self.size = size
        self._changed = threading.Condition(threading.Lock())  # a slot freed, or closing
        self._parked: list[_Parked] = []  # threads waiting for a piece, the latest last
        self._busy = 0  # pieces accepted and not finished
        self._threads = 0  # threads alive, running or parked
        self._closing = False

    def wait_free(self, timeout_s: float | None = None) -> int:
        """Block until a slot is free (or `close` is called, or `timeout_s` passes); return how
        many slots are free now (0 when closing or timed out)."""
        with self._changed:
            self._changed.wait_for(lambda: self._busy < self.size or self._closing, timeout_s)
            return 0 if self._closing else self.size - self._busy

    def run(self, work: Callable[[], None], name: str) -> bool:
        """Start `work` on a slot's thread (named `name` while it runs), holding the slot until
        it returns; False (nothing started) once `close` was called — a claim not sent comes back
        when its lease runs out. An exception from the work is logged: its own records (a claim's
        lease) bring back what it left."""
        with self._changed:
            if self._closing:
                return False
            self._busy += 1
            if self._parked:
                # The piece goes straight to a parked thread, woken through its own lock after
                # this one is let go: one wake-up, and the thread needs no lock to start on it.
                parked = self._parked.pop()
                parked.piece = (work, name)
            else:
                parked = None
                self._threads += 1
        if parked is not None:
            parked.wake.release()
            return True
        try:
            threading.Thread(target=self._serve, args=(work, name), name=name, daemon=True).start()
        except BaseException:  # no thread: its slot is free again
            with self._changed:
                self._threads -= 1
                self._busy -= 1
                self._changed.notify_all()
            raise
        return True

    def _serve(self, work: Callable[[], None], name: str) -> None:
        me = threading.current_thread()
        piece: tuple[Callable[[], None], str] | None = (work, name)
        while piece is not None:
            work, me.name = piece
            try:
                work()
            except Exception:
                log.exception("a delivery failed")
            except BaseException:
                with self._changed:
                    self._busy -= 1
                    self._threads -= 1
                    self._changed.notify_all()
                raise
            piece = self._next()

    def _next(self) -> tuple[Callable[[], None], str] | None:
        """After a piece: free its slot and park until `run` hands this thread the next piece,
        at most IDLE_S; None when the thread is to end (nothing came, or closing). The slot is
        freed and the thread parked in one hold of the lock, so a thread between two pieces
        already counts as waiting for the next and `run` starts no thread it does not need."""
        with self._changed:
            self._busy -= 1
            self._changed.notify_all()  # a `wait_free` or `close`, if any, looks again
            if self._closing:
                self._threads -= 1
                return None
            parked = _Parked()
            self._parked.append(parked)
        woken = parked.wake.acquire(timeout=IDLE_S)
        if woken and parked.piece is not None:
            return parked.piece  # handed over before the wake: no lock needed to read it
        with self._changed:
            if parked.piece is not None:  # handed over as the wait ran out: run it
                return parked.piece
            if not woken and not self._closing:  # nothing came (`close` took it off itself)
                self._parked.remove(parked)
            self._threads -= 1
            self._changed.notify_all()
            return None

    @property
    def busy(self) -> int:
        with self._changed:
            return self._busy

    def close(self, timeout_s: float) -> bool:
        """Take no more work: end any `wait_free` and the parked threads' waits, then wait up to
        `timeout_s` for the work in flight to finish and the threads to end; False if some is
        still running."""
        with self._changed:
            self._closing = True
            for parked in self._parked:
                parked.wake.release()  # its piece stays None: the thread ends
            self._parked.clear()
            self._changed.notify_all()
            return self._changed.wait_for(lambda: self._busy == 0 and not self._threads, timeout_s)
