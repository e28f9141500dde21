"""A release with nothing owed reached by an agency's synchronous answer (`OutboxStore.settle`,
which runs on a Core connection and opens an ORM session only for the write-off): the permit is
written off, or the application held, in the answer's transaction, and all of it is undone with
that transaction (issue 20, both databases)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from gateway.billing.permits import PermitBook
from gateway.clock import system_clock
from gateway.decision.document import make_decider
from gateway.decision.ports import Decide
from gateway.decision.rules import CaseState
from gateway.fanout.ports import Claim
from gateway.fanout.wakeup import TRAIL
from gateway.pki.dev import DevPki
from gateway.storage.outbox import OutboxStore
from tests.payments.permit_rows import book, lodge_citing, vet_permit
from tests.trader_requests import identity


@pytest.fixture
def permits(database_url: str) -> Iterator[tuple[PermitBook, OutboxStore]]:
    permit_book, store = book(database_url)
    yield permit_book, store
    store.engine.dispose()


def _claimed(store: OutboxStore) -> dict[str, Claim]:
    return {claim.application_id: claim for claim in store.claim("w1", 60.0, limit=10)}


def _answer_granted(
    store: OutboxStore, claims: dict[str, Claim], application_id: str, decide: Decide
) -> str | None:
    """The application's one delivery (customs), claimed, answered: granted, nothing charged."""
    return store.settle(
        claims[application_id],
        state=CaseState.GRANTED,
        fields={"permit_number": "C-1"},
        messages=[],
        decide=decide,
    )


def test_an_answer_releases_with_the_write_off_or_holds_when_refused(
    permits: tuple[PermitBook, OutboxStore], pki: DevPki
) -> None:
    book, store = permits
    decide = make_decider(identity(pki, "gateway"), system_clock)
    woken: list[frozenset[str]] = []
    store.wakeups.signal = woken.append  # type: ignore[method-assign,assignment]
    book.grant(vet_permit(granted="10"), None)
    lodge_citing(store, "APP-1", "6")
    lodge_citing(store, "APP-2", "6")
    claims = _claimed(store)
    woken.clear()

    assert _answer_granted(store, claims, "APP-1", decide) == "released"
    assert book.permit("VET-1").balance.value == Decimal("4")
    assert woken and TRAIL in woken[-1]  # the write-off's and the decision's trail entries

    assert _answer_granted(store, claims, "APP-2", decide) == "held"
    app = store.application("APP-2")
    assert app is not None and app.verdict == "held"
    assert book.permit("VET-1").balance.value == Decimal("4")
    kinds = [m.kind for m in store.messages("APP-2")]
    assert kinds[-1] == "decision"


def test_what_the_write_off_step_wrote_is_undone_with_the_answer(
    permits: tuple[PermitBook, OutboxStore], pki: DevPki
) -> None:
    book, store = permits
    signed = make_decider(identity(pki, "gateway"), system_clock)
    calls: list[object] = []

    def decide_then_fail(subject, cases):  # type: ignore[no-untyped-def]
        calls.append(subject)
        if len(calls) > 1:  # the held decision, after the refused write-off held the application
            raise RuntimeError("signing failed")
        return signed(subject, cases)

    book.grant(vet_permit(granted="5"), None)
    lodge_citing(store, "APP-1", "6")
    before = [m.kind for m in store.messages("APP-1")]
    with pytest.raises(RuntimeError, match="signing failed"):
        _answer_granted(store, _claimed(store), "APP-1", decide_then_fail)
    assert len(calls) == 2
    app = store.application("APP-1")
    assert app is not None and (app.status, app.verdict) == ("in_progress", None)
    assert [case.state for case in app.cases] == ["queued"]  # the answer is not recorded
    assert [m.kind for m in store.messages("APP-1")] == before  # nor the hold's trail entries
    assert book.permit("VET-1").balance.value == Decimal("5")
