"""The integrator holds the leader's lock for its batch's write alone (issue 17: the serial section).

A batch is read and hashed holding nothing, then written holding the lock (PostgreSQL: one
statement that takes the advisory lock itself; SQLite: the write transaction). A batch read
before another integrator's is not written: it is read again, and the log stays contiguous.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from sqlalchemy import select

from gateway.storage import trail_log
from gateway.storage.db import make_engine
from gateway.storage.migrate import upgrade
from gateway.storage.models import MessageRow
from gateway.storage.repository import Message, Store
from gateway.storage.trail import StoredTrail
from gateway.trail.format import TreeHead, entry_bytes, read_entry
from gateway.trail.merkle import leaf_hash, root_of, tree_root
from gateway.trail.ports import StoredCheckpoint

NOW = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)


def _store(database_url: str) -> Store:
    engine = make_engine(database_url)
    upgrade(engine)
    return Store(engine, lambda: NOW)


def _queue(store: Store, count: int, start: int = 0) -> None:
    with store.transaction() as s:
        for n in range(start, start + count):
            store._add_message(s, "APP", Message("note", "in", "test", "text/plain", b"m%d" % n))


def _assert_contiguous(store: Store, count: int) -> None:
    with store.reading() as s:
        rows = s.execute(select(MessageRow.seq, MessageRow.entry).order_by(MessageRow.seq)).all()
        assert [seq for seq, _ in rows] == list(range(count))
        leaves = [leaf_hash(entry) for _, entry in rows]
        assert trail_log.with_stored_hashes(s, lambda h: tree_root(count, h)) == root_of(leaves)


def test_a_batch_read_before_another_integrators_is_read_again(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another integrator sequences between this one's read and its write: the stale batch
    writes nothing (the leaf it would store exists), is read again, and every message gets
    exactly one seq."""
    store = _store(database_url)
    trail, other = StoredTrail(store), StoredTrail(store)
    _queue(store, 5)
    plan = trail_log.plan_batch
    interleaved: list[int] = []

    def plan_then_let_another_in(batch: Any) -> Any:
        planned = plan(batch)
        if not interleaved:  # the first read only: another integrator goes first
            interleaved.append(0)
            interleaved[0] = other.integrate(max_batches=1, batch=2)
        return planned

    monkeypatch.setattr(trail_log, "plan_batch", plan_then_let_another_in)
    _queue(store, 3, start=5)
    assert trail.integrate() == 6  # what the other left: 8 queued, 2 sequenced by it
    assert interleaved == [2]
    _assert_contiguous(store, 8)
    store.engine.dispose()


def test_the_leader_lock_is_free_while_a_batch_is_hashed(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the integrator sequences and hashes its batch, nothing global is held: another
    transaction takes the leader's lock (PostgreSQL) or SQLite's write lock meanwhile."""
    store = _store(database_url)
    trail = StoredTrail(store)
    _queue(store, 4)
    plan = trail_log.plan_batch
    hashing, taken = threading.Event(), threading.Event()

    def slow_plan(batch: Any) -> Any:
        hashing.set()
        assert taken.wait(30), "the lock was not free while the batch was hashed"
        return plan(batch)

    def take_the_lock() -> None:
        assert hashing.wait(30)
        with store.transaction() as s:
            if store.engine.dialect.name == "sqlite":  # a business write: the write lock
                store._add_message(s, "APP", Message("note", "in", "t", "text/plain", b"x"))
            else:
                assert trail_log.take_leadership(s, wait=False)
        taken.set()

    monkeypatch.setattr(trail_log, "plan_batch", slow_plan)
    taker = threading.Thread(target=take_the_lock)
    taker.start()
    done = trail.integrate()
    taker.join(30)
    assert taken.is_set()
    assert trail.integrate() + done == (5 if store.engine.dialect.name == "sqlite" else 4)
    store.engine.dispose()


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "note", "counterpart": "test", "signer": None},
        # Values holding what the splice looks for, escaped as JSON escapes them.
        {"kind": 'a,"sha256":"x', "counterpart": '\\",\\"sha256\\":\\"', "signer": "\\"},
        {"kind": ',"seq":1', "counterpart": "ÄÖ ¿\u2028 \U0001f600", "signer": '"}{'},
        {"kind": "", "counterpart": "", "signer": ""},
    ],
)
def test_a_queued_entry_is_sequenced_as_its_decoded_fields_would_be(fields: dict[str, Any]) -> None:
    """`sequenced` splices the seq into the queued entry's bytes: exactly the entry that
    decoding, adding the seq and encoding again would give (what the auditors' tools read),
    whatever the values hold."""
    queued = trail_log._queued(
        "APP-1",
        Message(
            fields["kind"], "in", fields["counterpart"], "text/plain", b"m", signer=fields["signer"]
        ),
        NOW,
        "2026-11-23T00:00:00.000000Z",
    )["entry"]
    for seq in (0, 7, 10**12):
        spliced = trail_log.sequenced(queued, seq)
        assert spliced == entry_bytes({**read_entry(queued), "seq": seq})
        assert read_entry(spliced)["seq"] == seq


def test_an_entry_not_of_the_queues_shape_is_sequenced_by_decoding() -> None:
    """An entry already carrying a seq (not one the queue holds) gets it replaced, not doubled."""
    entry = entry_bytes({"kind": "note", "seq": 3, "sha256": "ab"})
    assert trail_log.sequenced(entry, 9) == entry_bytes({"kind": "note", "seq": 9, "sha256": "ab"})


def test_a_head_and_checkpoint_stored_first_by_another_process_stand(database_url: str) -> None:
    """Two checkpoint loops sign the same size: the rows stored first stay, and the second
    store returns the head that stands, not its own."""
    store = _store(database_url)
    first, second = StoredTrail(store), StoredTrail(store)
    mine = TreeHead(4, b"r" * 32, "2026-11-23T00:00:00Z", b"first")
    assert first.store_signed(mine, StoredCheckpoint(4, b"r" * 32, "note 1", "t1")) == mine
    theirs = TreeHead(4, b"r" * 32, "2026-11-23T00:00:01Z", b"second")
    assert second.store_signed(theirs, StoredCheckpoint(4, b"r" * 32, "note 2", "t2")) == mine
    assert second.store_signed(theirs, None) == mine
    later = TreeHead(5, b"s" * 32, "2026-11-23T00:00:02Z", b"later")
    assert second.store_signed(later, None) == later  # a head without a checkpoint (no signer)
    with second.reading() as log_:
        assert log_.latest_tree_head() == later
        assert log_.tree_head_at(4) == mine
        assert log_.checkpoint_at(4) == StoredCheckpoint(4, b"r" * 32, "note 1", "t1")
        assert log_.latest_checkpoint() == log_.checkpoint_at(4)
        assert log_.checkpoint_at(5) is None
    store.engine.dispose()
