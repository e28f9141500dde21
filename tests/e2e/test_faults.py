"""Faults at the agencies: every case ends in the right state, nothing lost, nothing duplicated."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simulators.server import RunningAgency
from tests.gateway_fixtures import RunningGateway
from tests.polling import wait_until

OPERATOR = "test-operator-token"


def case_of(gw, application_id: str, agency: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return next(c for c in gw.client.status(application_id)["cases"] if c["agency"] == agency)


def fast(agencies: dict[str, str], **changed: str) -> dict[str, Any]:
    return {
        "agency_urls": {**agencies, **changed},
        "retry_base_s": 0.05,
        "operator_tokens": (OPERATOR,),
    }


def test_agency_down_then_back_opens_the_breaker_and_still_decides(
    gateway: Callable[..., RunningGateway],
    agencies: dict[str, str],
    own_agency: Callable[..., RunningAgency],
    signed_sample: Callable[..., bytes],
) -> None:
    transport = own_agency("transport", outage=True)
    gw = gateway(
        **fast(agencies, transport=transport.url),
        max_attempts=50,
        breaker_failures=2,
        breaker_reset_s=0.3,
    )
    accepted = gw.client.submit(signed_sample("overweight-machinery-transit"))

    ops = {"Authorization": f"Bearer {OPERATOR}"}
    health = wait_until(
        lambda: (
            (
                h := gw.client.session.get(
                    f"{gw.url}/api/v1/operations/agencies", headers=ops
                ).json()
            )["transport"]["breaker"]["state"]
            in ("open", "half-open")
            and h
        ),
        what="transport breaker opens",
    )
    assert "503" in health["transport"]["breaker"]["last_error"]
    assert case_of(gw, accepted["id"], "transport")["state"] == "queued"
    assert gw.client.decision(accepted["id"]) is None

    transport.options.outage = False
    xml = gw.client.wait_for_decision(accepted["id"], deadline_s=30)
    assert b"<Outcome>inspection</Outcome>" in xml
    after = gw.client.session.get(f"{gw.url}/api/v1/operations/agencies", headers=ops).json()
    assert after["transport"]["breaker"]["state"] == "closed"


def test_agency_slower_than_its_timeout_is_retried_then_escalated(
    gateway: Callable[..., RunningGateway],
    agencies: dict[str, str],
    own_agency: Callable[..., RunningAgency],
    signed_sample: Callable[..., bytes],
) -> None:
    slow = own_agency("customs", latency_s=1.0)
    gw = gateway(**fast(agencies, customs=slow.url), agency_timeout_s=0.2, max_attempts=2)
    accepted = gw.client.submit(signed_sample("overweight-machinery-transit"))
    case = wait_until(
        lambda: (c := case_of(gw, accepted["id"], "customs"))["state"] == "escalated" and c,
        what="customs case escalated",
    )
    assert case["attempts"] == 2
    assert "timed out" in case["last_error"].lower() or "timeout" in case["last_error"].lower()
    assert gw.client.decision(accepted["id"]) is None


def test_http_500_is_retried_until_the_agency_recovers(
    gateway: Callable[..., RunningGateway],
    agencies: dict[str, str],
    own_agency: Callable[..., RunningAgency],
    signed_sample: Callable[..., bytes],
) -> None:
    health = own_agency("health", error_rate=1.0)
    gw = gateway(**fast(agencies, health=health.url), max_attempts=100, breaker_failures=1000)
    accepted = gw.client.submit(signed_sample("fresh-apples-import"))
    wait_until(
        lambda: case_of(gw, accepted["id"], "health")["attempts"] >= 2, what="two failed tries"
    )
    assert "500" in case_of(gw, accepted["id"], "health")["last_error"]
    health.options.error_rate = 0.0
    xml = gw.client.wait_for_decision(accepted["id"], deadline_s=30)
    assert b"<Outcome>granted</Outcome>" in xml
    granted = case_of(gw, accepted["id"], "health")
    assert granted["state"] == "granted" and granted["last_error"] is None


def test_escalated_case_is_retried_by_an_operator_and_decides(
    gateway: Callable[..., RunningGateway],
    agencies: dict[str, str],
    own_agency: Callable[..., RunningAgency],
    signed_sample: Callable[..., bytes],
) -> None:
    customs = own_agency("customs", outage=True)
    gw = gateway(**fast(agencies, customs=customs.url), max_attempts=2, breaker_failures=1000)
    accepted = gw.client.submit(signed_sample("live-cattle-import"))
    case = wait_until(
        lambda: (c := case_of(gw, accepted["id"], "customs"))["state"] == "escalated" and c,
        what="customs escalated",
    )
    ops = {"Authorization": f"Bearer {OPERATOR}"}
    escalated = gw.client.session.get(
        f"{gw.url}/api/v1/operations/cases", params={"state": "escalated"}, headers=ops
    ).json()
    assert [c["id"] for c in escalated] == [case["id"]]

    customs.options.outage = False
    response = gw.client.session.post(
        f"{gw.url}/api/v1/operations/cases/{case['id']}/retry", headers=ops
    )
    assert response.status_code == 200
    again = gw.client.session.post(
        f"{gw.url}/api/v1/operations/cases/{case['id']}/retry", headers=ops
    )
    assert again.status_code in (200, 409)  # 409 once it is no longer escalated
    xml = gw.client.wait_for_decision(accepted["id"], deadline_s=30)
    assert b"<Outcome>refused</Outcome>" in xml


def test_case_past_its_deadline_is_escalated_not_dropped(
    gateway: Callable[..., RunningGateway],
    agencies: dict[str, str],
    own_agency: Callable[..., RunningAgency],
    signed_sample: Callable[..., bytes],
) -> None:
    transport = own_agency("transport", outage=True)
    gw = gateway(**fast(agencies, transport=transport.url), max_attempts=1000, case_deadline_s=1.0)
    accepted = gw.client.submit(signed_sample("overweight-machinery-transit"))
    case = wait_until(
        lambda: (c := case_of(gw, accepted["id"], "transport"))["state"] == "escalated" and c,
        what="transport escalated by deadline",
    )
    assert case["attempts"] >= 1
    assert gw.client.status(accepted["id"])["status"] == "in_progress"


def test_operations_api_needs_an_operator_token(
    gateway: Callable[..., RunningGateway], agencies: dict[str, str]
) -> None:
    gw = gateway(**fast(agencies))
    for headers in ({}, {"Authorization": "Bearer nope"}):
        response = gw.client.session.get(f"{gw.url}/api/v1/operations/agencies", headers=headers)
        assert response.status_code == 401
        assert response.headers["Content-Type"] == "application/problem+json"
