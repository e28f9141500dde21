"""Traders' progress events in the store, on both databases: a settled case owes the events its
trader chose — an agency asking for a document among them — in the settling transaction, and the
notifier claims each with its own kind, body and Idempotency-Key."""

from __future__ import annotations

import json

from gateway.bootstrap import build_services
from gateway.decision.ports import DecisionSubject
from gateway.decision.rules import CaseResult, CaseState
from gateway.intake.ports import NewApplication
from gateway.pki.dev import DevPki
from gateway.trail.messages import Message
from tests.gateway_fixtures import endpoints_never_called, gateway_config

BIN = "210540012341"


def _unused_decide(subject: DecisionSubject, cases: list[CaseResult]) -> None:
    return None  # no decision: only the events are looked at


def test_a_document_request_and_an_inspection_are_owed_as_events(
    pki: DevPki, database_url: str
) -> None:
    services = build_services(
        gateway_config(pki, database_url, endpoints_never_called(), dispatcher_threads=0)
    )
    try:
        services.notifications.subscribe(
            BIN, "https://trader.example/in", fingerprint="00" * 32,
            events=("case.inspection", "case.document-requested"),
            message=Message("notification-url", "in", f"trader:{BIN}", "text/plain", b"t"),
        )  # fmt: skip
        services.store.create_application(
            NewApplication(
                id="APP-EV", declarant_bin=BIN, trader_reference="REF-EV", procedure="import",
                body=b"<A/>", signer_subject="CN=t", signer_fingerprint="00" * 32,
                routing={"health": []},
            ),
            [],
        )  # fmt: skip
        (claim,) = services.store.claim("w1", 30.0)
        services.store.settle(
            claim,
            state=CaseState.INSPECTION,
            fields={"inspection": "sample the lot", "extra": {"document_requested": "CMR"}},
            messages=[],
            decide=_unused_decide,
        )
        owed = services.notifications.claim("n1", 30.0)
        assert sorted(c.kind for c in owed) == ["case.document-requested", "case.inspection"]
        assert len({c.idempotency_key for c in owed}) == 2
        for c in owed:
            event = json.loads(c.decision)
            assert event["type"] == c.kind and event["applicationId"] == "APP-EV"
            assert event["caseId"] == claim.case_id and event["agency"] == "health"
            assert event["inspection"] == "sample the lot"
            assert event["documentRequested"] == "CMR"
        assert {n.kind for n in services.notifications.for_application("APP-EV")} == {
            "case.inspection", "case.document-requested",
        }  # fmt: skip
    finally:
        services.close()


def test_migration_0013_makes_exactly_the_models(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from gateway.storage.db import make_engine
    from gateway.storage.migrate import upgrade
    from gateway.storage.models import Base

    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    ours = ("trader_subscriptions", "'notifications'", "events", "payload")
    assert [d for d in diff if any(name in repr(d) for name in ours)] == []
