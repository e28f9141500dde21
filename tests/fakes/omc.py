"""In-memory fakes of the OMC's storage ports (`gateway.omc.ports`), for unit tests without a
database. They keep the ports' contract: each write and its trail entries happen together or not
at all, and the same errors are raised (`AccountExists`, `NoSuchAccount`, `NoSuchAlert`,
`AlertAcknowledged`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway.clock import iso
from gateway.omc.ports import (
    Account,
    AccountChange,
    AccountExists,
    Alert,
    AlertAcknowledged,
    FindingRef,
    NoSuchAccount,
    NoSuchAlert,
    OmcPorts,
)
from gateway.trail.messages import Message


@dataclass(frozen=True)
class Recorded:
    """A trail entry as a fake stored it."""

    application_id: str | None
    message: Message


@dataclass
class FakeOfficerAccounts:
    accounts: dict[str, Account] = field(default_factory=dict)
    trail: list[Recorded] = field(default_factory=list)

    def account(self, username: str) -> Account | None:
        return self.accounts.get(username)

    def by_certificate(self, fingerprint: str) -> Account | None:
        return next(
            (a for a in self.accounts.values() if a.cert_fingerprint == fingerprint.lower()), None
        )

    def all(self) -> list[Account]:
        return [self.accounts[name] for name in sorted(self.accounts)]

    def add(self, account: Account, trail: Sequence[Message]) -> None:
        if account.username in self.accounts:
            raise AccountExists(account.username)
        self._commit({account.username: account}, trail)

    def change(self, username: str, change: AccountChange, trail: Sequence[Message]) -> None:
        if (a := self.accounts.get(username)) is None:
            raise NoSuchAccount(username)
        if change.role is not None:
            a = dataclasses.replace(a, role=change.role, agency=change.agency)
        if change.disabled is not None:
            a = dataclasses.replace(a, disabled=change.disabled)
        if change.unlock:
            a = dataclasses.replace(a, locked_until=None, failed_logins=0)
        if change.password_hash is not None:
            a = dataclasses.replace(a, password_hash=change.password_hash)
        if change.end_sessions:
            a = dataclasses.replace(a, session_generation=a.session_generation + 1)
        self._commit({username: a}, trail)

    def signed_in(
        self, username: str, at: dt.datetime, rehashed: str | None, trail: Sequence[Message]
    ) -> None:
        changed = {}
        if (a := self.accounts.get(username)) is not None:
            a = dataclasses.replace(a, failed_logins=0, locked_until=None, last_login_at=at)
            changed[username] = dataclasses.replace(a, password_hash=rehashed or a.password_hash)
        self._commit(changed, trail)

    def count_failure(
        self,
        username: str,
        *,
        counts: bool,
        lock_at: int,
        locked_until: dt.datetime,
        trail: Callable[[Account | None, bool], Sequence[Message]],
    ) -> None:
        a = self.accounts.get(username)
        locked_now = False
        if a is not None:
            a = dataclasses.replace(a, failed_logins=a.failed_logins + (1 if counts else 0))
            if counts and a.failed_logins >= lock_at:
                locked_now = True
                a = dataclasses.replace(
                    a,
                    locked_until=locked_until,
                    failed_logins=0,
                    session_generation=a.session_generation + 1,
                )
        self._commit({username: a} if a else {}, trail(a, locked_now))

    def end_sessions(self, username: str, trail: Callable[[Account], Sequence[Message]]) -> bool:
        if (a := self.accounts.get(username)) is None:
            return False
        a = dataclasses.replace(a, session_generation=a.session_generation + 1)
        self._commit({username: a}, trail(a))
        return True

    def record(self, trail: Sequence[Message]) -> None:
        self._commit({}, trail)

    def _commit(self, accounts: dict[str, Account], trail: Sequence[Message]) -> None:
        self.accounts.update(accounts)
        self.trail.extend(Recorded(None, m) for m in trail)


@dataclass
class FakeTransit:
    plate: str
    application_id: str | None
    alerts: list[dict[str, Any]]


@dataclass
class FakeActionRecords:
    cases: dict[str, str] = field(default_factory=dict)  # case id -> agency
    findings: dict[tuple[str, str], str] = field(default_factory=dict)  # (visit, finding) -> agency
    transits: dict[str, FakeTransit] = field(default_factory=dict)
    trail: list[Recorded] = field(default_factory=list)

    def case_agency(self, case_id: str) -> str | None:
        return self.cases.get(case_id)

    def finding(self, visit_id: str, finding_id: str) -> FindingRef | None:
        agency = self.findings.get((visit_id, finding_id))
        return None if agency is None else FindingRef(visit_id, finding_id, agency)

    def acknowledge_alert(
        self,
        transit_id: str,
        key: str,
        *,
        by: str,
        at: dt.datetime,
        trail: Callable[[Alert], Sequence[Message]],
    ) -> None:
        transit = self.transits.get(transit_id)
        alert = next((a for a in transit.alerts if a.get("key") == key), None) if transit else None
        if transit is None or alert is None:
            raise NoSuchAlert(f"{transit_id}/{key}")
        if alert.get("acknowledged_by"):
            raise AlertAcknowledged(str(alert["acknowledged_by"]))
        seen = Alert(transit_id, key, alert.get("kind"), transit.plate, transit.application_id)
        entries = trail(seen)  # made before the change: a failure leaves both undone
        alert |= {"acknowledged_by": by, "acknowledged_at": iso(at)}
        self.trail.extend(Recorded(transit.application_id, m) for m in entries)


@dataclass
class FakeCaseRetries:
    """`OutboxStore.retry_case` as the actions use it: an escalated case goes back to the queue,
    with the officer's trail entry; a case in another state is refused."""

    cases: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (application, state)
    trail: list[Recorded] = field(default_factory=list)

    def retry_case(self, case_id: str, messages: Sequence[Message] = ()) -> str:
        if case_id not in self.cases:
            raise LookupError(f"There is no case {case_id}.")
        application_id, state = self.cases[case_id]
        if state != "escalated":
            raise ValueError(
                f"Case {case_id} is {state}; only escalated cases are retried by hand."
            )
        self.cases[case_id] = (application_id, "queued")
        self.trail.extend(Recorded(application_id, m) for m in messages)
        return application_id


class Unused:
    """A port the test does not expect to be used."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __getattr__(self, attribute: str) -> Any:
        raise AssertionError(f"unexpected use of the {self.name} port: {attribute}")


def omc_ports(**given: Any) -> OmcPorts:
    """`OmcPorts` with the fakes `given` (accounts=..., actions=...), the rest unused."""
    names = [f.name for f in dataclasses.fields(OmcPorts)]
    return OmcPorts(**{name: given.get(name, Unused(name)) for name in names})


class MovableClock:
    def __init__(self, now: dt.datetime | None = None) -> None:
        self.now = now or dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@dataclass
class ActionsServices:
    """What `gateway.omc.actions` uses of `Services`, on fakes."""

    clock: MovableClock
    omc: OmcPorts
    store: FakeCaseRetries
