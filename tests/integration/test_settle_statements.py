"""The decision's record sent with the trail's append (`settle_sql.record_decision_step`): on
PostgreSQL one statement for the two, writing the rows `record_decision` and the append write
apart; on SQLite the same two statements as before."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from gateway.decision.ports import DecisionSubject
from gateway.decision.rules import CaseResult, CaseState, compose
from gateway.fanout.ports import Answered
from gateway.storage import trail_log
from gateway.storage.db import make_engine
from gateway.storage.outbox import OutboxStore
from gateway.storage.outbox_sql import APPS
from gateway.storage.settle_sql import record_decision, record_decision_step
from gateway.trail.messages import Message
from tests.fakes.clock import FakeClock
from tests.integration.test_settle_group import lodge
from tests.sql_statements import recorded

START = dt.datetime(2026, 11, 23, 9, 0, 0, 123456, tzinfo=dt.UTC)
# Bytes a text path would spoil: a NUL, bytes that are not UTF-8, quotes and a backslash.
XML = b"<Decision>\x00\xff\xfe'\"\\ \xd0\x94</Decision>"
TRAIL = [
    Message("agency-answer", "in", "agency:customs", "text/xml", b"<R/>", case_id="x"),
    Message("decision", "out", "trader:210540012341", "application/xml", XML),
]


@pytest.fixture
def store(database_url: str) -> Iterator[OutboxStore]:
    engine = make_engine(database_url)
    yield OutboxStore(engine, FakeClock(START))
    engine.dispose()


def _application(store: OutboxStore, app_id: str) -> dict[str, Any]:
    with store.reading() as s:
        row = s.execute(select(APPS).where(APPS.c.id == app_id)).one()
    found = dict(row._mapping)
    for name in ("id", "trader_reference", "request_id"):
        found.pop(name, None)
    return found


def _messages(store: OutboxStore, app_id: str) -> list[dict[str, Any]]:
    columns = [c for c in trail_log.MESSAGES.c if c.name not in ("id", "application_id")]
    with store.reading() as s:
        rows = s.execute(
            select(*columns)
            .where(trail_log.MESSAGES.c.application_id == app_id)
            .order_by(trail_log.MESSAGES.c.id)
        )
        found = [dict(row._mapping) for row in rows]
    for row in found:  # the entry names its application: the same but for that
        row["entry"] = row["entry"].replace(app_id.encode(), b"APP")
    return found


@pytest.mark.parametrize("messages", [TRAIL, []], ids=["with-messages", "no-messages"])
def test_the_step_writes_what_record_decision_and_the_append_write(
    store: OutboxStore, messages: list[Message]
) -> None:
    lodge(store, "APP-1", "customs")
    lodge(store, "APP-2", "customs")
    now = START + dt.timedelta(seconds=5, microseconds=7)
    with store.core_transaction() as s:
        record_decision(s, "APP-1", verdict="refused", xml=XML, now=now)
        trail_log.append_messages(s, "APP-1", messages, store.clock)
    with store.core_transaction() as s:
        step = record_decision_step("APP-2", verdict="refused", xml=XML, now=now)
        trail_log.append_messages(s, "APP-2", messages, store.clock, step=step)
    decided = _application(store, "APP-2")
    assert (decided["status"], decided["verdict"], decided["decision_xml"]) == (
        "decided", "refused", XML,
    )  # fmt: skip
    assert decided == _application(store, "APP-1")
    assert len(_messages(store, "APP-2")) == len(messages)
    assert _messages(store, "APP-2") == _messages(store, "APP-1")


def _decide(subject: DecisionSubject, cases: list[CaseResult]) -> tuple[str, bytes] | None:
    decision = compose(cases)
    return None if decision is None else (decision.verdict.value, XML)


def test_a_decision_settles_with_its_trail_in_one_statement_on_postgresql(
    store: OutboxStore,
) -> None:
    lodge(store, "APP-1", "customs", "health")
    claims = store.claim("w1", 60.0, limit=2)
    got = Message("agency-answer", "in", "agency", "text/xml", b"<R/>")
    with recorded(store.engine) as seen:
        verdicts = store.settle_all(
            [Answered(c, CaseState.REFUSED, {}, [got]) for c in claims], _decide
        )
    assert verdicts.count("refused") == 1
    status = store.application("APP-1")
    assert status is not None and (status.status, status.verdict) == ("decided", "refused")
    assert store.decision_xml("APP-1") == XML
    assert [m.kind for m in store.messages("APP-1")] == [
        "agency-answer", "agency-answer", "decision",
    ]  # fmt: skip
    writes = [sql for sql, _ in seen if re.match(r"\s*UPDATE applications SET status", sql)]
    appends = [sql for sql, _ in seen if "INSERT INTO messages" in sql]
    if store.engine.dialect.name == "postgresql":
        assert writes == []
        assert len(appends) == 1 and "decided AS (UPDATE applications" in appends[0]
    else:
        assert len(writes) == 1 and len(appends) == 1
