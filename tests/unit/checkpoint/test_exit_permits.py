"""Stage 6 and permits (issue 20): the rule judges each cited permit on the day of exit, and an
application held for a permit, before the payment."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.checkpoint.exit_permit import (
    PERMIT_LANE,
    AppDecision,
    ExitVerdict,
    PermitOnExit,
    exit_day,
    exit_verdict,
)
from gateway.checkpoint.registry import STAGES

LAST = dt.date(2026, 12, 31)


def _verdict(*decisions: AppDecision, day: dt.date | None = LAST) -> ExitVerdict:
    return exit_verdict(
        manual_reason=None,
        manual_lane="M1",
        stages_passed=set(STAGES[:-1]),
        findings=[],
        decisions=decisions,
        day=day,
    )


def _permit(standing: str = "active") -> PermitOnExit:
    return PermitOnExit("KZ-VET-1", "veterinary", standing, dt.date(2026, 12, 1), LAST)


def test_a_released_application_with_a_valid_permit_opens_on_its_last_day() -> None:
    assert _verdict(AppDecision("A", "released", permits=(_permit(),))).kind == "open"


@pytest.mark.parametrize(
    ("permit", "day", "why"),
    [
        (_permit(), LAST + dt.timedelta(days=1), "permit KZ-VET-1 expired on 2026-12-31; today is 2027-01-01"),
        (_permit(), dt.date(2026, 11, 30), "permit KZ-VET-1 is valid from 2026-12-01, not on 2026-11-30"),
        (_permit("suspended"), LAST, "permit KZ-VET-1 is suspended by veterinary"),
        (_permit("revoked"), LAST, "permit KZ-VET-1 is revoked by veterinary"),
    ],
)  # fmt: skip
def test_a_permit_not_valid_on_the_day_of_exit_directs_the_vehicle(
    permit: PermitOnExit, day: dt.date, why: str
) -> None:
    verdict = _verdict(AppDecision("A", "released", permits=(permit,)), day=day)
    assert (verdict.kind, verdict.lane, verdict.agency) == ("directed", PERMIT_LANE, "veterinary")
    assert why in verdict.why


def test_a_hold_comes_before_the_payment_lane() -> None:
    held = AppDecision("A", "granted", permit_hold="Permit KZ-VET-1 has 0.000 kg left")
    verdict = _verdict(held)
    assert (
        verdict.lane == PERMIT_LANE
        and "A is held: Permit KZ-VET-1 has 0.000 kg left" in verdict.why
    )


def test_the_day_of_exit_is_the_day_in_kazakhstan() -> None:
    late = dt.datetime(2026, 12, 31, 19, 30, tzinfo=dt.UTC)  # 00:30 on 1 January in Astana
    assert exit_day(late) == dt.date(2027, 1, 1)
