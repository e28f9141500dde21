"""The ledger of signed requests' nonces (RFC 9421 §7.2.2) on both databases: a nonce is accepted
once while its window is open, again once it has closed, in one statement per request; expired
rows are purged at most once per `PURGE_EVERY` (issue 17: no DELETE in every request)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from gateway.storage.db import make_engine
from gateway.storage.migrate import upgrade
from gateway.storage.trader_keys import StoredNonceLedger
from tests.sql_statements import raw_recorded, statements

KEY = "a" * 64
T0 = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


def test_a_nonce_is_refused_in_its_window_and_accepted_after_it(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    now = [T0]
    ledger = StoredNonceLedger(engine, lambda: now[0])
    window = dt.timedelta(minutes=5)
    try:
        assert ledger.first_use(KEY, "n-1", T0 + window)
        assert not ledger.first_use(KEY, "n-1", T0 + window)  # a replay
        assert ledger.first_use("b" * 64, "n-1", T0 + window)  # another key's nonce
        now[0] = T0 + window + dt.timedelta(seconds=1)  # n-1's window has closed
        assert ledger.first_use(KEY, "n-1", now[0] + window)
        assert not ledger.first_use(KEY, "n-1", now[0] + window)
    finally:
        engine.dispose()


@contextmanager
def sent(engine: Engine, ledger: StoredNonceLedger) -> Iterator[list[str]]:
    """The statements the ledger sends inside the block: through SQLAlchemy (SQLite) and on its
    autocommit DB-API cursor (PostgreSQL)."""
    texts: list[str] = []
    with statements(engine) as through_sqlalchemy, raw_recorded(ledger) as raw:
        yield texts
    texts.extend(through_sqlalchemy + [" ".join(sql.split()) for sql, _ in raw])


def test_expired_nonces_are_purged_once_a_while_not_with_every_request(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    now = [T0]
    ledger = StoredNonceLedger(engine, lambda: now[0])
    until = T0 + dt.timedelta(minutes=5)
    try:
        with sent(engine, ledger) as first:
            assert ledger.first_use(KEY, "n-1", until)
        with sent(engine, ledger) as next_ones:
            for i in range(2, 5):
                assert ledger.first_use(KEY, f"n-{i}", until)
        now[0] = T0 + StoredNonceLedger.PURGE_EVERY
        with sent(engine, ledger) as later:
            assert ledger.first_use(KEY, "n-5", until)
    finally:
        engine.dispose()
    purges = [s for s in (*first, *next_ones, *later) if s.startswith("DELETE FROM request_nonces")]
    assert len(purges) == 2 and any(s.startswith("DELETE") for s in first)
    assert any(s.startswith("DELETE") for s in later)
    assert len([s for s in next_ones if "request_nonces" in s]) == 3  # one INSERT each
