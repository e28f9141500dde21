"""Fenced leases: a worker whose lease expired and whose row another worker claimed meanwhile
writes nothing. Its late settle, reschedule or defer (and a notifier's late delivered or failed)
is a no-op, counted in /metrics, and the live claim is left exactly as it was."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from adapters.base import AgencyCallFailed, AgencyRequest, AgencySpec
from gateway.decision.ports import DecisionSubject
from gateway.decision.rules import CaseResult, CaseState
from gateway.fanout.breakers import BreakerRule, Breakers, MemoryBreakerStore
from gateway.fanout.dispatch import Dispatcher, RetryPolicy
from gateway.storage.db import make_engine
from gateway.storage.migrate import upgrade
from gateway.storage.models import ApplicationRow, CaseRow, NotificationRow, OutboxRow
from gateway.storage.notifications import PENDING, NotificationStore
from gateway.storage.outbox import OutboxStore
from gateway.storage.repository import FencedWrites, sha256_hex, utc
from tests.omc.conftest import METRICS_TOKEN, OMC
from tests.storage_helpers import lodge

APP_ID = "NSW-20261207-FENCE00001"
DECISION = b"<Decision>released</Decision>"


class MovableClock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 12, 7, 1, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def no_decision(_app: DecisionSubject, _results: list[CaseResult]) -> None:
    return None


@pytest.fixture
def stores(database_url: str) -> Iterator[tuple[OutboxStore, NotificationStore, MovableClock]]:
    engine = make_engine(database_url)
    upgrade(engine)
    clock, fenced = MovableClock(), FencedWrites()
    yield OutboxStore(engine, clock, fenced), NotificationStore(engine, clock, fenced), clock
    engine.dispose()


def outbox_row(store: OutboxStore) -> tuple[str | None, dt.datetime | None, int, object, int]:
    with store.reading() as s:
        row = s.query(OutboxRow).one()
        return row.claimed_by, utc(row.lease_until), row.lease_generation, row.done_at, row.attempts


def test_a_late_workers_settle_reschedule_and_defer_change_nothing(
    stores: tuple[OutboxStore, NotificationStore, MovableClock],
) -> None:
    store, _notifications, clock = stores
    lodge(store, APP_ID)
    (late,) = store.claim("worker-a", lease_s=10)
    clock.advance(11)  # worker-a's lease expires while its call is still in flight
    (live,) = store.claim("worker-b", lease_s=10)
    assert (late.outbox_id, late.generation + 1) == (live.outbox_id, live.generation)
    held = outbox_row(store)
    assert held[:3] == ("worker-b", clock.now + dt.timedelta(seconds=10), live.generation)

    verdict = store.settle(
        late, state=CaseState.GRANTED, fields={"permit_number": "LATE-1"}, messages=[],
        decide=no_decision,
    )  # fmt: skip
    store.reschedule(late, error="timed out", retry_at=None, messages=[])
    store.defer(late, clock.now + dt.timedelta(seconds=30))

    assert verdict is None
    assert outbox_row(store) == held  # worker-b's lease is intact: nobody else will send it
    with store.reading() as s:
        case = s.get_one(CaseRow, late.case_id)
        assert (case.state, case.permit_number, case.last_error) == ("queued", None, None)
    assert store.fenced.counts() == {"outbox-settle": 1, "outbox-reschedule": 1, "outbox-defer": 1}

    # The live claim's own write goes through.
    store.settle(
        live, state=CaseState.GRANTED, fields={"permit_number": "P-1"}, messages=[],
        decide=no_decision,
    )  # fmt: skip
    claimed_by, lease_until, _gen, done_at, _attempts = outbox_row(store)
    assert (claimed_by, lease_until) == ("worker-b", None) and done_at is not None
    with store.reading() as s:
        assert s.get_one(CaseRow, live.case_id).permit_number == "P-1"


def test_a_late_notifiers_delivered_and_failed_change_nothing(
    stores: tuple[OutboxStore, NotificationStore, MovableClock],
) -> None:
    store, notifications, clock = stores
    lodge(store, APP_ID)
    with store.transaction() as s:
        s.get_one(ApplicationRow, APP_ID).decision_xml = DECISION
        s.add(
            NotificationRow(
                application_id=APP_ID, bin="210540012341", url="https://trader.example/n",
                verdict="released", decision_sha256=sha256_hex(DECISION), state=PENDING,
                created_at=clock.now, available_at=clock.now, attempts=0,
            )
        )  # fmt: skip
    (late,) = notifications.claim("notifier-a", lease_s=10)
    clock.advance(11)
    (live,) = notifications.claim("notifier-b", lease_s=10)
    assert live.generation == late.generation + 1

    notifications.delivered(late, 200, {"outcome": "delivered"})
    notifications.failed(late, error="late", status=None, retry_at=None, record={})

    with store.reading() as s:
        row = s.query(NotificationRow).one()
        assert (row.state, row.claimed_by, row.done_at, row.last_error) == (
            PENDING, "notifier-b", None, None,
        )  # fmt: skip
        assert row.lease_until is not None
    assert notifications.fenced.counts() == {
        "notification-delivered": 1,
        "notification-failed": 1,
    }
    notifications.delivered(live, 200, {"outcome": "delivered"})
    with store.reading() as s:
        assert s.query(NotificationRow).one().state == "delivered"


def test_fenced_writes_are_counted_in_metrics(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(**OMC)
    store: OutboxStore = app.extensions["nsw"].store
    lodge(store, APP_ID)
    (late,) = store.claim("worker-a", lease_s=-1)  # expired as soon as it is taken
    store.claim("worker-b", lease_s=60)
    store.reschedule(late, error="timed out", retry_at=None, messages=[])
    scraped = app.test_client().get(
        "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    assert 'nsw_fenced_writes_total{kind="outbox-reschedule"} 1.0' in scraped.get_data(as_text=True)


class SlowFailingAgency:
    """An agency whose every call takes 8 s of the test's clock and fails (retryable)."""

    def __init__(self, clock: MovableClock) -> None:
        self.clock = clock
        self.calls: list[str] = []
        self.spec = AgencySpec(
            "customs", "Customs", "soap", "http://127.0.0.1:9", Path("."), Path("."), timeout_s=5
        )

    def send(self, request: AgencyRequest) -> None:
        self.calls.append(request.case_id)
        self.clock.advance(8)
        raise AgencyCallFailed("the agency did not answer in time")


