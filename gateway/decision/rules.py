"""The single decision: pure rules that turn every agency's case into one answer for the trader.

- refused when any case is refused (every reason from every refusing agency is kept);
- otherwise held for inspection when any agency requires one (which agency, where, why);
- otherwise, when every case is granted: granted while any agency charged something (released
  only once the payment order is paid or secured by a guarantee customs accepted:
  gateway.billing), released when nothing is owed — or held, when the release's permit write-off
  was refused (issue 20: the decision says what is true, with the reason);
- otherwise no decision yet (some case is still pending, queued or escalated).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


class CaseState(enum.StrEnum):
    QUEUED = "queued"  # waiting in the outbox
    PENDING = "pending"  # the agency accepted it and will answer by callback
    GRANTED = "granted"
    REFUSED = "refused"
    INSPECTION = "inspection"
    ESCALATED = "escalated"  # could not be delivered before its deadline; needs a person
    # Issue 19: the application was withdrawn, or amended out of this agency's control. The case
    # is cancelling until the agency acknowledged the cancellation, then cancelled; neither
    # counts in a decision, and no answer about the case is taken any more.
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"

    @property
    def settled(self) -> bool:
        return self in (
            CaseState.GRANTED,
            CaseState.REFUSED,
            CaseState.INSPECTION,
            CaseState.CANCELLED,
        )

    @property
    def closed(self) -> bool:
        """Withdrawn from the decision: cancelled, or being cancelled at the agency."""
        return self in (CaseState.CANCELLING, CaseState.CANCELLED)


class Verdict(enum.StrEnum):
    GRANTED = "granted"  # granted by every agency; charges are owed before release (issue 20)
    RELEASED = "released"
    REFUSED = "refused"
    INSPECTION = "inspection"
    WITHDRAWN = "withdrawn"  # by the declarant (issue 19): nothing may exit under it
    # Granted and nothing owed (or paid, or secured), but the write-off of a cited permit was
    # refused at release (issue 20): nothing may exit until the hold clears.
    HELD = "held"


@dataclass(frozen=True)
class CaseResult:
    agency: str
    state: CaseState
    permit_number: str | None = None
    valid_until: str | None = None
    reasons: tuple[tuple[str, str], ...] = ()  # (code, text)
    conditions: tuple[str, ...] = ()
    inspection: str | None = None
    answer_sha256: str | None = None
    # What the agency assessed, as stored: {kind, amount (minor units), currency, legalBasis,
    # due, kbk}; gateway.payments.charge_json turns each into a checked ChargeLine.
    charges: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    cases: tuple[CaseResult, ...]
    note: str = ""  # why, for a withdrawn decision: the reason the declarant gave
    # Why a held decision is held: the refusal's problem code and its sentence (issue 20).
    hold: tuple[str, str] | None = None
    # What a released (or a paid or secured held) decision rests on: "paid" (the order was paid), "secured" (a guarantee
    # customs accepted, named by `guarantee`) or "" (nothing was owed).
    basis: str = ""
    guarantee: str | None = None

    @property
    def summary(self) -> str:
        """One line a person reads at a glance."""
        if self.verdict is Verdict.WITHDRAWN:
            cancelled = ", ".join(
                f"{c.agency} {c.permit_number}" for c in self.cases if c.permit_number
            )
            return f"WITHDRAWN — {self.note}" + (
                f"; permits cancelled: {cancelled}" if cancelled else ""
            )
        if self.verdict is Verdict.REFUSED:
            why = "; ".join(
                f"{c.agency}: {text} [{code}]"
                for c in self.cases
                if c.state is CaseState.REFUSED
                for code, text in c.reasons
            )
            return f"REFUSED — {why}"
        if self.verdict is Verdict.INSPECTION:
            why = "; ".join(
                f"{c.agency}: {c.inspection}" for c in self.cases if c.state is CaseState.INSPECTION
            )
            return f"HELD FOR INSPECTION — {why}"
        permits = ", ".join(f"{c.agency} {c.permit_number}" for c in self.cases)
        if self.verdict is Verdict.HELD:
            code, why = self.hold or ("held", "")
            basis = {"paid": "paid, ", "secured": f"secured by guarantee {self.guarantee}, "}
            return (
                f"HELD — {basis.get(self.basis, '')}not released: {why} [{code}]; "
                f"permits: {permits}"
            )
        if self.verdict is Verdict.GRANTED:
            owed = ", ".join(
                f"{agency} {minor // 100}.{minor % 100:02d} {currency}"
                for (agency, currency), minor in self.charged().items()
            )
            return (
                f"GRANTED — permits: {permits}; released once the payment order is paid "
                f"(charges: {owed})"
            )
        if self.basis == "secured":
            return f"RELEASED — secured by guarantee {self.guarantee}; permits: {permits}"
        if self.basis == "paid" and self.guarantee:
            return f"RELEASED — paid; guarantee {self.guarantee} discharged; permits: {permits}"
        if self.basis == "paid":
            return f"RELEASED — paid; permits: {permits}"
        return f"RELEASED — permits: {permits}"

    def charged(self) -> dict[tuple[str, str], int]:
        """(agency, currency) -> the minor units it charged, in case order."""
        sums: dict[tuple[str, str], int] = {}
        for case in self.cases:
            for charge in case.charges:
                key = (case.agency, str(charge["currency"]))
                sums[key] = sums.get(key, 0) + int(charge["amount"])
        return sums


def decidable(states: Iterable[CaseState]) -> bool:
    """Whether cases in these states make a decision (`compose` gives one): every case that
    takes part (not cancelled or cancelling) is settled, and there is at least one."""
    taking_part = [state for state in states if not state.closed]
    return bool(taking_part) and all(state.settled for state in taking_part)


def compose(cases: Sequence[CaseResult]) -> Decision | None:
    """The decision for these cases, or None while any case is unsettled. Cancelled cases (an
    agency an amendment no longer routes to) take no part."""
    if not decidable(c.state for c in cases):
        return None
    cases = [c for c in cases if not c.state.closed]
    states = {c.state for c in cases}
    if CaseState.REFUSED in states:
        verdict = Verdict.REFUSED
    elif CaseState.INSPECTION in states:
        verdict = Verdict.INSPECTION
    elif any(c.charges for c in cases):
        verdict = Verdict.GRANTED
    else:
        verdict = Verdict.RELEASED
    return Decision(verdict, tuple(cases))
