"""When `nsw status --wait` stops waiting, and what it says."""

from __future__ import annotations

from typing import Any

from gateway.cli.trader import stopper


def status(*cases: dict[str, Any], state: str = "in_progress") -> dict[str, Any]:
    return {"id": "NSW-20261207-0000000000", "status": state, "verdict": None, "cases": list(cases)}


def case(agency: str, state: str, **extra: Any) -> dict[str, Any]:
    return {"agency": agency, "state": state, "reasons": [], "last_error": None, **extra}


def test_open_cases_keep_the_wait_going() -> None:
    assert stopper(status(case("customs", "queued"), case("health", "granted"))) is None


def test_a_refused_case_ends_the_wait_with_the_agencys_reasons() -> None:
    refused = case(
        "veterinary", "refused", reasons=[{"code": "vet", "text": "origin under restriction"}]
    )
    assert stopper(status(case("customs", "queued"), refused)) == (
        "veterinary refused: origin under restriction"
    )


def test_an_escalated_case_ends_the_wait_naming_the_setting_to_check() -> None:
    reason = stopper(status(case("health", "escalated", last_error="health: timed out")))
    assert reason is not None
    assert reason.startswith("the health case is escalated: health: timed out.")
    assert "NSW_AGENCY_HEALTH_URL" in reason


def test_a_decided_application_is_not_stopped_early() -> None:
    assert stopper(status(case("health", "refused"), state="decided")) is None
