"""Proofs stay O(log n) on both databases and never queue behind a writer (issue 17, items 5-6).

The stored-hash look-ups must be primary-key searches (checked on the plans of the statements the
real append and proof paths send); proofs and bundles read in a read-only session, so SQLite's
write lock held by an append does not stall them; a bundle fetches all its proof nodes at once.
"""

from __future__ import annotations

import base64
import datetime as dt
import threading
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, select

from gateway.pki.dev import DevPki
from gateway.storage import trail_log
from gateway.storage.db import make_engine
from gateway.storage.migrate import upgrade
from gateway.storage.models import MessageRow
from gateway.storage.repository import Store
from gateway.storage.trail import StoredTrail
from gateway.trail.audit import Auditor, BadProofRequest
from gateway.trail.merkle import leaf_hash, root_of, verify_consistency, verify_inclusion
from gateway.trail.messages import Message
from gateway.trail.note import Ed25519Signer
from gateway.trail.signer import LogSigner
from gateway.trail.tiles import TileId
from gateway.trust.xmlsig import SigningIdentity
from tests.polling import wait_until
from tests.sql_statements import raw_recorded, recorded

NOW = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)


def _auditor(database_url: str, pki: DevPki, entries: int) -> Auditor:
    """An Auditor over a fresh log of `entries` messages: application APP-1 every third entry."""
    engine = make_engine(database_url)
    upgrade(engine)
    store = Store(engine, lambda: NOW)
    with store.transaction() as s:
        for n in range(entries):
            application = "APP-1" if n % 3 == 1 else "APP-0"
            store._add_message(
                s, application, Message("note", "in", "test", "text/plain", b"m%d" % n)
            )
    identity = SigningIdentity.from_files(pki.key_path("gateway"), pki.cert_path("gateway"))
    auditor = Auditor(StoredTrail(store), identity, lambda: NOW)
    auditor.integrate()  # what the integrator loop does once the appends commit
    return auditor


def _store(auditor: Auditor) -> Store:
    trail = auditor.trail
    assert isinstance(trail, StoredTrail)
    return trail.store


def _leaves(auditor: Auditor) -> list[bytes]:
    with _store(auditor).reading() as s:
        return [leaf_hash(e) for e in s.scalars(select(MessageRow.entry).order_by(MessageRow.seq))]


def _node_statements(engine: Engine) -> AbstractContextManager[list[tuple[str, Any]]]:
    """Every statement (with its parameters) sent to the database that reads trail_nodes
    (PostgreSQL's integrator reads them in its one read, `trail_batch_pg`)."""
    return recorded(engine, _reads_nodes)


def _reads_nodes(sql: str) -> bool:
    return sql.lstrip().upper().startswith(("SELECT", "WITH")) and (
        "FROM trail_nodes" in sql or "JOIN trail_nodes" in sql
    )


class _RecordingCursor:
    """A DB-API cursor that notes what the proof path sends on it (it bypasses SQLAlchemy)."""

    def __init__(self, cursor: Any, seen: list[tuple[str, Any]]) -> None:
        self.cursor, self.seen = cursor, seen

    def execute(self, sql: str, parameters: Any) -> Any:
        self.seen.append((sql, parameters))
        return self.cursor.execute(sql, parameters)

    def fetchall(self) -> Any:
        return self.cursor.fetchall()


def _plan(engine: Engine, statement: str, parameters: Any) -> str:
    with engine.connect() as c:
        if engine.dialect.name == "sqlite":
            rows = c.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            return "\n".join(str(row[-1]) for row in rows)
        # A tiny table is cheaper to scan, so PostgreSQL would rightly scan it here; with scans
        # priced out the plan shows whether the form *can* use the primary key at all.
        c.exec_driver_sql("SET LOCAL enable_seqscan = off")
        return "\n".join(
            str(row[0]) for row in c.exec_driver_sql("EXPLAIN " + statement, parameters)
        )


def test_node_lookups_of_appends_and_proofs_search_the_primary_key(
    database_url: str, pki: DevPki, monkeypatch: pytest.MonkeyPatch
) -> None:
    auditor = _auditor(database_url, pki, 23)
    engine = _store(auditor).engine
    proof_statements: list[tuple[str, Any]] = []
    read = trail_log.read_nodes_raw
    monkeypatch.setattr(
        trail_log,
        "read_nodes_raw",
        lambda cursor, dialect, keys: read(
            _RecordingCursor(cursor, proof_statements), dialect, keys
        ),
    )
    trail = auditor.trail
    assert isinstance(trail, StoredTrail)
    with _node_statements(engine) as statements, raw_recorded(trail) as raw:
        with _store(auditor).transaction() as s:  # queued: no node read in the business write
            _store(auditor)._add_message(s, "APP-2", Message("note", "in", "t", "text/plain", b"x"))
        auditor.integrate()  # seq 23 completes [16, 24): reads the left children, in one query
        inclusion = auditor.inclusion(5, 24)
        consistency = auditor.consistency(7, 24)
    # The integrator's, on its autocommit cursor (its one read takes the queue from messages
    # too; the proofs' are counted below).
    statements += [(sql, p) for sql, p in raw if _reads_nodes(sql) and "messages" in sql]
    assert len(statements) == 1
    assert len(proof_statements) == 2  # one statement per proof, size check included
    leaves = _leaves(auditor)
    verify_inclusion(leaves[5], 5, 24, inclusion, root_of(leaves))
    verify_consistency(7, 24, root_of(leaves[:7]), root_of(leaves), consistency)
    for statement, parameters in statements + proof_statements:
        plan = _plan(engine, statement, parameters)
        if engine.dialect.name == "sqlite":
            # Row-value IN was planned as "SCAN trail_nodes": O(n) per proof and per append.
            assert "SCAN trail_nodes" not in plan, plan
            assert "SEARCH trail_nodes USING INDEX sqlite_autoindex_trail_nodes_1" in plan, plan
        else:
            assert "Seq Scan" not in plan, plan
            assert "trail_nodes_pkey" in plan, plan
    engine.dispose()


