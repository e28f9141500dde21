"""The breakers in the database are shared: two `Breakers` on one database, each with its own engine
(as a web process and a worker, or two workers, have), see and move the same breaker."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import pytest
from sqlalchemy import Row, select

from gateway.fanout.breakers import BreakerRule, Breakers, BreakerState
from gateway.storage.breakers import DatabaseBreakerStore
from gateway.storage.db import make_engine
from gateway.storage.migrate import upgrade
from gateway.storage.models import AgencyBreakerRow

RULE = BreakerRule(failure_threshold=3, reset_after_s=10, probe_lease_s=30)


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def two_processes(database_url: str, clock: Clock) -> Iterator[tuple[Breakers, Breakers]]:
    """The breakers of two processes on one migrated database, each through its own engine."""
    engines = [make_engine(database_url) for _ in range(2)]
    upgrade(engines[0])
    first, second = (Breakers(DatabaseBreakerStore(e, clock), RULE, clock) for e in engines)
    yield first, second
    for engine in engines:
        engine.dispose()


def rows(breakers: Breakers) -> list[Row[Any]]:
    """The stored breaker rows, every column."""
    engine = cast(DatabaseBreakerStore, breakers.store).engine
    with engine.connect() as c:
        return list(c.execute(select(AgencyBreakerRow.__table__)))


def test_failures_counted_by_one_process_open_the_breaker_for_the_other(
    two_processes: tuple[Breakers, Breakers],
) -> None:
    web, worker = two_processes
    worker["transport"].record_failure("HTTP 503")
    web["transport"].record_failure("HTTP 503")  # consecutive across processes
    assert worker.open_agencies() == frozenset() and web["transport"].allow("web:0")
    worker["transport"].record_failure("HTTP 502")
    assert web.open_agencies() == frozenset({"transport"})
    assert not web["transport"].allow("web:0")
    assert web.snapshot() == {
        "transport": {
            "state": "open",
            "consecutive_failures": 3,
            "opened_at": "2026-11-23T12:00:00Z",
            "last_error": "HTTP 502",
        }
    }


def test_only_one_process_gets_the_probe_and_its_result_is_seen_by_both(
    two_processes: tuple[Breakers, Breakers], clock: Clock
) -> None:
    first, second = two_processes
    for _ in range(3):
        first["customs"].record_failure("down")
    clock.advance(10)
    assert first.open_agencies() == second.open_agencies() == frozenset()  # due a probe
    assert second["customs"].allow("second:0")
    assert not first["customs"].allow("first:0")
    assert not second["customs"].allow("second:1")
    assert first.open_agencies() == frozenset({"customs"})  # the probe is out: skip claims
    second["customs"].record_success()
    assert first["customs"].state is BreakerState.CLOSED
    assert first["customs"].allow("first:0") and first.open_agencies() == frozenset()


def test_a_failed_probe_opens_the_breaker_again_for_both(
    two_processes: tuple[Breakers, Breakers], clock: Clock
) -> None:
    first, second = two_processes
    for _ in range(3):
        first["health"].record_failure("down")
    clock.advance(10)
    assert first["health"].allow("first:0")
    first["health"].record_failure("still down")
    assert second["health"].state is BreakerState.OPEN
    assert not second["health"].allow("second:0")
    clock.advance(10)
    assert second["health"].allow("second:0")


def test_an_expired_probe_lease_lets_another_process_probe(
    two_processes: tuple[Breakers, Breakers], clock: Clock
) -> None:
    crashed, survivor = two_processes
    for _ in range(3):
        survivor["veterinary"].record_failure("down")
    clock.advance(10)
    assert crashed["veterinary"].allow("crashed:0")  # ... and never reports: killed mid-probe
    clock.advance(29)
    assert not survivor["veterinary"].allow("survivor:0")
    clock.advance(1)  # the lease (30 s) has run out
    assert survivor.open_agencies() == frozenset()
    assert survivor["veterinary"].allow("survivor:0")
    assert not crashed["veterinary"].allow("crashed:1")
    (row,) = rows(survivor)
    assert row.probe_owner == "survivor:0"


def test_racing_callers_in_both_processes_get_exactly_one_probe(
    two_processes: tuple[Breakers, Breakers], clock: Clock
) -> None:
    first, second = two_processes
    for _ in range(3):
        first["customs"].record_failure("down")
    clock.advance(10)
    callers = [(b, f"{name}:{i}") for i in range(4) for b, name in ((first, "a"), (second, "b"))]
    start = threading.Barrier(len(callers))

    def call(breakers: Breakers, name: str) -> bool:
        start.wait()
        return breakers["customs"].allow(name)

    with ThreadPoolExecutor(len(callers)) as pool:
        granted = list(pool.map(lambda c: call(*c), callers))
    assert granted.count(True) == 1


def test_a_closed_breaker_is_only_read(
    two_processes: tuple[Breakers, Breakers], clock: Clock
) -> None:
    first, second = two_processes
    assert first["customs"].allow("first:0")
    first["customs"].record_success()
    assert rows(first) == []  # nothing written for a breaker that never failed
    second["customs"].record_failure("blip")
    (row,) = rows(first)
    first["customs"].record_success()  # a change: the failure count goes back to 0
    (after,) = rows(first)
    assert (after.failures, after.last_error) == (0, None) and row.failures == 1
    clock.advance(1)
    second["customs"].record_success()
    assert rows(first) == [after]  # closed with no failures: not written again
    assert first.snapshot()["customs"]["state"] == "closed"
