"""`Store.core_transaction`, the settle path's transaction on a Core connection: what a step
writes through the ORM session it asks for (`core_tx.orm_of`) is committed or rolled back with
the Core statements, and what it owes is woken (both databases)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from gateway.fanout.wakeup import NOTIFICATIONS
from gateway.storage import wake
from gateway.storage.core_tx import orm_of
from gateway.storage.db import make_engine
from gateway.storage.models import TraderSubscriptionRow
from gateway.storage.outbox import OutboxStore
from tests.fakes.clock import FakeClock

START = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def store(database_url: str) -> Iterator[OutboxStore]:
    engine = make_engine(database_url)
    yield OutboxStore(engine, FakeClock(START))
    engine.dispose()


def _subscription(bin_: str) -> TraderSubscriptionRow:
    return TraderSubscriptionRow(
        bin=bin_, url="https://127.0.0.1/hook", events=None, registered_by="00" * 32,
        registered_at=START,
    )  # fmt: skip


def _subscribed(store: OutboxStore) -> list[str]:
    with store.engine.connect() as c:
        return list(c.execute(select(TraderSubscriptionRow.bin).order_by("bin")).scalars())


def test_a_row_the_orm_step_left_pending_is_committed_and_its_wake_up_signalled(
    store: OutboxStore,
) -> None:
    woken: list[frozenset[str]] = []
    store.wakeups.signal = woken.append  # type: ignore[method-assign,assignment]
    with store.core_transaction() as tx:
        session = orm_of(tx)
        session.add(_subscription("210540012341"))  # pending: nothing flushes it in the step
        wake.owe(session, NOTIFICATIONS)
    assert _subscribed(store) == ["210540012341"]
    assert woken == [frozenset({NOTIFICATIONS})]


def test_the_orm_step_s_rows_are_rolled_back_with_the_transaction(store: OutboxStore) -> None:
    woken: list[frozenset[str]] = []
    store.wakeups.signal = woken.append  # type: ignore[method-assign,assignment]
    with pytest.raises(RuntimeError, match="step failed"), store.core_transaction() as tx:
        session = orm_of(tx)
        session.add(_subscription("210540012341"))
        session.flush()
        wake.owe(tx, NOTIFICATIONS)
        raise RuntimeError("step failed")
    assert _subscribed(store) == []
    assert woken == []
