"""Read views of stored applications, cases and notifications: frozen values the stores return and
the web, the CLI, the OMC and the receipt read (by attribute; Jinja's `a.b` reads them as it read
the dicts they replace). `to_json()` gives the documents the APIs have always served."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any


@dataclass(frozen=True)
class ReasonView:
    code: str
    text: str


@dataclass(frozen=True)
class CaseStatus:
    """One agency's case as an application's status shows it."""

    id: str
    agency: str
    state: str  # a gateway.decision.rules.CaseState value
    permit_number: str | None
    valid_until: str | None
    reasons: tuple[ReasonView, ...]
    conditions: tuple[str, ...]
    inspection: str | None
    extra: Mapping[str, Any]
    attempts: int
    last_error: str | None
    # What the agency assessed (issue 20): {kind, amount (minor units), currency, legalBasis, due,
    # kbk} each, as stored.
    charges: tuple[Mapping[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "agency": self.agency,
            "state": self.state,
            "permit_number": self.permit_number,
            "valid_until": self.valid_until,
            "reasons": [{"code": r.code, "text": r.text} for r in self.reasons],
            "conditions": list(self.conditions),
            "inspection": self.inspection,
            "extra": dict(self.extra),
            "charges": [dict(c) for c in self.charges],
            "attempts": self.attempts,
            "last_error": self.last_error,
        }


@dataclass(frozen=True)
class ApplicationStatus:
    """An application with its cases (`Store.application`)."""

    id: str
    declarant_bin: str
    trader_reference: str
    procedure: str
    status: str  # in_progress | decided
    verdict: str | None
    received_at: str  # RFC 3339 UTC
    decided_at: str | None
    application_sha256: str
    signer: str
    routing: Mapping[str, Any]  # agency -> the routing rules that chose it
    request_id: str | None
    cases: tuple[CaseStatus, ...]

    def with_cases(self, cases: tuple[CaseStatus, ...]) -> ApplicationStatus:
        """The same application showing only `cases` (e.g. one agency's officer's view)."""
        return replace(self, cases=cases)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "declarant_bin": self.declarant_bin,
            "trader_reference": self.trader_reference,
            "procedure": self.procedure,
            "status": self.status,
            "verdict": self.verdict,
            "received_at": self.received_at,
            "decided_at": self.decided_at,
            "application_sha256": self.application_sha256,
            "signer": self.signer,
            "routing": dict(self.routing),
            "request_id": self.request_id,
            "cases": [c.to_json() for c in self.cases],
        }


@dataclass(frozen=True)
class CaseSummary:
    """A case in the operators' list (`OutboxStore.cases`)."""

    id: str
    application_id: str
    agency: str
    state: str
    attempts: int
    last_error: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AgencyStats:
    """An agency's cases by state and the age of its oldest open one (`OutboxStore.agency_stats`)."""

    cases: Mapping[str, int]
    oldest_open_s: float | None

    def to_json(self) -> dict[str, Any]:
        return {"cases": dict(self.cases), "oldest_open_s": self.oldest_open_s}


@dataclass(frozen=True)
class Subscription:
    """Where a trader's decisions are sent (`NotificationStore.subscription`)."""

    bin: str
    url: str
    registered_at: str  # RFC 3339 UTC
    registered_by: str  # the registering certificate's SHA-256 fingerprint
    events: tuple[str, ...] = ("decision",)  # the event types chosen (gateway.notify.events)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "events": list(self.events)}


@dataclass(frozen=True)
class NotificationStatus:
    """One notification owed to a trader (a decision or a progress event), and how it went."""

    id: int
    application_id: str
    url: str
    verdict: str
    decision_sha256: str
    state: str  # pending | delivered | failed
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: str | None
    done_at: str | None
    kind: str = "decision"  # or a progress event's type (gateway.notify.events)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# The states an application's status shows (ApplicationRow.status); the list filters on these.
APPLICATION_STATES = ("in_progress", "decided")


@dataclass(frozen=True)
class SortKey:
    """Where an application stands in the list: newer `received_at` first, then larger `id`."""

    received_at: dt.datetime  # aware, UTC, with microseconds
    id: str


@dataclass(frozen=True)
class ApplicationSummary:
    id: str
    trader_reference: str
    state: str
    verdict: str | None
    received_at: dt.datetime
    decided_at: dt.datetime | None

    @property
    def key(self) -> SortKey:
        return SortKey(self.received_at, self.id)


@dataclass(frozen=True)
class ApplicationPage:
    items: tuple[ApplicationSummary, ...]
    more: bool  # another page follows the last item

    @property
    def last(self) -> SortKey | None:
        return self.items[-1].key if self.items else None
