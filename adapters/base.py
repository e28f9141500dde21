"""The one interface between the gateway core and an agency.

The core hands an adapter an `AgencyRequest` (the verified canonical application and the case it is
for) and gets back an `AgencyAnswer`: the outcome the agency gave, with the exact bytes that went over
the wire in both directions so the trail can keep them. An adapter knows nothing of Flask or of the
database; it is built (`adapters.registry.build_adapter`) from an `AgencySpec` (read from
mappings/agencies.toml by the composition root) and the `Credentials` it signs and verifies with.

This module and `adapters.registry` are the port: the gateway imports nothing else of `adapters`
(an import contract checks it). The wire protocols themselves live in `wire/`.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from wire.keys import load_certificate, load_rsa_key


class Outcome(enum.StrEnum):
    """What an agency said about its case."""

    GRANTED = "granted"
    REFUSED = "refused"
    INSPECTION = "inspection"
    PENDING = "pending"  # accepted, the agency answers later by callback
    CANCELLED = "cancelled"  # the agency closed the case on our cancel request (issue 19)


@dataclass(frozen=True)
class Reason:
    code: str
    text: str


@dataclass(frozen=True)
class AssessedCharge:
    """One charge an agency assessed (issue 20), as its answer states it: `kind` (customs-duty,
    vat, excise, agency-fee), `amount_minor` whole minor units of `currency`, the `legal_basis`,
    the `due` day and the budget classification code if the agency sent one. The gateway checks
    it again as a `gateway.payments.ChargeLine` (the beneficiary is the answering agency)."""

    kind: str
    amount_minor: int
    currency: str
    legal_basis: str
    due: dt.date
    kbk: str | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "amount": self.amount_minor,
            "currency": self.currency,
            "legalBasis": self.legal_basis,
            "due": self.due.isoformat(),
            "kbk": self.kbk,
        }


@dataclass(frozen=True)
class AgencySpec:
    """One agency as configured: who it is and how to reach it."""

    code: str  # short stable code, as in mappings/agencies.toml: customs, police, veterinary, ...
    name: str  # the body's name, for people
    protocol: str  # "soap" or "rest"
    endpoint: str  # base URL of the agency's service
    mapping_dir: Path  # mappings/agencies/<code>/
    contract: Path  # WSDL (soap) or OpenAPI document (rest)
    timeout_s: float = 10.0
    officer: str = ""  # what the agency's officers are called, for people ("veterinary inspector")
    # Supporting document types whose bytes the agency receives with its request
    # (mappings/agencies/<code>/documents.toml); none: it gets the entries only.
    wants_documents: tuple[str, ...] = ()


@dataclass(frozen=True)
class Credentials:
    """The keys an adapter works with. `key`/`cert` sign what we send; `peer` is the agency's
    pinned certificate: an answer is believed only when signed with exactly this certificate's key.
    `skew` is the clock difference allowed when judging the freshness of a signature."""

    key: rsa.RSAPrivateKey
    cert: x509.Certificate
    peer: x509.Certificate
    clock: Callable[[], dt.datetime]
    skew: dt.timedelta = dt.timedelta(minutes=2)

    @classmethod
    def from_files(
        cls,
        key: Path,
        cert: Path,
        peer: Path,
        *,
        clock: Callable[[], dt.datetime],
        skew: dt.timedelta = dt.timedelta(minutes=2),
    ) -> Credentials:
        """Read from files the composition root names (the gateway's key and certificate, and the
        one certificate configured for the agency). Raises `ValueError` naming the file that is
        missing or not what it should be: at start-up, never a silently unsigned exchange."""
        return cls(load_rsa_key(key), load_certificate(cert), load_certificate(peer), clock, skew)


@dataclass(frozen=True)
class Document:
    """A supporting document sent with a request: the signed entry's type, number, media type and
    SHA-256, and the bytes, whose digest the gateway checked against the entry before sending.
    REST carries it inline (base64) in `attachments`, SOAP as an `Attachment` element (base64):
    docs/attachments.md."""

    type: str
    number: str
    media_type: str
    sha256: str
    content: bytes


@dataclass(frozen=True)
class AgencyRequest:
    case_id: str  # the gateway's case id; also the idempotency key the agency must honour
    application_id: str
    application_xml: bytes  # the signed canonical application, exactly as verified
    callback_url: str | None = None
    documents: tuple[Document, ...] = ()  # those of the agency's `wants_documents` types
    # What to ask (issue 19): "request" (decide the case), "amend" (decide it again for
    # `version`, the application's new version) or "cancel" (close it; `reason` says why).
    operation: str = "request"
    version: int = 1
    reason: str | None = None

    @property
    def idempotency_key(self) -> str:
        """The key the agency answers once for: the case id, for an amendment with `.v<N>`,
        for a cancellation with `.cancel` (each a new question about the same case)."""
        if self.operation == "amend":
            return f"{self.case_id}.v{self.version}"
        if self.operation == "cancel":
            return f"{self.case_id}.cancel"
        return self.case_id


@dataclass(frozen=True)
class AgencyAnswer:
    outcome: Outcome
    request_bytes: bytes  # exactly what was sent
    answer_bytes: bytes  # exactly what came back
    permit_number: str | None = None
    valid_until: dt.date | None = None
    conditions: tuple[str, ...] = ()
    reasons: tuple[Reason, ...] = ()
    inspection: str | None = None  # where and why, when outcome is INSPECTION
    agency_reference: str | None = None  # the agency's own id for the case
    extra: dict[str, str] = field(default_factory=dict)  # e.g. customs risk channel
    charges: tuple[AssessedCharge, ...] = ()  # what is payable before release (issue 20)


class AgencyCallFailed(Exception):
    """The call did not produce a believable answer: transport failure, HTTP error, SOAP Fault,
    malformed answer. Carries whatever bytes were exchanged, for the trail. `retryable` is False
    when the agency refused the request itself (a soap:Client Fault, HTTP 400/422...): sending the
    same request again cannot help, so the case goes to an operator at once."""

    def __init__(
        self,
        message: str,
        *,
        request_bytes: bytes = b"",
        answer_bytes: bytes = b"",
        status_code: int | None = None,
        retryable: bool = True,
    ) -> None:
        super().__init__(message)
        self.request_bytes = request_bytes
        self.answer_bytes = answer_bytes
        self.status_code = status_code
        self.retryable = retryable


class AgencyAnswerUntrusted(AgencyCallFailed):
    """An answer came back but is not believed: unsigned, signed with a key other than the
    agency's pinned one, signed over the wrong parts, stale, or changed after signing. Handled
    like any failed call (retried, then escalated); its content is never used."""


@dataclass(frozen=True)
class GuaranteeQuery:
    """Issue 20: does a guarantee the declarant offers secure what the application owes? The
    amounts are whole minor units; `owed_*` is the payment order's total."""

    application_id: str
    reference: str
    guarantor_bin: str
    declarant_bin: str
    amount_minor: int
    currency: str
    valid_until: dt.date
    owed_minor: int
    owed_currency: str


