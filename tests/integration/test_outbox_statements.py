"""The outbox's hot paths in statements (issue 17 item 2), on SQLite and PostgreSQL: a claim is
one UPDATE (PostgreSQL: joined to what the delivery needs in the same statement; SQLite: one
SELECT more, its RETURNING naming only the updated table), and settling a case writes it once and
reads what the decision needs once, without re-reading what it wrote. Counted with
tests/sql_statements.py, never timed."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from gateway.decision.ports import DecisionSubject
from gateway.decision.rules import CaseResult, CaseState, compose
from gateway.fanout.ports import Answered
from gateway.intake.ports import NewApplication
from gateway.storage.db import make_engine
from gateway.storage.outbox import OutboxStore
from gateway.storage.outbox_sql import CASES
from tests.fakes.clock import FakeClock
from tests.sql_statements import raw_recorded, recorded

START = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def decide(subject: DecisionSubject, cases: list[CaseResult]) -> tuple[str, bytes] | None:
    decision = compose(cases)
    return None if decision is None else (decision.verdict.value, b"<Decision/>")


@pytest.fixture
def store(database_url: str) -> Iterator[OutboxStore]:
    engine = make_engine(database_url)
    yield OutboxStore(engine, FakeClock(START))
    engine.dispose()


def lodge(store: OutboxStore, *agencies: str) -> None:
    store.create_application(
        NewApplication(
            id="APP-1", declarant_bin="210540012341", trader_reference="REF-1",
            procedure="import", body=b"<Application/>", signer_subject="CN=t",
            signer_fingerprint="00" * 32, routing={a: [] for a in agencies},
        ),
        [],
    )  # fmt: skip


def writes_and_reads(statements: list[str], table: str) -> tuple[int, int]:
    """(UPDATEs of `table`, SELECTs reading `table`) among `statements`; an UPDATE counts
    inside a statement of several (PostgreSQL's data-modifying CTEs) too."""
    updates = sum(
        len(re.findall(rf"\bUPDATE {table}\b", s, flags=re.IGNORECASE)) for s in statements
    )
    reads = sum(
        s.lstrip().upper().startswith("SELECT") and f" {table.upper()}" in s.upper()
        for s in statements
    )
    return updates, reads


def test_a_claim_is_one_update(store: OutboxStore) -> None:
    lodge(store, "customs", "health", "police")
    postgres = store.engine.dialect.name == "postgresql"
    with recorded(store.engine) as seen, raw_recorded(store) as raw:
        claims = store.claim("w1", 60.0, limit=3, seen_ready=True)
    assert sorted(c.agency for c in claims) == ["customs", "health", "police"]
    assert {c.application_body for c in claims} == {b"<Application/>"}
    statements = [sql for sql, _ in seen if not sql.upper().startswith(("BEGIN", "COMMIT"))]
    if postgres:
        # WITH ready AS MATERIALIZED (SELECT ... FOR UPDATE SKIP LOCKED), claimed AS (UPDATE
        # outbox ... WHERE id IN (SELECT id FROM ready) RETURNING ...) SELECT ... FROM claimed
        # JOIN cases JOIN applications, sent on a DB-API cursor in autocommit
        assert statements == []
        (claim,) = [sql for sql, _ in raw]
        assert "UPDATE outbox" in claim and "SKIP LOCKED" in claim and "RETURNING" in claim
    else:
        # In a transaction of its own on a DB-API cursor, holding the write lock from BEGIN.
        assert statements == []
        begin, claim, details, commit = [sql for sql, _ in raw]
        assert (begin, commit) == ("BEGIN IMMEDIATE", "COMMIT")
        assert claim.startswith("UPDATE outbox") and "RETURNING" in claim
        assert details.startswith("SELECT") and "FROM cases JOIN applications" in details


def test_a_claim_that_takes_nothing_still_says_when_to_look_again(store: OutboxStore) -> None:
    lodge(store, "customs")
    (claim,) = store.claim("w1", 60.0, seen_ready=True)
    with recorded(store.engine) as seen, raw_recorded(store) as raw:
        turn = store.claim_ready("w2", 60.0, limit=8)
    assert turn.claims == []
    assert turn.next_due == claim.lease_until  # the lease taken above runs out then
    statements = [sql for sql, _ in seen if not sql.upper().startswith(("BEGIN", "COMMIT"))]
    if store.engine.dialect.name == "postgresql":
        # One statement, a transaction by itself: no BEGIN or COMMIT round trip around it.
        assert statements == [] and len(raw) == 1
    else:  # the UPDATE that took nothing, then the look at what is due, in one transaction
        assert statements == [] and len(raw) == 4


def test_a_claim_passes_over_the_agencies_it_is_told_to_skip(store: OutboxStore) -> None:
    lodge(store, "customs", "health", "police")
    taken = store.claim("w1", 60.0, limit=3, skip_agencies=frozenset({"customs", "police"}))
    assert [c.agency for c in taken] == ["health"]
    assert store.claim("w1", 60.0, limit=3, skip_agencies=frozenset({"customs", "police"})) == []
    assert sorted(c.agency for c in store.claim("w1", 60.0, limit=3)) == ["customs", "police"]


def test_a_claim_takes_no_more_than_its_limit(store: OutboxStore) -> None:
    # PostgreSQL may run a plain `IN (SELECT ... LIMIT 1)` again per row it updates, and then
    # takes all three: the sub-select is a MATERIALIZED CTE so that it runs once.
    lodge(store, "customs", "health", "police")
    (first,) = store.claim("w1", 60.0, limit=1, seen_ready=True)
    second, third = store.claim("w2", 60.0, limit=2, seen_ready=True)
    assert store.claim("w3", 60.0, limit=3, seen_ready=True) == []
    assert len({first.agency, second.agency, third.agency}) == 3


def test_settling_writes_the_case_once_and_never_reads_it_back(store: OutboxStore) -> None:
    lodge(store, "customs", "health")
    first, second = sorted(store.claim("w1", 60.0, limit=2), key=lambda c: c.agency)
    answer = {"permit_number": "P-1", "reasons": [], "conditions": []}
    with recorded(store.engine) as seen:
        assert (
            store.settle(first, state=CaseState.GRANTED, fields=answer, messages=[], decide=decide)
            is None
        )  # health is still open
    statements = [sql for sql, _ in seen]
    assert writes_and_reads(statements, "cases") == (1, 1)  # one write; one read to decide
    assert writes_and_reads(statements, "outbox") == (1, 0)  # the fence closes the delivery
    assert writes_and_reads(statements, "applications") == (1, 1)  # locked; read to decide
    if store.engine.dialect.name == "postgresql":
        # The fence, the application's lock and the case's write are one round trip.
        (combined,) = [sql for sql in statements if re.search(r"\bUPDATE\b", sql)]
        assert combined.lstrip().startswith("WITH fenced AS")
    with recorded(store.engine) as seen:
        verdict = store.settle(
            second, state=CaseState.GRANTED, fields=answer, messages=[], decide=decide
        )
    assert verdict == "released"  # granted by both, nothing owed
    assert store.decision_xml("APP-1") == b"<Decision/>"
    # The decision is the application's row written twice: locked, then decided.
    assert writes_and_reads([sql for sql, _ in seen], "applications") == (2, 1)


def test_a_late_answer_leaves_a_settled_case_as_it_is(store: OutboxStore) -> None:
    lodge(store, "customs")
    (claim,) = store.claim("w1", 60.0)
    store.settle(claim, state=CaseState.REFUSED, fields={}, messages=[], decide=decide)
    again = store.application("APP-1")
    assert again is not None and again.cases[0].state == "refused"
    # The same claim answering again (a callback overtook it, say) changes nothing.
    assert store.settle(
        claim, state=CaseState.GRANTED, fields={"permit_number": "P-2"}, messages=[],
        decide=decide,
    ) is None  # fmt: skip
    after = store.application("APP-1")
    assert after is not None and after.cases[0].state == "refused"
    assert after.cases[0].permit_number is None


@pytest.mark.parametrize("together", [False, True], ids=["one by one", "in a group"])
def test_answer_fields_are_stored_as_json_and_decided_as_answered(
    store: OutboxStore, together: bool
) -> None:
    """Empty and non-empty JSON fields (the usual answer carries empty ones) are stored as
    `json.dumps` writes them, and the decision reads back what each agency answered."""
    lodge(store, "customs", "health", "police")
    claims = sorted(store.claim("w1", 60.0, limit=3), key=lambda c: c.agency)
    answers: list[dict[str, object]] = [
        {"reasons": [], "conditions": (), "extra": {}, "charges": []},
        {"reasons": [["R1", "Ünit"]], "conditions": ["keep cold"], "extra": {"channel": "green"},
         "charges": [{"kind": "fee", "amount": 500}]},
        {"reasons": [], "conditions": [], "extra": {}},  # charges not answered: left as stored
    ]  # fmt: skip
    seen: list[list[CaseResult]] = []

    def keep(subject: DecisionSubject, cases: list[CaseResult]) -> tuple[str, bytes] | None:
        seen.append(cases)
        return decide(subject, cases)

    settled = [
        Answered(claim, CaseState.GRANTED, fields, [])
        for claim, fields in zip(claims, answers, strict=True)
    ]
    if together:
        store.settle_all(settled, keep)
    else:
        for answer in settled:
            store.settle_all([answer], keep)
    with store.engine.connect() as connection:
        stored = connection.execute(
            select(CASES.c.reasons, CASES.c.conditions, CASES.c.extra, CASES.c.charges)
            .order_by(CASES.c.agency)
        ).all()  # fmt: skip
    assert [tuple(row) for row in stored] == [
        ("[]", "[]", "{}", "[]"),
        ('[["R1", "\\u00dcnit"]]', '["keep cold"]', '{"channel": "green"}',
         '[{"kind": "fee", "amount": 500}]'),
        ("[]", "[]", "{}", "[]"),
    ]  # fmt: skip
    decided = seen[-1]
    assert [(c.agency, c.reasons, c.conditions, c.charges) for c in decided] == [
        ("customs", (), (), ()),
        ("health", (("R1", "Ünit"),), ("keep cold",), ({"kind": "fee", "amount": 500},)),
        ("police", (), (), ()),
    ]
