"""What the lifecycle service needs from storage (issue 19): the application as it stands, and
the two writes — a withdrawal, an amendment — each one transaction with its trail entries.
Implemented by `gateway.storage.versions.VersionStore`.

What supporting documents need from storage: the signed application they belong to, and one
copy of each document's bytes by SHA-256 (issue 19, item 3).

`Attachments` is implemented on the database by `gateway.storage.attachments.AttachmentStore`
(the default: bytes in the `attachment_blobs` table); the in-memory fake is tests/fakes/attachments.py.
An S3-compatible object store can implement the same port (docs/attachments.md): the object key is
the digest, so `put` is an idempotent write of immutable content, and the per-application link
and the trail entry stay in the database, in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from gateway.decision.ports import Decide, DecisionSubject
from gateway.decision.rules import CaseResult
from gateway.domain.application import Application
from gateway.lifecycle.rules import Stage
from gateway.trail.messages import Message


@dataclass(frozen=True)
class Current:
    """An application as it stands: who declares it, its version and signed bytes, its routing."""

    id: str
    declarant_bin: str
    version: int
    body: bytes
    body_sha256: str
    stage: Stage
    routing: Mapping[str, Sequence[Mapping[str, Any]]]  # agency -> rule hits (as intake stored)
    withdrawal_reason: str | None = None


class LifecycleConflict(Exception):
    """The write found the application otherwise than the service read it: `kind` is
    "unknown", "exited", "withdrawn" or "superseded"; `version` the version it has now."""

    def __init__(self, kind: str, version: int) -> None:
        super().__init__(kind)
        self.kind = kind
        self.version = version


# The signed "withdrawn" decision: the subject, the cases as they were, the reason's sentence.
SignWithdrawn = Callable[[DecisionSubject, list[CaseResult], str], bytes]


@dataclass(frozen=True)
class Withdrawn:
    application_id: str
    cancelling: tuple[str, ...]  # agencies asked to cancel their case
    decision_sha256: str


@dataclass(frozen=True)
class NewVersion:
    """An accepted amendment, as it is stored."""

    application_id: str
    version: int  # the new version; the stored one must be version - 1
    body: bytes
    signer_subject: str
    routing: dict[str, list[dict[str, Any]]]
    changes: tuple[str, ...]  # sentences, for the history
    added: tuple[str, ...] = ()
    cancelled: tuple[str, ...] = ()
    reopened: tuple[str, ...] = ()
    untouched: tuple[str, ...] = ()
    # The new version as read (its goods items' permit citations are checked and stored with
    # it); None keeps the citations stored before.
    application: Application | None = None


@dataclass(frozen=True)
class VersionView:
    version: int
    sha256: str
    received_at: str
    signer: str
    changes: tuple[str, ...] = ()
    affected: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "sha256": self.sha256,
            "received_at": self.received_at,
            "signer": self.signer,
            "changes": list(self.changes),
            "agencies": {k: list(v) for k, v in self.affected.items()},
        }


@dataclass(frozen=True)
class PermitView:
    agency: str
    permit_number: str
    valid_until: str | None
    state: str  # superseded | cancelled
    version: int
    at: str

    def to_json(self) -> dict[str, Any]:
        return {
            "agency": self.agency,
            "permit_number": self.permit_number,
            "valid_until": self.valid_until,
            "state": self.state,
            "version": self.version,
            "at": self.at,
        }


class Versions(Protocol):
    def current(self, application_id: str) -> Current | None: ...

    def record(self, application_id: str | None, messages: Sequence[Message]) -> None:
        """Keep a refused, signed request in the trail (its own transaction)."""
        ...

    def withdraw(
        self, application_id: str, reason: str, note: str, messages: Sequence[Message],
        sign: SignWithdrawn,
    ) -> Withdrawn:  # fmt: skip
        """Close every open case (a cancel delivery to its agency), cancel issued permits, sign
        and store the withdrawn decision, in one transaction. `LifecycleConflict` otherwise."""
        ...

    def amend(self, new: NewVersion, messages: Sequence[Message], decide: Decide) -> None:
        """Store the version if the application is still at `new.version - 1` (compare-and-set),
        reopen, add and cancel cases as planned, in one transaction. `LifecycleConflict` when
        another amendment (or a withdrawal, or the exit) came first."""
        ...

    def history(self, application_id: str) -> tuple[list[VersionView], list[PermitView]]: ...


@dataclass(frozen=True)
class LodgedApplication:
    """What an upload is judged against: who lodged the application and the bytes they signed."""

    id: str
    declarant_bin: str
    body: bytes  # exactly as verified at intake (the enveloped signature covers the whole root)


class Attachments(Protocol):
    """One copy of each document, by digest; which applications' entries it fulfils."""

    def lodged(self, application_id: str) -> LodgedApplication | None:
        """The application as lodged, or None when there is none."""
        ...

    def put(
        self, application_id: str, sha256: str, media_type: str, data: bytes, message: Message
    ) -> bool:
        """Keep `data` under `sha256` unless it is already kept (the caller has checked that
        sha256(data) == sha256), link it to the application and append `message` to the trail,
        in one transaction. True when this application had not had it before (a repeated upload
        changes nothing and records nothing)."""
        ...

    def refused(self, application_id: str, message: Message) -> None:
        """Append `message`, a signed upload the gateway refused, to the application's trail;
        nothing else changes."""
        ...

    def uploaded(self, application_id: str) -> frozenset[str]:
        """The digests uploaded for this application."""
        ...

    def contents(self, application_id: str, digests: Iterable[str]) -> Mapping[str, bytes]:
        """The bytes of those of `digests` uploaded for this application, by digest."""
        ...
