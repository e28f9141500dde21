"""Circuit breakers, one per agency: stop calling an agency that keeps failing, probe it again later.

CLOSED: calls flow; `failure_threshold` consecutive failures open the breaker.
OPEN: no calls until `reset_after_s` has passed; then HALF_OPEN.
HALF_OPEN: exactly one probe call is let through; success closes, failure opens again. The probe is
held for `probe_lease_s`: a dispatcher killed during its probe blocks the agency only that long.

The rule (`BreakerRule`) is a set of pure functions from one `BreakerRecord` to the next. Where the
records live is a `BreakerStore`: the database (`gateway.storage.breakers`), so every web and worker
process on one database sees and moves the same breaker — failures counted by one worker open it for
all, and one probe is let through across all of them — or memory, for one process and for tests.
The shared breaker is what the operations API, the OMC and /metrics show.
"""

from __future__ import annotations

import datetime as dt
import enum
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from gateway.clock import Clock, iso


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


@dataclass(frozen=True)
class BreakerRecord:
    """One agency's breaker as stored. The default is a closed breaker that never failed."""

    state: BreakerState = BreakerState.CLOSED
    failures: int = 0  # consecutive failed calls
    opened_at: dt.datetime | None = None
    probe_owner: str | None = None  # the dispatcher holding the half-open probe
    probe_until: dt.datetime | None = None  # its lease
    last_error: str | None = None


CLOSED = BreakerRecord()


@dataclass(frozen=True)
class BreakerRule:
    """The state machine, as pure functions of a record and the time."""

    failure_threshold: int = 5
    reset_after_s: float = 30.0
    probe_lease_s: float = 60.0

    def refuses(self, r: BreakerRecord, now: dt.datetime) -> bool:
        """Would every caller be refused now? Open and not yet due a probe, or half-open with a
        probe still under its lease. (Dispatchers skip claiming such an agency's deliveries.)"""
        if r.state is BreakerState.OPEN:
            return not self._probe_due(r, now)
        if r.state is BreakerState.HALF_OPEN:
            return r.probe_until is not None and now < r.probe_until
        return False

    def admit(self, r: BreakerRecord, now: dt.datetime, caller: str) -> BreakerRecord | None:
        """The record once `caller` is let through (`r` itself when closed), or None: refused.
        Open and due, or half-open with no live probe: `caller` takes the probe and its lease."""
        if r.state is BreakerState.CLOSED:
            return r
        if self.refuses(r, now):
            return None
        return replace(
            r,
            state=BreakerState.HALF_OPEN,
            probe_owner=caller,
            probe_until=now + dt.timedelta(seconds=self.probe_lease_s),
        )

    def succeeded(self, r: BreakerRecord) -> BreakerRecord:
        """A call answered: the agency works, whatever the state was."""
        return CLOSED

    def failed(self, r: BreakerRecord, now: dt.datetime, error: str) -> BreakerRecord:
        """A call failed: count it; the threshold, or a failed probe, opens the breaker (again)."""
        failures = r.failures + 1
        if r.state is BreakerState.HALF_OPEN or failures >= self.failure_threshold:
            return BreakerRecord(BreakerState.OPEN, failures, now, last_error=error)
        return replace(r, failures=failures, last_error=error)

    def _probe_due(self, r: BreakerRecord, now: dt.datetime) -> bool:
        opened = r.opened_at or now
        return (now - opened).total_seconds() >= self.reset_after_s


Step = Callable[[BreakerRecord], BreakerRecord]


class BreakerStore(Protocol):
    def load(self, agency: str) -> BreakerRecord:
        """The agency's record (`CLOSED` if none is stored); a plain read, no lock."""
        ...

    def load_all(self) -> dict[str, BreakerRecord]:
        """Every stored record, in one read."""
        ...

    def change(self, agency: str, step: Step) -> BreakerRecord:
        """Atomically against every other process: read the agency's record, write `step(record)`
        if it differs, and return the record as read (`step` may run more than once)."""
        ...


class MemoryBreakerStore:
    """Records in this process only: for tests and a gateway that never runs a second process."""

    def __init__(self) -> None:
        self._records: dict[str, BreakerRecord] = {}
        self._lock = threading.Lock()

    def load(self, agency: str) -> BreakerRecord:
        with self._lock:
            return self._records.get(agency, CLOSED)

    def load_all(self) -> dict[str, BreakerRecord]:
        with self._lock:
            return dict(self._records)

    def change(self, agency: str, step: Step) -> BreakerRecord:
        with self._lock:
            before = self._records.get(agency, CLOSED)
            self._records[agency] = step(before)
            return before


