"""What the OMC needs from storage, as small protocols, and the frozen views they return.

The composition root builds the implementations (`gateway.storage.omc.build_omc_ports`) and hands
them over as one `OmcPorts`; the OMC's services never see a Session, an ORM row or SQL. A write
that must be recorded in the trail in the same transaction takes its trail `Message`s (or a
function that makes them from what the write found) and stores both, or neither.

Times are aware datetimes in UTC, except in the read models made for display (the applications
list, the trail lines, the floor's exits, the escalated cases), whose times are RFC 3339 text as
the pages show them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

# The trail's message value, re-exported for the OMC's services: the one line to change when it
# moves to gateway.trail.messages with the core's ports.
from gateway.trail.messages import Message as Message

# --- accounts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    agency: str | None
    password_hash: str
    cert_fingerprint: str | None
    disabled: bool
    failed_logins: int
    locked_until: dt.datetime | None
    last_login_at: dt.datetime | None
    session_generation: int
    locale: str | None = None  # kk | ru | en, chosen on the OMC's language switch; None: not yet


@dataclass(frozen=True)
class AccountChange:
    """An administrator's change; fields left at their default change nothing."""

    role: str | None = None  # set together with `agency`
    agency: str | None = None
    disabled: bool | None = None
    unlock: bool = False  # no lock and no failures counted
    password_hash: str | None = None
    end_sessions: bool = False  # raise the session generation


class AccountExists(Exception):
    """`OfficerAccounts.add` of a name that is an account already (nothing was written)."""


class NoSuchAccount(LookupError):
    """A change of a name that is no account (nothing was written)."""


class OfficerAccounts(Protocol):
    def account(self, username: str) -> Account | None:
        """The account called `username` (one read, in a transaction of its own)."""
        ...

    def by_certificate(self, fingerprint: str) -> Account | None:
        """The account bound to a certificate's SHA-256 (lower-case hex), disabled ones too."""
        ...

    def all(self) -> list[Account]:
        """Every account, by name."""
        ...

    def add(self, account: Account, trail: Sequence[Message]) -> None:
        """Store a new account and its trail entries; `AccountExists` if the name is taken."""
        ...

    def change(self, username: str, change: AccountChange, trail: Sequence[Message]) -> None:
        """Apply `change` and store its trail entries; `NoSuchAccount` if there is none."""
        ...

    def signed_in(
        self, username: str, at: dt.datetime, rehashed: str | None, trail: Sequence[Message]
    ) -> None:
        """A sign-in let in: no failures counted nor lock, `last_login_at` set, the password
        hash replaced by `rehashed` if given; with its trail entries."""
        ...

    def count_failure(
        self,
        username: str,
        *,
        counts: bool,
        lock_at: int,
        locked_until: dt.datetime,
        trail: Callable[[Account | None, bool], Sequence[Message]],
    ) -> None:
        """A refused password sign-in, in one transaction: the failure count raised by one
        (`counts`) or by nothing, atomically (parallel guesses all count), even for a name that
        is no account; then the account read, and if `counts` made it reach `lock_at` failures
        the account locked until `locked_until`, its count reset and its sessions ended; then
        the entries `trail(account or None, locked_now)` stored. The same statements run
        whether or not the name is an account (issue 15, item 10)."""
        ...

    def end_sessions(self, username: str, trail: Callable[[Account], Sequence[Message]]) -> bool:
        """End every session of the account and store `trail(account)`; False if there is none."""
        ...

    def record(self, trail: Sequence[Message]) -> None:
        """Trail entries about accounts that change none (a refused certificate sign-in)."""
        ...

    def set_locale(self, username: str, locale: str) -> None:
        """Remember the account's language (not recorded in the trail: it changes no right);
        nothing if there is no such account."""
        ...


# --- officers' actions --------------------------------------------------------------------------


@dataclass(frozen=True)
class Alert:
    """A transit alert as an officer acknowledged it."""

    transit_id: str
    key: str
    kind: str | None
    plate: str
    application_id: str | None


class NoSuchAlert(LookupError):
    pass


class AlertAcknowledged(Exception):
    def __init__(self, by: str) -> None:
        super().__init__(by)
        self.by = by


@dataclass(frozen=True)
class FindingRef:
    visit_id: str
    finding_id: str
    agency: str  # "" when the finding names none


class ActionRecords(Protocol):
    def case_agency(self, case_id: str) -> str | None:
        """The agency of a case, None if there is no such case."""
        ...

    def finding(self, visit_id: str, finding_id: str) -> FindingRef | None:
        """A gate finding of a visit, None if the visit has no such finding."""
        ...

    def acknowledge_alert(
        self,
        transit_id: str,
        key: str,
        *,
        by: str,
        at: dt.datetime,
        trail: Callable[[Alert], Sequence[Message]],
    ) -> None:
        """Mark the alert seen and taken in hand by `by` at `at`, and store `trail(alert)` under
        the transit's application, in one transaction. `NoSuchAlert` if the transit has no such
        alert, `AlertAcknowledged` if someone acknowledged it already (nothing written)."""
        ...


# --- the applications pages ---------------------------------------------------------------------

SINCE_HOURS = {"1h": 1, "24h": 24, "7d": 24 * 7}


