"""Wake-ups from the store: after the commit in this process, and by NOTIFY across processes on
PostgreSQL (a listener with its own engine and connection stands for another process)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, text

from gateway.clock import system_clock
from gateway.fanout.wakeup import GUARANTEES, OUTBOX, TRAIL, Wakeup, Wakeups
from gateway.storage import wake
from gateway.storage.db import is_postgres, make_engine
from gateway.storage.migrate import upgrade
from gateway.storage.models import OutboxRow
from gateway.storage.outbox import OutboxStore
from gateway.storage.wake import PgListener, wakeups_for
from tests.polling import wait_until
from tests.sql_statements import recorded
from tests.storage_helpers import lodge


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def test_a_signal_while_the_loop_looks_is_not_lost() -> None:
    wakeup = Wakeup()
    seen = wakeup.seen()  # the loop notes the count, then looks for work ...
    wakeup.signal()  # ... while a commit signals
    assert wakeup.wait(seen, 0)  # so its wait returns at once instead of sleeping
    assert not wakeup.wait(wakeup.seen(), 0)


def test_a_commit_wakes_this_process_and_a_rollback_does_not(engine: Engine) -> None:
    store = OutboxStore(engine, system_clock)
    outbox, trail = wakeups_for(engine)[OUTBOX], wakeups_for(engine)[TRAIL]
    seen = outbox.seen()
    with pytest.raises(RuntimeError), store.transaction() as s:
        s.add(OutboxRow(case_id="nowhere", available_at=system_clock(), attempts=0))
        wake.owe(s, OUTBOX)
        raise RuntimeError("rolled back")
    assert not outbox.wait(seen, 0)

    seen_trail = trail.seen()
    lodge(store, "NSW-20261207-WAKE00001")
    assert outbox.wait(seen, 0)
    assert not trail.wait(seen_trail, 0)  # no message was stored: the trail did not grow


def test_an_operators_retry_and_a_rescheduled_delivery_wake_the_dispatchers(engine: Engine) -> None:
    store = OutboxStore(engine, system_clock)
    outbox = wakeups_for(engine)[OUTBOX]
    lodge(store, "NSW-20261207-WAKE00004")
    (claim,) = store.claim("worker-a", lease_s=60)
    seen = outbox.seen()
    store.reschedule(claim, error="refused", retry_at=None, messages=[])  # escalated
    assert not outbox.wait(seen, 0)  # nothing to deliver any more
    store.retry_case(claim.case_id)
    assert outbox.wait(seen, 0)

    (again,) = store.claim("worker-a", lease_s=60)
    seen = outbox.seen()
    store.reschedule(again, error="timed out", retry_at=system_clock(), messages=[])
    assert outbox.wait(seen, 0)


def test_another_processs_listener_is_woken_by_notify(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    if not is_postgres(engine):
        pytest.skip("SQLite has no notifications across processes (the loops poll there)")
    # The other process: its own engine, its own wake-ups, its own LISTEN connection.
    other_engine = make_engine(engine.url.render_as_string(hide_password=False))
    other = Wakeups()
    listener = PgListener(other_engine, other, max_backoff_s=0.2)
    listener.start()
    try:
        assert listener.connected.wait(10)
        _woken_by_notify_alone(
            other, lambda: lodge(OutboxStore(engine, system_clock), "NSW-20261207-WAKE00002")
        )

        # Its connection is killed: one log line, a reconnect, and it hears NOTIFY again.
        with caplog.at_level(logging.WARNING, logger="gateway.storage.wake"):
            with engine.begin() as c:
                c.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE query LIKE 'LISTEN nsw_%' AND datname = current_database() "
                        "AND pid <> pg_backend_pid()"
                    )
                )
            wait_until(
                lambda: any("connection lost" in r.getMessage() for r in caplog.records),
                10,
                "the listener noticed",
            )
            wait_until(listener.connected.is_set, 10, "the listener reconnected")
        lost = [r for r in caplog.records if "connection lost" in r.getMessage()]
        assert len(lost) == 1
        _woken_by_notify_alone(
            other, lambda: lodge(OutboxStore(engine, system_clock), "NSW-20261207-WAKE00003")
        )
    finally:
        listener.stop()
        other_engine.dispose()


def _woken_by_notify_alone(other: Wakeups, commit: Callable[[], None]) -> None:
    """`commit` (work for the dispatchers) wakes `other`'s outbox loops, and nothing else woke
    them: the listener's catch-up signal after a (re)connect signals every channel, so had it come
    after `connected` was set, it would have satisfied the outbox's wait by itself and the
    guarantee channel, which nothing here NOTIFYs, would have moved too."""
    outbox, canary = other[OUTBOX].seen(), other[GUARANTEES].seen()
    commit()
    assert other[OUTBOX].wait(outbox, 10)
    assert not other[GUARANTEES].wait(canary, 0), "woken by the listener's catch-up signal"


def test_a_transaction_owing_several_channels_notifies_them_in_one_statement(
    engine: Engine,
) -> None:
    if not is_postgres(engine):
        pytest.skip("SQLite has no notifications across processes (the loops poll there)")
    other_engine = make_engine(engine.url.render_as_string(hide_password=False))
    heard = Wakeups()
    listener = PgListener(other_engine, heard, max_backoff_s=0.2)
    listener.start()
    try:
        assert listener.connected.wait(10)
        outbox, trail = heard[OUTBOX].seen(), heard[TRAIL].seen()
        with recorded(engine) as seen, OutboxStore(engine, system_clock).transaction() as s:
            wake.owe(s, OUTBOX)
            wake.owe(s, TRAIL)
        # One round trip for both (it was one NOTIFY each), and the other process hears both.
        assert [sql for sql, _ in seen if "notify" in sql.lower()] == [
            "SELECT pg_notify('nsw_outbox', ''), pg_notify('nsw_trail', '')"
        ]
        assert heard[OUTBOX].wait(outbox, 10) and heard[TRAIL].wait(trail, 10)
    finally:
        listener.stop()
        other_engine.dispose()


def test_the_listener_skips_the_echo_of_its_own_processs_commits(engine: Engine) -> None:
    if not is_postgres(engine):
        pytest.skip("SQLite has no notifications across processes (the loops poll there)")
    # This process's listener: the same engine the stores write through, fresh wake-ups to count.
    heard = Wakeups()
    listener = PgListener(engine, heard, max_backoff_s=0.2)
    other_engine = make_engine(engine.url.render_as_string(hide_password=False))
    listener.start()
    try:
        assert listener.connected.wait(10)
        outbox, trail = heard[OUTBOX].seen(), heard[TRAIL].seen()
        with OutboxStore(engine, system_clock).transaction() as s:  # ours: woke us in-process
            wake.owe(s, OUTBOX)
        with OutboxStore(other_engine, system_clock).transaction() as s:  # another process's
            wake.owe(s, TRAIL)
        # NOTIFYs arrive in commit order: once the other's is heard, ours was read before it.
        assert heard[TRAIL].wait(trail, 10)
        assert not heard[OUTBOX].wait(outbox, 0)
    finally:
        listener.stop()
        other_engine.dispose()
