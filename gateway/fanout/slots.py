"""Delivery slots: a dispatcher's bounded set of deliveries in flight.

A dispatcher thread claims only as many deliveries as it has free slots, hands each to a thread
of its own, and claims again as soon as one slot frees — it never waits for the slowest delivery
of its last claim before taking the next ready row. So one slow agency holds up its own slot, not
the cases queued behind it, and at most `size` calls are in flight per dispatcher: no claimed row
sits waiting for a thread while its lease runs down.
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


class DeliverySlots:
    """At most `size` pieces of work running at once, each in its own daemon thread."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a dispatcher needs at least one delivery slot")
        self.size = size
        self._changed = threading.Condition()
        self._busy = 0
        self._closing = False

    def wait_free(self, timeout_s: float | None = None) -> int:
        """Block until a slot is free (or `close` is called, or `timeout_s` passes); return how
        many slots are free now (0 when closing or timed out)."""
        with self._changed:
            self._changed.wait_for(lambda: self._busy < self.size or self._closing, timeout_s)
            return 0 if self._closing else self.size - self._busy

    def run(self, work: Callable[[], None], name: str) -> bool:
        """Start `work` in a thread of its own, holding a slot until it returns; False (nothing
        started) once `close` was called — a claim not sent comes back when its lease runs out.
        An exception from the work is logged: its own records (a claim's lease) bring back what
        it left."""
        with self._changed:
            if self._closing:
                return False
            self._busy += 1
        try:
            threading.Thread(target=self._hold, args=(work,), name=name, daemon=True).start()
        except BaseException:  # no thread, no slot held
            self._release()
            raise
        return True

    def _hold(self, work: Callable[[], None]) -> None:
        try:
            work()
        except Exception:
            log.exception("a delivery failed")
        finally:
            self._release()

    def _release(self) -> None:
        with self._changed:
            self._busy -= 1
            self._changed.notify_all()

    @property
    def busy(self) -> int:
        with self._changed:
            return self._busy

    def close(self, timeout_s: float) -> bool:
        """Take no more work: end any `wait_free`, then wait up to `timeout_s` for the work in
        flight to finish; False if some is still running."""
        with self._changed:
            self._closing = True
            self._changed.notify_all()
            return self._changed.wait_for(lambda: self._busy == 0, timeout_s)
