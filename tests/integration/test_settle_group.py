"""Answers recorded together (`gateway.fanout.settling`) on SQLite and PostgreSQL: a failure of
one answer in the group loses none of the others."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest

from gateway.decision.ports import DecisionSubject
from gateway.decision.rules import CaseResult, CaseState, compose
from gateway.fanout.ports import Answered, Claim
from gateway.fanout.settling import settle_together
from gateway.intake.ports import NewApplication
from gateway.storage.db import make_engine
from gateway.storage.outbox import OutboxStore
from gateway.trail.messages import Message
from tests.fakes.clock import FakeClock
from tests.sql_statements import recorded

START = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def store(database_url: str) -> Iterator[OutboxStore]:
    engine = make_engine(database_url)
    yield OutboxStore(engine, FakeClock(START))
    engine.dispose()


def lodge(store: OutboxStore, app_id: str, *agencies: str) -> None:
    store.create_application(
        NewApplication(
            id=app_id, declarant_bin="210540012341", trader_reference=f"REF-{app_id}",
            procedure="import", body=b"<Application/>", signer_subject="CN=t",
            signer_fingerprint="00" * 32, routing={a: [] for a in agencies},
        ),
        [],
    )  # fmt: skip


def decide(subject: DecisionSubject, cases: list[CaseResult]) -> tuple[str, bytes] | None:
    if subject.application_id == "APP-2":
        raise RuntimeError("the decision signer is down")
    decision = compose(cases)
    return None if decision is None else (decision.verdict.value, b"<Decision/>")


def answered(claim: Claim, state: CaseState) -> Answered:
    got = Message("agency-answer", "in", "agency", "text/xml", b"<R/>")
    return Answered(claim, state, {}, [got])


def test_an_answer_that_fails_fails_alone_and_the_others_are_recorded(
    store: OutboxStore,
) -> None:
    lodge(store, "APP-1", "customs", "health")
    lodge(store, "APP-2", "customs")
    claims = sorted(store.claim("w1", 60.0, limit=3), key=lambda c: (c.application_id, c.agency))
    assert [(c.application_id, c.agency) for c in claims] == [
        ("APP-1", "customs"), ("APP-1", "health"), ("APP-2", "customs"),
    ]  # fmt: skip
    # APP-2's decision fails: the group's transaction rolls back, and each answer is then
    # recorded on its own.
    recorded = settle_together(
        store, decide, [answered(c, CaseState.GRANTED) for c in (claims[2], *claims[:2])]
    )
    assert isinstance(recorded[0], RuntimeError)
    assert recorded[1:] == [None, "released"]
    one, two = store.application("APP-1"), store.application("APP-2")
    assert one is not None and (one.status, one.verdict) == ("decided", "released")
    assert [m.kind for m in store.messages("APP-1")] == [
        "agency-answer", "agency-answer", "decision",
    ]  # fmt: skip
    # APP-2 has nothing of the failed answer: its delivery comes back when the lease runs out.
    assert two is not None and [c.state for c in two.cases] == ["queued"]
    assert store.messages("APP-2") == []
    assert store.next_due() == START + dt.timedelta(seconds=60)


def test_a_group_is_fenced_claim_by_claim_and_closed_in_a_few_statements(
    store: OutboxStore,
) -> None:
    lodge(store, "APP-1", "customs", "health", "police")
    claims = sorted(store.claim("w1", 60.0, limit=3), key=lambda c: c.agency)
    health = claims[1]
    # w1's lease on health runs out and w2 takes the delivery: w1's answer for it is fenced out.
    assert isinstance(store.clock, FakeClock)
    store.clock.advance(61)
    (taken,) = store.claim("w2", 60.0, skip_agencies=frozenset({"customs", "police"}))
    assert taken.outbox_id == health.outbox_id
    fields = {"permit_number": "P-1", "reasons": [], "conditions": []}
    with recorded(store.engine) as seen:
        verdicts = store.settle_all(
            [
                Answered(c, CaseState.GRANTED, fields, [Message("agency-answer", "in", "a",
                                                                "text/xml", b"<R/>")])
                for c in claims
            ],
            decide,
        )  # fmt: skip
    assert verdicts == [None, None, None]  # health is still w2's to answer: no decision yet
    status = store.application("APP-1")
    assert status is not None
    assert [(c.agency, c.state, c.permit_number) for c in status.cases] == [
        ("customs", "granted", "P-1"), ("health", "queued", None), ("police", "granted", "P-1"),
    ]  # fmt: skip
    assert store.fenced.counts() == {"outbox-settle": 1}
    assert [m.kind for m in store.messages("APP-1")] == ["agency-answer", "agency-answer"]
    # The group's fences, the application's lock and its cases' writes: one statement on
    # PostgreSQL, three on SQLite, however many answers (from three on SQLite; from two on
    # PostgreSQL).
    # (The trail's append, a WITH on PostgreSQL, is not one of them.)
    writes = [
        sql for sql, _ in seen
        if re.match(r"\s*(WITH|UPDATE)\b", sql) and "INSERT INTO messages" not in sql
    ]  # fmt: skip
    if store.engine.dialect.name == "postgresql":
        assert len(writes) == 1
    else:
        assert [re.match(r"\s*UPDATE (\w+)", sql).group(1) for sql in writes] == [  # type: ignore[union-attr]
            "outbox", "applications", "cases",
        ]  # fmt: skip
    # w2's live claim is untouched: its answer settles the case and decides.
    assert store.settle_all([Answered(taken, CaseState.GRANTED, fields, [])], decide) == [
        "released"
    ]
    assert store.fenced.counts() == {"outbox-settle": 1}


def test_answers_for_one_case_in_one_group_are_written_in_order(store: OutboxStore) -> None:
    lodge(store, "APP-1", "customs", "health")
    customs, health = sorted(store.claim("w1", 60.0, limit=2), key=lambda c: c.agency)
    # The same claim answered twice in one group (pending, then granted): as one after another.
    verdicts = store.settle_all(
        [
            Answered(customs, CaseState.PENDING, {}, []),
            Answered(customs, CaseState.GRANTED, {"permit_number": "P-2"}, []),
            Answered(health, CaseState.GRANTED, {"permit_number": "P-3"}, []),
        ],
        decide,
    )
    assert verdicts == [None, None, "released"]
    status = store.application("APP-1")
    assert status is not None
    assert [(c.agency, c.state, c.permit_number) for c in status.cases] == [
        ("customs", "granted", "P-2"), ("health", "granted", "P-3"),
    ]  # fmt: skip


def test_a_group_with_a_value_its_json_would_not_carry_is_settled_answer_by_answer(
    store: OutboxStore,
) -> None:
    lodge(store, "APP-1", "customs", "health", "police")
    claims = sorted(store.claim("w1", 60.0, limit=3), key=lambda c: c.agency)
    odd = {"permit_number": 1.5}  # not text: stored as the column's type makes it
    with recorded(store.engine) as seen:
        verdicts = store.settle_all(
            [Answered(c, CaseState.GRANTED, odd, []) for c in claims], decide
        )
    assert verdicts == [None, None, "released"]
    status = store.application("APP-1")
    assert status is not None
    assert [c.permit_number for c in status.cases] == ["1.5"] * 3
    assert not any("json" in sql.lower() for sql, _ in seen)
