"""Intake: the gateway's first promise — what it accepts was signed by someone allowed to sign it.

`Intake.submit(body)` runs the numbered steps below and either stores the application with one case
and one outbox row per required agency (one transaction) or raises a `GatewayError` saying why not.
After step 3 only the element the signature covers (`VerifiedDocument.signed`) is read: the tree as
received may carry unsigned content (comments, wrapped elements) that nothing downstream may see.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from lxml import etree

from gateway.clock import Clock, iso
from gateway.decision.rules import CaseState
from gateway.domain.application import read_application
from gateway.domain.views import ApplicationStatus, CaseStatus
from gateway.errors import InvalidValue, ReferenceConflict, SignerNotDeclarant
from gateway.fanout.routing import Rule, route
from gateway.i18n import Text
from gateway.intake.permit_citations import PermitLookup, cited_permits
from gateway.intake.ports import Applications, DuplicateReference, NewApplication
from gateway.lifecycle.attachments import MAX_ATTACHMENT_BYTES
from gateway.lifecycle.uploads import check_entries
from gateway.trail.messages import Message, sha256_hex
from gateway.trust.certificates import TrustedSigner, TrustStore
from gateway.trust.representatives import Representatives
from gateway.trust.schemas import validate
from gateway.trust.trader_keys import TraderCertificates
from gateway.trust.xmlparse import parse_xml
from gateway.trust.xmlsig import verify_enveloped


@dataclass(frozen=True)
class Accepted:
    application_id: str
    created: bool  # False: the same signed bytes were sent before; this is the original
    received_at: dt.datetime | None
    # Created: the application as it was just written (status in progress, every case queued),
    # so the 202 and its receipt need not read back what this request wrote. None for a replay.
    application: ApplicationStatus | None = None


def as_written(new: NewApplication, received_at: dt.datetime) -> ApplicationStatus:
    """The status `Store.application` reads for `new` right after `create_application`."""
    return ApplicationStatus(
        id=new.id,
        declarant_bin=new.declarant_bin,
        trader_reference=new.trader_reference,
        procedure=new.procedure,
        status="in_progress",
        verdict=None,
        received_at=iso(received_at),
        decided_at=None,
        application_sha256=sha256_hex(new.body),
        signer=new.signer_subject,
        routing=new.routing,
        request_id=new.request_id,
        cases=tuple(
            CaseStatus(
                id=f"{new.id}-{agency}",
                agency=agency,
                state=CaseState.QUEUED.value,
                permit_number=None,
                valid_until=None,
                reasons=(),
                conditions=(),
                inspection=None,
                extra={},
                attempts=0,
                last_error=None,
            )
            for agency in new.routing
        ),
    )


def new_application_id(now: dt.datetime) -> str:
    return f"NSW-{now:%Y%m%d}-{secrets.token_hex(5).upper()}"


class Intake:
    def __init__(
        self,
        *,
        schema: etree.XMLSchema,
        trust: TrustStore,
        rules: tuple[Rule, ...],
        store: Applications,
        clock: Clock,
        max_bytes: int,
        representatives: Representatives,
        trader_certs: TraderCertificates,
        max_attachment_bytes: int = MAX_ATTACHMENT_BYTES,
        permits: PermitLookup | None = None,
    ) -> None:
        self.schema = schema
        self.trust = trust
        self.rules = rules
        self.store = store
        self.clock = clock
        self.max_bytes = max_bytes
        self.representatives = representatives
        self.trader_certs = trader_certs
        self.max_attachment_bytes = max_attachment_bytes
        self.permits = permits

    def submit(self, body: bytes, request_id: str | None = None) -> Accepted:
        now = self.clock()
        # Step 1: parse with the hardened parser (size cap, no DTD, no entities, no network).
        root = parse_xml(body, max_bytes=self.max_bytes)
        # Step 2: the schema, on the document as sent (line numbers match the trader's file).
        validate(self.schema, root)
        # Step 3: the signature and the signer's certificate; from here on only `signed` is read.
        verified = verify_enveloped(root, self.trust, now=now)
        signed = verified.signed
        validate(self.schema, signed)
        # Step 4: typed values (BIN check digits, HS codes). A new version of a lodged
        # application (issue 19) is lodged at its own address, never as a new application.
        amends = signed.find("{urn:kz:nsw:application:1}Amends")
        if amends is not None:
            raise InvalidValue(
                Text(
                    "This document amends application %(id)s: send it to "
                    "/api/v1/applications/%(id)s/versions (nsw amend), not as a new application.",
                    id=amends.get("id", ""),
                ),
                field="Amends",
            )
        application = read_application(signed)
        # ... and the documents to upload later are of accepted types and sizes (issue 19).
        check_entries(application, self.max_attachment_bytes)
        # Step 5: the signer is the declarant, or registered to represent it.
        self._check_signer_may_act(verified.signer, str(application.declarant))
        # Step 6: cited permits cover their items (issue 20); routing, then persist everything
        # in one transaction.
        citations = cited_permits(application, self.permits) if self.permits else ()
        routes = route(application, self.rules)
        new = NewApplication(
            id=new_application_id(now),
            declarant_bin=str(application.declarant),
            trader_reference=application.trader_reference,
            procedure=application.procedure,
            body=body,
            signer_subject=verified.signer.subject,
            signer_fingerprint=verified.signer.fingerprint_sha256,
            routing={
                r.agency: [{"rule": h.rule, "why": h.why, "item": h.item_line} for h in r.hits]
                for r in routes
            },
            request_id=request_id,
            citations=citations,
        )
        received = Message(
            "application",
            "in",
            f"trader:{application.declarant}",
            "application/xml",
            body,
            signer=verified.signer.subject,
        )
        try:
            received_at = self.store.create_application(new, [received])
        except DuplicateReference as dup:
            if dup.same_bytes:
                self._register_key(verified.signer)
                return Accepted(dup.existing_id, created=False, received_at=None)
            raise ReferenceConflict(
                Text(
                    "Trader reference %(reference)s was already used by BIN %(bin)s for a "
                    "different application (%(existing)s). Use a new reference for a new "
                    "application.",
                    reference=repr(application.trader_reference),
                    bin=application.declarant,
                    existing=dup.existing_id,
                ),
                existing=dup.existing_id,
            ) from dup
        # Step 7: the signer's certificate may now sign HTTP requests to read its applications.
        self._register_key(verified.signer)
        return Accepted(
            new.id, created=True, received_at=received_at, application=as_written(new, received_at)
        )

    def _check_signer_may_act(self, signer: TrustedSigner, declarant: str) -> None:
        if signer.bin == declarant:
            return
        if signer.bin and self.representatives.may_act_for(signer.bin, declarant):
            return
        raise SignerNotDeclarant(
            Text(
                "The document is signed with a certificate of BIN %(signer)s, but the declarant is "
                "BIN %(declarant)s, and BIN %(signer)s is not registered to represent it. Sign with "
                "a certificate issued to the declarant's company, or have your company registered "
                "as its representative (customs representative, carrier).",
                signer=signer.bin or "none",
                declarant=declarant,
            )
        )

    def _register_key(self, signer: TrustedSigner) -> None:
        if signer.bin is not None:
            self.trader_certs.register(signer, "submission")
