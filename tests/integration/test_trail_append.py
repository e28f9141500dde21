"""The trail's append (`trail_log.append_messages`) writes, on the driver's statement, the rows
the Core INSERT of the same queue rows writes: every column, awkward values included, in the
order of the appends."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import DBAPIError

from gateway.storage import trail_log
from gateway.storage.db import make_engine
from gateway.storage.migrate import upgrade
from gateway.storage.repository import Message, Store
from gateway.trail.format import precise

MESSAGES = trail_log.MESSAGES
# Awkward values: no case, no signer, an empty body, bytes that are not UTF-8, text that is not
# ASCII, quotes and a backslash; and enough rows that an order not kept would show.
AWKWARD = [
    Message("note", "in", "test", "text/plain", b""),
    Message(
        "answer",
        "in",
        "agency:customs",
        "application/xml",
        b"\x00\xff\xfe'\"\\",
        case_id="APP-1-customs",
        signer='CN=Таможня, O="KGD"\\',
    ),
    Message("décision", "out", "trader:210540012341", "application/xml", "<d>ü</d>".encode()),
    *(Message("note", "in", "test", "text/plain", b"m%d" % n, case_id=f"c{n}") for n in range(30)),
]


def _rows(store: Store) -> list[dict[str, Any]]:
    """The stored messages in insertion order, every column but the id."""
    columns = [c for c in MESSAGES.c if c.name != "id"]
    with store.reading() as s:
        found = s.execute(select(*columns).order_by(MESSAGES.c.id))
        return [dict(row._mapping) for row in found]


def test_an_append_writes_the_rows_the_core_insert_writes(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    now = dt.datetime(2026, 11, 23, 9, 30, 15, 123456, tzinfo=dt.UTC)
    store = Store(engine, lambda: now)
    try:
        for application_id in ("APP-1", None):
            with store.transaction() as s:
                trail_log.append_messages(s, application_id, AWKWARD, store.clock)
            appended = _rows(store)
            with store.transaction() as s:
                s.execute(delete(MESSAGES))
                queued = [trail_log._queued(application_id, m, now, precise(now))
                          for m in AWKWARD]  # fmt: skip
                s.connection().execute(insert(MESSAGES), queued)
            through_core = _rows(store)
            with store.transaction() as s:
                s.execute(delete(MESSAGES))
            assert [row["body"] for row in appended] == [m.body for m in AWKWARD]
            assert appended == through_core
    finally:
        engine.dispose()


def test_an_append_refuses_what_the_core_insert_refuses(database_url: str) -> None:
    """A NUL in a text column: PostgreSQL's text cannot hold it, and the append (its arrays sent
    in binary) refuses it as the Core INSERT (sent as text) does; SQLite stores it both ways."""
    engine = make_engine(database_url)
    upgrade(engine)
    now = dt.datetime(2026, 11, 23, 9, 30, 15, tzinfo=dt.UTC)
    store = Store(engine, lambda: now)
    nul = [Message("answer", "in", "agency:customs", "text/plain", b"x", signer="CN=a\x00b")]
    outcomes: list[tuple[str, object]] = []
    try:
        for append in (
            lambda s: trail_log.append_messages(s, "APP-1", nul, store.clock),
            lambda s: s.connection().execute(
                insert(MESSAGES), [trail_log._queued("APP-1", nul[0], now, precise(now))]
            ),
        ):
            try:
                with store.transaction() as s:
                    append(s)
            except DBAPIError as refused:
                outcomes.append(("refused", type(refused).__name__))
            else:
                outcomes.append(("stored", [row["signer"] for row in _rows(store)]))
                with store.transaction() as s:
                    s.execute(delete(MESSAGES))
    finally:
        engine.dispose()
    if engine.dialect.name == "postgresql":
        assert outcomes == [("refused", "DataError")] * 2
    else:
        assert outcomes == [("stored", ["CN=a\x00b"])] * 2
