"""OMC accounts: argon2id password hashes (RFC 9106), lockout after repeated failures, and the
administrator's changes — each change recorded in the trail with who made it, as is every sign-in
attempt on an account (password or certificate, let in or refused) and every sign-out."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gateway.clock import Clock, iso
from gateway.i18n import Text
from gateway.omc.errors import BadAccount, LoginRefused
from gateway.omc.ports import (
    Account,
    AccountChange,
    AccountExists,
    Message,
    NoSuchAccount,
    OfficerAccounts,
)
from gateway.omc.roles import Officer, Role

log = logging.getLogger(__name__)
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
MIN_PASSWORD = 12
REFUSED = Text(
    "Wrong name or password, or the account is disabled or locked after repeated failures. "
    "An administrator can unlock it."
)
UNKNOWN_NAME = "officer:(unknown name)"  # no account can be called this (see USERNAME)


def password_hasher(*, cheap_for_tests: bool = False) -> PasswordHasher:
    """argon2id with the library's RFC 9106 low-memory profile (§4: t=3, 64 MiB, p=4), or, when a
    test suite asks by name, at the lowest cost argon2 allows: each production hash takes tens of
    milliseconds of CPU on purpose, and the suite makes thousands. A cheap hash still verifies
    under the production hasher, which rehashes it at the next sign-in."""
    if cheap_for_tests:
        return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    return PasswordHasher()


class Accounts:
    def __init__(self, store: OfficerAccounts, clock: Clock, *, agencies: frozenset[str],
                 max_failures: int, lockout_s: float,
                 hasher: PasswordHasher | None = None) -> None:  # fmt: skip
        """`hasher` defaults to argon2id with the library's RFC 9106 low-memory profile; unit
        tests pass a cheaper one (the hashes are theirs alone)."""
        self.store = store
        self.clock = clock
        self.agencies = agencies
        self.max_failures = max_failures
        self.lockout = dt.timedelta(seconds=lockout_s)
        self._hasher = hasher or password_hasher()
        # Compared against when the name is unknown, so a wrong name costs as long as a wrong password.
        self._dummy = self._hasher.hash("not-a-password-of-anyone")

    # --- signing in -----------------------------------------------------------------------------

    def authenticate(self, username: str, password: str, *, address: str | None = None) -> Officer:
        """The officer, or `LoginRefused` with one sentence for every reason (no enumeration).

        Every attempt is recorded in the trail (`omc-sign-in`, from the client `address`) in the
        transaction that changes the account, so both commit together. An unknown name is recorded
        without the name (it may be a password typed in the name field, and the trail keeps
        everything for ever). Every refusal does the same storage work — one read, then one
        `count_failure` (the failure count's UPDATE, a read and one trail entry) — whether or not
        the name is an account, so neither the work nor its time tells which names exist."""
        now = self.clock()
        found = self.store.account(username)
        locked = found is not None and (found.locked_until or now) > now
        refused = (
            "unknown-name" if found is None
            else "disabled" if found.disabled else "locked" if locked else None
        )  # fmt: skip
        if refused:
            # As slow as a real check: the answer's timing tells nothing, and a flood of
            # attempts costs the sender what it costs us to record them.
            self._verify(self._dummy, password)
        elif found is not None and self._verify(found.password_hash, password):
            rehashed = (
                self._hasher.hash(password)
                if self._hasher.check_needs_rehash(found.password_hash)
                else None
            )
            entry = self._sign_in(found, "password", "signed-in", address)
            self.store.signed_in(username, now, rehashed, [entry])
            return _officer(found)
        if refused == "unknown-name":
            log.info("OMC: password sign-in refused for an unknown name from %s", address)

        def trail(account: Account | None, locked_now: bool) -> list[Message]:
            entries = []
            if locked_now:
                detail = {"action": "account-locked", "account": username}
                entries.append(self._record("system", detail))
            outcome = "locked-now" if locked_now else refused or "wrong-password"
            return [*entries, self._sign_in(account, "password", outcome, address)]

        # A failure is counted in its own transaction, atomically, so parallel guesses all count.
        # Other refusals run the same UPDATE adding nothing (an unknown name matches no row).
        self.store.count_failure(
            username,
            counts=not refused,
            lock_at=self.max_failures,
            locked_until=now + self.lockout,
            trail=trail,
        )
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
        found = self.store.account(username)
        if found is None or found.disabled or found.session_generation != generation:
            return None
        return _officer(found)

    def sign_in_by_certificate(
        self, fingerprint: str, *, address: str | None = None
    ) -> Officer | None:
        """The enabled account bound to a verified certificate's SHA-256 `fingerprint`, its
        `last_login_at` set; None if no enabled account is bound. An attempt on a bound account
        (disabled ones too) is recorded in the trail like a password sign-in. The lockout guards
        against guessed passwords, so it does not stop a certificate."""
        found = self.store.by_certificate(fingerprint.lower())
        if found is None:
            return None
        if found.disabled:
            self.store.record(
                [self._sign_in(found, "certificate", "disabled", address, fingerprint)]
            )
            return None
        trail = [self._sign_in(found, "certificate", "signed-in", address, fingerprint)]
        self.store.signed_in(found.username, self.clock(), None, trail)
        return _officer(found)

    def sign_out(self, username: str, method: str | None, *, address: str | None = None) -> None:
        """End every session of the account (a copied cookie included) and record the sign-out
        (`omc-sign-out`) in the trail."""
        self.store.end_sessions(
            username, lambda account: [self._sign_in(account, method, "signed-out", address)]
        )

    def set_locale(self, username: str, locale: str) -> None:
        """Remember the officer's language (one of gateway.i18n.SUPPORTED, checked by the caller)."""
        self.store.set_locale(username, locale)

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
        account = Account(
            username=username,
            role=officer.role.value,
            agency=officer.agency,
            password_hash=self._hasher.hash(password),
            cert_fingerprint=cert_fingerprint.lower() if cert_fingerprint else None,
            disabled=False,
            failed_logins=0,
            locked_until=None,
            last_login_at=None,
            session_generation=0,
        )
        detail = {"action": "account-added", "account": username, "role": role}
        try:
            self.store.add(account, [self._record(by, detail | {"agency": agency})])
        except AccountExists as exc:
            raise BadAccount(Text("There is already an account %(name)s.", name=username)) from exc
        return officer

    def change(self, username: str, *, by: str, disabled: bool | None = None,
               unlock: bool = False, password: str | None = None,
               role: str | None = None, agency: str | None = None) -> None:  # fmt: skip
        """Apply an administrator's change. Disabling, a new password and a new role end every
        session of the account (its session generation is raised)."""
        if self.store.account(username) is None:
            raise BadAccount(Text("There is no account %(name)s.", name=username))
        changes: list[str] = []
        new_role: Officer | None = None
        if role is not None:
            new_role = _valid(username, role, agency)
            if agency and agency not in self.agencies:
                raise BadAccount(Text("Unknown agency %(agency)s.", agency=repr(agency)))
            changes.append("role-set")
        if disabled is not None:
            changes.append("disabled" if disabled else "enabled")
        if unlock:
            changes.append("unlocked")
        if password is not None:
            if len(password) < MIN_PASSWORD:
                raise BadAccount(
                    Text("A password needs at least %(n)s characters.", n=MIN_PASSWORD)
                )
            changes.append("password-set")
        change = AccountChange(
            role=new_role.role.value if new_role else None,
            agency=new_role.agency if new_role else None,
            disabled=disabled,
            unlock=unlock,
            password_hash=self._hasher.hash(password) if password is not None else None,
            end_sessions=bool(disabled or password is not None or role is not None),
        )
        detail = {"action": "account-changed", "account": username, "changes": changes}
        try:
            self.store.change(username, change, [self._record(by, detail)])
        except NoSuchAccount as exc:
            raise BadAccount(Text("There is no account %(name)s.", name=username)) from exc

    def list(self) -> list[AccountView]:
        now = self.clock()
        return [
            AccountView(
                username=a.username,
                role=a.role,
                agency=a.agency,
                disabled=a.disabled,
                locked=bool(a.locked_until and a.locked_until > now),
                certificate=bool(a.cert_fingerprint),
                last_login_at=iso(a.last_login_at) if a.last_login_at else None,
            )
            for a in self.store.all()
        ]

    def _sign_in(self, account: Account | None, method: str | None, outcome: str,
                 address: str | None, fingerprint: str | None = None) -> Message:  # fmt: skip
        """The trail entry of a sign-in attempt or a sign-out; `account` None for a name that is
        no account, which is not written down (it may be a password typed in the wrong field)."""
        a = account
        detail = {"username": a.username if a else None, "role": a.role if a else None,
                  "agency": a.agency if a else None, "method": method, "outcome": outcome,
                  "client_address": address, "at": iso(self.clock())}  # fmt: skip
        if fingerprint:
            detail["certificate_sha256"] = fingerprint.lower()
        kind = "omc-sign-out" if outcome == "signed-out" else "omc-sign-in"
        body = json.dumps(detail, sort_keys=True).encode()
        counterpart = f"officer:{a.username}" if a else UNKNOWN_NAME
        return Message(kind, "in", counterpart, "application/json", body)

    def _record(self, by: str, detail: dict[str, Any]) -> Message:
        body = json.dumps(detail | {"by": by, "at": iso(self.clock())}, sort_keys=True)
        return Message("omc-account", "in", f"officer:{by}", "application/json", body.encode())


@dataclass(frozen=True)
class AccountView:
    """An account as the administration page and `nsw omc users list` show it."""

    username: str
    role: str
    agency: str | None
    disabled: bool
    locked: bool
    certificate: bool
    last_login_at: str | None


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


def _officer(account: Account) -> Officer:
    return Officer(
        account.username, Role(account.role), account.agency, account.session_generation,
        account.locale,
    )  # fmt: skip
