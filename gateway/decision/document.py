"""The decision as the document the trader receives: XML in urn:kz:nsw:decision:1, signed by the
gateway (see wsdl/application/decision.xsd). Each permit carries the SHA-256 of the exact agency
answer it came from, so an auditor can tie it to the trail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from lxml import etree

from gateway.clock import iso
from gateway.decision.ports import Decide, DecisionRef, DecisionSubject
from gateway.decision.rules import CaseResult, CaseState, Decision, Verdict, compose
from gateway.trust.xmlsig import SigningIdentity, sign_enveloped

NS = "urn:kz:nsw:decision:1"


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    node = etree.SubElement(parent, f"{{{NS}}}{tag}", attrs)
    if text is not None:
        node.text = text
    return node


def _charge(parent: etree._Element, charge: dict[str, Any]) -> None:
    """One assessed charge: the amount in minor units, as the agency's answer stated it."""
    attrs = {
        "kind": str(charge["kind"]),
        "amountMinor": str(charge["amount"]),
        "currency": str(charge["currency"]),
        "due": str(charge["due"]),
    }
    if charge.get("kbk"):
        attrs["kbk"] = str(charge["kbk"])
    _sub(parent, "Charge", str(charge["legalBasis"]), **attrs)


@dataclass(frozen=True)
class PaymentNote:
    """The paid order a released decision names (issue 20)."""

    reference: str
    total_minor: int
    currency: str
    paid_at: dt.datetime


@dataclass(frozen=True)
class GuaranteeNote:
    """The guarantee a secured release rests on (issue 20): customs accepted it as security for
    the order's total; `discharged_at` once the duties were paid after all."""

    reference: str
    guarantor_bin: str
    amount_minor: int
    currency: str
    valid_until: dt.date
    accepted_at: dt.datetime
    discharged_at: dt.datetime | None = None


def render_decision(
    *,
    application_id: str,
    declarant_bin: str,
    trader_reference: str,
    application_sha256: str,
    decision: Decision,
    decided_at: dt.datetime,
    payment: PaymentNote | None = None,
    replaces: DecisionRef | None = None,
    guarantee: GuaranteeNote | None = None,
) -> etree._Element:
    root = etree.Element(f"{{{NS}}}Decision", nsmap={None: NS})
    _sub(root, "ApplicationId", application_id)
    _sub(root, "DeclarantBIN", declarant_bin)
    _sub(root, "TraderReference", trader_reference)
    _sub(root, "ApplicationSHA256", application_sha256)
    _sub(root, "Outcome", decision.verdict.value)
    _sub(root, "DecidedAt", iso(decided_at))
    _sub(root, "Summary", decision.summary)
    cases = _sub(root, "Cases")
    for case in decision.cases:
        node = _sub(cases, "Case", agency=case.agency, outcome=case.state.value)
        # A cancelled case (a withdrawn application) names the permit that was cancelled.
        if case.state in (CaseState.GRANTED, CaseState.CANCELLED) and case.permit_number:
            permit = _sub(node, "Permit", number=case.permit_number)
            if case.valid_until:
                permit.set("validUntil", case.valid_until)
        for code, text in case.reasons:
            _sub(node, "Reason", text, code=code)
        for condition in case.conditions:
            _sub(node, "Condition", condition)
        if case.inspection:
            _sub(node, "Inspection", case.inspection)
        for charge in case.charges:
            _charge(node, charge)
        if case.answer_sha256:
            _sub(node, "AnswerSHA256", case.answer_sha256)
    if payment is not None:
        _sub(
            root,
            "Payment",
            reference=payment.reference,
            totalMinor=str(payment.total_minor),
            currency=payment.currency,
            paidAt=iso(payment.paid_at),
        )
    if guarantee is not None:  # a secured release, or one whose guarantee was discharged
        node = _sub(
            root,
            "Guarantee",
            reference=guarantee.reference,
            guarantorBIN=guarantee.guarantor_bin,
            amountMinor=str(guarantee.amount_minor),
            currency=guarantee.currency,
            validUntil=guarantee.valid_until.isoformat(),
            acceptedAt=iso(guarantee.accepted_at),
        )
        if guarantee.discharged_at is not None:
            node.set("dischargedAt", iso(guarantee.discharged_at))
    if decision.verdict is Verdict.HELD and decision.hold is not None:
        _sub(root, "Hold", decision.hold[1], code=decision.hold[0])
    if replaces is not None:  # issue 19: a new decision version names the one it replaces
        _sub(root, "Version", str(replaces.version + 1))
        _sub(root, "Replaces", version=str(replaces.version), sha256=replaces.sha256)
    return root


def signed_decision(
    identity: SigningIdentity,
    *,
    application_id: str,
    declarant_bin: str,
    trader_reference: str,
    application_sha256: str,
    decision: Decision,
    decided_at: dt.datetime,
    payment: PaymentNote | None = None,
    replaces: DecisionRef | None = None,
    guarantee: GuaranteeNote | None = None,
) -> bytes:
    """Render and sign; the bytes returned are what is stored, served and put in the trail."""
    element = render_decision(
        replaces=replaces,
        guarantee=guarantee,
        application_id=application_id,
        declarant_bin=declarant_bin,
        trader_reference=trader_reference,
        application_sha256=application_sha256,
        decision=decision,
        decided_at=decided_at,
        payment=payment,
    )
    return sign_enveloped(element, identity)


def make_decider(identity: SigningIdentity, clock: Callable[[], dt.datetime]) -> Decide:
    """The `Decide` callback the outbox store runs inside the transaction that settles a case:
    given the application's facts and every case, the verdict and the signed decision, or None
    while a case is open."""

    def decide(app: DecisionSubject, cases: list[CaseResult]) -> tuple[str, bytes] | None:
        decision = compose(cases)
        if decision is None:
            return None
        if decision.verdict is Verdict.GRANTED and app.released_at is not None:
            # Paid before a case changed again (an inspection cleared): still released.
            decision = Decision(Verdict.RELEASED, decision.cases)
        if decision.verdict is Verdict.RELEASED and app.held is not None:
            # Nothing owed, but the release's permit write-off was refused: held, and why.
            decision = Decision(Verdict.HELD, decision.cases, hold=app.held)
        xml = signed_decision(
            identity,
            application_id=app.application_id,
            declarant_bin=app.declarant_bin,
            trader_reference=app.trader_reference,
            application_sha256=app.application_sha256,
            decision=decision,
            decided_at=clock(),
            replaces=app.replaces,
        )
        return decision.verdict.value, xml

    return decide


def make_withdrawn_signer(
    identity: SigningIdentity, clock: Callable[[], dt.datetime]
) -> Callable[[DecisionSubject, list[CaseResult], str], bytes]:
    """The signed "withdrawn" decision (issue 19): every case cancelled, naming the permit it
    cancelled, the declarant's reason in the summary, and the decision it replaces."""

    def sign(app: DecisionSubject, cases: list[CaseResult], note: str) -> bytes:
        cancelled = tuple(
            replace(c, state=CaseState.CANCELLED, charges=(), inspection=None)
            for c in cases
            if not c.state.closed
        )
        return signed_decision(
            identity,
            application_id=app.application_id,
            declarant_bin=app.declarant_bin,
            trader_reference=app.trader_reference,
            application_sha256=app.application_sha256,
            decision=Decision(Verdict.WITHDRAWN, cancelled, note=note),
            decided_at=clock(),
            replaces=app.replaces,
        )

    return sign
