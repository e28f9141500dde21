"""Permits on both databases: write-offs under a row lock, the last-units race, each refusal
(nothing changed, the application held, the attempt in the trail), credit-back, suspension."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from decimal import Decimal

import pytest

from gateway.billing.permits import PermitBook
from gateway.clock import system_clock
from gateway.decision.rules import CaseState
from gateway.domain.identifiers import Bin
from gateway.errors import GatewayError
from gateway.fanout.ports import CaseUpdate
from gateway.payments.errors import (
    PermitBalanceExceeded,
    PermitExpired,
    PermitOfAnotherHolder,
    PermitRevoked,
    PermitSuspended,
)
from gateway.storage.outbox import OutboxStore
from gateway.storage.representatives import StoredRepresentatives
from gateway.trust.representatives import Role
from tests.payments.permit_rows import ALTYN, STEPPE, TODAY, book, lodge_citing, vet_permit
from tests.polling import wait_until


@pytest.fixture
def permits(database_url: str) -> Iterator[tuple[PermitBook, OutboxStore]]:
    permit_book, store = book(database_url)
    yield permit_book, store
    store.engine.dispose()


def kinds(store: OutboxStore, application_id: str) -> list[str]:
    return [m.kind for m in store.messages(application_id)]


def test_two_applications_drawing_on_the_last_units_at_once_one_wins(
    permits: tuple[PermitBook, OutboxStore],
) -> None:
    book, store = permits
    book.grant(vet_permit(granted="10"), None)
    lodge_citing(store, "APP-A", "6")
    lodge_citing(store, "APP-B", "6")
    start = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def release(application_id: str) -> None:
        start.wait()
        try:
            book.write_off(application_id)
            outcomes[application_id] = "written off"
        except GatewayError as exc:
            outcomes[application_id] = exc

    threads = [threading.Thread(target=release, args=(a,)) for a in ("APP-A", "APP-B")]
    for t in threads:
        t.start()
    wait_until(lambda: len(outcomes) == 2, what="both write-offs answered")
    for t in threads:
        t.join()
    won = [a for a, o in outcomes.items() if o == "written off"]
    lost = [o for o in outcomes.values() if isinstance(o, PermitBalanceExceeded)]
    assert len(won) == 1 and len(lost) == 1
    assert lost[0].extensions["remaining"] == "4.000" and lost[0].extensions["unit"] == "t"
    permit = book.permit("VET-1")
    assert permit.balance.value == Decimal("4") and permit.written_off.value == Decimal("6")
    loser = "APP-B" if won == ["APP-A"] else "APP-A"
    assert [h.code for h in book.holds(loser)] == ["permit-balance-exceeded"]
    assert book.holds(won[0]) == []
    assert "permit-write-off" in kinds(store, won[0])
    assert "permit-write-off-refused" in kinds(store, loser)


def test_write_offs_exhaust_a_permit_across_two_applications(
    permits: tuple[PermitBook, OutboxStore],
) -> None:
    book, store = permits
    book.grant(vet_permit(granted="10"), None)
    lodge_citing(store, "APP-1", "6.5")
    lodge_citing(store, "APP-2", "3.5")
    book.write_off("APP-1")
    book.write_off("APP-1")  # the same release again changes nothing
    book.write_off("APP-2")
    shown = book.show("VET-1")
    assert shown["balance"] == "0.000" and shown["state"] == "exhausted"
    assert [(w["applicationId"], w["quantity"]) for w in shown["writeOffs"]] == [
        ("APP-1", "6.500"), ("APP-2", "3.500"),
    ]  # fmt: skip


REFUSALS = [
    ("beyond-balance", PermitBalanceExceeded, "permit-balance-exceeded"),
    ("expired", PermitExpired, "permit-expired"),
    ("revoked", PermitRevoked, "permit-revoked"),
    ("other-holder", PermitOfAnotherHolder, "permit-other-holder"),
    ("suspended", PermitSuspended, "permit-suspended"),
]


@pytest.mark.parametrize(("case", "error", "code"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_each_refusal_changes_nothing_holds_the_application_and_is_in_the_trail(
    permits: tuple[PermitBook, OutboxStore], case: str, error: type[GatewayError], code: str
) -> None:
    book, store = permits
    expired = case == "expired"
    book.grant(vet_permit(valid_until=TODAY - dt.timedelta(days=1) if expired else None), None)
    if case in ("revoked", "suspended"):
        book.change_standing("VET-1", {"revoked": "revoke", "suspended": "suspend"}[case])
    lodge_citing(
        store, "APP-1", "11" if case == "beyond-balance" else "2",
        declarant=ALTYN if case == "other-holder" else "210540012341",
    )  # fmt: skip
    with pytest.raises(error) as refused:
        book.write_off("APP-1")
    assert refused.value.code == code
    permit = book.permit("VET-1")
    assert permit.written_off.value == 0 and book.permits.write_offs("VET-1") == []
    assert [h.code for h in book.holds("APP-1")] == [code]
    assert "permit-write-off-refused" in kinds(store, "APP-1")


def test_the_owners_registered_representative_draws_on_the_owners_permit_a_stranger_does_not(
    permits: tuple[PermitBook, OutboxStore],
) -> None:
    # The veterinary permit is issued to the importer STEPPE. ALTYN, a customs representative,
    # declares STEPPE's goods (STEPPE is the consignee): only a registration lets it draw.
    book, store = permits
    book.grant(vet_permit(granted="10"), None)
    registry = StoredRepresentatives(store.engine, system_clock)
    lodge_citing(store, "APP-STRANGER", "2", declarant=ALTYN, consignee=STEPPE)
    with pytest.raises(PermitOfAnotherHolder):
        book.write_off("APP-STRANGER")
    assert [h.code for h in book.holds("APP-STRANGER")] == ["permit-other-holder"]

    registry.register(Bin(STEPPE), Bin(ALTYN), Role.CUSTOMS_REPRESENTATIVE)
    lodge_citing(store, "APP-REP", "2", declarant=ALTYN, consignee=STEPPE)
    book.write_off("APP-REP")
    assert book.permit("VET-1").balance.value == Decimal("8")
    assert "permit-write-off" in kinds(store, "APP-REP")

    # A representative cites the owner's permit only for the owner's goods: goods it declares
    # for another consignee (here itself) cannot draw on STEPPE's permit.
    lodge_citing(store, "APP-OWN-GOODS", "2", declarant=ALTYN, consignee=ALTYN)
    with pytest.raises(PermitOfAnotherHolder):
        book.write_off("APP-OWN-GOODS")

    # Once the registration is revoked, the representative draws on nothing of the owner's.
    registry.revoke(Bin(STEPPE), Bin(ALTYN))
    lodge_citing(store, "APP-REVOKED", "2", declarant=ALTYN, consignee=STEPPE)
    with pytest.raises(PermitOfAnotherHolder):
        book.write_off("APP-REVOKED")
    assert book.permit("VET-1").balance.value == Decimal("8")


def test_credit_back_returns_what_an_application_wrote_off(
    permits: tuple[PermitBook, OutboxStore],
) -> None:
    book, store = permits
    book.grant(vet_permit(granted="10"), None)
    lodge_citing(store, "APP-1", "10")
    book.write_off("APP-1")
    assert book.permit("VET-1").balance.value == 0
    assert book.credit_back("APP-1") == ["VET-1"]
    assert book.permit("VET-1").balance.value == Decimal("10")
    assert [w.credited_back_at is not None for w in book.permits.write_offs("VET-1")] == [True]
    assert "permit-credit-back" in kinds(store, "APP-1")
    book.write_off("APP-1")  # an amendment writes off again
    assert book.permit("VET-1").balance.value == 0


def test_a_suspension_holds_the_applications_citing_the_permit_until_reinstated(
    permits: tuple[PermitBook, OutboxStore],
) -> None:
    book, store = permits
    book.grant(vet_permit(), None)
    lodge_citing(store, "APP-1", "2")
    lodge_citing(store, "APP-2", "2")
    book.write_off("APP-1")
    permit, held = book.change_standing("VET-1", "suspend")
    assert permit.standing.value == "suspended" and held == ["APP-1", "APP-2"]
    assert {h.application_id for h in book.holds()} == {"APP-1", "APP-2"}
    _, cleared = book.change_standing("VET-1", "reinstate")
    assert cleared == ["APP-1", "APP-2"] and book.holds() == []


def _decided_released(store: OutboxStore, application_id: str) -> None:
    """Its one case (customs) granted with nothing charged: the decision releases it."""
    store.answer_case(
        f"{application_id}-customs",
        lambda case: CaseUpdate(CaseState.GRANTED, {"permit_number": "C-1"}, []),
        lambda subject, cases: ("released", b"<Decision/>"),
    )


def test_a_release_with_nothing_owed_writes_off_too_or_holds(
    permits: tuple[PermitBook, OutboxStore],
) -> None:
    book, store = permits
    book.grant(vet_permit(granted="10"), None)
    lodge_citing(store, "APP-1", "6")
    lodge_citing(store, "APP-2", "6")
    _decided_released(store, "APP-1")
    assert book.permit("VET-1").balance.value == Decimal("4")
    assert "permit-write-off" in kinds(store, "APP-1")
    _decided_released(store, "APP-2")  # released by its decision, but held: the gate refuses it
    assert book.permit("VET-1").balance.value == Decimal("4")
    assert [h.code for h in book.holds("APP-2")] == ["permit-balance-exceeded"]
