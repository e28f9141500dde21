"""A delivery to an agency that wants a supporting document waits until its bytes are uploaded,
then carries them; stored bytes that no longer match the signed digest are never sent."""

from __future__ import annotations

import dataclasses

from adapters.base import Outcome
from gateway.decision.rules import CaseState
from gateway.fanout.breakers import BreakerRule, Breakers, MemoryBreakerStore
from gateway.fanout.dispatch import Dispatcher, RetryPolicy
from gateway.intake.ports import NewApplication
from gateway.resources import shipped
from tests.attachments import PDF, Entry, listing
from tests.fakes.adapters import ScriptedAdapter, answer
from tests.fakes.attachments import InMemoryAttachments
from tests.fakes.clock import FakeClock
from tests.fakes.store import InMemoryStore
from tests.unit.fanout.conftest import APP, decide

CERTIFICATE = Entry(PDF, type="veterinary-certificate", number="VET-1")


def setup(
    store: InMemoryStore, clock: FakeClock
) -> tuple[Dispatcher, ScriptedAdapter, InMemoryAttachments]:
    body = listing(CERTIFICATE)((shipped("samples") / "chilled-lamb-import.xml").read_bytes())
    store.create_application(
        NewApplication(
            id=APP, declarant_bin="190340025677", trader_reference="REF-1", procedure="import",
            body=body, signer_subject="CN=test", signer_fingerprint="00" * 32,
            routing={"veterinary": []},
        ),
        [],
    )  # fmt: skip
    vet = ScriptedAdapter("veterinary", [answer(Outcome.GRANTED)])
    vet.spec = dataclasses.replace(vet.spec, wants_documents=("veterinary-certificate",))
    documents = InMemoryAttachments()
    dispatcher = Dispatcher(
        store, {"veterinary": vet}, decide, clock,
        retry=RetryPolicy(max_attempts=3, base_s=1.0, cap_s=4.0), lease_s=60.0,
        breakers=Breakers(MemoryBreakerStore(), BreakerRule(failure_threshold=100), clock),
        deadline_s=3600.0, name="test-worker", documents=documents,
    )  # fmt: skip
    return dispatcher, vet, documents


def case_state(store: InMemoryStore) -> str:
    app = store.application(APP)
    assert app is not None
    return app.cases[0].state


def test_the_delivery_waits_for_the_document_then_carries_it(
    store: InMemoryStore, clock: FakeClock
) -> None:
    dispatcher, vet, documents = setup(store, clock)
    assert dispatcher.run_once() == 1
    assert vet.sent == []  # not called: the certificate is not uploaded
    assert case_state(store) == CaseState.QUEUED
    documents.blobs[CERTIFICATE.digest] = PDF
    documents.links[APP] = {CERTIFICATE.digest}
    clock.advance(seconds=61)  # the fake outbox is not woken by the fake upload: the wait ends
    assert dispatcher.run_once() == 1
    [sent] = vet.sent
    assert [(d.type, d.sha256, d.content) for d in sent.documents] == [
        ("veterinary-certificate", CERTIFICATE.digest, PDF)
    ]
    assert case_state(store) == CaseState.GRANTED


def test_stored_bytes_that_no_longer_match_their_digest_are_never_sent(
    store: InMemoryStore, clock: FakeClock
) -> None:
    dispatcher, vet, documents = setup(store, clock)
    documents.blobs[CERTIFICATE.digest] = PDF.replace(b"Catalog", b"Catalox")  # changed at rest
    documents.links[APP] = {CERTIFICATE.digest}
    dispatcher.run_once()
    assert vet.sent == []
    app = store.application(APP)
    assert app is not None and app.cases[0].state == CaseState.ESCALATED
    assert "no longer match" in (app.cases[0].last_error or "")
