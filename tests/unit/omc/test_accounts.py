"""The OMC's accounts service on the in-memory fake of its storage port: lockout, unlock,
disabling, and what each attempt leaves in the trail (no database)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from argon2 import PasswordHasher

from gateway.omc.accounts import UNKNOWN_NAME, Accounts
from gateway.omc.errors import BadAccount, LoginRefused
from gateway.omc.roles import Role
from tests.fakes.omc import FakeOfficerAccounts, MovableClock

PASSWORD = "correct horse battery staple"
LOCKOUT_S = 300.0
CHEAP = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)  # argon2id, test-only cost


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def store() -> FakeOfficerAccounts:
    return FakeOfficerAccounts()


@pytest.fixture
def accounts(store: FakeOfficerAccounts, clock: MovableClock) -> Accounts:
    made = Accounts(
        store, clock, agencies=frozenset({"customs", "veterinary"}), max_failures=3,
        lockout_s=LOCKOUT_S, hasher=CHEAP,
    )  # fmt: skip
    made.add("op", "operator", PASSWORD, by="adm")
    return made


def trail(store: FakeOfficerAccounts, kind: str) -> list[dict[str, Any]]:
    return [json.loads(r.message.body) for r in store.trail if r.message.kind == kind]


def outcomes(store: FakeOfficerAccounts) -> list[str]:
    return [e["outcome"] for e in trail(store, "omc-sign-in")]


def test_the_third_wrong_password_locks_the_account_even_against_the_right_one(
    accounts: Accounts, store: FakeOfficerAccounts, clock: MovableClock
) -> None:
    for _ in range(3):
        with pytest.raises(LoginRefused, match="locked after repeated failures"):
            accounts.authenticate("op", "wrong password", address="127.0.0.9")
    with pytest.raises(LoginRefused):
        accounts.authenticate("op", PASSWORD)
    assert outcomes(store) == ["wrong-password", "wrong-password", "locked-now", "locked"]
    [locked] = [e for e in trail(store, "omc-account") if e["action"] == "account-locked"]
    assert locked["by"] == "system" and locked["account"] == "op"
    assert [a.locked for a in accounts.list()] == [True]

    clock.advance(LOCKOUT_S + 1)  # the lock runs out by itself
    assert accounts.authenticate("op", PASSWORD).username == "op"
    assert store.accounts["op"].failed_logins == 0
    assert [a.locked for a in accounts.list()] == [False]


def test_a_lockout_ends_the_account_s_sessions(accounts: Accounts) -> None:
    who = accounts.authenticate("op", PASSWORD)
    assert accounts.officer("op", who.generation) == who
    for _ in range(3):
        with pytest.raises(LoginRefused):
            accounts.authenticate("op", "wrong password")
    assert accounts.officer("op", who.generation) is None


def test_failures_below_the_limit_are_forgotten_after_a_sign_in(
    accounts: Accounts, store: FakeOfficerAccounts
) -> None:
    for _ in range(2):
        with pytest.raises(LoginRefused):
            accounts.authenticate("op", "wrong password")
    accounts.authenticate("op", PASSWORD)
    for _ in range(2):
        with pytest.raises(LoginRefused):
            accounts.authenticate("op", "wrong password")
    assert accounts.authenticate("op", PASSWORD).username == "op"  # never three in a row
    assert "locked-now" not in outcomes(store)


def test_an_administrator_unlocks_an_account(
    accounts: Accounts, store: FakeOfficerAccounts
) -> None:
    for _ in range(3):
        with pytest.raises(LoginRefused):
            accounts.authenticate("op", "wrong password")
    accounts.change("op", by="adm", unlock=True)
    assert accounts.authenticate("op", PASSWORD).username == "op"
    changed = trail(store, "omc-account")[-1]
    assert (changed["action"], changed["changes"], changed["by"]) == (
        "account-changed", ["unlocked"], "adm",
    )  # fmt: skip


def test_a_disabled_account_is_refused_and_its_sessions_end_for_good(
    accounts: Accounts, store: FakeOfficerAccounts
) -> None:
    who = accounts.authenticate("op", PASSWORD)
    accounts.change("op", by="adm", disabled=True)
    assert accounts.officer("op", who.generation) is None
    with pytest.raises(LoginRefused):
        accounts.authenticate("op", PASSWORD)
    assert outcomes(store)[-1] == "disabled"
    assert store.accounts["op"].failed_logins == 0  # a refusal of a disabled account counts nothing

    accounts.change("op", by="adm", disabled=False)
    assert accounts.officer("op", who.generation) is None  # enabled again: old sessions stay ended
    again = accounts.authenticate("op", PASSWORD)
    assert accounts.officer("op", again.generation) == again
    assert [e["changes"] for e in trail(store, "omc-account")[1:]] == [["disabled"], ["enabled"]]


def test_an_unknown_name_is_recorded_without_the_name(
    accounts: Accounts, store: FakeOfficerAccounts
) -> None:
    with pytest.raises(LoginRefused):
        accounts.authenticate("correct horse battery", "staple", address="127.0.0.9")
    last = store.trail[-1].message
    assert last.counterpart == UNKNOWN_NAME
    body = json.loads(last.body)
    assert (body["username"], body["outcome"], body["client_address"]) == (
        None, "unknown-name", "127.0.0.9",
    )  # fmt: skip
    assert b"correct horse" not in last.body


def test_sign_out_ends_every_session_and_is_recorded(
    accounts: Accounts, store: FakeOfficerAccounts
) -> None:
    first, second = accounts.authenticate("op", PASSWORD), accounts.authenticate("op", PASSWORD)
    accounts.sign_out("op", "password", address="127.0.0.9")
    assert accounts.officer("op", first.generation) is None
    assert accounts.officer("op", second.generation) is None
    [out] = trail(store, "omc-sign-out")
    assert (out["username"], out["outcome"], out["method"]) == ("op", "signed-out", "password")


def test_an_existing_name_is_not_added_twice(
    accounts: Accounts, store: FakeOfficerAccounts
) -> None:
    before = list(store.trail)
    with pytest.raises(BadAccount, match="There is already an account op"):
        accounts.add("op", "auditor", PASSWORD, by="adm")
    assert store.trail == before and store.accounts["op"].role == "operator"


def test_a_refused_change_changes_nothing(accounts: Accounts, store: FakeOfficerAccounts) -> None:
    before = (store.accounts["op"], list(store.trail))
    with pytest.raises(BadAccount, match="at least 12 characters"):
        accounts.change("op", by="adm", role="auditor", password="short")
    with pytest.raises(BadAccount, match="needs --agency"):
        accounts.change("op", by="adm", role="agency-officer")
    with pytest.raises(BadAccount, match="Unknown agency 'police'"):
        accounts.change("op", by="adm", role="agency-officer", agency="police")
    with pytest.raises(BadAccount, match="There is no account nobody"):
        accounts.change("nobody", by="adm", unlock=True)
    assert (store.accounts["op"], store.trail) == before


def test_a_new_role_ends_the_sessions(accounts: Accounts) -> None:
    who = accounts.authenticate("op", PASSWORD)
    accounts.change("op", by="adm", role="agency-officer", agency="customs")
    assert accounts.officer("op", who.generation) is None
    now = accounts.authenticate("op", PASSWORD)
    assert (now.role, now.agency) == (Role.AGENCY_OFFICER, "customs")


def test_a_certificate_of_a_disabled_account_lets_no_one_in(
    accounts: Accounts, store: FakeOfficerAccounts
) -> None:
    accounts.add("cus", "agency-officer", PASSWORD, "customs", by="adm", cert_fingerprint="AB" * 32)
    signed_in = accounts.sign_in_by_certificate("ab" * 32, address="127.0.0.9")
    assert signed_in is not None and signed_in.username == "cus"
    accounts.change("cus", by="adm", disabled=True)
    assert accounts.sign_in_by_certificate("AB" * 32) is None
    assert accounts.sign_in_by_certificate("cd" * 32) is None  # bound to no account: no entry
    certs = [e for e in trail(store, "omc-sign-in") if e["method"] == "certificate"]
    assert [(e["outcome"], e["certificate_sha256"]) for e in certs] == [
        ("signed-in", "ab" * 32), ("disabled", "ab" * 32),
    ]  # fmt: skip
