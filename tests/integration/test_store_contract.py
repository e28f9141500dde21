"""One contract, two implementations: the in-memory fake the unit tests use (tests/fakes/store.py)
and the database store (gateway.storage.outbox.OutboxStore), on SQLite and PostgreSQL. If the fake
drifts from what the database does, the unit tests built on it stop proving anything: these
scenarios run against both and must read the same."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import pytest

from gateway.decision.ports import DecisionSubject
from gateway.decision.rules import CaseResult, CaseState, compose
from gateway.domain.views import ApplicationStatus
from gateway.errors import NotFound
from gateway.fanout.ports import (
    Answered,
    CallbackCases,
    CaseUpdate,
    CaseView,
    ClaimTurn,
    Outbox,
)
from gateway.intake.ports import Applications, DuplicateReference, NewApplication
from gateway.storage.db import make_engine
from gateway.storage.outbox import OutboxStore
from gateway.trail.messages import Message, sha256_hex
from tests.conftest import MigratedTemplates, _database_urls
from tests.fakes.clock import FakeClock
from tests.fakes.store import InMemoryStore

START = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
SUBJECTS: list[DecisionSubject] = []


class Contract(Applications, Outbox, CallbackCases, Protocol):
    def application(self, application_id: str) -> ApplicationStatus | None: ...


def decide(subject: DecisionSubject, cases: list[CaseResult]) -> tuple[str, bytes] | None:
    SUBJECTS.append(subject)
    decision = compose(cases)
    return None if decision is None else (decision.verdict.value, b"<Decision/>")


@pytest.fixture(params=["memory", *_database_urls()])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, migrated_templates: MigratedTemplates
) -> Iterator[tuple[Contract, FakeClock]]:
    """The fake, and the database store on SQLite and (with NSW_TEST_DATABASE_URL) PostgreSQL."""
    clock = FakeClock(START)
    SUBJECTS.clear()
    if request.param == "memory":
        yield InMemoryStore(clock), clock
        return
    if request.param == "sqlite":
        url = migrated_templates.sqlite(tmp_path / "nsw.db")
    else:
        url = migrated_templates.postgresql()
    engine = make_engine(url)
    yield OutboxStore(engine, clock), clock
    engine.dispose()


def new(app_id: str = "APP-1", body: bytes = b"<Application/>", *agencies: str) -> NewApplication:
    return NewApplication(
        id=app_id, declarant_bin="210540012341", trader_reference="REF-1", procedure="import",
        body=body, signer_subject="CN=t", signer_fingerprint="00" * 32,
        routing={agency: [] for agency in agencies or ("customs", "health")},
    )  # fmt: skip


def states(store: Contract, app_id: str = "APP-1") -> dict[str, str]:
    app = store.application(app_id)
    assert app is not None
    return {c.agency: c.state for c in app.cases}


def test_a_reference_is_used_once_per_declarant(store: tuple[Contract, Any]) -> None:
    s, _ = store
    s.create_application(new(), [Message("application", "in", "t", "text/xml", b"x")])
    with pytest.raises(DuplicateReference) as same:
        s.create_application(new("APP-2"), [])
    assert (same.value.existing_id, same.value.same_bytes) == ("APP-1", True)
    with pytest.raises(DuplicateReference) as other:
        s.create_application(new("APP-3", b"<Other/>"), [])
    assert (other.value.existing_id, other.value.same_bytes) == ("APP-1", False)
    assert s.application("APP-2") is None
    assert states(s) == {"customs": "queued", "health": "queued"}


def test_a_lease_is_held_until_it_runs_out_and_a_stale_claim_writes_nothing(
    store: tuple[Contract, FakeClock],
) -> None:
    s, clock = store
    s.create_application(new("APP-1", b"<A/>", "customs"), [])
    (first,) = s.claim("w1", 10.0)
    assert (first.agency, first.attempts, first.received_at) == ("customs", 1, START)
    assert s.claim("w2", 10.0) == []
    assert s.next_due() == START + dt.timedelta(seconds=10)
    clock.advance(11)
    (second,) = s.claim("w2", 10.0)
    assert second.attempts == 2 and second.generation > first.generation

    assert s.settle(first, state=CaseState.GRANTED, fields={}, messages=[], decide=decide) is None
    assert states(s) == {"customs": "queued"}
    verdict = s.settle(
        second, state=CaseState.GRANTED, fields={"permit_number": "C-1"}, messages=[],
        decide=decide,
    )  # fmt: skip
    assert verdict == "released"
    assert [DecisionSubject("APP-1", "210540012341", "REF-1", sha256_hex(b"<A/>"))] == SUBJECTS
    app = s.application("APP-1")
    assert app is not None and (app.status, app.verdict) == ("decided", "released")
    assert app.cases[0].permit_number == "C-1" and app.cases[0].attempts == 2
    assert s.next_due() is None


def test_a_claim_turn_says_when_the_next_delivery_is_due(
    store: tuple[Contract, FakeClock],
) -> None:
    s, _ = store
    s.create_application(new(), [])
    first = s.claim_ready("w1", 10.0, limit=1)
    assert [c.agency for c in first.claims] == ["customs"]
    assert first.next_due == START  # health is ready too: claim again at once
    second = s.claim_ready("w1", 10.0, limit=1)
    assert [c.agency for c in second.claims] == ["health"]
    assert second.next_due == START + dt.timedelta(seconds=10)  # only the leases are owed
    assert s.claim_ready("w2", 10.0, limit=1) == ClaimTurn([], second.next_due)
    for claim in (*first.claims, *second.claims):
        s.settle(claim, state=CaseState.GRANTED, fields={}, messages=[], decide=decide)
    assert s.claim_ready("w1", 10.0).next_due is None


def test_no_decision_is_composed_while_a_case_is_open(
    store: tuple[Contract, FakeClock],
) -> None:
    s, _ = store
    s.create_application(new(), [])
    customs, health = sorted(s.claim("w1", 10.0, limit=2), key=lambda c: c.agency)
    assert s.settle(customs, state=CaseState.GRANTED, fields={}, messages=[], decide=decide) is None
    assert SUBJECTS == []  # health is open: `decide` was not asked
    verdict = s.settle(health, state=CaseState.REFUSED, fields={}, messages=[], decide=decide)
    assert verdict == "refused" and len(SUBJECTS) == 1


def kinds(store: Contract, app_id: str) -> list[str]:
    if isinstance(store, InMemoryStore):
        return store.kinds(app_id)
    assert isinstance(store, OutboxStore)
    return [m.kind for m in store.messages(app_id)]


def test_answers_settled_together_decide_once_and_a_fenced_claim_among_them_changes_nothing(
    store: tuple[Contract, FakeClock],
) -> None:
    s, clock = store
    s.create_application(replace(new("APP-2", b"<B/>", "customs"), trader_reference="REF-2"), [])
    (stale,) = s.claim("w1", 10.0)
    clock.advance(11)
    s.create_application(new("APP-1", b"<A/>", "customs", "health"), [])
    (retaken,) = s.claim("w2", 10.0)  # APP-2's, its lease having run out
    customs, health = sorted(s.claim("w1", 10.0, limit=2), key=lambda c: c.agency)
    assert (stale.application_id, retaken.application_id) == ("APP-2", "APP-2")

    def answer(claim: Any, state: CaseState) -> Answered:
        sent = Message("agency-request", "out", claim.agency, "text/xml", b"<Q/>")
        got = Message("agency-answer", "in", claim.agency, "text/xml", b"<R/>")
        return Answered(claim, state, {}, [sent, got])

    verdicts = s.settle_all(
        [
            answer(customs, CaseState.GRANTED),
            answer(stale, CaseState.REFUSED),
            answer(health, CaseState.GRANTED),
        ],
        decide,
    )
    assert verdicts == [None, None, "released"]  # on the last answer of APP-1
    assert [subject.application_id for subject in SUBJECTS] == ["APP-1"]  # composed once
    assert kinds(s, "APP-1") == [
        "agency-request", "agency-answer", "agency-request", "agency-answer", "decision",
    ]  # fmt: skip
    assert states(s, "APP-2") == {"customs": "queued"}  # w2's claim records its own answer
    assert kinds(s, "APP-2") == []
    assert s.settle_all([answer(retaken, CaseState.GRANTED)], decide) == ["released"]


def test_retry_escalate_and_the_deadline_sweep(store: tuple[Contract, FakeClock]) -> None:
    s, clock = store
    s.create_application(new(), [])
    customs, health = sorted(s.claim("w1", 10.0, limit=2), key=lambda c: c.agency)
    retry_at = START + dt.timedelta(seconds=30)
    s.reschedule(customs, error="down", retry_at=retry_at, messages=[])
    s.reschedule(health, error="refused", retry_at=None, messages=[])
    assert states(s) == {"customs": "queued", "health": "escalated"}
    assert s.next_due() == retry_at
    clock.advance(3601)
    assert s.escalate_overdue(3600) == ["APP-1-customs"]
    assert states(s) == {"customs": "escalated", "health": "escalated"}
    assert s.next_due() is None


def test_breakers_skip_and_defer_give_back_the_attempt(store: tuple[Contract, FakeClock]) -> None:
    s, clock = store
    s.create_application(new(), [])
    (claim,) = s.claim("w1", 10.0, limit=2, skip_agencies=frozenset({"customs"}))
    assert claim.agency == "health"
    s.defer(claim, START + dt.timedelta(seconds=5))
    clock.advance(5)
    (again,) = s.claim("w1", 10.0, skip_agencies=frozenset({"customs"}))
    assert (again.case_id, again.attempts) == (claim.case_id, 1)


def test_a_callback_is_judged_under_the_lock_and_recorded_with_its_delivery_closed(
    store: tuple[Contract, FakeClock],
) -> None:
    s, _ = store
    s.create_application(new(), [])
    seen: list[CaseView | None] = []

    def refuse(case: CaseView | None) -> CaseUpdate | None:
        seen.append(case)
        raise NotFound("no")

    def note(case: CaseView | None) -> CaseUpdate | None:
        seen.append(case)
        return None

    with pytest.raises(NotFound):
        s.answer_case("APP-1-health", refuse, decide)
    assert s.answer_case("NOPE", note, decide) is None
    assert states(s) == {"customs": "queued", "health": "queued"}
    case = seen[0]
    assert case is not None
    assert (case.agency, case.state, case.reasons) == ("health", CaseState.QUEUED, ())
    assert seen[1] is None

    refused = CaseUpdate(CaseState.REFUSED, {"reasons": [["SAN-2", "not registered"]]}, [])
    verdict = s.answer_case("APP-1-health", lambda case: refused, decide)
    assert verdict is None  # customs is still open
    app = s.application("APP-1")
    assert app is not None and app.cases[1].reasons[0].code == "SAN-2"
    # The health delivery is closed: only customs is still owed.
    (left,) = s.claim("w1", 10.0, limit=2)
    assert left.agency == "customs"
    # An answer that arrives after the callback settled the case keeps the callback's.
    assert s.settle(left, state=CaseState.GRANTED, fields={}, messages=[], decide=decide) == (
        "refused"
    )
    again = s.answer_case("APP-1-health", note, decide)
    assert (
        again is None
        and seen[-1] is not None
        and seen[-1].reasons == (("SAN-2", "not registered"),)
    )
