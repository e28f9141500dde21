"""The callback service on the callback port: which answers it records, which it refuses."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from adapters.base import AgencyAnswer, AgencyCallFailed, Outcome, Reason
from gateway.decision.rules import CaseState
from gateway.fanout.callback_errors import (
    LateAnswer,
    MalformedCallbackAnswer,
    NotYourCase,
    UnknownCase,
)
from gateway.fanout.callbacks import CallbackService
from tests.fakes.adapters import ScriptedAdapter, answer
from tests.fakes.clock import FakeClock
from tests.fakes.store import InMemoryStore
from tests.unit.fanout.conftest import APP, decide, lodge

CASE = f"{APP}-health"


def read(payload: Any) -> AgencyAnswer:
    """The agency's mapping: the payload names the outcome (and the permit)."""
    if payload == "garbage":
        raise AgencyCallFailed("no outcome element")
    outcome = Outcome(payload["outcome"])
    if outcome is Outcome.REFUSED:
        return answer(outcome, reasons=(Reason("SAN-2", "not registered"),))
    return answer(outcome, permit_number=payload.get("permit"))


@pytest.fixture
def service(store: InMemoryStore, clock: FakeClock) -> CallbackService:
    lodge(store, "health")
    adapters = {"health": ScriptedAdapter("health", callback=read)}
    return CallbackService(store, adapters, {}, decide, clock, dt.timedelta(seconds=60))


def accept(service: CallbackService, payload: Any, agency: str = "health", case: str = CASE):  # type: ignore[no-untyped-def]
    return service.accept(agency, case, payload, b"<callback/>", "application/xml")


def test_a_final_answer_is_recorded_closes_the_delivery_and_decides(
    service: CallbackService, store: InMemoryStore
) -> None:
    outcome = accept(service, {"outcome": "granted", "permit": "H-7"})

    assert (outcome.result, outcome.state) == ("recorded", "granted")
    assert store.cases[CASE].permit_number == "H-7"
    assert store.open_deliveries(CASE) == []  # the dispatcher will not send it again
    assert store.kinds(APP) == ["callback", "decision"]
    assert store.applications[APP].verdict == "released"


def test_the_same_answer_again_is_a_duplicate_and_writes_nothing(
    service: CallbackService, store: InMemoryStore
) -> None:
    accept(service, {"outcome": "refused"})
    again = accept(service, {"outcome": "refused"})
    assert (again.result, again.state) == ("duplicate", "refused")
    assert store.kinds(APP) == ["callback", "decision"]


def test_a_different_answer_for_a_decided_case_is_refused_as_late(
    service: CallbackService, store: InMemoryStore
) -> None:
    accept(service, {"outcome": "granted", "permit": "H-7"})
    with pytest.raises(LateAnswer, match="already granted"):
        accept(service, {"outcome": "refused"})
    assert store.cases[CASE].state is CaseState.GRANTED
    assert store.kinds(APP) == ["callback", "decision"]


def test_an_inspection_is_settled_later_by_a_final_answer(
    service: CallbackService, store: InMemoryStore
) -> None:
    accept(service, {"outcome": "inspection"})
    assert store.applications[APP].verdict == "inspection"
    accept(service, {"outcome": "granted", "permit": "H-8"})
    assert store.applications[APP].verdict == "released"  # a new decision


@pytest.mark.parametrize(
    ("agency", "case", "payload", "error", "words"),
    [
        ("health", "NSW-NOPE-health", {"outcome": "granted"}, UnknownCase, "no case"),
        ("customs", CASE, {"outcome": "granted"}, NotYourCase, "not a case of agency customs"),
        ("health", CASE, {"outcome": "pending"}, MalformedCallbackAnswer, "not 'pending'"),
        ("health", CASE, "garbage", MalformedCallbackAnswer, "no outcome element"),
    ],
)
def test_what_is_refused_changes_nothing(  # type: ignore[no-untyped-def]
    service: CallbackService, store: InMemoryStore, agency, case, payload, error, words
) -> None:
    with pytest.raises(error, match=words):
        accept(service, payload, agency=agency, case=case)
    assert store.cases[CASE].state is CaseState.QUEUED
    assert len(store.open_deliveries(CASE)) == 1
    assert store.trail == []
