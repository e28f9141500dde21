"""Telling the loops about committed work: in this process, and on PostgreSQL in every process.

A write that creates work calls `owe(session, channel)`. `Store.transaction` then sends
`NOTIFY channel` inside the transaction on PostgreSQL (the server delivers it at commit, and never
for a rolled-back transaction; repeats in one transaction are folded into one) and signals the
process's own `Wakeups` after the commit. `PgListener` is the other half: one thread per process
holding a dedicated connection that `LISTEN`s and signals the wake-ups. SQLite has no such thing;
loops there fall back to their safety-net poll for work written by other processes.

The listener skips notifications sent by this process's own connections (`own_backends`): their
commits woke the loops in-process already, and the echo woke them all a second time, each for a
read and usually an empty claim (issue 17).
"""

from __future__ import annotations

import logging
import select
import socket
import threading
import weakref
from collections.abc import Callable
from typing import Any

import psycopg
from sqlalchemy import Engine, event

from gateway.fanout.wakeup import CHANNELS, Wakeups
from gateway.storage.core_tx import Tx

log = logging.getLogger(__name__)
_OWED = "nsw_wake_owed"  # Tx.info key: channels this transaction must wake at commit
_SIGNAL_ONLY = "nsw_wake_notified"  # Tx.info key: channels NOTIFYed by a statement already
_PID = "nsw_backend_pid"  # connection record's info key: its server process id


_by_engine: weakref.WeakKeyDictionary[Engine, Wakeups] = weakref.WeakKeyDictionary()
_backends: weakref.WeakKeyDictionary[Engine, frozenset[int]] = weakref.WeakKeyDictionary()
_registry_lock = threading.Lock()


def wakeups_for(engine: Engine) -> Wakeups:
    """The wake-ups of `engine`'s database in this process. Keyed by engine so that every store
    built on it (outbox, notifications, checkpoint) signals the loops that read it, without each
    being handed the object; an engine is made once per process by the composition root."""
    with _registry_lock:
        found = _by_engine.get(engine)
        if found is None:
            found = _by_engine[engine] = Wakeups()
        return found


def track_backends(engine: Engine) -> None:
    """Note the server process id of each connection `engine`'s pool opens, and forget it when
    the pool closes the connection (`own_backends`). Called by `db.make_engine` for PostgreSQL,
    before any connection exists. The pid comes from the connection's handshake: no round trip."""
    with _registry_lock:
        _backends[engine] = frozenset()

    def _opened(dbapi_connection: Any, record: Any) -> None:
        pid = dbapi_connection.info.backend_pid
        record.info[_PID] = pid
        _change(engine, lambda pids: pids | {pid})

    def _closed(_dbapi_connection: Any, record: Any, *_exc: Any) -> None:
        pid = record.info.pop(_PID, None)
        if pid is not None:  # forgotten at once: another process may be given the pid next
            _change(engine, lambda pids: pids - {pid})

    event.listen(engine, "connect", _opened)
    event.listen(engine, "close", _closed)
    event.listen(engine, "invalidate", _closed)


def _change(engine: Engine, edit: Callable[[frozenset[int]], frozenset[int]]) -> None:
    with _registry_lock:
        _backends[engine] = edit(_backends.get(engine, frozenset()))


def own_backends(engine: Engine) -> frozenset[int]:
    """The server process ids of `engine`'s open connections (empty unless `track_backends`)."""
    return _backends.get(engine, frozenset())


def owe(s: Tx, channel: str, notified: bool = False) -> None:
    """Inside transaction `s`: wake `channel`'s loops once it commits. `notified`: a statement
    of the transaction sent the PostgreSQL `pg_notify` itself (saving the NOTIFY's round trip,
    where it counts: under the integrator's lock), so only this process is left to wake."""
    s.info.setdefault(_SIGNAL_ONLY if notified else _OWED, set()).add(channel)


