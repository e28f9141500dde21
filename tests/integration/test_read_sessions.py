"""Readers do not queue behind writers: a status read or an idle claim completes while another
transaction holds SQLite's write lock (WAL snapshot reads), and sees only committed data."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from sqlalchemy.exc import OperationalError

from gateway.clock import system_clock
from gateway.storage.db import make_engine
from gateway.storage.migrate import upgrade
from gateway.storage.outbox import OutboxStore
from gateway.storage.outbox_sql import any_ready
from tests.polling import wait_until
from tests.sql_statements import recorded


def test_reads_and_idle_claims_do_not_wait_for_a_writer(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    store = OutboxStore(engine, system_clock)
    writer_holds, release = threading.Event(), threading.Event()

    def long_writer() -> None:
        with store.transaction() as s:  # BEGIN IMMEDIATE on SQLite: the write lock, held
            s.connection().exec_driver_sql("SELECT 1")
            writer_holds.set()
            release.wait(30)

    writer = threading.Thread(target=long_writer)
    writer.start()
    results: dict[str, object] = {}

    def reader() -> None:
        results["status"] = store.application("NSW-20261123-0000000000")
        results["claims"] = store.claim("reader", lease_s=5)
        results["open"] = store.count_open_outbox()

    reading = threading.Thread(target=reader)
    try:
        assert writer_holds.wait(10)
        reading.start()
        wait_until(lambda: len(results) == 3, deadline_s=10, what="reads done while a writer waits")
        assert results == {"status": None, "claims": [], "open": 0}
    finally:
        release.set()
        writer.join(10)
        if reading.is_alive() or reading.ident is not None:
            reading.join(10)
        engine.dispose()


def test_a_sqlite_writer_takes_the_write_lock_at_begin_without_a_statement_of_its_own(
    database_url: str,
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("BEGIN IMMEDIATE is SQLite's; PostgreSQL writers lock rows, not the database")
    engine = make_engine(database_url, connections=1)
    upgrade(engine)
    store = OutboxStore(engine, system_clock)
    with engine.connect() as c:  # the pool's one connection gives up at once when locked
        c.connection.dbapi_connection.execute("PRAGMA busy_timeout=0")  # type: ignore[union-attr]
    holder = sqlite3.connect(engine.url.database or "", isolation_level=None)
    try:
        with recorded(engine) as seen, store.transaction() as s:
            s.connection()  # the transaction begins: BEGIN IMMEDIATE, the lock taken now
            holder.execute("PRAGMA busy_timeout=0")
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                holder.execute("BEGIN IMMEDIATE")
        # BEGIN went to the driver directly, not through SQLAlchemy's execution steps.
        assert seen == []
        holder.execute("BEGIN IMMEDIATE")  # now another holds the lock: BEGIN fails as before,
        with pytest.raises(OperationalError, match="locked"), store.transaction() as s:
            s.connection()  # as SQLAlchemy's error, which the loops and web layer expect
        holder.execute("ROLLBACK")
    finally:
        holder.close()
        engine.dispose()


def test_a_sqlite_writer_after_a_reader_on_the_same_connection_takes_the_write_lock(
    database_url: str,
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("BEGIN IMMEDIATE is SQLite's; PostgreSQL writers lock rows, not the database")
    engine = make_engine(database_url, connections=1)  # the reader's connection is the writer's
    upgrade(engine)
    store = OutboxStore(engine, system_clock)
    holder = sqlite3.connect(engine.url.database or "", isolation_level=None)
    holder.execute("PRAGMA busy_timeout=0")
    try:
        for _ in range(2):
            with store.reading() as s:  # deferred: another may take the write lock meanwhile
                assert s.connection().exec_driver_sql("SELECT 1").scalar() == 1
                holder.execute("BEGIN IMMEDIATE")
                holder.execute("ROLLBACK")
            assert store.read_scalar(any_ready(), {"now": system_clock()}) is None
            with store.transaction() as s:  # the same connection, now the write lock's
                s.connection()
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    holder.execute("BEGIN IMMEDIATE")
    finally:
        holder.close()
        engine.dispose()


def test_a_sqlite_engine_dispatches_no_sqlalchemy_events_to_its_writers(database_url: str) -> None:
    """Its BEGIN IMMEDIATE is the dialect's BEGIN, not a "begin" listener: one connection event
    on the engine makes SQLAlchemy dispatch events around every statement and commit of every
    transaction (issue 17). Only the readers' engine listens (to begin deferred)."""
    engine = make_engine(database_url)
    try:
        assert not engine._has_events
        OutboxStore(engine, system_clock)  # its readers' engine listens on its own
        assert not engine._has_events
    finally:
        engine.dispose()
