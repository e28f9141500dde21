"""The OMC's storage ports keep one contract, in the database and in the in-memory fakes the unit
tests use: the same scenarios run on both, so a fake cannot drift from what it stands in for."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.omc.ports import (
    Account,
    AccountChange,
    AccountExists,
    ActionRecords,
    AlertAcknowledged,
    NoSuchAccount,
    NoSuchAlert,
    OfficerAccounts,
)
from gateway.storage.db import make_engine
from gateway.storage.models import TransitRow
from gateway.storage.omc import build_omc_ports
from gateway.storage.repository import Message, Store
from tests.conftest import MigratedTemplates
from tests.fakes.omc import FakeActionRecords, FakeOfficerAccounts, FakeTransit, MovableClock
from tests.log_state import forget_log_state

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


class Sql:
    """The real ports on a migrated database, and a way to read back what they put in the trail."""

    def __init__(self, database_url: str) -> None:
        self.store = Store(make_engine(database_url), MovableClock(NOW))
        self.ports = build_omc_ports(self.store)

    def trail(self) -> list[tuple[str | None, str, bytes]]:
        from sqlalchemy import select

        from gateway.storage.models import MessageRow

        with self.store.reading() as s:
            rows = s.execute(
                select(MessageRow.application_id, MessageRow.kind, MessageRow.body).order_by(
                    MessageRow.id  # written order: a message waits in the queue for its seq
                )
            ).all()
        return [(a, k, bytes(b)) for a, k, b in rows]

    def close(self) -> None:
        self.store.engine.dispose()


KINDS = ["fake", "sqlite"] + (["postgresql"] if os.environ.get("NSW_TEST_DATABASE_URL") else [])


@pytest.fixture(params=KINDS)
def sql(
    request: pytest.FixtureRequest, tmp_path: Path, migrated_templates: MigratedTemplates
) -> Iterator[Sql | None]:
    """None for the fakes; else the real ports on a freshly migrated database (as `database_url`
    makes it, which cannot be asked for here: it is parametrised itself)."""
    if request.param == "fake":
        yield None
        return
    if request.param == "sqlite":
        url = migrated_templates.sqlite(tmp_path / "nsw.db")
    else:
        url = migrated_templates.postgresql()
        forget_log_state(url)
    made = Sql(url)
    yield made
    made.close()


@pytest.fixture
def accounts(sql: Sql | None) -> OfficerAccounts:
    return FakeOfficerAccounts() if sql is None else sql.ports.accounts


def trail_of(port: Any, sql: Sql | None) -> list[tuple[str | None, str, bytes]]:
    if sql is not None:
        return sql.trail()
    return [(r.application_id, r.message.kind, r.message.body) for r in port.trail]


def note(text: str) -> Message:
    return Message("omc-account", "in", "officer:test", "application/json", text.encode())


def account(username: str = "op") -> Account:
    return Account(username=username, role="operator", agency=None, password_hash="h",
                   cert_fingerprint="ab" * 32, disabled=False, failed_logins=0,
                   locked_until=None, last_login_at=None, session_generation=0)  # fmt: skip


def test_an_account_is_added_once(accounts: OfficerAccounts, sql: Sql | None) -> None:
    accounts.add(account(), [note('"added"')])
    with pytest.raises(AccountExists):
        accounts.add(account(), [note('"again"')])
    assert [body for _, _, body in trail_of(accounts, sql)] == [b'"added"']
    assert accounts.account("op") == account()
    assert accounts.by_certificate("AB" * 32) == account()
    assert [a.username for a in accounts.all()] == ["op"]


def test_a_change_of_no_account_writes_nothing(accounts: OfficerAccounts, sql: Sql | None) -> None:
    with pytest.raises(NoSuchAccount):
        accounts.change("nobody", AccountChange(disabled=True), [note('"changed"')])
    assert trail_of(accounts, sql) == []
    assert accounts.end_sessions("nobody", lambda a: [note('"out"')]) is False


def test_failures_lock_at_the_limit_and_end_the_sessions(
    accounts: OfficerAccounts, sql: Sql | None
) -> None:
    accounts.add(account(), [])
    seen: list[tuple[int | None, bool]] = []

    def trail(found: Account | None, locked_now: bool) -> list[Message]:
        seen.append((found.failed_logins if found else None, locked_now))
        return [note(json.dumps(locked_now))]

    until = NOW + dt.timedelta(minutes=5)
    for counts in (True, False, True, True):
        accounts.count_failure("op", counts=counts, lock_at=3, locked_until=until, trail=trail)
    accounts.count_failure("nobody", counts=True, lock_at=3, locked_until=until, trail=trail)
    assert seen == [(1, False), (1, False), (2, False), (0, True), (None, False)]
    locked = accounts.account("op")
    assert locked is not None
    assert (locked.locked_until, locked.session_generation) == (until, 1)
    assert [body for _, _, body in trail_of(accounts, sql)] == [b"false"] * 3 + [b"true", b"false"]

    accounts.change("op", AccountChange(unlock=True), [])
    accounts.signed_in("op", NOW, "h2", [])
    after = accounts.account("op")
    assert after is not None
    assert (after.locked_until, after.last_login_at, after.password_hash) == (None, NOW, "h2")


def test_a_change_applies_every_field(accounts: OfficerAccounts) -> None:
    accounts.add(account(), [])
    change = AccountChange(role="agency-officer", agency="customs", disabled=True,
                           password_hash="h3", end_sessions=True)  # fmt: skip
    accounts.change("op", change, [])
    changed = accounts.account("op")
    assert changed is not None
    assert (changed.role, changed.agency, changed.disabled, changed.password_hash) == (
        "agency-officer", "customs", True, "h3",
    )  # fmt: skip
    assert changed.session_generation == 1


@pytest.fixture
def actions(sql: Sql | None) -> ActionRecords:
    alerts = [{"key": "stop-1", "kind": "long-stop", "at": "2026-03-02T08:00:00+00:00"}]
    if sql is None:
        return FakeActionRecords(transits={"TR-1": FakeTransit("123ABC02", "APP-1", alerts)})
    with sql.store.transaction() as s:
        row = TransitRow(id="TR-1", plate="123ABC02", application_id="APP-1", corridor="c",
                         exit_checkpoint="x", state="open", started_at=NOW, due_by=NOW,
                         alerts=json.dumps(alerts))  # fmt: skip
        s.add(row)
    return sql.ports.actions


def test_an_alert_is_acknowledged_once(actions: ActionRecords, sql: Sql | None) -> None:
    with pytest.raises(NoSuchAlert):
        actions.acknowledge_alert("TR-1", "nope", by="op", at=NOW, trail=lambda a: [note("x")])
    actions.acknowledge_alert(
        "TR-1", "stop-1", by="op", at=NOW, trail=lambda a: [note(f"{a.plate} {a.kind}")]
    )
    with pytest.raises(AlertAcknowledged) as again:
        actions.acknowledge_alert("TR-1", "stop-1", by="vet", at=NOW, trail=lambda a: [note("x")])
    assert again.value.by == "op"
    assert trail_of(actions, sql) == [("APP-1", "omc-account", b"123ABC02 long-stop")]
    assert actions.case_agency("APP-9-customs") is None
    assert actions.finding("VIS-9", "F-1") is None


def test_an_officers_language_is_kept_on_the_account(accounts: OfficerAccounts) -> None:
    accounts.add(account("op"), [])
    assert (found := accounts.account("op")) is not None and found.locale is None
    accounts.set_locale("op", "kk")
    assert (found := accounts.account("op")) is not None and found.locale == "kk"
    accounts.set_locale("nobody", "ru")  # no such account: nothing, and no error
    assert accounts.account("nobody") is None
