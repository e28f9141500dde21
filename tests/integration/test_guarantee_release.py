"""Customs' ReleaseGuarantee (issue 20), over WS-Security against the real customs stand-in: a
reservation released for the application that held it lets another application take the
guarantee; asked again, or by another application, customs answers `not-reserved`."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable

from adapters.base import AgencyAdapter, GuaranteeChecker, GuaranteeQuery, GuaranteeReleaser
from simulators.server import RunningAgency

BANK_BIN = "960340000158"


def _query(application_id: str, reference: str) -> GuaranteeQuery:
    return GuaranteeQuery(
        application_id=application_id, reference=reference, guarantor_bin=BANK_BIN,
        declarant_bin="210540012341", amount_minor=1_000_000_00, currency="KZT",
        valid_until=dt.date.today() + dt.timedelta(days=30), owed_minor=811_000_00,
        owed_currency="KZT",
    )  # fmt: skip


def test_a_released_reservation_lets_another_application_take_the_guarantee(
    agency_server: Callable[..., RunningAgency], adapter_for: Callable[..., AgencyAdapter]
) -> None:
    agency = agency_server("customs")
    customs = adapter_for("customs", agency.url)
    assert isinstance(customs, GuaranteeChecker) and isinstance(customs, GuaranteeReleaser)
    reference = f"KZ-BG-9{secrets.randbelow(10**10):010d}"
    assert customs.check_guarantee(_query("NSW-REL-A", reference)).accepted
    taken = customs.check_guarantee(_query("NSW-REL-B", reference))
    assert not taken.accepted and taken.reason_code == "already-used"

    # Another application cannot release A's reservation.
    assert not customs.release_guarantee("NSW-REL-B", reference, "not-needed").released
    released = customs.release_guarantee("NSW-REL-A", reference, "withdrawn")
    assert released.released
    assert b"ReleaseGuaranteeRequest" in released.request_bytes
    assert b"<Status>released</Status>" in released.answer_bytes.replace(b"ns0:", b"")
    assert not customs.release_guarantee("NSW-REL-A", reference, "withdrawn").released
    assert customs.check_guarantee(_query("NSW-REL-B", reference)).accepted
