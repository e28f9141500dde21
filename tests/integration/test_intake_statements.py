"""Intake's rows in statements (issue 17: "intake inserts in one round trip"), on SQLite and
PostgreSQL: the application, its cases and their deliveries are one statement on PostgreSQL
(three, in-process calls, on SQLite), and both write the same rows: cases in routing order,
deliveries due at once in the same order, the dispatchers owed a wake-up. Counted with
tests/sql_statements.py, never timed."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import delete, insert, select

from gateway.fanout.wakeup import OUTBOX as OUTBOX_CHANNEL
from gateway.intake.ports import DuplicateReference, NewApplication
from gateway.storage import intake_sql
from gateway.storage.db import make_engine
from gateway.storage.models import CaseRow, OutboxRow
from gateway.storage.outbox import OutboxStore
from tests.fakes.clock import FakeClock
from tests.sql_statements import recorded

START = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
AGENCIES = ("transport", "customs", "veterinary", "health")


@pytest.fixture
def store(database_url: str) -> Iterator[OutboxStore]:
    engine = make_engine(database_url)
    yield OutboxStore(engine, FakeClock(START))
    engine.dispose()


def application(app_id: str = "APP-1", body: bytes = b"<Application/>") -> NewApplication:
    return NewApplication(
        id=app_id, declarant_bin="210540012341", trader_reference="REF-1", procedure="import",
        body=body, signer_subject="CN=t", signer_fingerprint="00" * 32,
        routing={a: [{"rule": "r", "why": "w", "item": 1}] for a in AGENCIES},
    )  # fmt: skip


def test_an_application_cases_and_deliveries_are_written_in_one_statement_on_postgresql(
    store: OutboxStore,
) -> None:
    with recorded(store.engine) as seen:
        store.create_application(application(), [])
    writes = [
        sql
        for sql, _ in seen
        if re.search(r"\bINSERT INTO (applications|cases|outbox)\b", sql, flags=re.IGNORECASE)
    ]
    if store.engine.dialect.name == "postgresql":
        (one,) = writes
        for table in ("applications", "cases", "outbox"):
            assert f"INSERT INTO {table}" in one
        assert "pg_notify" in one  # the dispatchers' wake-up, sent with the rows
        assert not any(sql.lstrip().upper().startswith("NOTIFY") for sql, _ in seen)
    else:
        assert len(writes) == 3


def test_the_rows_are_those_the_dispatchers_claim(store: OutboxStore) -> None:
    woken: list[frozenset[str]] = []
    store.wakeups.signal = woken.append  # type: ignore[method-assign,assignment]
    received_at = store.create_application(application(), [])
    assert received_at == START
    with store.engine.connect() as c:
        cases = c.execute(
            select(CaseRow.id, CaseRow.position, CaseRow.agency, CaseRow.state, CaseRow.attempts)
            .where(CaseRow.application_id == "APP-1")
            .order_by(CaseRow.position)
        ).all()
        deliveries = c.execute(
            select(
                OutboxRow.case_id, OutboxRow.attempts, OutboxRow.version, OutboxRow.operation
            ).order_by(OutboxRow.id)
        ).all()
    assert [tuple(r) for r in cases] == [
        (f"APP-1-{agency}", position, agency, "queued", 0)
        for position, agency in enumerate(AGENCIES)
    ]
    assert [tuple(r) for r in deliveries] == [
        (f"APP-1-{agency}", 0, 1, "request") for agency in AGENCIES
    ]
    assert any(OUTBOX_CHANNEL in channels for channels in woken)
    app = store.application("APP-1")
    assert app is not None and app.status == "in_progress"
    assert app.routing == {a: [{"rule": "r", "why": "w", "item": 1}] for a in AGENCIES}
    claimed = store.claim("w1", 60.0, limit=8, seen_ready=True)
    assert sorted(c.agency for c in claimed) == sorted(AGENCIES)


def test_a_used_reference_writes_nothing_and_names_the_first(store: OutboxStore) -> None:
    store.create_application(application(), [])
    with pytest.raises(DuplicateReference) as same:
        store.create_application(application("APP-2"), [])
    assert same.value.existing_id == "APP-1" and same.value.same_bytes
    with pytest.raises(DuplicateReference) as other:
        store.create_application(application("APP-3", b"<Application>2</Application>"), [])
    assert other.value.existing_id == "APP-1" and not other.value.same_bytes
    with store.engine.connect() as c:
        assert c.execute(select(CaseRow.id).where(CaseRow.application_id != "APP-1")).all() == []
        assert len(c.execute(select(OutboxRow.id)).all()) == len(AGENCIES)


def _raw_rows(store: OutboxStore) -> dict[str, list[tuple[object, ...]]]:
    """Every column of the three tables as the database holds it (no type conversion on the
    way out: SQLite's datetime text shows), in insertion order; the deliveries' ids left out."""
    tables = intake_sql.APPLICATIONS, intake_sql.CASES, intake_sql.OUTBOX
    rows = {}
    with store.engine.connect() as c:
        for table in tables:
            columns = ", ".join(
                col.name for col in table.c if table.name != "outbox" or col.name != "id"
            )
            rows[table.name] = [
                tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                for row in c.exec_driver_sql(f"SELECT {columns} FROM {table.name} ORDER BY id")
            ]
    return rows


def test_the_rows_are_those_the_core_inserts_write(database_url: str) -> None:
    """The statements intake writes with (one CTE on PostgreSQL, the driver's INSERTs on SQLite)
    store what the Core INSERTs of the same values store: every column, byte for byte, with
    awkward values (a time with microseconds, text that is not ASCII, quotes and a backslash,
    a body that is not UTF-8, no request id) and cases in routing order."""
    now = dt.datetime(2026, 12, 7, 9, 0, 0, 123456, tzinfo=dt.UTC)
    engine = make_engine(database_url)
    store = OutboxStore(engine, FakeClock(now))
    new = NewApplication(
        id="APP-9", declarant_bin="210540012341", trader_reference="Ссылка 'q\\\"",
        procedure="transit", body=b"\x00\xff<a>\xc3\xbc</a>'", signer_subject='CN="Таможня", O=x\\',
        signer_fingerprint="ab" * 32,
        routing={a: [{"rule": "é", "why": "w\"", "item": n}] for n, a in enumerate(AGENCIES)},
    )  # fmt: skip
    try:
        store.create_application(new, [])
        written = _raw_rows(store)
        with engine.begin() as c:  # the same rows again, through SQLAlchemy's Core INSERTs
            for table in (intake_sql.OUTBOX, intake_sql.CASES, intake_sql.APPLICATIONS):
                c.execute(delete(table))
            c.execute(insert(intake_sql.APPLICATIONS), intake_sql._application_values(new, now))
            c.execute(
                insert(intake_sql.CASES),
                [
                    {"id": f"APP-9-{a}", "application_id": "APP-9", "position": n, "agency": a}
                    | intake_sql._NEW_CASE
                    | {"updated_at": now}
                    for n, a in enumerate(AGENCIES)
                ],
            )
            c.execute(
                insert(intake_sql.OUTBOX),
                [{"case_id": f"APP-9-{a}", "available_at": now, "attempts": 0} for a in AGENCIES],
            )
        assert written == _raw_rows(store)
        assert len(written["cases"]) == len(written["outbox"]) == len(AGENCIES)
    finally:
        engine.dispose()
