"""The permit service (issue 20 item 4): permits granted by agencies, written off when an
application citing them is released, credited back on withdrawal or amendment, suspended or
revoked by their agency, and read by their holder and their issuing agency.

Every step is a trail entry: the service builds the messages (canonical JSON of what happened);
storage keeps them in the step's own transaction (`gateway.billing.permit_ports.Permits`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from gateway.billing.errors import InvalidPermitStanding
from gateway.billing.permit_ports import Hold, Permits, WriteOffRecord, step_messages
from gateway.clock import Clock
from gateway.errors import NotFound
from gateway.i18n.text import Text
from gateway.payments.permits import Permit

# The day a permit is used on is the day in Kazakhstan (UTC+5), as for payments.
KZ_TIME = dt.timezone(dt.timedelta(hours=5))
STANDING_ACTIONS = ("suspend", "reinstate", "revoke")


def kz_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(KZ_TIME).date()


def permit_json(permit: Permit, records: Sequence[WriteOffRecord], day: dt.date) -> dict[str, Any]:
    return {
        "permitId": permit.permit_id,
        "agency": permit.agency,
        "holder": str(permit.holder),
        "goods": {"hsCode": permit.hs_code.value, "description": permit.description},
        "unit": permit.unit,
        "granted": f"{permit.granted.value:f}",
        "writtenOff": f"{permit.written_off.value:f}",
        "balance": f"{permit.balance.value:f}",
        "validFrom": permit.valid_from.isoformat(),
        "validUntil": permit.valid_until.isoformat(),
        "standing": permit.standing.value,
        "state": permit.state_on(day).value,
        "writeOffs": [
            {
                "applicationId": r.application_id,
                "quantity": f"{r.quantity:f}",
                "day": r.day.isoformat(),
                "creditedBack": r.credited_back_at is not None,
            }
            for r in records
        ],
    }


class PermitBook:
    def __init__(self, permits: Permits, clock: Clock) -> None:
        self.permits, self.clock = permits, clock

    def today(self) -> dt.date:
        return kz_day(self.clock())

    def permit(self, permit_id: str) -> Permit:
        found = self.permits.get(permit_id)
        if found is None:
            raise NotFound(Text("There is no permit %(permit_id)s.", permit_id=permit_id))
        return found

    def show(self, permit_id: str) -> dict[str, Any]:
        return permit_json(self.permit(permit_id), self.permits.write_offs(permit_id), self.today())

    def of_holder(self, holder_bin: str) -> list[dict[str, Any]]:
        day = self.today()
        return [
            permit_json(p, self.permits.write_offs(p.permit_id), day)
            for p in self.permits.for_holder(holder_bin)
        ]

    def grant(self, permit: Permit, granted_for: str | None) -> bool:
        """Store a permit an agency granted (once; the same id again is ignored)."""
        value = {"permitId": permit.permit_id, "agency": permit.agency,
                 "holder": str(permit.holder), "granted": str(permit.granted),
                 "validUntil": permit.valid_until.isoformat(), "grantedFor": granted_for}  # fmt: skip
        return self.permits.record_grant(
            permit, granted_for, step_messages("permit-granted", value)
        )

    def write_off(self, application_id: str, day: dt.date | None = None) -> None:
        """Write off what the application cites (normally inside its release: see
        `PaymentStore`); raises the refusal after holding the application."""
        self.permits.write_off_cited(application_id, day or self.today(), step_messages)

    def credit_back(self, application_id: str) -> list[str]:
        """Withdrawal or amendment: every write-off of the application returns to its permit."""
        return self.permits.credit_back(application_id, step_messages)

    def change_standing(self, permit_id: str, action: str) -> tuple[Permit, list[str]]:
        if action not in STANDING_ACTIONS:
            raise InvalidPermitStanding(
                Text("The action is one of %(list)s.", list=", ".join(STANDING_ACTIONS))
            )
        return self.permits.change_standing(permit_id, action, step_messages)

    def holds(self, application_id: str | None = None) -> list[Hold]:
        return self.permits.holds(application_id)