class CachedBreakerStore:
    """A `BreakerStore` that keeps what it last read of `inner` for `fresh_s` seconds.

    Every delivery asks its agency's breaker twice (may I call, and it worked) and every claim
    asks which are open; against the database that was a read transaction each, about a tenth of
    the gateway's CPU, for a record that changes only when an agency starts or stops failing.
    Reads are answered from one snapshot of every record, read again once it is `fresh_s` old;
    `change` always goes to `inner` (atomic across processes, so the half-open probe is still
    given to exactly one caller and failures are counted from every process) and the snapshot
    takes the written record at once. What another process changed is seen here within
    `fresh_s`: that long, a breaker it opened may still let this process's calls through."""

    def __init__(
        self, inner: BreakerStore, fresh_s: float, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.inner = inner
        self.fresh_s = fresh_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._records: dict[str, BreakerRecord] = {}
        self._read_at: float | None = None
        self._refreshing = (
            False  # one thread is reading `inner` again; the others use the last read
        )
        self._changed: set[str] = set()  # agencies `change`d while that read was under way

    def load(self, agency: str) -> BreakerRecord:
        return self.load_all().get(agency, CLOSED)

    def load_all(self) -> dict[str, BreakerRecord]:
        with self._lock:
            if self._read_at is None:
                # The first read is made under the lock: threads asking at once wait for it.
                self._records, self._read_at = self.inner.load_all(), self._monotonic()
                return dict(self._records)
            if self._refreshing or self._monotonic() - self._read_at < self.fresh_s:
                return dict(self._records)
            self._refreshing, self._changed = True, set()
        # A stale snapshot is read again by the one thread that found it stale, outside the
        # lock: the delivery threads asking meanwhile are answered from the last read instead of
        # waiting for a database round trip (they waited up to 8 % of a delivery's wall time
        # under load).
        try:
            fresh = self.inner.load_all()
        except BaseException:
            with self._lock:
                self._refreshing = False  # the next caller tries again
            raise
        with self._lock:
            # What this process wrote while the read was under way may be newer than the read.
            kept = {a: self._records[a] for a in self._changed if a in self._records}
            self._records, self._read_at = {**fresh, **kept}, self._monotonic()
            self._refreshing = False
            return dict(self._records)

    def change(self, agency: str, step: Step) -> BreakerRecord:
        before = self.inner.change(agency, step)
        with self._lock:
            self._records[agency] = step(before)  # what `inner` wrote (`step` is pure)
            if self._refreshing:
                self._changed.add(agency)
        return before


def snapshot(r: BreakerRecord) -> dict[str, Any]:
    """What operators see of a breaker (operations API, OMC, /metrics)."""
    return {
        "state": r.state.value,
        "consecutive_failures": r.failures,
        "opened_at": iso(r.opened_at) if r.opened_at else None,
        "last_error": r.last_error,
    }


class CircuitBreaker:
    """One agency's breaker, moved through `store`. A call that changes nothing (the usual
    closed breaker allowing a call, or a success while closed with no failures) only reads."""

    def __init__(self, agency: str, rule: BreakerRule, store: BreakerStore, clock: Clock) -> None:
        self.agency = agency
        self.rule = rule
        self._store = store
        self._clock = clock

    @property
    def reset_after_s(self) -> float:
        return self.rule.reset_after_s

    @property
    def state(self) -> BreakerState:
        return self._store.load(self.agency).state

    def allow(self, caller: str = "") -> bool:
        """May `caller` call the agency now? In HALF_OPEN only one caller across every process
        sharing the store gets True, until it reports or its probe lease runs out."""
        now = self._clock()
        seen = self._store.load(self.agency)
        admitted = self.rule.admit(seen, now, caller)
        if admitted is None or admitted == seen:
            return admitted is not None  # refused, or closed: nothing to write
        # Taking the probe: decided again on the record read under the store's lock, so two
        # processes that both saw it free cannot both take it.
        before = self._store.change(self.agency, lambda r: self.rule.admit(r, now, caller) or r)
        return self.rule.admit(before, now, caller) is not None

    def record_success(self) -> None:
        seen = self._store.load(self.agency)
        if self.rule.succeeded(seen) != seen:
            self._store.change(self.agency, self.rule.succeeded)

    def record_failure(self, error: str) -> None:
        now = self._clock()
        self._store.change(self.agency, lambda r: self.rule.failed(r, now, error))

    def snapshot(self) -> dict[str, Any]:
        return snapshot(self._store.load(self.agency))


class Breakers:
    """Every agency's breaker, kept in `store` (shared by all processes on one database)."""

    def __init__(self, store: BreakerStore, rule: BreakerRule, clock: Clock) -> None:
        self.store = store
        self.rule = rule
        self.clock = clock

    def __getitem__(self, agency: str) -> CircuitBreaker:
        return CircuitBreaker(agency, self.rule, self.store, self.clock)

    def open_agencies(self) -> frozenset[str]:
        """Agencies whose breaker refuses every call now: one read of the store."""
        now = self.clock()
        records = self.store.load_all()
        return frozenset(agency for agency, r in records.items() if self.rule.refuses(r, now))

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Agency -> state, consecutive_failures, opened_at, last_error; agencies never stored
        are closed and absent."""
        return {agency: snapshot(r) for agency, r in self.store.load_all().items()}
