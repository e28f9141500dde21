"""The queue of guarantee releases on both databases (gateway.storage.guarantee_releases): one
release per guarantee, claimed with a fenced lease; the first answer from customs closes it and
marks the guarantee released, whoever holds the lease; a late failure or answer changes nothing
but the trail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from gateway.billing.releases import release_exchange
from gateway.storage.db import make_engine
from gateway.storage.guarantee_releases import ReleaseStore, queue_withdrawn
from gateway.storage.outbox import OutboxStore
from gateway.storage.payment_models import GuaranteeReleaseRow, GuaranteeRow
from tests.payments.guarantee_rows import store_guarantees
from tests.storage_helpers import lodge

T0 = dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.UTC)
APP = "NSW-REL-Q1"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def queue(database_url: str) -> Iterator[tuple[ReleaseStore, Clock]]:
    engine, clock = make_engine(database_url), Clock()
    lodge(OutboxStore(engine, clock), APP)
    store_guarantees(engine, APP)  # KZ-BG-0001 is the one still securing it
    yield ReleaseStore(engine, clock), clock
    engine.dispose()


def _queued(store: ReleaseStore) -> int:
    with store.transaction() as s:
        return queue_withdrawn(s, APP, store.clock())


def test_a_release_is_queued_once_and_the_first_answer_wins_over_a_stale_lease(
    queue: tuple[ReleaseStore, Clock],
) -> None:
    store, clock = queue
    assert _queued(store) == 1  # only the accepted, undischarged, unreleased guarantee
    assert _queued(store) == 0  # queued already
    assert store.next_due() == T0

    (first,) = store.claim("w1", lease_s=1)
    assert (first.reference, first.reason, first.attempts) == ("KZ-BG-0001", "withdrawn", 1)
    assert store.claim("w2", lease_s=1) == []  # leased
    clock.now += dt.timedelta(seconds=2)  # w1's lease runs out: w2 takes it again
    (second,) = store.claim("w2", lease_s=60)
    assert second.attempts == 2

    exchange = release_exchange(b"<ReleaseGuaranteeRequest/>", b"")
    store.failed(first, "customs: 503", T0 + dt.timedelta(hours=1), exchange)  # stale: fenced
    store.answered(second, True, release_exchange(b"<R/>", b"<Status>released</Status>"))
    store.answered(first, False, release_exchange(b"<R/>", b"<Status>not-reserved</Status>"))

    with store.reading() as s:
        row = s.scalars(select(GuaranteeReleaseRow)).one()
        assert (row.state, row.answer, row.attempts) == ("answered", "released", 2)
        released = s.scalars(
            select(GuaranteeRow.released_at).where(GuaranteeRow.reference == "KZ-BG-0001")
        ).one()
    assert released is not None and released.replace(tzinfo=dt.UTC) == T0 + dt.timedelta(seconds=2)
    assert store.next_due() is None  # done: never claimed again
    kinds = [m.kind for m in store.messages(APP)]
    # Every attempt's exchange is kept, the stale ones too.
    assert kinds.count("guarantee-release") == 3 and kinds.count("guarantee-release-answer") == 2
    assert _queued(store) == 0  # released: nothing left to release


def test_an_unanswered_release_waits_for_its_retry_time(queue: tuple[ReleaseStore, Clock]) -> None:
    store, clock = queue
    _queued(store)
    (claim,) = store.claim("w1", lease_s=60)
    retry_at = T0 + dt.timedelta(seconds=5)
    store.failed(claim, "customs: 503", retry_at, [])
    assert store.next_due() == retry_at
    assert store.claim("w1", lease_s=60) == []
    clock.now = retry_at
    (again,) = store.claim("w1", lease_s=60)
    assert again.attempts == 2
