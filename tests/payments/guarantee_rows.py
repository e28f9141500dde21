"""Guarantees as stored (issue 20), for pages that show them: one accepted (securing), one
refused by customs, one discharged by a later payment, and one customs reserved after the
application was paid, stored refused and released by customs since, for an application that
exists."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from gateway.storage.payment_models import GuaranteeRow

BANK_BIN, SURETY_BIN = "960340000158", "991140000015"
OFFERED = dt.datetime(2026, 12, 7, 6, 0, tzinfo=dt.UTC)
RELEASED = dt.datetime(2026, 12, 7, 6, 5, tzinfo=dt.UTC)


def store_guarantees(engine: Engine, application_id: str) -> None:
    def row(reference: str, guarantor: str, outcome: str, **more: object) -> GuaranteeRow:
        return GuaranteeRow(
            application_id=application_id, reference=reference, guarantor_bin=guarantor,
            amount_minor=811_000_00, currency="KZT", valid_until=dt.date(2027, 1, 6),
            owed_minor=811_000_00, outcome=outcome, offered_at=OFFERED, **more,
        )  # fmt: skip

    with Session(engine) as s, s.begin():
        s.add(row("KZ-BG-0020", BANK_BIN, "refused", reason_code="expired", detail="expired"))
        s.add(row("KZ-SR-0003", SURETY_BIN, "accepted", discharged_at=OFFERED))
        s.add(row("KZ-BG-0001", BANK_BIN, "accepted"))
        s.add(row("KZ-BG-0002", BANK_BIN, "refused", reason_code="not-needed",
                  detail="not needed", released_at=RELEASED))  # fmt: skip
