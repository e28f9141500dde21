"""The DB-backed Merkle log agrees with the RFC 9162 definition computed from its leaves, and the
integrator (gateway/storage/trail_log.py) sequences the queue contiguously, in insertion order,
whoever integrates and however the work is split into batches."""

from __future__ import annotations

import datetime as dt
import threading
from functools import partial

import pytest
from sqlalchemy import select, text

from gateway.fanout.wakeup import TRAIL, Wakeups
from gateway.pki.dev import DevPki
from gateway.storage import trail_log
from gateway.storage.db import is_postgres, make_engine
from gateway.storage.migrate import upgrade
from gateway.storage.models import MessageRow
from gateway.storage.repository import Message, Store
from gateway.storage.trail import StoredTrail
from gateway.storage.wake import PgListener
from gateway.trail.audit import Auditor, NotIntegrated
from gateway.trail.format import read_entry
from gateway.trail.merkle import inclusion_proof, leaf_hash, root_of, tree_root, verify_inclusion
from gateway.trust.xmlsig import SigningIdentity
from tests.sql_statements import raw_recorded, statements


def _store(database_url: str) -> Store:
    engine = make_engine(database_url)
    upgrade(engine)
    return Store(engine, lambda: dt.datetime(2026, 11, 23, tzinfo=dt.UTC))


def _note(n: int) -> Message:
    return Message("note", "in", "test", "text/plain", b"m%d" % n)