def test_a_claim_whose_lease_cannot_cover_a_call_is_put_back_not_sent(
    stores: tuple[OutboxStore, NotificationStore, MovableClock],
) -> None:
    # A dispatcher's claims now go out at once (an application's cases in parallel), so a batch
    # no longer eats the lease of its later claims; what stays is the check before each call.
    store, _notifications, clock = stores
    lodge(store, "NSW-20261207-FENCE00002")
    lodge(store, "NSW-20261207-FENCE00003")
    agency = SlowFailingAgency(clock)
    dispatcher = Dispatcher(
        store, {"customs": agency}, no_decision, clock,  # type: ignore[dict-item]
        retry=RetryPolicy(), lease_s=4, deadline_s=3600, name="worker-a",
        breakers=Breakers(MemoryBreakerStore(), BreakerRule(5, 30, 10), clock),
    )  # fmt: skip

    assert dispatcher.run_once(batch=2) == 2
    # A call may take 5 s and the lease is 4: neither is sent, both are put back for the next
    # turn without spending an attempt.
    assert agency.calls == []
    with store.reading() as s:
        rows = s.scalars(select(OutboxRow).order_by(OutboxRow.id)).all()
        assert [(r.lease_until, r.attempts, r.done_at) for r in rows] == [(None, 0, None)] * 2
