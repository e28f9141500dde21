"""A Core statement sent on a DB-API cursor (`driver_sql.driver_statement`) is sent as
SQLAlchemy's `Connection.execute` sends it (the same SQL, the same driver parameters) and reads
the same rows back (the same values, of the same types): for the claim's statements on SQLite
and PostgreSQL, over rows and parameters with awkward values (bytes that are not text, quotes,
JSON in agency names, amended applications, leases running and run out)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

import gateway.storage.outbox_sql as outbox_sql
from gateway.intake.ports import NewApplication
from gateway.storage.db import make_engine, utc
from gateway.storage.driver_sql import driver_statement, run_in
from gateway.storage.outbox import OutboxStore
from gateway.storage.outbox_sql import _CLAIMED_DETAILS, APPS, CASES, NEXT_DUE, _claim, any_ready
from gateway.storage.repository import _DECLARANT_OF
from tests.fakes.clock import FakeClock
from tests.sql_statements import recorded

START = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
HOSTILE = ("customs", "o'brien", 'x"], ["y', "поліція", "")


@pytest.fixture
def store(database_url: str) -> Iterator[OutboxStore]:
    engine = make_engine(database_url)
    store = OutboxStore(engine, FakeClock(START))
    for n, agencies in enumerate((("customs", "health", "police"), HOSTILE[1:])):
        store.create_application(
            NewApplication(
                id=f"APP-{n}", declarant_bin="210540012341", trader_reference=f"REF-{n}",
                procedure="import", body=b"\x00\xff'\"<A/>" * n, signer_subject="CN=t",
                signer_fingerprint="00" * 32, routing={a: [] for a in agencies},
            ),
            [],
        )  # fmt: skip
    with engine.begin() as c:  # issue 19: an amended application's deadlines count from then
        c.execute(update(APPS).where(APPS.c.id == "APP-1").values(amended_at=START))
    store.claim("w0", 30.0, limit=2, seen_ready=True)  # leases that run out at START + 30 s
    yield store
    engine.dispose()


def through_sqlalchemy(store: OutboxStore, statement: Any, values: dict[str, Any]) -> Any:
    """The SQL, driver parameters and rows of `Connection.execute`, rolled back."""
    with store.engine.connect() as c, recorded(store.engine) as seen:
        tx = c.begin()
        rows = [dict(r._mapping) for r in c.execute(statement, values)]
        tx.rollback()
    ((sql, parameters),) = [s for s in seen if not s[0].startswith("BEGIN")]
    return sql, parameters if isinstance(parameters, dict) else tuple(parameters), rows


def through_the_driver(store: OutboxStore, statement: Any, values: dict[str, Any]) -> Any:
    sent = driver_statement(statement, store.engine.dialect)
    with store.autocommit() as cursor:
        cursor.execute("BEGIN" if postgres(store) else "BEGIN IMMEDIATE")
        rows = sent.rows(cursor, values)
        cursor.execute("ROLLBACK")
    return sent.sql, sent.parameters(values), rows


def postgres(store: OutboxStore) -> bool:
    return store.engine.dialect.name == "postgresql"


def typed(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: (type(v), v) for k, v in row.items()} for row in rows]


@pytest.mark.parametrize("skip", [(), ("police",), HOSTILE, ("customs", "health", "police")])
@pytest.mark.parametrize("later_s", [0, 31, 3600])
@pytest.mark.parametrize("limit", [1, 8])
def test_the_claim_is_sent_and_read_as_sqlalchemy_sends_and_reads_it(
    store: OutboxStore, skip: tuple[str, ...], later_s: int, limit: int
) -> None:
    now = START + dt.timedelta(seconds=later_s)
    values: dict[str, Any] = {
        "now": now, "limit": limit, "worker": "w'1", "lease_until": now + dt.timedelta(seconds=60),
    }  # fmt: skip
    if skip:
        values["skip"] = sorted(skip) if postgres(store) else json.dumps(sorted(skip))
    claim = _claim(postgres(store), bool(skip))
    sql, parameters, rows = through_sqlalchemy(store, claim, values)
    assert through_the_driver(store, claim, values) == (sql, parameters, rows)
    assert typed(through_the_driver(store, claim, values)[2]) == typed(rows)
    case_ids = {"case_ids": json.dumps([r["case_id"] for r in rows] + ["nope", "'"])}
    others = [(NEXT_DUE, {})] if postgres(store) else [(_CLAIMED_DETAILS, case_ids), (NEXT_DUE, {})]
    for statement, given in others:
        expected = through_sqlalchemy(store, statement, given)
        sent = through_the_driver(store, statement, given)
        assert sent == expected and typed(sent[2]) == typed(expected[2])
    if postgres(store):  # one row of "due" even when nothing was taken
        rows = [r for r in rows if r["id"] is not None]
    assert rows or later_s == 0 or skip  # the claims were not all empty


def test_a_statement_whose_text_is_not_fixed_is_refused(store: OutboxStore) -> None:
    expanding = select(CASES.c.id).where(CASES.c.agency.in_(bindparam("a", expanding=True)))
    with pytest.raises(ValueError, match="no expanding parameters"):
        driver_statement(expanding, store.engine.dialect)


def test_a_claim_that_fails_after_its_update_takes_nothing_and_frees_the_lock(
    store: OutboxStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    if postgres(store):
        pytest.skip("PostgreSQL's claim is one statement in autocommit: it fails as a whole")

    def failing(statement: Any, dialect: Any) -> Any:
        if statement is _CLAIMED_DETAILS:
            raise RuntimeError("the details could not be read")
        return driver_statement(statement, dialect)

    later = START + dt.timedelta(seconds=31)  # every lease has run out
    monkeypatch.setattr(outbox_sql, "driver_statement", failing)
    with pytest.raises(RuntimeError, match="could not be read"):
        store.claim_ready("w1", 60.0, limit=8)
    monkeypatch.undo()
    with store.autocommit() as cursor:  # the write lock is free, on this very connection too
        cursor.execute("BEGIN IMMEDIATE")
        cursor.execute("ROLLBACK")
    store.clock = lambda: later
    claims = store.claim_ready("w2", 60.0, limit=8).claims
    # Every delivery, each attempted once more than before w1's claim (w0 took two of them).
    assert sorted(c.attempts for c in claims) == [1, 1, 1, 1, 1, 2, 2]


def test_a_read_scalar_is_what_sqlalchemy_reads(store: OutboxStore) -> None:
    """`Store.read_scalar` on a DB-API cursor reads what `Connection.execute(...).scalar()`
    does: a datetime (SQLite's text read as SQLAlchemy reads it), a string, an id, and None for
    no row or a NULL."""
    later = START + dt.timedelta(hours=1)
    looks: list[tuple[Any, dict[str, Any]]] = [
        (NEXT_DUE, {}),
        (_DECLARANT_OF, {"id": "APP-1"}),
        (_DECLARANT_OF, {"id": "APP-'; DROP TABLE applications; --"}),
        (any_ready(), {"now": later}),
        (any_ready(), {"now": START - dt.timedelta(days=1)}),
        (select(APPS.c.amended_at).where(APPS.c.id == bindparam("id")), {"id": "APP-0"}),
        (select(APPS.c.body).where(APPS.c.id == bindparam("id")), {"id": "APP-1"}),
    ]
    seen = []
    for statement, values in looks:
        with store.engine.connect() as c:
            expected = c.execute(statement, values).scalar()
        got = store.read_scalar(statement, values)
        assert (type(got), got) == (type(expected), expected)
        seen.append(got)
    assert isinstance(seen[0], dt.datetime) and isinstance(seen[3], int)
    assert seen[1] == "210540012341"
    assert seen[2] is None and seen[4] is None and seen[5] is None


def test_a_statement_run_in_a_transaction_does_what_sqlalchemy_does(store: OutboxStore) -> None:
    """`run_in`, inside a transaction: the rows and row count of `Connection.execute`; a write
    that is rolled back with the transaction; and the same error, class and message, for a
    statement the database refuses."""
    touch = (
        update(CASES)
        .where(CASES.c.application_id == bindparam("app"))
        .values(updated_at=bindparam("at"))
    )
    read = select(CASES.c.id, CASES.c.updated_at).where(CASES.c.application_id == bindparam("app"))
    orphan = (  # a case of no application: the foreign key refuses it
        update(CASES).where(CASES.c.id == bindparam("case")).values(application_id="NOPE")
    )
    later = START + dt.timedelta(minutes=5, microseconds=7)
    results = []
    for run in (
        lambda c, statement, values: _through_execute(c, statement, values),
        lambda c, statement, values: run_in(c, statement, values),
    ):
        with store.engine.connect() as c:
            tx = c.begin()
            touched = run(c, touch, {"app": "APP-0", "at": later})
            rows = run(c, read, {"app": "APP-0"})
            tx.rollback()
            with c.begin(), pytest.raises(IntegrityError) as refused:
                run(c, orphan, {"case": "APP-0-customs"})
            with c.begin():
                unchanged = run(c, read, {"app": "APP-0"})
        results.append((touched, typed(rows[0]), str(refused.value), typed(unchanged[0])))
    assert results[0] == results[1]
    touched, rows, _, unchanged = results[1]
    assert touched == ([], 3) and len(rows) == 3 and rows != unchanged
    assert {utc(row["updated_at"][1]) for row in rows} == {later}


def _through_execute(c: Any, statement: Any, values: dict[str, Any]) -> Any:
    result = c.execute(statement, values)
    return ([dict(r._mapping) for r in result] if result.returns_rows else []), result.rowcount


def test_a_statement_with_python_side_defaults_is_refused(store: OutboxStore) -> None:
    with pytest.raises(ValueError, match="Python-side column defaults"):
        driver_statement(  # SQLAlchemy fills in reasons, conditions, ... per row
            insert(CASES).values(id="C", application_id="APP-0", position=9, agency="x"),
            store.engine.dialect,
        )


def test_run_in_wants_a_transaction(store: OutboxStore) -> None:
    with store.engine.connect() as c, pytest.raises(RuntimeError, match="not in a transaction"):
        run_in(c, NEXT_DUE, {})