def test_proofs_and_entries_do_not_wait_for_a_writer(database_url: str, pki: DevPki) -> None:
    auditor = _auditor(database_url, pki, 20)
    leaves = _leaves(auditor)
    writer_holds, release = threading.Event(), threading.Event()

    def long_writer() -> None:
        with _store(auditor).transaction() as s:  # BEGIN IMMEDIATE on SQLite: the write lock, held
            s.connection().exec_driver_sql("SELECT 1")
            writer_holds.set()
            release.wait(30)

    results: dict[str, Any] = {}

    def prover() -> None:
        results["inclusion"] = auditor.inclusion(3, 20)
        results["consistency"] = auditor.consistency(5, 20)
        results["entries"] = [row.seq for row in auditor.entries("APP-1")]

    writer = threading.Thread(target=long_writer)
    writer.start()
    proving = threading.Thread(target=prover)
    try:
        assert writer_holds.wait(10)
        proving.start()
        wait_until(
            lambda: len(results) == 3, deadline_s=10, what="proofs done while a writer waits"
        )
    finally:
        release.set()
        writer.join(10)
        if proving.ident is not None:
            proving.join(10)
        _store(auditor).engine.dispose()
    verify_inclusion(leaves[3], 3, 20, results["inclusion"], root_of(leaves))
    verify_consistency(5, 20, root_of(leaves[:5]), root_of(leaves), results["consistency"])
    assert results["entries"] == list(range(1, 20, 3))


def test_checkpoints_tiles_and_tree_heads_do_not_wait_for_a_writer(
    database_url: str, pki: DevPki, tmp_path: Path
) -> None:
    auditor = _auditor(database_url, pki, 20)
    auditor.log_signer = LogSigner(
        Ed25519Signer("nsw.example/log", Ed25519PrivateKey.generate()),
        tmp_path / "log-signer.json",
        lambda: NOW,
    )
    head = auditor.issue_tree_head()  # a head and a checkpoint of size 20, before the writer
    leaves = _leaves(auditor)
    writer_holds, release = threading.Event(), threading.Event()

    def long_writer() -> None:
        with _store(auditor).transaction() as s:  # BEGIN IMMEDIATE on SQLite: the write lock, held
            s.connection().exec_driver_sql("SELECT 1")
            writer_holds.set()
            release.wait(30)

    results: dict[str, Any] = {}

    def reader() -> None:
        results["note"] = auditor.checkpoint_note()
        results["tile"] = auditor.tile(TileId(0, 0, 20))
        results["latest"] = auditor.latest_tree_head()
        results["head"] = auditor.tree_head(20)

    writer = threading.Thread(target=long_writer)
    writer.start()
    reading = threading.Thread(target=reader)
    try:
        assert writer_holds.wait(10)
        reading.start()
        wait_until(
            lambda: len(results) == 4, deadline_s=10, what="log reads done while a writer waits"
        )
    finally:
        release.set()
        writer.join(10)
        if reading.ident is not None:
            reading.join(10)
        _store(auditor).engine.dispose()
    assert results["note"].startswith("nsw.example/log\n20\n")
    assert results["tile"] == b"".join(leaves)
    assert results["latest"] == head == results["head"]


def test_a_bundle_fetches_all_its_proof_nodes_in_one_query(database_url: str, pki: DevPki) -> None:
    auditor = _auditor(database_url, pki, 40)
    leaves = _leaves(auditor)
    auditor.issue_tree_head()  # signed ahead, so the bundle's own head costs no node look-up
    with _node_statements(_store(auditor).engine) as statements:
        bundle = auditor.bundle("APP-1")
    assert len(statements) == 1  # 13 entries, ~6 nodes each: one per node before
    entries = bundle["entries"]
    assert [e["seq"] for e in entries] == list(range(1, 40, 3))
    for e in entries:
        proof = [bytes.fromhex(p) for p in e["inclusion_proof"]]
        leaf = leaf_hash(base64.b64decode(e["entry"]))
        verify_inclusion(leaf, e["seq"], 40, proof, root_of(leaves))
    _store(auditor).engine.dispose()


@pytest.mark.parametrize(
    ("proof", "first", "second"),
    [
        # Leaf 20 of a log of 20 is not there, though every hash of its path is: the size check
        # must not rest on the path's hashes alone.
        ("inclusion", 20, 21),
        ("inclusion", 3, 21),
        ("inclusion", 20, 20),
        ("inclusion", -1, 5),
        ("consistency", 5, 21),
        ("consistency", 0, 5),
        ("consistency", 7, 6),
    ],
)
def test_a_proof_outside_the_log_is_a_bad_request(
    database_url: str, pki: DevPki, proof: str, first: int, second: int
) -> None:
    auditor = _auditor(database_url, pki, 20)
    try:
        with pytest.raises(BadProofRequest):
            getattr(auditor, proof)(first, second)
        leaves = _leaves(auditor)  # and the whole log still proves
        verify_inclusion(leaves[19], 19, 20, auditor.inclusion(19, 20), root_of(leaves))
        verify_consistency(
            19, 20, root_of(leaves[:19]), root_of(leaves), auditor.consistency(19, 20)
        )
    finally:
        _store(auditor).engine.dispose()
