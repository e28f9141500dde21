"""The DB-backed Merkle log agrees with the RFC 9162 definition computed from its leaves."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from gateway.storage import trail_log
from gateway.storage.db import make_engine
from gateway.storage.migrate import upgrade
from gateway.storage.models import MessageRow
from gateway.storage.repository import Message, Store
from gateway.trail.merkle import inclusion_proof, leaf_hash, root_of, tree_root, verify_inclusion


def test_stored_subtrees_give_the_rfc_root_and_proofs(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    store = Store(engine, lambda: dt.datetime(2026, 11, 23, tzinfo=dt.UTC))
    # 37 messages: some transactions append one entry, some several.
    for batch in ([1], [2, 3], [4], list(range(5, 20)), list(range(20, 38))):
        with store.transaction() as s:
            for n in batch:
                store._add_message(
                    s, "APP", Message("note", "in", "test", "text/plain", b"m%d" % n)
                )
    with store.transaction() as s:
        entries = [e for (e,) in s.execute(select(MessageRow.entry).order_by(MessageRow.seq))]
        seqs = list(s.scalars(select(MessageRow.seq).order_by(MessageRow.seq)))
        assert seqs == list(range(37))
        leaves = [leaf_hash(e) for e in entries]
        for size in (1, 2, 3, 8, 20, 37):
            expected = root_of(leaves[:size])
            assert trail_log.with_stored_hashes(s, lambda h, n=size: tree_root(n, h)) == expected
            for index in (0, size // 2, size - 1):
                proof = trail_log.with_stored_hashes(
                    s, lambda h, i=index, n=size: inclusion_proof(i, n, h)
                )
                verify_inclusion(leaves[index], index, size, proof, expected)
    engine.dispose()
