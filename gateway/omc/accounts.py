"""OMC accounts: argon2id password hashes (RFC 9106), lockout after repeated failures, and the
administrator's changes — each change recorded in the trail with who made it, as is every sign-in
attempt on an account (password or certificate, let in or refused) and every sign-out."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update

from gateway.clock import iso
from gateway.i18n import Text
from gateway.omc.errors import BadAccount, LoginRefused
from gateway.omc.roles import Officer, Role
from gateway.storage.models import OmcAccountRow
from gateway.storage.repository import Message, Store, utc

log = logging.getLogger(__name__)
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
MIN_PASSWORD = 12
REFUSED = Text(
    "Wrong name or password, or the account is disabled or locked after repeated failures. "
    "An administrator can unlock it."
)
UNKNOWN_NAME = "officer:(unknown name)"  # no account can be called this (see USERNAME)


class Accounts:
    def __init__(
        self, store: Store, *, agencies: frozenset[str], max_failures: int, lockout_s: float
    ) -> None:
        self.store = store
        self.agencies = agencies
        self.max_failures = max_failures
        self.lockout = dt.timedelta(seconds=lockout_s)
        self._hasher = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory profile
        # Compared against when the name is unknown, so a wrong name costs as long as a wrong password.
        self._dummy = self._hasher.hash("not-a-password-of-anyone")

    # --- signing in -----------------------------------------------------------------------------

    def authenticate(self, username: str, password: str, *, address: str | None = None) -> Officer:
        """The officer, or `LoginRefused` with one sentence for every reason (no enumeration).

        Every attempt is recorded in the trail (`omc-sign-in`, from the client `address`) in the
        transaction that changes the account, so both commit together. An unknown name is recorded
        without the name (it may be a password typed in the name field, and the trail keeps
        everything for ever). Every refusal runs the same statements — one read, then one
        transaction with the failure count's UPDATE, a read and one trail entry — whether or not
        the name is an account, so neither the work nor its time tells which names exist."""
        now = self.store.clock()
        with self.store.transaction() as s:
            row = s.get(OmcAccountRow, username)
            locked = row is not None and (utc(row.locked_until) or now) > now
            refused = (
                "unknown-name" if row is None
                else "disabled" if row.disabled else "locked" if locked else None
            )  # fmt: skip
            if refused:
                # As slow as a real check: the answer's timing tells nothing, and a flood of
                # attempts costs the sender what it costs us to record them.
                self._verify(self._dummy, password)
            elif row is not None and self._verify(row.password_hash, password):
                row.failed_logins, row.locked_until, row.last_login_at = 0, None, now
                if self._hasher.check_needs_rehash(row.password_hash):
                    row.password_hash = self._hasher.hash(password)
                self._sign_in(s, row, "password", "signed-in", address)
                return _officer(row)
        if refused == "unknown-name":
            log.info("OMC: password sign-in refused for an unknown name from %s", address)
        # A failure is counted in its own transaction, atomically, so parallel guesses all count.
        # Other refusals run the same UPDATE adding nothing (an unknown name matches no row).
        with self.store.transaction() as s:
            s.execute(
                update(OmcAccountRow)
                .where(OmcAccountRow.username == username)
                .values(failed_logins=OmcAccountRow.failed_logins + (0 if refused else 1))
            )
            found = s.get(OmcAccountRow, username)
            outcome = refused or "wrong-password"
            if found is not None and not refused and found.failed_logins >= self.max_failures:
                found.locked_until, found.failed_logins = now + self.lockout, 0
                found.session_generation += 1  # a lockout ends the account's sessions too
                self._record(s, "system", {"action": "account-locked", "account": username})
                outcome = "locked-now"
            self._sign_in(s, found, "password", outcome, address)
        raise LoginRefused(REFUSED)

    def _verify(self, hashed: str, password: str) -> bool:
        try:
            return self._hasher.verify(hashed, password)
        except (VerificationError, InvalidHashError):
            return False

    def officer(self, username: str, generation: int) -> Officer | None:
        """The account behind a session, read again on every request: None once it is disabled
        or its session `generation` was raised (sign-out, password, role, lockout) after the
        session began, so every session of the account ends at once, on every web node."""
        with self.store.transaction() as s:
            row = s.get(OmcAccountRow, username)
            if row is None or row.disabled or row.session_generation != generation:
                return None
            return _officer(row)

    def sign_in_by_certificate(
        self, fingerprint: str, *, address: str | None = None
    ) -> Officer | None:
        """The enabled account bound to a verified certificate's SHA-256 `fingerprint`, its
        `last_login_at` set; None if no enabled account is bound. An attempt on a bound account
        (disabled ones too) is recorded in the trail like a password sign-in. The lockout guards
        against guessed passwords, so it does not stop a certificate."""
        now = self.store.clock()
        with self.store.transaction() as s:
            row = s.scalars(
                select(OmcAccountRow).where(OmcAccountRow.cert_fingerprint == fingerprint.lower())
            ).first()
            if row is None:
                return None
            if row.disabled:
                self._sign_in(s, row, "certificate", "disabled", address, fingerprint)
                return None
            row.last_login_at = now
            self._sign_in(s, row, "certificate", "signed-in", address, fingerprint)
            return _officer(row)

    def sign_out(self, username: str, method: str | None, *, address: str | None = None) -> None:
        """End every session of the account (a copied cookie included) and record the sign-out
        (`omc-sign-out`) in the trail."""
        with self.store.transaction() as s:
            if (row := s.get(OmcAccountRow, username)) is not None:
                row.session_generation += 1
                self._sign_in(s, row, method, "signed-out", address)

    def set_locale(self, username: str, locale: str) -> None:
        """Remember the officer's language (one of gateway.i18n.SUPPORTED, checked by the caller)."""
        with self.store.transaction() as s:
            if (row := s.get(OmcAccountRow, username)) is not None:
                row.locale = locale

    # --- administration -------------------------------------------------------------------------

    def add(
        self,
        username: str,
        role: str,
        password: str,
        agency: str | None = None,
        *,
        by: str,
        cert_fingerprint: str | None = None,
    ) -> Officer:
        officer = _valid(username, role, agency)
        if agency and agency not in self.agencies:
            raise BadAccount(
                Text(
                    "Unknown agency %(agency)s: one of %(agencies)s.",
                    agency=repr(agency),
                    agencies=", ".join(sorted(self.agencies)),
                )
            )
        if len(password) < MIN_PASSWORD:
            raise BadAccount(Text("A password needs at least %(n)s characters.", n=MIN_PASSWORD))
        with self.store.transaction() as s:
            if s.get(OmcAccountRow, username) is not None:
                raise BadAccount(Text("There is already an account %(name)s.", name=username))
            s.add(
                OmcAccountRow(
                    username=username,
                    role=officer.role.value,
                    agency=officer.agency,
                    password_hash=self._hasher.hash(password),
                    cert_fingerprint=cert_fingerprint.lower() if cert_fingerprint else None,
                    disabled=False,
                    failed_logins=0,
                    created_at=self.store.clock(),
                )
            )
            detail = {"action": "account-added", "account": username, "role": role}
            self._record(s, by, detail | {"agency": agency})
        return officer

    def change(self, username: str, *, by: str, disabled: bool | None = None,
               unlock: bool = False, password: str | None = None,
               role: str | None = None, agency: str | None = None) -> None:  # fmt: skip
        """Apply an administrator's change. Disabling, a new password and a new role end every
        session of the account (its session generation is raised)."""
        with self.store.transaction() as s:
            row = s.get(OmcAccountRow, username)
            if row is None:
                raise BadAccount(Text("There is no account %(name)s.", name=username))
            changes: list[str] = []
            if role is not None:
                new = _valid(username, role, agency)
                if agency and agency not in self.agencies:
                    raise BadAccount(Text("Unknown agency %(agency)s.", agency=repr(agency)))
                row.role, row.agency = new.role.value, new.agency
                changes.append("role-set")
            if disabled is not None:
                row.disabled = disabled
                changes.append("disabled" if disabled else "enabled")
            if unlock:
                row.locked_until, row.failed_logins = None, 0
                changes.append("unlocked")
            if password is not None:
                if len(password) < MIN_PASSWORD:
                    raise BadAccount(
                        Text("A password needs at least %(n)s characters.", n=MIN_PASSWORD)
                    )
                row.password_hash = self._hasher.hash(password)
                changes.append("password-set")
            if disabled or password is not None or role is not None:
                row.session_generation += 1
            self._record(
                s, by, {"action": "account-changed", "account": username, "changes": changes}
            )

    def list(self) -> list[dict[str, Any]]:
        now = self.store.clock()
        with self.store.transaction() as s:
            rows = s.scalars(select(OmcAccountRow).order_by(OmcAccountRow.username)).all()
            return [
                {
                    "username": r.username,
                    "role": r.role,
                    "agency": r.agency,
                    "disabled": r.disabled,
                    "locked": bool(r.locked_until and (utc(r.locked_until) or now) > now),
                    "certificate": bool(r.cert_fingerprint),
                    "last_login_at": iso(t) if (t := utc(r.last_login_at)) else None,
                }
                for r in rows
            ]

    def _sign_in(self, s: Any, row: OmcAccountRow | None, method: str | None, outcome: str,
                 address: str | None, fingerprint: str | None = None) -> None:  # fmt: skip
        """One trail entry for a sign-in attempt or a sign-out; `row` None for a name that is no
        account, which is not written down (it may be a password typed in the wrong field)."""
        detail = {"username": row.username if row else None, "role": row.role if row else None,
                  "agency": row.agency if row else None, "method": method, "outcome": outcome,
                  "client_address": address, "at": iso(self.store.clock())}  # fmt: skip
        if fingerprint:
            detail["certificate_sha256"] = fingerprint.lower()
        kind = "omc-sign-out" if outcome == "signed-out" else "omc-sign-in"
        body = json.dumps(detail, sort_keys=True).encode()
        counterpart = f"officer:{row.username}" if row else UNKNOWN_NAME
        message = Message(kind, "in", counterpart, "application/json", body)
        self.store._add_message(s, None, message)

    def _record(self, s: Any, by: str, detail: dict[str, Any]) -> None:
        body = json.dumps(detail | {"by": by, "at": iso(self.store.clock())}, sort_keys=True)
        self.store._add_message(
            s,
            None,
            Message("omc-account", "in", f"officer:{by}", "application/json", body.encode()),
        )


def _valid(username: str, role: str, agency: str | None) -> Officer:
    if not USERNAME.match(username):
        raise BadAccount(Text("A user name is 2-32 characters: lower-case letters, digits, . _ -"))
    try:
        parsed = Role(role)
    except ValueError as exc:
        raise BadAccount(
            Text(
                "Unknown role %(role)s: one of %(roles)s.",
                role=repr(role),
                roles=", ".join(r.value for r in Role),
            )
        ) from exc
    if (parsed is Role.AGENCY_OFFICER) != bool(agency):
        raise BadAccount(Text("An agency officer needs --agency; the other roles take none."))
    return Officer(username, parsed, agency or None)


def _officer(row: OmcAccountRow) -> Officer:
    return Officer(row.username, Role(row.role), row.agency, row.session_generation, row.locale)
