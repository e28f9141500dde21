"""Who may do what in the OMC. The server checks these on every page and every action; the
templates only use them to hide buttons a person could not use anyway."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Role(enum.StrEnum):
    OPERATOR = "operator"  # the OMC's own staff: see everything, act on every case and vehicle
    AGENCY_OFFICER = "agency-officer"  # one agency's officer: its own cases only
    AUDITOR = "auditor"  # read-only, audit views, evidence bundles
    ADMIN = "admin"  # accounts, agencies, rules


class Perm(enum.StrEnum):
    VIEW_OPS = "view-operations"  # applications, checkpoints, movements, charts
    VIEW_AGENCIES = "view-agencies"
    RETRY_CASE = "retry-case"
    ACK_ALERT = "acknowledge-alert"
    RECORD_INSPECTION = "record-inspection"
    CLEAR_VEHICLE = "clear-vehicle"
    AUDIT = "audit"  # trail entries, proofs, evidence bundles
    VIEW_PAYMENTS = "view-payments"  # payment orders, paid, outstanding, refunds owed
    VIEW_PERMITS = (
        "view-permits"  # permits, balances, write-offs, holds (own agency's, for officers)
    )
    ADMINISTER = "administer"


GRANTS: dict[Role, frozenset[Perm]] = {
    Role.OPERATOR: frozenset(
        {
            Perm.VIEW_OPS,
            Perm.VIEW_AGENCIES,
            Perm.RETRY_CASE,
            Perm.ACK_ALERT,
            Perm.RECORD_INSPECTION,
            Perm.CLEAR_VEHICLE,
            # Read-only, as for auditors: the duty officer answering for an application needs its
            # trail and evidence. Nothing under AUDIT changes anything, so no separation of duties
            # is lost; accounts and rules (ADMINISTER) stay with the administrator.
            Perm.AUDIT,
            Perm.VIEW_PAYMENTS,
            Perm.VIEW_PERMITS,
        }
    ),
    Role.AGENCY_OFFICER: frozenset(
        {
            Perm.VIEW_OPS,
            Perm.VIEW_AGENCIES,
            Perm.RETRY_CASE,
            Perm.RECORD_INSPECTION,
            # Their own agency's permits only (the view filters by `sees_agency`); money is the
            # treasury's and customs', read by operators and auditors.
            Perm.VIEW_PERMITS,
        }
    ),
    Role.AUDITOR: frozenset(
        {Perm.VIEW_OPS, Perm.VIEW_AGENCIES, Perm.AUDIT, Perm.VIEW_PAYMENTS, Perm.VIEW_PERMITS}
    ),
    Role.ADMIN: frozenset({Perm.VIEW_AGENCIES, Perm.ADMINISTER}),
}


@dataclass(frozen=True)
class Officer:
    """A signed-in person, as read from the accounts table on this request."""

    username: str
    role: Role
    agency: str | None = None
    # The account's session generation when it was read: a session made at sign-in carries it.
    generation: int = field(default=0, compare=False)
    # The language the officer chose on the OMC's switch (gateway.i18n), None until then.
    locale: str | None = field(default=None, compare=False)

    def may(self, perm: Perm) -> bool:
        return perm in GRANTS[self.role]

    def sees_agency(self, agency: str) -> bool:
        """Agency officers see (and act on) their own agency's cases only."""
        return self.role is not Role.AGENCY_OFFICER or agency == self.agency

    @property
    def label(self) -> str:
        """How the officer is named in the trail: `name (role[, agency])`."""
        scope = f", {self.agency}" if self.agency else ""
        return f"{self.username} ({self.role.value}{scope})"