@dataclass(frozen=True)
class Filters:
    status: str = ""  # in_progress | granted (not yet released) | released | refused | inspection
    agency: str = ""
    checkpoint: str = ""
    trader: str = ""  # declarant BIN or trader reference (prefix)
    since: str = ""  # one of SINCE_HOURS

    @classmethod
    def from_args(cls, args: Any) -> Filters:
        return cls(
            **{name: str(args.get(name, "")).strip()[:64] for name in cls.__dataclass_fields__}
        )


@dataclass(frozen=True)
class CaseLine:
    agency: str
    state: str


@dataclass(frozen=True)
class ApplicationLine:
    id: str
    declarant_bin: str
    trader_reference: str
    procedure: str
    status: str
    verdict: str | None
    received_at: str | None
    decided_at: str | None
    cases: tuple[CaseLine, ...]


@dataclass(frozen=True)
class TrailLine:
    """One trail message of an application, without its body."""

    seq: int | None  # None: queued, not yet in the log (the integrator gives it a place)
    kind: str
    direction: str
    counterpart: str
    case_id: str | None
    content_type: str
    sha256: str
    at: str | None
    case_agency: str  # the agency of `case_id` among the application's cases; "" if none


@dataclass(frozen=True)
class TrailEntry:
    seq: int
    entry: bytes
    application_id: str | None
    case_id: str | None
    agency: str | None  # of the case, if the message is about one
    kind: str
    body_size: int
    sha256: str


@dataclass(frozen=True)
class TrailBody:
    seq: int | None  # None: queued, not yet in the log
    kind: str
    body: bytes


class ApplicationViews(Protocol):
    def applications(
        self, f: Filters, agency: str, received_since: dt.datetime | None, limit: int
    ) -> list[ApplicationLine]:
        """The newest applications matching `f` (`agency`: those with a case for it, "" any),
        each with all its cases in routing order."""
        ...

    def trail_lines(self, application_id: str) -> list[TrailLine]:
        """The application's trail messages in trail order."""
        ...

    def trail_entry(self, seq: int) -> TrailEntry | None: ...

    def latest_of_kinds(self, kinds: Iterable[str], limit: int) -> list[TrailBody]:
        """The newest trail messages of these kinds, newest first."""
        ...


# --- checkpoints and movements ------------------------------------------------------------------


@dataclass(frozen=True)
class VisitRecord:
    id: str
    checkpoint: str
    lane: str
    plate: str
    state: str
    reason: str | None
    arrived_at: dt.datetime | None
    stages: Mapping[str, Any]
    applications: tuple[str, ...]
    findings: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class ExitLine:
    id: str
    plate: str
    lane: str
    kind: str | None
    cleared_by: str | None
    at: str | None


@dataclass(frozen=True)
class FloorSnapshot:
    """The vehicles not yet out, read in one transaction with what they wait for."""

    visits: tuple[VisitRecord, ...]  # by arrival
    open_cases: Mapping[str, tuple[str, ...]]  # application -> "agency: state" of open cases
    verdicts: Mapping[str, str | None]
    exits: Mapping[str, tuple[ExitLine, ...]]  # checkpoint -> the last vehicles out, newest first


@dataclass(frozen=True)
class TransitRecord:
    id: str
    plate: str
    corridor: str
    state: str
    seal: str | None
    due_by: dt.datetime | None
    last_lat: float | None
    last_lon: float | None
    alerts: tuple[Mapping[str, Any], ...]


class FloorViews(Protocol):
    def floor(self, checkpoints: Iterable[str], recent_exits: int) -> FloorSnapshot: ...

    def transits(self, limit: int) -> list[TransitRecord]:
        """The latest transits, newest first."""
        ...


# --- figures: agency health, charts, the change marker ------------------------------------------


@dataclass(frozen=True)
class EscalatedCase:
    id: str
    application_id: str
    agency: str
    attempts: int
    last_error: str | None
    updated_at: dt.datetime | None


@dataclass(frozen=True)
class StatusCount:
    status: str
    verdict: str | None
    count: int


@dataclass(frozen=True)
class ChartRows:
    decided: tuple[tuple[str | None, dt.datetime | None, dt.datetime | None], ...]  # verdict,
    risk_channels: tuple[str | None, ...]  # received, decided; customs cases' risk channels
    stays: tuple[tuple[dt.datetime | None, dt.datetime | None], ...]  # arrived, exited


class Figures(Protocol):
    def queue_depths(self) -> Mapping[str, int]:
        """Open deliveries per agency."""
        ...

    def escalated_cases(self, agency: str | None) -> list[EscalatedCase]: ...

    def status_counts(self) -> list[StatusCount]: ...

    def chart_rows(self, since: dt.datetime, agency: str | None) -> ChartRows: ...


class ChangeMarker(Protocol):
    def marker(self) -> tuple[Any, ...]:
        """Cheap values that change when anything on the OMC's pages does (JSON-serialisable)."""
        ...

    def serving(self) -> object:
        """A token that stays the same while the database stays open for this process."""
        ...


@dataclass(frozen=True)
class OmcPorts:
    accounts: OfficerAccounts
    actions: ActionRecords
    applications: ApplicationViews
    floor: FloorViews
    figures: Figures
    changes: ChangeMarker
