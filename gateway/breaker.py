"""Circuit breakers, one per agency: stop calling an agency that keeps failing, probe it again later.

CLOSED: calls flow; `failure_threshold` consecutive failures open the breaker.
OPEN: no calls until `reset_after_s` has passed; then HALF_OPEN.
HALF_OPEN: exactly one probe call is let through; success closes, failure opens again.

State is per process (each dispatcher process watches its own calls, as a node-local breaker in
X-Road or Envoy does); it is shown by the operations API and `nsw agencies`.
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass
from typing import Any

from gateway.clock import Clock, iso


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


@dataclass
class CircuitBreaker:
    clock: Clock
    failure_threshold: int = 5
    reset_after_s: float = 30.0
    state: BreakerState = BreakerState.CLOSED
    failures: int = 0
    opened_at: Any = None  # dt.datetime | None
    probe_in_flight: bool = False
    last_error: str | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def allow(self) -> bool:
        """May a call go to the agency now? In HALF_OPEN only one caller gets True."""
        with self._lock:
            if self.state is BreakerState.CLOSED:
                return True
            if self.state is BreakerState.OPEN:
                if (self.clock() - self.opened_at).total_seconds() < self.reset_after_s:
                    return False
                self.state = BreakerState.HALF_OPEN
                self.probe_in_flight = False
            if self.probe_in_flight:
                return False
            self.probe_in_flight = True
            return True

    def is_open(self) -> bool:
        with self._lock:
            return (
                self.state is BreakerState.OPEN
                and (self.clock() - self.opened_at).total_seconds() < self.reset_after_s
            )

    def record_success(self) -> None:
        with self._lock:
            self.state = BreakerState.CLOSED
            self.failures = 0
            self.probe_in_flight = False
            self.last_error = None

    def record_failure(self, error: str) -> None:
        with self._lock:
            self.failures += 1
            self.last_error = error
            if self.state is BreakerState.HALF_OPEN or self.failures >= self.failure_threshold:
                self.state = BreakerState.OPEN
                self.opened_at = self.clock()
            self.probe_in_flight = False

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "state": self.state.value,
                "consecutive_failures": self.failures,
                "opened_at": iso(self.opened_at) if self.opened_at else None,
                "last_error": self.last_error,
            }


class Breakers:
    """The breakers of one process, created on first use."""

    def __init__(self, clock: Clock, failure_threshold: int, reset_after_s: float) -> None:
        self.clock = clock
        self.failure_threshold = failure_threshold
        self.reset_after_s = reset_after_s
        self._by_agency: dict[str, CircuitBreaker] = {}
        self._lock = threading.Lock()

    def __getitem__(self, agency: str) -> CircuitBreaker:
        with self._lock:
            if agency not in self._by_agency:
                self._by_agency[agency] = CircuitBreaker(
                    self.clock, self.failure_threshold, self.reset_after_s
                )
            return self._by_agency[agency]

    def open_agencies(self) -> frozenset[str]:
        with self._lock:
            breakers = list(self._by_agency.items())
        return frozenset(agency for agency, b in breakers if b.is_open())

    def snapshot(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            breakers = list(self._by_agency.items())
        return {agency: b.snapshot() for agency, b in breakers}
