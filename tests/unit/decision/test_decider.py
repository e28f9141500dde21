"""Decision composition: storage hands the application's facts and its cases; the decider
composes and signs, and nothing is signed while a case is open."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree

from gateway.decision.document import NS, make_decider
from gateway.decision.ports import DecisionSubject
from gateway.decision.rules import CaseResult, CaseState
from gateway.fanout.ports import CaseUpdate, CaseView
from gateway.intake.ports import NewApplication
from gateway.pki.dev import DevPki
from gateway.trail.messages import sha256_hex
from gateway.trust.xmlsig import SigningIdentity
from tests.fakes.clock import FakeClock
from tests.fakes.store import InMemoryStore

SUBJECT = DecisionSubject("NSW-20261123-00000000AA", "210540012341", "REF-1", "ab" * 32)
DS = "{http://www.w3.org/2000/09/xmldsig#}"


@pytest.fixture
def identity(pki: DevPki) -> SigningIdentity:
    return SigningIdentity.from_files(pki.key_path("gateway"), pki.cert_path("gateway"))


def text(doc: etree._Element, tag: str) -> str | None:
    found: str | None = doc.findtext(f"{{{NS}}}{tag}")
    return found


def test_nothing_is_signed_while_a_case_is_open(identity: SigningIdentity) -> None:
    decide = make_decider(identity, FakeClock())
    cases = [
        CaseResult("customs", CaseState.GRANTED, permit_number="C-1"),
        CaseResult("health", CaseState.PENDING),
    ]
    assert decide(SUBJECT, cases) is None


def test_the_signed_decision_names_the_application_and_every_case(
    identity: SigningIdentity,
) -> None:
    clock = FakeClock(dt.datetime(2026, 11, 23, 10, 0, 5, tzinfo=dt.UTC))
    decided = make_decider(identity, clock)(
        SUBJECT,
        [
            CaseResult("customs", CaseState.GRANTED, permit_number="C-1", answer_sha256="cd" * 32),
            CaseResult("health", CaseState.REFUSED, reasons=(("SAN-2", "not registered"),)),
        ],
    )
    assert decided is not None
    verdict, xml = decided
    doc = etree.fromstring(xml)
    assert verdict == text(doc, "Outcome") == "refused"
    assert text(doc, "ApplicationId") == SUBJECT.application_id
    assert text(doc, "DeclarantBIN") == SUBJECT.declarant_bin
    assert text(doc, "TraderReference") == SUBJECT.trader_reference
    assert text(doc, "ApplicationSHA256") == SUBJECT.application_sha256
    assert text(doc, "DecidedAt") == "2026-11-23T10:00:05Z"
    assert [c.get("outcome") for c in doc.iter(f"{{{NS}}}Case")] == ["granted", "refused"]
    assert doc.find(f"{DS}Signature") is not None


def test_storage_hands_the_decider_the_application_it_settles(identity: SigningIdentity) -> None:
    clock = FakeClock()
    store = InMemoryStore(clock)
    body = b"<Application>apples</Application>"
    store.create_application(
        NewApplication(
            id="NSW-1", declarant_bin="210540012341", trader_reference="REF-9",
            procedure="import", body=body, signer_subject="CN=t", signer_fingerprint="00" * 32,
            routing={"customs": []},
        ),
        [],
    )  # fmt: skip
    granted = CaseUpdate(CaseState.GRANTED, {"permit_number": "C-9"}, [])

    def judge(case: CaseView | None) -> CaseUpdate:
        return granted

    store.answer_case("NSW-1-customs", judge, make_decider(identity, clock))

    xml = store.applications["NSW-1"].decision_xml
    assert xml is not None
    doc = etree.fromstring(xml)
    assert text(doc, "ApplicationId") == "NSW-1"
    assert text(doc, "TraderReference") == "REF-9"
    assert text(doc, "ApplicationSHA256") == sha256_hex(body)