@dataclass(frozen=True)
class GuaranteeAnswer:
    """Customs' answer: accepted, or refused with its reason code (unknown, insufficient-amount,
    expired, already-used) and sentence; the exact bytes both ways, for the trail."""

    accepted: bool
    reason_code: str | None
    reason: str
    request_bytes: bytes
    answer_bytes: bytes


@dataclass(frozen=True)
class GuaranteeReleased:
    """Customs' answer to ReleaseGuarantee: `released` (the reservation was the application's
    and is gone) or not (customs held none for it); the exact bytes both ways, for the trail."""

    released: bool
    request_bytes: bytes
    answer_bytes: bytes


@runtime_checkable
class GuaranteeReleaser(Protocol):
    """An adapter whose agency releases the guarantees it reserved (customs' ReleaseGuarantee)."""

    def release_guarantee(
        self, application_id: str, reference: str, reason: str
    ) -> GuaranteeReleased:
        """Ask; raise `AgencyCallFailed` when no believable answer came back."""
        ...


@runtime_checkable
class GuaranteeChecker(Protocol):
    """An adapter whose agency checks guarantees (customs' CheckGuarantee)."""

    def check_guarantee(self, query: GuaranteeQuery) -> GuaranteeAnswer:
        """Ask; raise `AgencyCallFailed` when no believable answer came back."""
        ...


class AgencyAdapter(Protocol):
    """Sends one case to one agency and reads its answer."""

    spec: AgencySpec

    def send(self, request: AgencyRequest) -> AgencyAnswer:
        """Deliver the request; raise `AgencyCallFailed` when no believable answer came back."""
        ...

    def read_answer(self, payload: Any, *, case_id: str, answer_bytes: bytes) -> AgencyAnswer:
        """Read an answer that arrived later by callback, already verified by the caller: the
        agency's answer element (SOAP) or JSON object (REST). Raises `AgencyCallFailed` when it
        breaks the agency's contract or mapping."""
        ...