def announce(s: Tx) -> frozenset[str]:
    """Last thing inside transaction `s`: NOTIFY the owed channels (PostgreSQL) and return them,
    with those notified already, for the caller to signal in-process after the commit."""
    owed = frozenset(s.info.pop(_OWED, ()))
    if owed and s.connection().dialect.name == "postgresql":
        # One statement for all the channels (intake owes two: a round trip each before), on
        # the session's connection: the ORM's execution steps cost more than the statement.
        # Channel names are our constants, never outside input.
        s.connection().exec_driver_sql(
            "SELECT " + ", ".join(f"pg_notify('{channel}', '')" for channel in sorted(owed))
        )
    return owed | frozenset(s.info.pop(_SIGNAL_ONLY, ()))


class PgListener:
    """`LISTEN` on every channel over a dedicated connection and signal `wakeups` for each
    notification. A lost connection is logged once and retried with backoff; after it comes back
    every channel is signalled, since notifications sent meanwhile were lost."""

    def __init__(self, engine: Engine, wakeups: Wakeups, max_backoff_s: float = 30.0) -> None:
        # psycopg takes the libpq URL; SQLAlchemy's carries the driver name (+psycopg).
        url = engine.url.set(drivername="postgresql")
        self.conninfo = url.render_as_string(hide_password=False)
        self.wakeups = wakeups
        self.engine = engine  # whose own notifications are echoes (`own_backends`)
        self.max_backoff_s = max_backoff_s
        self._stopped = threading.Event()
        # Writing a byte to _poke ends the select() at once, so stop() never waits for a timeout.
        self._poke, self._poked = socket.socketpair()
        self._thread = threading.Thread(target=self._run, name="pg-listener", daemon=True)
        # Set while LISTENing (for tests and readiness), after the catch-up signal of a connect.
        self.connected = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._poke.send(b"x")
        self._thread.join(10)
        self._poke.close()
        self._poked.close()

    def _run(self) -> None:
        backoff, lost = 0.5, False
        while not self._stopped.is_set():
            try:
                # Keepalives: a peer that vanished without closing is noticed in about a minute.
                with psycopg.connect(
                    self.conninfo,
                    autocommit=True,
                    keepalives=1,
                    keepalives_idle=30,
                    keepalives_interval=10,
                    keepalives_count=3,
                ) as conn:
                    for channel in CHANNELS:
                        conn.execute(f"LISTEN {channel}")
                    if lost:
                        log.warning("wake-up listener: connected to the database again")
                    backoff, lost = 0.5, False
                    self.wakeups.signal_all()  # whatever was sent while we were not listening
                    # Set after that signal, never before: whoever waits for `connected` (tests,
                    # readiness) and then for a wake-up is woken by a NOTIFY, not by this signal.
                    self.connected.set()
                    self._listen(conn)
            except psycopg.Error as exc:
                self.connected.clear()
                if self._stopped.is_set():
                    return
                if not lost:
                    words = str(exc).strip().splitlines()
                    log.warning(
                        "wake-up listener: database connection lost (%s); reconnecting, "
                        "meanwhile the loops poll",
                        words[0] if words else type(exc).__name__,
                    )
                    lost = True
                self._stopped.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
        self.connected.clear()

    def _listen(self, conn: psycopg.Connection[object]) -> None:
        pgconn = conn.pgconn
        while not self._stopped.is_set():
            # Blocks with no CPU until the server sends something or stop() pokes us.
            poked = self._poked.fileno()
            readable, _, _ = select.select([pgconn.socket, poked], [], [])
            if poked in readable:
                return
            pgconn.consume_input()  # raises (OperationalError) when the connection is gone
            channels = set()
            ours = own_backends(self.engine)
            while (note := pgconn.notifies()) is not None:
                if note.be_pid not in ours:  # our own commits signalled in-process already
                    channels.add(note.relname.decode())
            self.wakeups.signal(c for c in channels if c in CHANNELS)
