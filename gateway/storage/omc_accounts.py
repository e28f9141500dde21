"""OMC accounts in the gateway's database (`gateway.omc.ports.OfficerAccounts`): each write and
its trail entries in one transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.omc.ports import Account, AccountChange, AccountExists, NoSuchAccount
from gateway.storage.models import OmcAccountRow
from gateway.storage.repository import Message, Store, utc


class SqlOfficerAccounts:
    def __init__(self, store: Store) -> None:
        self.store = store

    def account(self, username: str) -> Account | None:
        with self.store.transaction() as s:
            row = s.get(OmcAccountRow, username)
            return None if row is None else _account(row)

    def by_certificate(self, fingerprint: str) -> Account | None:
        with self.store.transaction() as s:
            row = s.scalars(
                select(OmcAccountRow).where(OmcAccountRow.cert_fingerprint == fingerprint.lower())
            ).first()
            return None if row is None else _account(row)

    def all(self) -> list[Account]:
        with self.store.transaction() as s:
            rows = s.scalars(select(OmcAccountRow).order_by(OmcAccountRow.username)).all()
            return [_account(r) for r in rows]

    def add(self, account: Account, trail: Sequence[Message]) -> None:
        with self.store.transaction() as s:
            if s.get(OmcAccountRow, account.username) is not None:
                raise AccountExists(account.username)
            s.add(
                OmcAccountRow(
                    username=account.username,
                    role=account.role,
                    agency=account.agency,
                    password_hash=account.password_hash,
                    cert_fingerprint=account.cert_fingerprint,
                    disabled=account.disabled,
                    failed_logins=account.failed_logins,
                    created_at=self.store.clock(),
                )
            )
            self._trail(s, trail)

    def change(self, username: str, change: AccountChange, trail: Sequence[Message]) -> None:
        with self.store.transaction() as s:
            row = s.get(OmcAccountRow, username)
            if row is None:
                raise NoSuchAccount(username)
            if change.role is not None:
                row.role, row.agency = change.role, change.agency
            if change.disabled is not None:
                row.disabled = change.disabled
            if change.unlock:
                row.locked_until, row.failed_logins = None, 0
            if change.password_hash is not None:
                row.password_hash = change.password_hash
            if change.end_sessions:
                row.session_generation += 1
            self._trail(s, trail)

    def signed_in(
        self, username: str, at: dt.datetime, rehashed: str | None, trail: Sequence[Message]
    ) -> None:
        with self.store.transaction() as s:
            row = s.get(OmcAccountRow, username)
            if row is not None:
                row.failed_logins, row.locked_until, row.last_login_at = 0, None, at
                if rehashed is not None:
                    row.password_hash = rehashed
            self._trail(s, trail)

    def count_failure(
        self,
        username: str,
        *,
        counts: bool,
        lock_at: int,
        locked_until: dt.datetime,
        trail: Callable[[Account | None, bool], Sequence[Message]],
    ) -> None:
        with self.store.transaction() as s:
            # The same UPDATE whether or not it counts, and whether or not the name is an account.
            s.execute(
                update(OmcAccountRow)
                .where(OmcAccountRow.username == username)
                .values(failed_logins=OmcAccountRow.failed_logins + (1 if counts else 0))
            )
            found = s.get(OmcAccountRow, username)
            locked_now = found is not None and counts and found.failed_logins >= lock_at
            if found is not None and locked_now:
                found.locked_until, found.failed_logins = locked_until, 0
                found.session_generation += 1  # a lockout ends the account's sessions too
            self._trail(s, trail(None if found is None else _account(found), locked_now))

    def end_sessions(self, username: str, trail: Callable[[Account], Sequence[Message]]) -> bool:
        with self.store.transaction() as s:
            row = s.get(OmcAccountRow, username)
            if row is None:
                return False
            row.session_generation += 1
            self._trail(s, trail(_account(row)))
            return True

    def record(self, trail: Sequence[Message]) -> None:
        with self.store.transaction() as s:
            self._trail(s, trail)

    def _trail(self, s: Session, trail: Sequence[Message]) -> None:
        for message in trail:
            self.store._add_message(s, None, message)


def _account(row: OmcAccountRow) -> Account:
    return Account(
        username=row.username,
        role=row.role,
        agency=row.agency,
        password_hash=row.password_hash,
        cert_fingerprint=row.cert_fingerprint,
        disabled=row.disabled,
        failed_logins=row.failed_logins,
        locked_until=utc(row.locked_until),
        last_login_at=utc(row.last_login_at),
        session_generation=row.session_generation,
    )
