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
from sqlalchemy import select

from gateway.fanout.wakeup import OUTBOX as OUTBOX_CHANNEL
from gateway.intake.ports import DuplicateReference, NewApplication
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
