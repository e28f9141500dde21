"""The breakers' in-process snapshot (`CachedBreakerStore`): questions are answered from one read
of the shared store a second; changes go to the shared store at once and show here at once."""

import datetime as dt
import threading

from gateway.fanout.breakers import (
    CLOSED,
    BreakerRecord,
    BreakerRule,
    Breakers,
    BreakerState,
    CachedBreakerStore,
    MemoryBreakerStore,
    Step,
)

T0 = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
RULE = BreakerRule(failure_threshold=2, reset_after_s=10, probe_lease_s=30)


class CountingStore(MemoryBreakerStore):
    """The shared store, counting reads and writes (a database round trip each)."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.changes = 0

    def load(self, agency: str) -> BreakerRecord:
        self.reads += 1
        return super().load(agency)

    def load_all(self) -> dict[str, BreakerRecord]:
        self.reads += 1
        return super().load_all()

    def change(self, agency: str, step: Step) -> BreakerRecord:
        self.changes += 1
        return super().change(agency, step)


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_closed_breaker_is_asked_many_times_for_one_read_a_second() -> None:
    shared, ticks = CountingStore(), Ticks()
    breakers = Breakers(CachedBreakerStore(shared, 1.0, ticks), RULE, lambda: T0)
    for _ in range(50):  # a busy second: claims and deliveries asking, all answered
        assert breakers.open_agencies() == frozenset()
        assert breakers["customs"].allow("w1")
        breakers["customs"].record_success()
    assert (shared.reads, shared.changes) == (1, 0)
    ticks.now = 1.0
    assert breakers["customs"].allow("w1")
    assert shared.reads == 2  # a second later it looks again


def test_own_changes_show_at_once_and_others_within_the_freshness() -> None:
    shared, ticks = CountingStore(), Ticks()
    here = Breakers(CachedBreakerStore(shared, 1.0, ticks), RULE, lambda: T0)
    there = Breakers(shared, RULE, lambda: T0)  # another process, on the shared store
    assert here.open_agencies() == frozenset()
    here["transport"].record_failure("HTTP 503")
    here["transport"].record_failure("HTTP 502")  # counted in the shared store: opens it
    assert shared.load("transport").state is BreakerState.OPEN
    assert here.open_agencies() == frozenset({"transport"})  # without reading again
    assert not here["transport"].allow("w1")
    there["transport"].record_success()  # another process's probe succeeded: closed there
    assert shared.load("transport") == CLOSED
    ticks.now = 0.5
    assert not here["transport"].allow("w1")  # not yet seen here
    ticks.now = 1.0
    assert here["transport"].allow("w1")  # seen once the snapshot is a second old


def test_the_half_open_probe_is_still_decided_by_the_shared_store() -> None:
    shared, ticks = CountingStore(), Ticks()
    now = [T0]
    here = Breakers(CachedBreakerStore(shared, 1.0, ticks), RULE, lambda: now[0])
    there = Breakers(CachedBreakerStore(shared, 1.0, ticks), RULE, lambda: now[0])
    for _ in range(2):
        here["health"].record_failure("down")
    assert there.open_agencies() == frozenset({"health"})  # its first read: open
    now[0] = T0 + dt.timedelta(seconds=10)  # the probe is due; both snapshots say "open"
    assert here["health"].allow("here:0")
    assert not there["health"].allow("there:0")  # its stale snapshot is overruled by the store
    assert shared.load("health").probe_owner == "here:0"


class HeldStore(CountingStore):
    """A shared store whose `load_all`, while `hold` is set, reads and then waits until the test
    lets it go (a slow database): what it returns is as old as its start."""

    def __init__(self) -> None:
        super().__init__()
        self.hold = threading.Event()
        self.reading = threading.Event()
        self.release = threading.Event()

    def load_all(self) -> dict[str, BreakerRecord]:
        read = super().load_all()
        if self.hold.is_set():
            self.reading.set()
            assert self.release.wait(10)
        return read


def test_a_stale_snapshot_is_read_again_by_one_thread_while_the_others_use_it() -> None:
    shared, ticks = HeldStore(), Ticks()
    cache = CachedBreakerStore(shared, 1.0, ticks)
    breakers = Breakers(cache, RULE, lambda: T0)
    assert breakers.open_agencies() == frozenset()
    there = Breakers(shared, RULE, lambda: T0)  # another process opens transport's breaker
    there["transport"].record_failure("HTTP 503")
    there["transport"].record_failure("HTTP 503")
    ticks.now = 1.0
    shared.hold.set()
    refresher = threading.Thread(target=cache.load_all)
    refresher.start()
    try:
        assert shared.reading.wait(10)  # it is reading the shared store again, slowly
        # Meanwhile the other threads are answered at once from the last read ...
        assert breakers.open_agencies() == frozenset()
        assert breakers["transport"].allow("w2")
        # ... and a change this process makes meanwhile is not undone by the older read.
        shared.hold.clear()
        breakers["customs"].record_failure("down")
        breakers["customs"].record_failure("down")
    finally:
        shared.release.set()
        refresher.join(10)
    assert breakers.open_agencies() == frozenset({"transport", "customs"})
    assert shared.reads == 2  # one first read, one read again: nobody else went to the store
