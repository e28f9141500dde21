"""Services of gateway.fanout on the in-memory store: no database, no agency server."""

from __future__ import annotations

import pytest

from gateway.decision.ports import DecisionSubject
from gateway.decision.rules import CaseResult, compose
from gateway.intake.ports import NewApplication
from tests.fakes.clock import FakeClock
from tests.fakes.store import InMemoryStore

APP = "NSW-20261123-0000000001"


def decide(subject: DecisionSubject, cases: list[CaseResult]) -> tuple[str, bytes] | None:
    """Composes like the gateway's decider; the "document" names what it was given."""
    decision = compose(cases)
    if decision is None:
        return None
    return decision.verdict.value, f"<Decision of='{subject.application_id}'/>".encode()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> InMemoryStore:
    return InMemoryStore(clock)


def lodge(store: InMemoryStore, *agencies: str, app_id: str = APP) -> None:
    """An application routed to `agencies`, as intake stores it."""
    store.create_application(
        NewApplication(
            id=app_id, declarant_bin="210540012341", trader_reference=f"REF-{app_id}",
            procedure="import", body=b"<Application/>", signer_subject="CN=test",
            signer_fingerprint="00" * 32, routing={agency: [] for agency in agencies},
        ),
        [],
    )  # fmt: skip
