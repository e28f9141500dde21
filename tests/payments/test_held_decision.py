"""A release with nothing owed whose permit write-off is refused (issue 20): the application is
held, and its signed decision says so, with the reason, instead of "released"; a credit-back that
gives units back releases the held applications, the oldest hold first, each exactly once (both
databases)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal

import pytest
from lxml import etree

from gateway.billing.permits import PermitBook
from gateway.billing.service import released_decision_signer
from gateway.clock import system_clock
from gateway.decision.document import NS, make_decider
from gateway.decision.rules import CaseState
from gateway.fanout.ports import CaseUpdate
from gateway.intake.ports import CitedPermit, NewApplication
from gateway.pki.dev import DevPki
from gateway.resources import shipped_file
from gateway.storage.outbox import OutboxStore
from tests.payments.permit_rows import HS, STEPPE, book, lodge_citing, vet_permit
from tests.trader_requests import identity


@pytest.fixture
def permits(database_url: str) -> Iterator[tuple[PermitBook, OutboxStore]]:
    permit_book, store = book(database_url)
    yield permit_book, store
    store.engine.dispose()


def _granted_with_nothing_owed(store: OutboxStore, pki: DevPki, application_id: str) -> str | None:
    """Its one case (customs) granted with nothing charged, decided by the real decider."""
    return store.answer_case(
        f"{application_id}-customs",
        lambda case: CaseUpdate(CaseState.GRANTED, {"permit_number": "C-1"}, []),
        make_decider(identity(pki, "gateway"), system_clock),
    )


def _decision(store: OutboxStore, application_id: str) -> etree._Element:
    xml = store.decision_xml(application_id)
    assert xml is not None
    root = etree.fromstring(xml)
    schema = etree.XMLSchema(etree.parse(str(shipped_file("wsdl/application/decision.xsd"))))
    schema.assertValid(root)
    return root


def test_a_refused_write_off_makes_the_decision_held_with_the_reason(
    permits: tuple[PermitBook, OutboxStore], pki: DevPki
) -> None:
    book, store = permits
    book.grant(vet_permit(granted="10"), None)
    lodge_citing(store, "APP-1", "6")
    lodge_citing(store, "APP-2", "6")
    assert _granted_with_nothing_owed(store, pki, "APP-1") == "released"
    assert _decision(store, "APP-1").findtext(f"{{{NS}}}Outcome") == "released"

    assert _granted_with_nothing_owed(store, pki, "APP-2") == "held"
    decision = _decision(store, "APP-2")
    assert decision.findtext(f"{{{NS}}}Outcome") == "held"
    hold = decision.find(f"{{{NS}}}Hold")
    assert hold is not None and hold.get("code") == "permit-balance-exceeded"
    assert "4" in (hold.text or "")  # the remaining balance is stated
    assert (decision.findtext(f"{{{NS}}}Summary") or "").startswith("HELD")
    app = store.application("APP-2")
    assert app is not None and app.verdict == "held"
    assert book.permit("VET-1").balance.value == Decimal("4")


# --- a hold for the balance is retried when a credit-back gives units back ----------------------


def _kinds(store: OutboxStore, application_id: str) -> list[str]:
    return [m.kind for m in store.messages(application_id)]


def _signing(book: PermitBook, pki: DevPki) -> None:
    book.permits.release_decision = released_decision_signer(identity(pki, "gateway"))  # type: ignore[attr-defined]


def test_a_credit_back_releases_the_application_held_for_the_balance(
    permits: tuple[PermitBook, OutboxStore], pki: DevPki
) -> None:
    book, store = permits
    _signing(book, pki)
    book.grant(vet_permit(granted="10"), None)
    for application_id in ("APP-1", "APP-2", "APP-3"):
        lodge_citing(store, application_id, "6")
    assert _granted_with_nothing_owed(store, pki, "APP-1") == "released"
    assert _granted_with_nothing_owed(store, pki, "APP-2") == "held"
    assert _granted_with_nothing_owed(store, pki, "APP-3") == "held"

    assert book.credit_back("APP-1") == ["VET-1"]
    # The oldest hold gets the units; the other stays held with the balance as it is now.
    decision = _decision(store, "APP-2")
    assert decision.findtext(f"{{{NS}}}Outcome") == "released"
    assert book.holds("APP-2") == []
    assert "permit-hold-cleared" in _kinds(store, "APP-2")
    assert _decision(store, "APP-3").findtext(f"{{{NS}}}Outcome") == "held"
    assert [h.code for h in book.holds("APP-3")] == ["permit-balance-exceeded"]
    assert book.permit("VET-1").balance.value == Decimal("4")


def test_racing_credit_backs_release_each_held_application_exactly_once(
    permits: tuple[PermitBook, OutboxStore], pki: DevPki
) -> None:
    book, store = permits
    _signing(book, pki)
    book.grant(vet_permit(granted="12"), None)
    for application_id in ("APP-1", "APP-2", "APP-3", "APP-4"):
        lodge_citing(store, application_id, "6")
    for application_id in ("APP-1", "APP-2"):
        assert _granted_with_nothing_owed(store, pki, application_id) == "released"
    for application_id in ("APP-3", "APP-4"):
        assert _granted_with_nothing_owed(store, pki, application_id) == "held"

    start = threading.Barrier(3)
    errors: list[BaseException] = []

    def credit(application_id: str) -> None:
        start.wait()
        try:
            book.credit_back(application_id)
        except BaseException as exc:
            errors.append(exc)

    # Two withdrawals' credit-backs at once, and one of them twice.
    threads = [threading.Thread(target=credit, args=(a,)) for a in ("APP-1", "APP-2", "APP-1")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert book.permit("VET-1").balance.value == Decimal("0")
    live = [w for w in book.permits.write_offs("VET-1") if w.credited_back_at is None]
    assert sorted(w.application_id for w in live) == ["APP-3", "APP-4"]
    for application_id in ("APP-3", "APP-4"):
        assert _decision(store, application_id).findtext(f"{{{NS}}}Outcome") == "released"
        assert _kinds(store, application_id).count("permit-hold-cleared") == 1
        assert _kinds(store, application_id).count("decision") == 2  # held, then released


# --- a hold for a suspension is retried when the agency reinstates the permit --------------------


def test_a_reinstatement_releases_the_application_its_suspension_held(
    permits: tuple[PermitBook, OutboxStore], pki: DevPki
) -> None:
    book, store = permits
    _signing(book, pki)
    book.grant(vet_permit(granted="10"), None)
    lodge_citing(store, "APP-1", "6")
    book.change_standing("VET-1", "suspend")
    assert _granted_with_nothing_owed(store, pki, "APP-1") == "held"
    hold = _decision(store, "APP-1").find(f"{{{NS}}}Hold")
    assert hold is not None and hold.get("code") == "permit-suspended"

    book.change_standing("VET-1", "reinstate")
    assert _decision(store, "APP-1").findtext(f"{{{NS}}}Outcome") == "released"
    app = store.application("APP-1")
    assert app is not None and app.verdict == "released"
    assert book.holds("APP-1") == []
    assert book.permit("VET-1").balance.value == Decimal("4")
    assert _kinds(store, "APP-1").count("permit-hold-cleared") == 1


def _lodge_citing_two(store: OutboxStore, app_id: str) -> None:
    """An application whose two items cite VET-1 and VET-2."""
    store.create_application(
        NewApplication(
            id=app_id, declarant_bin=STEPPE, trader_reference=f"REF-{app_id}",
            procedure="import", body=b"<Application/>", signer_subject="CN=test",
            signer_fingerprint="00" * 32, routing={"customs": []},
            citations=(CitedPermit(1, "veterinary", "VET-1", HS, Decimal("2"), "t"),
                       CitedPermit(2, "veterinary", "VET-2", HS, Decimal("3"), "t")),
        ),
        [],
    )  # fmt: skip


def test_racing_reinstatements_release_the_held_application_exactly_once(
    permits: tuple[PermitBook, OutboxStore], pki: DevPki
) -> None:
    book, store = permits
    _signing(book, pki)
    book.grant(vet_permit("VET-1", granted="10"), None)
    book.grant(vet_permit("VET-2", granted="10"), None)
    _lodge_citing_two(store, "APP-1")
    book.change_standing("VET-1", "suspend")
    book.change_standing("VET-2", "suspend")
    assert _granted_with_nothing_owed(store, pki, "APP-1") == "held"

    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def reinstate(permit_id: str) -> None:
        start.wait()
        try:
            book.change_standing(permit_id, "reinstate")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reinstate, args=(p,)) for p in ("VET-1", "VET-2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    # Whichever reinstatement came second released it, once; both quantities are written off.
    assert _decision(store, "APP-1").findtext(f"{{{NS}}}Outcome") == "released"
    assert _kinds(store, "APP-1").count("decision") == 2  # held, then released
    assert book.permit("VET-1").balance.value == Decimal("8")
    assert book.permit("VET-2").balance.value == Decimal("7")
    assert book.holds("APP-1") == []