def test_stored_subtrees_give_the_rfc_root_and_proofs(database_url: str) -> None:
    store = _store(database_url)
    trail = StoredTrail(store)
    # 37 messages: some transactions append one entry, some several; integrated in batches
    # that start and end anywhere in the tree (1, 2, 3 and 1000 at a time).
    for batch, integrate_by in (
        ([1], 1),
        ([2, 3], 1),
        ([4], 2),
        (list(range(5, 20)), 3),
        (list(range(20, 38)), 1000),
    ):
        with store.transaction() as s:
            for n in batch:
                store._add_message(s, "APP", _note(n))
        assert trail.integrate(batch=integrate_by) == len(batch)
    with store.transaction() as s:
        rows = s.execute(
            select(MessageRow.seq, MessageRow.entry, MessageRow.body).order_by(MessageRow.seq)
        ).all()
        assert [seq for seq, _, _ in rows] == list(range(37))
        # Insertion order is log order; each entry names its own seq.
        assert [body for _, _, body in rows] == [b"m%d" % n for n in range(1, 38)]
        assert [read_entry(entry)["seq"] for _, entry, _ in rows] == list(range(37))
        leaves = [leaf_hash(entry) for _, entry, _ in rows]
        for size in (1, 2, 3, 8, 20, 37):
            expected = root_of(leaves[:size])
            assert trail_log.with_stored_hashes(s, partial(tree_root, size)) == expected
            for index in (0, size // 2, size - 1):
                proof = trail_log.with_stored_hashes(s, partial(inclusion_proof, index, size))
                verify_inclusion(leaves[index], index, size, proof, expected)
    store.engine.dispose()


def test_an_append_is_queued_until_integrated(database_url: str) -> None:
    store = _store(database_url)
    trail = StoredTrail(store)
    with trail.writing() as log_:
        message_id = log_.append("APP", _note(1))
    with trail.reading() as log_:
        assert log_.seq_of(message_id) is None
        assert log_.log_size() == 0
        (queued,) = log_.entries_of("APP")
        assert queued.seq is None and "seq" not in read_entry(queued.entry)
    assert trail.integrate() == 1
    assert trail.integrate() == 0  # nothing is integrated twice
    with trail.reading() as log_:
        assert log_.seq_of(message_id) == 0
        assert log_.log_size() == 1
    store.engine.dispose()


def test_appends_join_the_queue_in_the_order_they_were_made(database_url: str) -> None:
    # An ORM append still pending in the session goes before a later batch of appends, which
    # is written on the session's connection (the queue's order is the trail's order).
    store = _store(database_url)
    with store.transaction() as s:
        trail_log.queue_message(s, "APP", _note(1), store.clock)  # pending, not flushed
        trail_log.append_messages(s, "APP", [_note(2), _note(3)], store.clock)
        trail_log.append_message(s, "APP", _note(4), store.clock)
    assert StoredTrail(store).integrate() == 4
    with store.reading() as s:
        bodies = s.scalars(select(MessageRow.body).order_by(MessageRow.seq)).all()
    assert bodies == [b"m1", b"m2", b"m3", b"m4"]
    store.engine.dispose()


def test_concurrent_writers_and_integrators_give_a_contiguous_log(database_url: str) -> None:
    """Four writer threads and two integrator threads at once (two processes' loops): every
    message gets exactly one seq, the seqs are 0..n-1, and the stored tree is the RFC one."""
    store = _store(database_url)
    trail = StoredTrail(store)
    writers_done = threading.Event()
    failures: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for n in range(25):
                with store.transaction() as s:
                    store._add_message(s, f"APP-{worker}", _note(worker * 100 + n))
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    def integrate(wait: bool) -> None:
        try:
            while not writers_done.is_set():
                trail.integrate(wait=wait, batch=7)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    writers = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    integrators = [threading.Thread(target=integrate, args=(w,)) for w in (True, False)]
    for t in (*writers, *integrators):
        t.start()
    for t in writers:
        t.join(120)
    writers_done.set()
    for t in integrators:
        t.join(120)
    assert not failures, failures
    trail.integrate()
    with store.reading() as s:
        rows = s.execute(select(MessageRow.seq, MessageRow.entry).order_by(MessageRow.seq)).all()
        assert [seq for seq, _ in rows] == list(range(100))
        leaves = [leaf_hash(entry) for _, entry in rows]
        assert trail_log.with_stored_hashes(s, lambda h: tree_root(100, h)) == root_of(leaves)
    store.engine.dispose()


def test_a_business_write_waits_for_no_integrator(database_url: str) -> None:
    """The serial section is off the business path: while an integrator holds the leader's lock
    (here, an open transaction that took it), another transaction appends and commits."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serialises every writer by its write lock anyway")
    store = _store(database_url)
    with store.transaction() as leader:
        assert trail_log.take_leadership(leader, wait=False)
        done = threading.Event()

        def append() -> None:
            with store.transaction() as s:
                s.execute(text("SET LOCAL lock_timeout = '5s'"))
                store._add_message(s, "APP", _note(1))
            done.set()

        writer = threading.Thread(target=append)
        writer.start()
        writer.join(30)
        assert done.is_set()  # committed while the leader's lock was held
        with store.transaction() as other:  # and no second integrator runs meanwhile
            assert not trail_log.take_leadership(other, wait=False)
    store.engine.dispose()


class _StalledTrail(StoredTrail):
    """A trail whose integrator never gets to run (its leader stalled, say)."""

    def integrate(self, wait: bool = True, max_batches: int | None = None, batch: int = 0) -> int:
        return 0


def test_a_bundle_of_queued_messages_says_so_and_entries_show_no_seq(
    database_url: str, pki: DevPki
) -> None:
    store = _store(database_url)
    identity = SigningIdentity.from_files(pki.key_path("gateway"), pki.cert_path("gateway"))
    auditor = Auditor(
        _StalledTrail(store), identity, lambda: dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
    )
    with store.transaction() as s:
        store._add_message(s, "APP", _note(1))
    (queued,) = auditor.entries("APP")
    assert queued.seq is None
    with pytest.raises(NotIntegrated, match="still waiting for their place"):
        auditor.bundle("APP")
    store.engine.dispose()


def test_a_postgresql_batch_is_a_read_and_one_locked_write_and_wakes_other_processes(
    database_url: str,
) -> None:
    store = _store(database_url)
    if not is_postgres(store.engine):
        store.engine.dispose()
        pytest.skip("SQLite's batch runs in-process: no round trips to save")
    trail = StoredTrail(store)
    # Another process: its own engine and wake-ups, woken only by NOTIFY.
    other_engine = make_engine(store.engine.url.render_as_string(hide_password=False))
    heard = Wakeups()
    listener = PgListener(other_engine, heard, max_backoff_s=0.2)
    listener.start()
    try:
        assert listener.connected.wait(10)
        seen = heard[TRAIL].seen()
        with store.transaction() as s:
            for n in range(5):
                store._add_message(s, "APP", _note(n))
        assert heard[TRAIL].wait(seen, 10)  # the appends' own NOTIFY
        seen = heard[TRAIL].seen()
        with statements(store.engine) as through_sqlalchemy, raw_recorded(trail) as raw:
            assert trail.integrate() == 5
        sent = [sql for sql, _ in raw]
        # No transaction around it (autocommit): one read holding nothing (size, queue,
        # frontier), then the serial section in one statement: the lock, the seqs, entries and
        # nodes, and pg_notify, released at its own commit.
        assert through_sqlalchemy == []
        assert len(sent) == 2, sent
        assert "lock" not in sent[0]
        assert "pg_advisory_xact_lock" in sent[1]
        assert "pg_notify" in sent[1]
        assert heard[TRAIL].wait(seen, 10)  # the checkpoint signers elsewhere are woken
    finally:
        listener.stop()
        other_engine.dispose()
        store.engine.dispose()


def test_the_loop_signs_no_checkpoint_for_an_empty_log(database_url: str, pki: DevPki) -> None:
    """A new gateway's first signed head is never size 0: no consistency proof starts there, so
    an auditor who saw it first could check nothing later (the audit API's consistency proof
    from size 0 is a `bad-proof-request`)."""
    store = _store(database_url)
    identity = SigningIdentity.from_files(pki.key_path("gateway"), pki.cert_path("gateway"))
    auditor = Auditor(
        StoredTrail(store), identity, lambda: dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
    )
    assert auditor.sign_checkpoint() is None
    with store.transaction() as s:
        store._add_message(s, "APP", _note(1))
    auditor.integrate()
    head = auditor.sign_checkpoint()
    assert head is not None and head.size == 1
    assert auditor.latest_tree_head().size == 1  # the first head there is
    store.engine.dispose()
