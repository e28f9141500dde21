"""Delivery slots: a dispatcher's bounded set of deliveries in flight.

A dispatcher thread claims only as many deliveries as it has free slots, hands each to a thread
of its own, and claims again as soon as one slot frees — it never waits for the slowest delivery
of its last claim before taking the next ready row. So one slow agency holds up its own slot, not
the cases queued behind it, and at most `size` calls are in flight per dispatcher: no claimed row
sits waiting for a thread while its lease runs down.

The threads are kept between deliveries (starting one cost about a millisecond of CPU per
application, issue 17): a thread that finishes takes the next waiting delivery, one that finds
none waits up to `IDLE_S` for one and then ends, so an idle dispatcher keeps no threads.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
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


class DeliverySlots:
    """At most `size` pieces of work running at once, on daemon threads of its own."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a dispatcher needs at least one delivery slot")
        self.size = size
        lock = threading.Lock()
        self._changed = threading.Condition(lock)  # a slot freed, or closing
        self._ready = threading.Condition(lock)  # work queued for the waiting threads
        self._queue: deque[tuple[Callable[[], None], str]] = deque()
        self._busy = 0  # pieces accepted and not finished (queued or running)
        self._threads = 0  # threads alive, running or waiting for work
        self._waiting = 0  # of those, the ones waiting in `_next`
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
            self._queue.append((work, name))
            # A waiting thread counts until it has taken a piece: one more piece than there are
            # waiting threads needs a thread of its own.
            if len(self._queue) <= self._waiting:
                self._ready.notify()
                return True
            self._threads += 1
        try:
            threading.Thread(target=self._serve, name=name, daemon=True).start()
        except BaseException:  # no thread: unless another took the piece, its slot is free again
            with self._changed:
                self._threads -= 1
                if (work, name) not in self._queue:
                    return True  # a thread that finished its own piece runs it
                self._queue.remove((work, name))
                self._busy -= 1
                self._changed.notify_all()
            raise
        return True

    def _serve(self) -> None:
        me = threading.current_thread()
        piece = self._next(finished=False)
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
            piece = self._next(finished=True)

    def _next(self, *, finished: bool) -> tuple[Callable[[], None], str] | None:
        """The next queued piece (after freeing the slot of the one `finished`), waiting up to
        IDLE_S for one; None when the thread is to end (nothing came, or closing with nothing
        queued). One hold of the lock, so a thread between two pieces still counts as waiting
        for the next and `run` starts no thread it does not need."""
        with self._changed:
            if finished:
                self._busy -= 1
                self._changed.notify_all()
            if not self._queue and not self._closing:
                self._waiting += 1
                self._ready.wait_for(lambda: self._queue or self._closing, IDLE_S)
                self._waiting -= 1
            if self._queue:
                return self._queue.popleft()
            self._threads -= 1
            self._changed.notify_all()
            return None

    @property
    def busy(self) -> int:
        with self._changed:
            return self._busy

    def close(self, timeout_s: float) -> bool:
        """Take no more work: end any `wait_free`, then wait up to `timeout_s` for the work in
        flight to finish and the threads to end; False if some is still running."""
        with self._changed:
            self._closing = True
            self._changed.notify_all()
            self._ready.notify_all()
            return self._changed.wait_for(lambda: self._busy == 0 and not self._threads, timeout_s)
