"""A trader's signed reads (`gateway.storage.trader_reads`: one joined statement, on PostgreSQL
on a DB-API cursor without SQLAlchemy's result layer) answer exactly what the rows hold: the same
as reading the application, its notifications, versions, permit history and decision one table
at a time through SQLAlchemy. Cases in routing order, awkward values, none of the extras and all
of them, an application without cases; another company's reader and an unknown id get nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import insert, select, update

from gateway.clock import system_clock
from gateway.storage.db import make_engine
from gateway.storage.migrate import upgrade
from gateway.storage.models import ApplicationRow, CaseRow, NotificationRow
from gateway.storage.notifications import notifications_of
from gateway.storage.repository import NewApplication, Store
from gateway.storage.trader_reads import TraderReads, TraderStatus
from gateway.storage.version_models import ApplicationVersionRow, CasePermitRow
from gateway.storage.versions import history_of

BIN = "210540012341"
OTHER_BIN = "990840000019"
AT = dt.datetime(2026, 12, 8, 1, 2, 3, 456789, tzinfo=dt.UTC)
AGENCIES = ["veterinary", "customs", "police", "transport"]  # routing order, not alphabetical


@pytest.fixture
def reads(database_url: str) -> Iterator[TraderReads]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield TraderReads(engine, system_clock)
    engine.dispose()


def _lodge(store: Store, app_id: str, agencies: list[str]) -> None:
    store.create_application(
        NewApplication(
            id=app_id, declarant_bin=BIN, trader_reference=f"REF-{app_id}", procedure="import",
            body=b"<Application/>", signer_subject="CN=Тест, O=\"Алтын\"",
            signer_fingerprint="00" * 32, routing={a: [] for a in agencies},
        ),
        [],
    )  # fmt: skip


def _reference(store: Store, app_id: str) -> tuple[TraderStatus, bytes | None]:
    """What the read must answer, table by table through SQLAlchemy's Core results."""
    app = store.application(app_id)
    assert app is not None
    with store.engine.connect() as c:
        versions, permits = history_of(c, app_id)
        notes = notifications_of(c, app_id)
        xml = c.execute(select(ApplicationRow.decision_xml).where(ApplicationRow.id == app_id))
        return TraderStatus(app, notes, versions, permits), xml.scalar()


def _decide(store: Store, app_id: str) -> None:
    """Every case answered with awkward values, the application decided with a signed document
    (bytes that are not UTF-8 and hold a NUL)."""
    with store.engine.begin() as c:
        for n, agency in enumerate(AGENCIES):
            c.execute(
                update(CaseRow)
                .where(CaseRow.application_id == app_id, CaseRow.agency == agency)
                .values(
                    state=["granted", "refused", "inspection", "granted"][n],
                    permit_number=f"KZ-{agency}-№{n}" if n != 1 else None,
                    valid_until="2027-01-31" if n != 1 else None,
                    reasons=json.dumps([["code-1", 'Тексеру қажет; "quoted" \\ and \u2028']]),
                    conditions=json.dumps(["keep below 4 °C", ""]),
                    inspection=n == 2,
                    extra=json.dumps({"k": [1, 2.5, None, True], "ключ": "мән"}),
                    attempts=n,
                    last_error=None if n else "timeout\x01",
                    charges=json.dumps([{"code": "fee", "amount": "1500.00"}]) if n == 3 else "[]",
                )
            )
        c.execute(
            update(ApplicationRow)
            .where(ApplicationRow.id == app_id)
            .values(
                status="decided", verdict="refused", decided_at=AT,
                decision_xml=b"<Decision>\x00\xff\xfe" + "Шешім".encode() + b"</Decision>",
            )
        )  # fmt: skip


def _withdrawn(store: Store, app_id: str, version: int) -> None:
    """Withdrawn at `version`, its customs permit cancelled (the permit history)."""
    with store.engine.begin() as c:
        c.execute(
            update(ApplicationRow)
            .where(ApplicationRow.id == app_id)
            .values(version=version, withdrawn_at=AT)
        )
        c.execute(
            insert(CasePermitRow).values(
                case_id=f"{app_id}-customs", application_id=app_id, agency="customs",
                permit_number="P-1", valid_until=None, state="cancelled", version=version, at=AT,
            )
        )  # fmt: skip


def _with_history_and_notifications(store: Store, app_id: str) -> None:
    _withdrawn(store, app_id, 2)
    with store.engine.begin() as c:
        for version in (1, 2):
            c.execute(
                insert(ApplicationVersionRow).values(
                    application_id=app_id, version=version, body=b"<A/>", body_sha256="ab" * 32,
                    signer_subject="CN=x", received_at=AT + dt.timedelta(seconds=version),
                    changes=json.dumps([f"change {version}"]), affected=json.dumps({"added": []}),
                )
            )  # fmt: skip
        for kind in ("decision", "withdrawn"):
            c.execute(
                insert(NotificationRow).values(
                    application_id=app_id, bin=BIN, url="https://trader.example/hook",
                    verdict="refused", decision_sha256="cd" * 32, state="pending",
                    created_at=AT, available_at=AT, attempts=0, kind=kind,
                )
            )  # fmt: skip


def test_each_read_answers_what_the_rows_hold(reads: TraderReads) -> None:
    lodged = {
        "NSW-20261208-000000000A": "just lodged",
        "NSW-20261208-000000000B": "decided",
        "NSW-20261208-000000000C": "decided, amended, withdrawn, notified",
        "NSW-20261208-000000000F": "withdrawn unamended",
    }
    for app_id in lodged:
        _lodge(reads, app_id, AGENCIES)
    _decide(reads, "NSW-20261208-000000000B")
    _decide(reads, "NSW-20261208-000000000C")
    _with_history_and_notifications(reads, "NSW-20261208-000000000C")
    _withdrawn(reads, "NSW-20261208-000000000F", 1)
    for app_id, what in lodged.items():
        expected, xml = _reference(reads, app_id)
        assert [c.agency for c in expected.application.cases] == AGENCIES, what
        assert reads.trader_status(app_id, BIN) == (BIN, expected), what
        assert reads.application_for(app_id, BIN) == (BIN, expected.application), what
        assert reads.decision_for(app_id, BIN) == (BIN, (expected.application, xml)), what
    # The reference is not empty where the read must find something.
    last, xml = _reference(reads, "NSW-20261208-000000000C")
    assert len(last.notifications) == 2 and len(last.versions) == 2 and len(last.permits) == 1
    assert xml is not None and b"\x00" in xml
    assert len(_reference(reads, "NSW-20261208-000000000F")[0].permits) == 1


def test_an_application_without_cases_reads_with_none(reads: TraderReads) -> None:
    _lodge(reads, "NSW-20261208-000000000D", [])
    expected, _xml = _reference(reads, "NSW-20261208-000000000D")
    assert expected.application.cases == ()
    assert reads.trader_status("NSW-20261208-000000000D", BIN) == (BIN, expected)


def test_another_company_and_an_unknown_id_get_nothing(reads: TraderReads) -> None:
    _lodge(reads, "NSW-20261208-000000000E", AGENCIES)
    for read in (reads.trader_status, reads.application_for, reads.decision_for):
        assert read("NSW-20261208-000000000E", OTHER_BIN) == (BIN, None)
        assert read("NSW-20261208-000000000E", None) == (BIN, None)
        assert read("NSW-20261208-00000000FF", BIN) == (None, None)
