"""A guarantee as security for an application's payment (issue 20 item 3).

The declarant (or its representative) offers a bank guarantee or surety for an application
granted by every agency whose order is unpaid; customs is asked through its adapter
(CheckGuarantee, WS-Security like every customs call); an accepted guarantee that covers the
order's total releases the application, secured (`GuaranteeBook.secure`). Reads as numbered
steps. Every refusal after the signature verified keeps the signed offer in the trail, with
customs' exchange when customs was asked; nothing else changes.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from lxml import etree

from adapters.base import AgencyCallFailed, GuaranteeChecker, GuaranteeQuery
from gateway.billing.errors import (
    GuaranteeAlreadyUsed,
    GuaranteeCheckUnavailable,
    GuaranteeExpired,
    GuaranteeInsufficient,
    GuaranteeNotAllowed,
    GuaranteeNotNeeded,
    GuaranteeUnknown,
)
from gateway.billing.guarantee_ports import GuaranteeBook, GuaranteeConflict, Offer
from gateway.billing.service import Payments, kz_day
from gateway.clock import Clock
from gateway.domain.identifiers import Bin
from gateway.errors import GatewayError, InvalidValue, NotFound
from gateway.i18n.text import Text
from gateway.trail.messages import Message
from gateway.trust.certificates import TrustStore
from gateway.trust.representatives import Representatives
from gateway.trust.schemas import validate
from gateway.trust.xmlparse import parse_xml
from gateway.trust.xmlsig import verify_enveloped

NS = "urn:kz:nsw:guarantee:1"
CUSTOMS = "customs"

# customs' reason code -> the problem the trader gets
REFUSALS: dict[str, type[GatewayError]] = {
    "unknown": GuaranteeUnknown,
    "insufficient-amount": GuaranteeInsufficient,
    "expired": GuaranteeExpired,
    "already-used": GuaranteeAlreadyUsed,
}


@dataclass(frozen=True)
class Secured:
    application_id: str
    reference: str
    outcome: str  # released | held


class Guarantees:
    def __init__(
        self,
        *,
        book: GuaranteeBook,
        payments: Payments,
        checker: GuaranteeChecker | None,
        schema: etree.XMLSchema,
        trust: TrustStore,
        representatives: Representatives,
        clock: Clock,
        max_bytes: int,
    ) -> None:
        self.book, self.payments, self.checker = book, payments, checker
        self.schema, self.trust, self.representatives = schema, trust, representatives
        self.clock, self.max_bytes = clock, max_bytes

    def offer(self, application_id: str, body: bytes) -> Secured:
        now = self.clock()
        # Step 1: the hardened parser; step 2: the schema; step 3: the signature and the signer's
        # certificate. Only the signed element is read afterwards.
        root = parse_xml(body, max_bytes=self.max_bytes)
        validate(self.schema, root)
        verified = verify_enveloped(root, self.trust, now=now)
        validate(self.schema, verified.signed)
        doc, signer = verified.signed, verified.signer
        received = Message(
            "guarantee-offer", "in", f"trader:{signer.bin or 'unknown'}", "application/xml",
            body, signer=signer.subject,
        )  # fmt: skip
        named = _text(doc, "ApplicationId")
        amount = doc.find(f"{{{NS}}}Amount")
        assert amount is not None  # the schema requires it
        try:
            # Step 4: the offer names the application of the address it was sent to, and a
            # guarantor whose BIN is valid.
            if named != application_id:
                raise InvalidValue(
                    Text(
                        "The guarantee offer names application %(named)s but was sent to "
                        "%(id)s; send it to /api/v1/applications/%(named)s/guarantee.",
                        named=named,
                        id=application_id,
                    ),
                    field="ApplicationId",
                )
            guarantor = str(Bin(_text(doc, "GuarantorBIN")))
            # Step 5: the application exists and the signer may act for its declarant.
            app = self.payments.orders.payable_application(application_id)
            if app is None:
                raise NotFound(Text("There is no application %(id)s.", id=application_id))
            if not self._may_act(signer.bin, app.declarant_bin):
                raise GuaranteeNotAllowed(
                    Text(
                        "The offer is signed with a certificate of BIN %(signer)s, which is "
                        "neither the declarant of %(id)s nor registered to represent it.",
                        signer=signer.bin or "none",
                        id=application_id,
                    )
                )
            # Step 6: what is owed: the payment order (issued now if need be; not ready, nothing
            # to pay and the like are its own refusals), not yet paid, not yet released.
            if app.released_at is not None:
                raise _not_needed(application_id)
            issued = self.payments.order(application_id)
            if issued.status == "paid":
                raise _not_needed(application_id)
            owed = issued.order.total
            offer = Offer(
                application_id=application_id,
                reference=_text(doc, "Reference"),
                guarantor_bin=guarantor,
                amount_minor=int(amount.text or "0"),
                currency=amount.get("currency", ""),
                valid_until=dt.date.fromisoformat(_text(doc, "ValidUntil")),
                owed_minor=owed.minor,
            )
        except Exception:
            self.book.record(application_id, [_refused(received)])
            raise
        # Step 7: the gateway's own checks of the offer: it must cover the order's total in its
        # currency and be valid today (in Kazakhstan).
        refusal = self._precheck(offer, owed.currency, kz_day(now))
        if refusal is not None:
            code, error = refusal
            self.book.refuse(
                offer, code, error.detail, [received, _outcome(offer, error, app.declarant_bin)]
            )
            raise error
        # Step 8: customs' answer (WS-Security both ways); no believable answer decides nothing.
        exchange, answer = self._ask_customs(offer, app.declarant_bin, owed.currency, received)
        if not answer.accepted:
            error = _customs_refusal(offer, answer.reason_code or "unknown", answer.reason)
            self.book.refuse(
                offer, answer.reason_code or "unknown", error.detail,
                [received, *exchange, _outcome(offer, error, app.declarant_bin)],
            )  # fmt: skip
            raise error
        # Step 9: one transaction: the guarantee stored, permits written off, released.
        try:
            outcome = self.book.secure(offer, [received, *exchange])
        except GuaranteeConflict as conflict:
            # Customs reserved it a moment ago for an application that no longer needs it: the
            # offer is stored refused and its release at customs queued, in one transaction
            # (issue 20; the release loop, gateway.billing.releases, asks customs).
            reason = "withdrawn" if conflict.kind == "withdrawn" else "not-needed"
            error = _not_needed(application_id)
            self.book.refuse_reserved(offer, reason, error.detail, [_refused(received), *exchange])
            raise error from conflict
        return Secured(application_id, offer.reference, outcome)

    def _may_act(self, signer_bin: str | None, declarant: str) -> bool:
        if signer_bin is None:
            return False
        return signer_bin == declarant or bool(
            self.representatives.may_act_for(signer_bin, declarant)
        )

    def _precheck(
        self, offer: Offer, currency: str, today: dt.date
    ) -> tuple[str, GatewayError] | None:
        if offer.currency != currency or offer.amount_minor < offer.owed_minor:
            return "insufficient-amount", GuaranteeInsufficient(
                Text(
                    "Guarantee %(reference)s secures %(amount)s %(currency)s (minor units); "
                    "application %(id)s owes %(owed)s %(owed_currency)s.",
                    reference=offer.reference,
                    amount=offer.amount_minor,
                    currency=offer.currency,
                    id=offer.application_id,
                    owed=offer.owed_minor,
                    owed_currency=currency,
                ),
                reference=offer.reference,
            )
        if offer.valid_until < today:
            return "expired", GuaranteeExpired(
                Text(
                    "Guarantee %(reference)s was valid until %(day)s; today is %(today)s.",
                    reference=offer.reference,
                    day=offer.valid_until.isoformat(),
                    today=today.isoformat(),
                ),
                reference=offer.reference,
            )
        return None

    def _ask_customs(
        self, offer: Offer, declarant: str, currency: str, received: Message
    ) -> tuple[list[Message], _Answer]:
        checker = self.checker
        try:
            if checker is None:
                raise AgencyCallFailed("customs: no adapter that checks guarantees")
            answer = checker.check_guarantee(
                GuaranteeQuery(
                    application_id=offer.application_id,
                    reference=offer.reference,
                    guarantor_bin=offer.guarantor_bin,
                    declarant_bin=declarant,
                    amount_minor=offer.amount_minor,
                    currency=offer.currency,
                    valid_until=offer.valid_until,
                    owed_minor=offer.owed_minor,
                    owed_currency=currency,
                )
            )
        except AgencyCallFailed as exc:
            exchange = _exchange(exc.request_bytes, exc.answer_bytes)
            self.book.record(offer.application_id, [_refused(received), *exchange])
            raise GuaranteeCheckUnavailable(
                Text(
                    "Customs did not answer whether guarantee %(reference)s secures the "
                    "application; nothing changed. Offer it again later.",
                    reference=offer.reference,
                )
            ) from exc
        return _exchange(answer.request_bytes, answer.answer_bytes), _Answer(
            answer.accepted, answer.reason_code, answer.reason
        )


@dataclass(frozen=True)
class _Answer:
    accepted: bool
    reason_code: str | None
    reason: str


def _exchange(sent: bytes, received: bytes) -> list[Message]:
    out = []
    if sent:
        out.append(Message("guarantee-check", "out", f"agency:{CUSTOMS}", "text/xml", sent))
    if received:
        out.append(Message("guarantee-answer", "in", f"agency:{CUSTOMS}", "text/xml", received))
    return out


def _customs_refusal(offer: Offer, code: str, reason: str) -> GatewayError:
    error = REFUSALS.get(code, GuaranteeUnknown)
    return error(
        Text(
            "Customs refused guarantee %(reference)s for %(id)s: %(reason)s.",
            reference=offer.reference,
            id=offer.application_id,
            reason=reason or code,
        ),
        reference=offer.reference,
        customsReason=code,
    )


def _outcome(offer: Offer, error: GatewayError, declarant: str) -> Message:
    value = {"applicationId": offer.application_id, "guarantee": offer.reference,
             "problem": error.problem()}  # fmt: skip
    return Message(
        "guarantee-refused", "out", f"trader:{declarant}", "application/json",
        json.dumps(value, sort_keys=True, separators=(",", ":")).encode(),
    )  # fmt: skip


def _refused(message: Message) -> Message:
    return Message(
        f"{message.kind}-refused", message.direction, message.counterpart,
        message.content_type, message.body, signer=message.signer,
    )  # fmt: skip


def _not_needed(application_id: str) -> GuaranteeNotNeeded:
    return GuaranteeNotNeeded(
        Text(
            "Application %(id)s is already released or its payment order is paid: no guarantee "
            "is needed.",
            id=application_id,
        )
    )


def _text(element: etree._Element, name: str) -> str:
    found = element.find(f"{{{NS}}}{name}")
    return "" if found is None or found.text is None else str(found.text).strip()
