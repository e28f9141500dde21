"""Officers' actions on in-memory fakes of the storage ports: each checks the officer's agency,
refuses what cannot be done with a sentence, and leaves one trail entry naming the officer."""

from __future__ import annotations

import json

import pytest

from gateway.omc import actions
from gateway.omc.errors import ActionRefused, RoleForbidden
from gateway.omc.roles import Officer, Role
from tests.fakes.omc import (
    ActionsServices,
    FakeActionRecords,
    FakeCaseRetries,
    FakeTransit,
    MovableClock,
    omc_ports,
)

OPERATOR = Officer("op", Role.OPERATOR)
VET = Officer("vet", Role.AGENCY_OFFICER, "veterinary")
CUSTOMS = Officer("cus", Role.AGENCY_OFFICER, "customs")


@pytest.fixture
def records() -> FakeActionRecords:
    return FakeActionRecords(
        cases={"APP-1-customs": "customs", "APP-1-veterinary": "veterinary"},
        findings={("VIS-1", "F-1"): "transport"},
        transits={
            "TR-1": FakeTransit("123ABC02", "APP-1", [{"key": "stop-1", "kind": "long-stop"}])
        },
    )


@pytest.fixture
def retries() -> FakeCaseRetries:
    return FakeCaseRetries(
        cases={"APP-1-customs": ("APP-1", "escalated"), "APP-1-veterinary": ("APP-1", "granted")}
    )


@pytest.fixture
def svc(records: FakeActionRecords, retries: FakeCaseRetries) -> ActionsServices:
    return ActionsServices(MovableClock(), omc_ports(actions=records), retries)


def test_an_agency_officer_acts_only_on_their_agency_s_cases(svc: ActionsServices) -> None:
    assert actions.check_case(svc, CUSTOMS, "APP-1-customs") == "customs"
    assert actions.check_case(svc, OPERATOR, "APP-1-veterinary") == "veterinary"
    with pytest.raises(RoleForbidden, match="belongs to veterinary, not to customs"):
        actions.check_case(svc, CUSTOMS, "APP-1-veterinary")
    with pytest.raises(ActionRefused, match="There is no case APP-9-customs"):
        actions.check_case(svc, OPERATOR, "APP-9-customs")


def test_a_retried_case_is_recorded_with_the_officer(
    svc: ActionsServices, retries: FakeCaseRetries
) -> None:
    assert actions.retry_case(svc, CUSTOMS, "APP-1-customs") == "APP-1"
    [entry] = retries.trail
    assert (entry.application_id, entry.message.kind, entry.message.case_id) == (
        "APP-1", "officer-action", "APP-1-customs",
    )  # fmt: skip
    assert entry.message.counterpart == "officer:cus"
    body = json.loads(entry.message.body)
    assert (body["action"], body["officer"], body["role"], body["agency"], body["case"]) == (
        "retry-case", "cus", "agency-officer", "customs", "APP-1-customs",
    )  # fmt: skip


def test_only_an_escalated_case_is_retried(svc: ActionsServices, retries: FakeCaseRetries) -> None:
    with pytest.raises(ActionRefused, match="is granted; only escalated cases"):
        actions.retry_case(svc, OPERATOR, "APP-1-veterinary")
    with pytest.raises(RoleForbidden):
        actions.retry_case(svc, CUSTOMS, "APP-1-veterinary")  # checked before anything else
    assert retries.trail == []


def test_an_alert_is_acknowledged_once_and_recorded(
    svc: ActionsServices, records: FakeActionRecords
) -> None:
    actions.acknowledge_alert(svc, OPERATOR, "TR-1", "stop-1")
    [alert] = records.transits["TR-1"].alerts
    assert alert["acknowledged_by"] == "op" and alert["acknowledged_at"] == "2026-03-02T09:00:00Z"
    [entry] = records.trail
    body = json.loads(entry.message.body)
    assert entry.application_id == "APP-1"
    assert (body["action"], body["transit"], body["alert"], body["kind"], body["plate"]) == (
        "acknowledge-alert", "TR-1", "stop-1", "long-stop", "123ABC02",
    )  # fmt: skip

    with pytest.raises(ActionRefused, match="acknowledged by op already"):
        actions.acknowledge_alert(svc, VET, "TR-1", "stop-1")
    assert len(records.trail) == 1 and alert["acknowledged_by"] == "op"


@pytest.mark.parametrize(("transit", "key"), [("TR-1", "nope"), ("TR-9", "stop-1")])
def test_an_alert_that_is_not_there_is_refused(
    svc: ActionsServices, records: FakeActionRecords, transit: str, key: str
) -> None:
    with pytest.raises(ActionRefused, match=f"Transit {transit} has no alert {key}"):
        actions.acknowledge_alert(svc, OPERATOR, transit, key)
    assert records.trail == []


def test_a_finding_is_for_its_agency_s_officers(svc: ActionsServices) -> None:
    actions.check_finding(svc, Officer("trn", Role.AGENCY_OFFICER, "transport"), "VIS-1", "F-1")
    actions.check_finding(svc, OPERATOR, "VIS-1", "F-1")
    with pytest.raises(RoleForbidden, match="The finding is for transport, not veterinary"):
        actions.check_finding(svc, VET, "VIS-1", "F-1")
    with pytest.raises(ActionRefused, match="Visit VIS-1 has no finding F-2"):
        actions.check_finding(svc, OPERATOR, "VIS-1", "F-2")
