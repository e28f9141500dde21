"""Engine and sessions. SQLite is the embedded default; PostgreSQL is the scaled-out option."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from gateway.errors import DatabaseUnavailable as DatabaseUnavailable
from gateway.i18n.text import Text
from gateway.storage import wake

READ_ONLY = "nsw_read_only"  # execution option: this connection's transactions only read
_READER = "nsw_reader"  # on a pooled connection's info: the transaction beginning only reads
HOLD_BACK_S = 1.0  # the longest a writer holds back for one that goes first
BUSY_TIMEOUT_S = 30.0
DEFAULT_CONNECTIONS = 10  # a pool for tools and tests; the gateway sizes its own
# A PostgreSQL connection back from the pool after this long idle is pinged before it is lent.
PING_AFTER_IDLE_S = 1.0


def make_engine(url: str, connections: int = DEFAULT_CONNECTIONS) -> Engine:
    """An engine for `url` whose pool keeps `connections` (how many the process's threads can
    hold at once: `bootstrap.pool_connections`), and lends half as many again for a burst
    beyond it, instead of making a thread wait for a connection (and, after 30 s, fail).
    Creates the directory of a SQLite file and turns on WAL there."""
    parsed = make_url(url)
    pool = {"pool_size": connections, "max_overflow": max(2, connections // 2)}
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(url, **pool)
        _ping_after_idle(engine, PING_AFTER_IDLE_S)
        wake.track_backends(engine)  # so the listener can tell our own NOTIFY echoes
        return engine
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # No pre-ping: a SQLite connection is a file handle in this process, it cannot go away.
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **pool)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        # Let pysqlite not issue BEGIN itself; we issue BEGIN IMMEDIATE so a transaction takes the
        # write lock up front and never meets a stale snapshot when it later writes.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        cursor.close()

    turnstile = _turnstiles[engine] = _Turnstile()

    def _begin_immediate(fairy: Any) -> None:
        # The dialect's own BEGIN step, not a "begin" event: one connection event on the engine
        # turns on SQLAlchemy's event dispatch for every statement, commit and rollback on it
        # (about 6 µs a statement and 7 µs a transaction, issue 17). A reader (`read_engine`)
        # begins deferred: in WAL mode it reads a snapshot without the write lock, so status
        # polls and claim checks never queue behind writers. BEGIN goes straight to the driver's
        # connection: through `exec_driver_sql` it cost as much CPU as a statement. A failure is
        # still SQLAlchemy's error (`_begin_failed`).
        dbapi_connection = fairy.dbapi_connection
        try:
            if fairy.info.pop(_READER, False):
                dbapi_connection.execute("BEGIN")
            else:
                turnstile.let_first_pass()
                dbapi_connection.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _begin_failed(engine, exc) from exc

    engine.dialect.do_begin = _begin_immediate  # type: ignore[method-assign,assignment]
    return engine


def _ping_after_idle(engine: Engine, idle_s: float) -> None:
    """Lend a PostgreSQL connection unchecked when it was returned less than `idle_s` ago, and
    ping it first otherwise (a dead one is replaced: SQLAlchemy's "pessimistic disconnect
    handling" with the checkout event). `pool_pre_ping` pinged on every checkout: one more round
    trip for each of the dozen transactions of an application, to guard against a server restart
    between two transactions a millisecond apart. A connection that dies between its last use and
    the next (idle for less than `idle_s`) fails that transaction as a disconnect: SQLAlchemy
    then invalidates the whole pool, the request answers 503 with Retry-After
    (`DatabaseUnavailable`) and loops retry, as for a connection lost mid-transaction."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _lent(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < idle_s:
            return  # just connected, or in use a moment ago
        try:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
            dbapi_connection.rollback()
        except Exception as exc:  # the driver's own error for a dead connection, whatever it is
            raise DisconnectionError() from exc


class _Turnstile:
    """Within one process: writers hold back while a transaction that goes first waits for the
    write lock, so it gets the lock when the present holder commits."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._waiting = 0

    @contextmanager
    def first(self) -> Iterator[None]:
        with self._changed:
            self._waiting += 1
        try:
            yield
        finally:
            with self._changed:
                self._waiting -= 1
                self._changed.notify_all()

    def let_first_pass(self) -> None:
        with self._changed:
            if self._waiting:
                self._changed.wait_for(lambda: not self._waiting, HOLD_BACK_S)


# Each SQLite engine's turnstile (`make_engine`), for `begin_first`.
_turnstiles: weakref.WeakKeyDictionary[Engine, _Turnstile] = weakref.WeakKeyDictionary()


def _begin_failed(engine: Engine, exc: sqlite3.Error) -> StatementError:
    """`exc`, met issuing BEGIN on the driver's connection, as SQLAlchemy wraps a statement's
    error (an `OperationalError` for "database is locked"), so callers see what they saw when
    BEGIN went through `exec_driver_sql`."""
    return DBAPIError.instance("BEGIN", None, exc, engine.dialect.loaded_dbapi.Error)


def begin_first(engine: Engine, dbapi_connection: Any, poll_s: float) -> None:
    """SQLite: BEGIN IMMEDIATE on a driver connection of `engine`'s pool (in autocommit: the
    caller commits), taking the write lock first: polling for it every `poll_s` while this
    process's other writers hold back (the trail's integrator and checkpoint store on their
    DB-API cursors). SQLite's busy handler backs off (sleeps growing to 100 ms), so writers that
    loop retake the lock before a waiter that has slept a while: the integrator, which holds the
    lock for a moment per batch, waited seconds behind busy writers, and the checkpoints with it
    (issue 17). An engine not made by `make_engine` has no turnstile: the lock is polled for all
    the same."""
    turnstile = _turnstiles.get(engine)
    with turnstile.first() if turnstile is not None else nullcontext():
        _begin_immediate_polling(dbapi_connection, poll_s)


def let_writers_first(engine: Engine) -> None:
    """Hold back, as `engine`'s write transactions do at BEGIN, while a writer that goes first
    (`begin_first`) waits for SQLite's write lock: for a write transaction begun on the driver's
    connection (`driver_sql.sqlite_write`). Nothing to wait for on other engines."""
    turnstile = _turnstiles.get(engine)
    if turnstile is not None:
        turnstile.let_first_pass()


def _begin_immediate_polling(dbapi_connection: Any, poll_s: float) -> None:
    """BEGIN IMMEDIATE, retried every `poll_s` while another connection holds the write lock
    (for at most the busy timeout; then SQLite's own "database is locked")."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    dbapi_connection.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                dbapi_connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(poll_s)
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")


def is_disconnect(exc: BaseException) -> bool:
    """Whether `exc` is a lost or refused database connection, not a fault of the statement.

    SQLAlchemy marks a connection it found dead (`connection_invalidated`) and throws it away;
    a PostgreSQL OperationalError (server gone, refusing connections while it restarts) is the
    same condition seen at connect time. SQLite's OperationalErrors (locked, disk) are not."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    return isinstance(exc, OperationalError) and type(exc.orig).__module__.startswith("psycopg")


def lost_connection(exc: BaseException) -> bool:
    """`DatabaseUnavailable`, or a lost connection met outside `unavailable_on_disconnect`:
    what the background loops log as one line and carry on from."""
    return isinstance(exc, DatabaseUnavailable) or is_disconnect(exc)


def disconnect_reason(exc: BaseException) -> str:
    """The driver's own words for a lost connection, on one line (for one log line)."""
    if isinstance(exc, DatabaseUnavailable):
        return exc.reason
    words = str(getattr(exc, "orig", None) or exc).strip()
    return words.splitlines()[0] if words else type(exc).__name__


@contextmanager
def unavailable_on_disconnect() -> Iterator[None]:
    """Turn a lost database connection inside the block into `DatabaseUnavailable` (a 503
    problem with Retry-After at the web layer, one log line in the worker loops)."""
    try:
        yield
    except DBAPIError as exc:
        if is_disconnect(exc):
            raise DatabaseUnavailable(
                Text(
                    "The gateway lost its database connection while handling this request; nothing "
                    "was recorded that a resend would duplicate. Send the same request again."
                )
            ) from exc
        raise


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that only read (on `read_engine`). Writing in one is a bug (SQLite would refuse
    it when busy)."""
    return sessionmaker(read_engine(engine), expire_on_commit=False)


def read_engine(engine: Engine) -> Engine:
    """`engine` for transactions that only read: on SQLite they take no write lock (plain
    BEGIN); on PostgreSQL they are ordinary transactions. Only its connections dispatch
    SQLAlchemy's events (the "begin" that marks a reader); the writers' stay without."""
    reader = engine.execution_options(**{READ_ONLY: True})
    if engine in _turnstiles:  # SQLite's, from `make_engine`: its BEGIN reads the mark
        event.listen(reader, "begin", _mark_reader)
    return reader


def _mark_reader(conn: Any) -> None:
    conn.connection.info[_READER] = True  # taken off by the BEGIN that follows at once


def utc(moment: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands datetimes back naive; every stored time is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)
