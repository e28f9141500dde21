"""The automated exit permit (stage 6): the barrier opens only when every application the vehicle
carries is released, every earlier stage passed and no gate finding is open; otherwise the vehicle
is directed (lane, agency, why). `exit_verdict` is a pure rule; the barrier command is a document
signed by the gateway, so the barrier (and an auditor) can check who opened it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from gateway.checkpoint.registry import STAGES
from gateway.clock import iso
from gateway.i18n.text import Text
from gateway.trust.xmlsig import SigningIdentity, sign_enveloped

NS = "urn:kz:nsw:barrier:1"
CUSTOMS_LANE = "customs-inspection"
PAYMENT_LANE = "customs-payment"  # the parking lane where an unpaid vehicle waits
PERMIT_LANE = "permit-control"  # where a vehicle waits whose permit does not hold on the day
KZ_TIME = dt.timezone(dt.timedelta(hours=5))  # a permit's days are days in Kazakhstan (UTC+5)


def exit_day(moment: dt.datetime) -> dt.date:
    """The day of exit, in Kazakhstan, that a cited permit must be valid on."""
    return moment.astimezone(KZ_TIME).date()


@dataclass(frozen=True)
class CaseView:
    agency: str
    state: str
    inspection: str | None = None


@dataclass(frozen=True)
class PermitOnExit:
    """A permit a carried application cites, as the gate judges it on the day of exit."""

    permit_id: str
    agency: str
    standing: str  # active | suspended | revoked
    valid_from: dt.date
    valid_until: dt.date


@dataclass(frozen=True)
class AppDecision:
    """One carried application as the gate sees it: its verdict (None: not decided), cases, the
    permits it cites and why it is held for a permit (issue 20), if it is."""

    application_id: str
    verdict: str | None
    cases: tuple[CaseView, ...] = ()
    permits: tuple[PermitOnExit, ...] = ()
    permit_hold: str | None = None


@dataclass(frozen=True)
class OpenFinding:
    agency: str
    lane: str
    why: str


@dataclass(frozen=True)
class ExitVerdict:
    kind: str  # open | wait | directed | manual
    why: str
    lane: str | None = None
    agency: str | None = None

    def direction(self) -> dict[str, str | None]:
        return {"lane": self.lane, "agency": self.agency, "why": self.why}


def exit_verdict(
    *,
    manual_reason: str | None,
    manual_lane: str,
    stages_passed: set[str],
    findings: Sequence[OpenFinding],
    decisions: Sequence[AppDecision],
    day: dt.date | None = None,
) -> ExitVerdict:
    """The rule of stage 6, in the order an officer would apply it. `day` is the day of exit
    (in Kazakhstan): a cited permit must be valid on it, not only when the decision was made."""
    if manual_reason is not None:
        return ExitVerdict("manual", manual_reason, manual_lane, "customs")
    for stage in STAGES[:-1]:
        if stage not in stages_passed:
            return ExitVerdict(
                "directed",
                Text("Stage %(stage)s has not passed.", stage=stage),
                manual_lane,
                "customs",
            )
    if findings:
        first = findings[0]
        return ExitVerdict("directed", first.why, first.lane, first.agency)
    if not decisions:
        return ExitVerdict(
            "manual", Text("The vehicle carries no application."), manual_lane, "customs"
        )
    waiting = [d.application_id for d in decisions if d.verdict is None]
    if waiting:
        agencies = sorted(
            {c.agency for d in decisions for c in d.cases if c.state in ("queued", "pending")}
        )
        return ExitVerdict(
            "wait",
            Text(
                "Decision not ready for %(list)s (waiting for %(agencies)s).",
                list=", ".join(waiting),
                agencies=", ".join(agencies) or Text("an operator"),
            ),
        )
    for d in decisions:
        if d.verdict == "withdrawn":  # issue 19: its permits are cancelled; nothing exits on it
            return ExitVerdict(
                "directed",
                Text(
                    "%(application_id)s was withdrawn by its declarant: its cases and permits are "
                    "cancelled, and the goods may not exit under it.",
                    application_id=d.application_id,
                ),
                CUSTOMS_LANE,
                "customs",
            )
    for d in decisions:
        if d.verdict == "refused":
            refusing = [c.agency for c in d.cases if c.state == "refused"]
            return ExitVerdict(
                "directed",
                Text(
                    "%(application_id)s is refused by %(list)s.",
                    application_id=d.application_id,
                    list=", ".join(refusing),
                ),
                CUSTOMS_LANE,
                refusing[0] if refusing else "customs",
            )
    for d in decisions:
        if d.verdict == "inspection":
            case = next(c for c in d.cases if c.state == "inspection")
            lane, _, why = (case.inspection or "").partition(": ")
            return ExitVerdict(
                "directed",
                f"{d.application_id}: {why or case.inspection or 'inspection required'}",
                lane if why else f"{case.agency}-inspection",
                case.agency,
            )
    refused = _permit_refusal(decisions, day)
    if refused is not None:
        return refused
    for d in decisions:
        if d.verdict == "granted":  # granted by every agency, charges not paid (issue 20)
            return ExitVerdict(
                "directed",
                Text(
                    "%(application_id)s is granted but not released: its customs payments are not "
                    "paid. The declarant pays the payment order (GET "
                    "/api/v1/applications/%(application_id)s/payment-order); the gate opens once "
                    "the treasury confirms.",
                    application_id=d.application_id,
                ),
                PAYMENT_LANE,
                "customs",
            )
    for d in decisions:
        if d.verdict != "released":
            return ExitVerdict(
                "manual",
                Text(
                    "%(application_id)s is %(verdict)s, not released.",
                    application_id=d.application_id,
                    verdict=d.verdict,
                ),
                manual_lane,
                "customs",
            )
    return ExitVerdict("open", Text("Every application released and every stage passed."))


def _permit_refusal(decisions: Sequence[AppDecision], day: dt.date | None) -> ExitVerdict | None:
    """Held for a permit, or a cited permit not valid on the day of exit: directed to the lane of
    the permit's agency, saying which permit and why (issue 20)."""
    for d in decisions:
        if d.permit_hold is not None:
            return ExitVerdict("directed", Text('%(application_id)s is held: %(permit_hold)s', application_id=d.application_id, permit_hold=d.permit_hold),
                               PERMIT_LANE, "customs")  # fmt: skip
        for p in d.permits:
            why = None
            if p.standing in ("suspended", "revoked"):
                why = Text(
                    "permit %(permit_id)s is %(standing)s by %(agency)s",
                    permit_id=p.permit_id,
                    standing=p.standing,
                    agency=p.agency,
                )
            elif day is not None and day > p.valid_until:
                why = Text(
                    "permit %(permit_id)s expired on %(valid_until)s; today is %(day)s",
                    permit_id=p.permit_id,
                    valid_until=p.valid_until,
                    day=day,
                )
            elif day is not None and day < p.valid_from:
                why = Text(
                    "permit %(permit_id)s is valid from %(valid_from)s, not on %(day)s",
                    permit_id=p.permit_id,
                    valid_from=p.valid_from,
                    day=day,
                )
            if why is not None:
                return ExitVerdict(
                    "directed",
                    Text(
                        "%(application_id)s: %(why)s. The declarant cites a valid permit (an "
                        "amendment) or asks the agency.",
                        application_id=d.application_id,
                        why=why,
                    ),
                    PERMIT_LANE,
                    p.agency,
                )
    return None


def barrier_command(
    identity: SigningIdentity,
    *,
    checkpoint: str,
    lane: str,
    plate: str,
    visit_id: str,
    applications: Sequence[str],
    kind: str,
    issued_at: dt.datetime,
    cleared_by: str | None = None,
) -> bytes:
    """The signed command that opens the exit barrier for one vehicle (kind automatic|manual)."""
    root = etree.Element(f"{{{NS}}}BarrierCommand", nsmap={None: NS})
    for tag, text in (
        ("Checkpoint", checkpoint),
        ("Lane", lane),
        ("Plate", plate),
        ("Visit", visit_id),
        ("Command", "open"),
        ("Kind", kind),
        ("IssuedAt", iso(issued_at)),
    ):
        etree.SubElement(root, f"{{{NS}}}{tag}").text = text
    if cleared_by is not None:
        etree.SubElement(root, f"{{{NS}}}ClearedBy").text = cleared_by
    apps = etree.SubElement(root, f"{{{NS}}}Applications")
    for application_id in applications:
        etree.SubElement(apps, f"{{{NS}}}ApplicationId").text = application_id
    return sign_enveloped(root, identity)
