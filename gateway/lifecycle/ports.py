"""What the lifecycle service needs from storage (issue 19): the application as it stands, and
the two writes — a withdrawal, an amendment — each one transaction with its trail entries.
Implemented by `gateway.storage.versions.VersionStore`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from gateway.decision.ports import Decide, DecisionSubject
from gateway.decision.rules import CaseResult
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
