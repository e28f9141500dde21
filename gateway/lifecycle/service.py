"""Withdrawal and amendment (issue 19): verified like an application, then planned by the pure
rules (gateway.lifecycle.rules) and written in one transaction each through the `Versions` port.

Both read as numbered steps. A request whose signature verified but that is refused later (the
signer may not act, the application is unknown, exited, withdrawn or already amended) changes
nothing but the trail, which keeps the signed bytes as a refused request.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from gateway.clock import Clock
from gateway.decision.ports import Decide
from gateway.domain.application import read_application
from gateway.errors import InvalidValue
from gateway.fanout.routing import Rule, route
from gateway.i18n import Text
from gateway.lifecycle.changes import diff
from gateway.lifecycle.errors import (
    AfterExit,
    NotAllowedToAct,
    NotAmendable,
    UnknownApplication,
    VersionSuperseded,
)
from gateway.lifecycle.ports import (
    Current,
    LifecycleConflict,
    NewVersion,
    SignWithdrawn,
    Versions,
    Withdrawn,
)
from gateway.lifecycle.rules import (
    LifecycleRules,
    Stage,
    check_amendable,
    check_withdrawable,
    plan_amendment,
)
from gateway.trail.messages import Message
from gateway.trust.certificates import TrustedSigner, TrustStore
from gateway.trust.representatives import Representatives
from gateway.trust.schemas import validate
from gateway.trust.xmlparse import parse_xml
from gateway.trust.xmlsig import verify_enveloped

WITHDRAWAL_NS = "urn:kz:nsw:withdrawal:1"
APPLICATION_NS = "urn:kz:nsw:application:1"


@dataclass(frozen=True)
class Amended:
    application_id: str
    version: int
    reopened: tuple[str, ...]
    added: tuple[str, ...]
    cancelled: tuple[str, ...]
    untouched: tuple[str, ...]
    changes: tuple[str, ...]


@dataclass(frozen=True)
class _Signed:
    element: etree._Element  # what the signature covers: the only thing read
    signer: TrustedSigner


class Lifecycle:
    def __init__(
        self,
        *,
        withdrawal_schema: etree.XMLSchema,
        application_schema: etree.XMLSchema,
        trust: TrustStore,
        routing: tuple[Rule, ...],
        rules: LifecycleRules,
        store: Versions,
        clock: Clock,
        max_bytes: int,
        representatives: Representatives,
        sign_withdrawn: SignWithdrawn,
        decide: Decide,
    ) -> None:
        self.withdrawal_schema = withdrawal_schema
        self.application_schema = application_schema
        self.trust = trust
        self.routing = routing
        self.rules = rules
        self.store = store
        self.clock = clock
        self.max_bytes = max_bytes
        self.representatives = representatives
        self.sign_withdrawn = sign_withdrawn
        self.decide = decide

    # --- withdrawal -----------------------------------------------------------------------------

    def withdraw(self, application_id: str, body: bytes) -> Withdrawn:
        # Steps 1-3: parse, schema, signature (then only the signed element is read).
        signed = self._verified(body, self.withdrawal_schema)
        doc = signed.element
        named = _text(doc, WITHDRAWAL_NS, "ApplicationId")
        reason = _text(doc, WITHDRAWAL_NS, "Reason")
        note = _text(doc, WITHDRAWAL_NS, "Note")
        message = Message(
            "withdrawal", "in", f"trader:{signed.signer.bin or 'unknown'}",
            "application/xml", body, signer=signed.signer.subject,
        )  # fmt: skip
        try:
            # Step 4: the document names the application of the address it was sent to.
            if named != application_id:
                raise InvalidValue(
                    Text(
                        "The withdrawal names application %(named)s but was sent to "
                        "%(id)s; send it to /api/v1/applications/%(named)s/withdrawal.",
                        named=named,
                        id=application_id,
                    ),
                    field="ApplicationId",
                )
            # Step 5: the application exists and the signer may act for its declarant.
            current = self._current(application_id, signed.signer)
            # Step 6: the rules of lifecycle.toml: a known reason, a stage that allows it.
            refusal = check_withdrawable(current.stage, reason, self.rules)
            if refusal is not None:
                raise _refused(refusal.code, refusal.detail, current)
            sentence = self.rules.withdraw_reasons[reason] + (f" {note}" if note else "")
            # Step 7: one transaction: cases closed, cancellations queued, the decision signed.
            try:
                return self.store.withdraw(
                    application_id, reason, sentence, [message], self.sign_withdrawn
                )
            except LifecycleConflict as conflict:
                raise _conflict(conflict, application_id) from conflict
        except Exception:
            self._keep_refused(application_id, message)
            raise

    # --- amendment ------------------------------------------------------------------------------

    def amend(self, application_id: str, body: bytes) -> Amended:
        # Steps 1-3: parse, schema, signature, like any application.
        signed = self._verified(body, self.application_schema)
        new = read_application(signed.element)
        amends = signed.element.find(f"{{{APPLICATION_NS}}}Amends")
        message = Message(
            "amendment", "in", f"trader:{new.declarant}", "application/xml", body,
            signer=signed.signer.subject,
        )  # fmt: skip
        try:
            # Step 4: it names what it amends: this application, its current version and bytes.
            if amends is None:
                raise InvalidValue(
                    Text(
                        'An amendment names what it amends: add <Amends id="%(id)s" '
                        'sha256="..." version="N"/> before the signature.',
                        id=application_id,
                    ),
                    field="Amends",
                )
            if amends.get("id") != application_id:
                raise InvalidValue(
                    Text(
                        "The amendment names application %(named)s but was sent to %(id)s.",
                        named=amends.get("id", ""),
                        id=application_id,
                    ),
                    field="Amends",
                )
            # Step 5: the application exists and the signer may act for its declarant.
            current = self._current(application_id, signed.signer)
            version = int(amends.get("version", "0"))
            if version != current.version or amends.get("sha256") != current.body_sha256:
                raise _superseded(application_id, current.version, current.body_sha256)
            # Step 6: what changed, whether the stage allows it, and who must look again.
            old = read_application(parse_xml(current.body, max_bytes=self.max_bytes))
            changes = diff(old, new)
            refusal = check_amendable(changes, current.stage, self.rules)
            if refusal is not None:
                raise _refused(refusal.code, refusal.detail, current)
            plan = plan_amendment(
                changes, route(old, self.routing), route(new, self.routing), self.rules
            )
            routes = route(new, self.routing)
            stored = NewVersion(
                application_id=application_id,
                version=current.version + 1,
                body=body,
                signer_subject=signed.signer.subject,
                routing={
                    r.agency: [{"rule": h.rule, "why": h.why, "item": h.item_line} for h in r.hits]
                    for r in routes
                },
                changes=tuple(c.sentence() for c in changes),
                added=plan.added,
                cancelled=plan.cancelled,
                reopened=plan.reopened,
                untouched=plan.untouched,
                application=new,
            )
            # Step 7: one transaction, a compare-and-set on the version: one amendment wins.
            try:
                self.store.amend(stored, [message], self.decide)
            except LifecycleConflict as conflict:
                raise _conflict(conflict, application_id) from conflict
            return Amended(
                application_id, stored.version, plan.reopened, plan.added, plan.cancelled,
                plan.untouched, stored.changes,
            )  # fmt: skip
        except Exception:
            self._keep_refused(application_id, message)
            raise

    # --- shared steps ---------------------------------------------------------------------------

    def _verified(self, body: bytes, schema: etree.XMLSchema) -> _Signed:
        now = self.clock()
        # Step 1: the hardened parser (size cap, no DTD, no entities, no network).
        root = parse_xml(body, max_bytes=self.max_bytes)
        # Step 2: the schema, on the document as sent.
        validate(schema, root)
        # Step 3: the signature and the signer's certificate; only `signed` is read afterwards.
        verified = verify_enveloped(root, self.trust, now=now)
        validate(schema, verified.signed)
        return _Signed(verified.signed, verified.signer)

    def _current(self, application_id: str, signer: TrustedSigner) -> Current:
        current = self.store.current(application_id)
        if current is None:
            raise UnknownApplication(Text("There is no application %(id)s.", id=application_id))
        declarant = current.declarant_bin
        allowed = signer.bin == declarant or (
            signer.bin is not None and self.representatives.may_act_for(signer.bin, declarant)
        )
        if not allowed:
            raise NotAllowedToAct(
                Text(
                    "The document is signed with a certificate of BIN %(signer)s, which is "
                    "neither the declarant of %(id)s nor registered to represent it. Sign with "
                    "the declarant's certificate or its representative's.",
                    signer=signer.bin or "none",
                    id=application_id,
                )
            )
        return current

    def _keep_refused(self, application_id: str, message: Message) -> None:
        """A signed request that was refused: kept in the trail, nothing else changes."""
        refused = Message(
            f"{message.kind}-refused", message.direction, message.counterpart,
            message.content_type, message.body, signer=message.signer,
        )  # fmt: skip
        self.store.record(application_id, [refused])


def _text(element: etree._Element, ns: str, name: str) -> str:
    found = element.find(f"{{{ns}}}{name}")
    return "" if found is None or found.text is None else str(found.text).strip()


def _superseded(application_id: str, version: int, sha256: str) -> VersionSuperseded:
    return VersionSuperseded(
        Text(
            "Application %(id)s is at version %(version)s now (SHA-256 %(sha256)s); amend "
            "that version.",
            id=application_id,
            version=version,
            sha256=sha256,
        ),
        current_version=version,
        current_sha256=sha256,
    )


def _refused(code: str, detail: str, current: Current) -> Exception:
    if current.stage is Stage.EXITED:
        return AfterExit(
            Text(
                "The vehicle carrying %(id)s has already exited through the checkpoint; the "
                "application can no longer be amended or withdrawn.",
                id=current.id,
            )
        )
    if code == "unknown-reason":
        return InvalidValue(detail, field="Reason")
    return NotAmendable(detail, reason=code, stage=current.stage.value)


def _conflict(conflict: LifecycleConflict, application_id: str) -> Exception:
    if conflict.kind == "unknown":
        return UnknownApplication(Text("There is no application %(id)s.", id=application_id))
    if conflict.kind == "exited":
        return AfterExit(
            Text(
                "The vehicle carrying %(id)s has already exited through the checkpoint; the "
                "application can no longer be amended or withdrawn.",
                id=application_id,
            )
        )
    if conflict.kind == "withdrawn":
        return NotAmendable(
            Text("Application %(id)s was withdrawn; it cannot change.", id=application_id),
            reason="withdrawn",
            stage="withdrawn",
        )
    return VersionSuperseded(
        Text(
            "Another amendment of %(id)s was accepted first; the application is at version "
            "%(version)s now. Amend that version.",
            id=application_id,
            version=conflict.version,
        ),
        current_version=conflict.version,
    )
