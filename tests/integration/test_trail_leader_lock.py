"""On SQLite the integrator takes the write lock ahead of busy business writers (issue 17).

SQLite's busy handler backs off (sleeps growing to 100 ms), so a writer that loops retakes the
lock before a waiter that has slept a while: the integrator, which holds the lock for a moment,
waited seconds behind writers, and so did the checkpoints. It now polls for the lock, and the
process's writers hold back meanwhile (`gateway.storage.db.begin_first`). Counted in writer
transactions, not in time.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

from sqlalchemy import text

from gateway.storage.db import make_engine
from gateway.storage.migrate import upgrade
from gateway.storage.repository import Message, Store
from gateway.storage.trail import StoredTrail
from tests.polling import wait_until

WRITERS = 3
HOLD_S = 0.003  # each writer transaction holds the lock this long, then the next begins at once


def test_the_integrator_gets_the_write_lock_between_busy_writers(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'nsw.db'}")
    upgrade(engine)
    store = Store(engine, lambda: dt.datetime(2026, 11, 23, tzinfo=dt.UTC))
    trail = StoredTrail(store)
    with store.transaction() as s:
        store._add_message(s, "APP", Message("note", "in", "test", "text/plain", b"queued"))
    commits, stop = [0], threading.Event()

    def writer() -> None:
        while not stop.is_set():
            with store.transaction() as s:
                s.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: the write lock, held
                time.sleep(HOLD_S)
            commits[0] += 1

    threads = [threading.Thread(target=writer) for _ in range(WRITERS)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: commits[0] >= 20, 30, "the writers busy")
        before = commits[0]
        assert trail.integrate() == 1
        waited = commits[0] - before
    finally:
        stop.set()
        for t in threads:
            t.join(30)
        engine.dispose()
    # Only writers that were already waiting for the lock may go first. With SQLite's busy
    # handler alone (sleeps up to 100 ms between looks) 10 to 350 went first.
    assert waited <= 2 * WRITERS, f"{waited} writer transactions went ahead of the integrator"
