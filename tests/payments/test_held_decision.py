"""A release with nothing owed whose permit write-off is refused (issue 20): the application is
held, and its signed decision says so, with the reason, instead of "released" (both databases)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from lxml import etree

from gateway.billing.permits import PermitBook
from gateway.clock import system_clock
from gateway.decision.document import NS, make_decider
from gateway.decision.rules import CaseState
from gateway.fanout.ports import CaseUpdate
from gateway.pki.dev import DevPki
from gateway.resources import shipped_file
from gateway.storage.outbox import OutboxStore
from tests.payments.permit_rows import book, lodge_citing, vet_permit
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
