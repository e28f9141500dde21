"""The append-only Merkle log over every message, kept in the same database.

Appends happen inside the transaction that stores the message, so a message and its log entry commit
together. One sequencer at a time: on PostgreSQL a transaction-scoped advisory lock, on SQLite the
database write lock every write transaction already holds. Proofs read stored subtree hashes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.merkle import leaf_hash, node_hash, perfect_subtrees_completed_by
from gateway.storage.models import MessageRow, TrailNodeRow, TreeHeadRow
from gateway.trail_format import TreeHead, entry_bytes

SEQUENCER_LOCK = 7270002


class DbSubtreeHashes:
    """`gateway.merkle.SubtreeHashes` over the trail_nodes table."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def subtree(self, start: int, end: int) -> bytes:
        width = end - start
        level = width.bit_length() - 1
        found = self.session.get(TrailNodeRow, (level, start >> level))
        if found is None:
            raise LookupError(f"no stored hash for leaves [{start}, {end})")
        return found.hash


def log_size(session: Session) -> int:
    last = session.scalar(select(func.max(MessageRow.seq)))
    return 0 if last is None else int(last) + 1


def append(session: Session, row: MessageRow, fields: dict[str, Any]) -> None:
    """Give `row` the next sequence number, its entry, and write the subtree hashes it completes."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(SEQUENCER_LOCK)))
    seq = log_size(session)
    row.seq = seq
    row.entry = entry_bytes({**fields, "seq": seq})
    session.add(row)
    nodes = perfect_subtrees_completed_by(seq)
    session.add(TrailNodeRow(level=0, idx=seq, hash=leaf_hash(row.entry)))
    session.flush()
    for node in nodes[1:]:
        left = session.get_one(TrailNodeRow, (node.level - 1, 2 * node.index))
        right = session.get_one(TrailNodeRow, (node.level - 1, 2 * node.index + 1))
        session.add(
            TrailNodeRow(level=node.level, idx=node.index, hash=node_hash(left.hash, right.hash))
        )
        session.flush()


def latest_tree_head(session: Session) -> TreeHead | None:
    row = session.scalars(select(TreeHeadRow).order_by(TreeHeadRow.size.desc()).limit(1)).first()
    return None if row is None else TreeHead(row.size, row.root, row.issued_at, row.signature)


def tree_head_at(session: Session, size: int) -> TreeHead | None:
    row = session.get(TreeHeadRow, size)
    return None if row is None else TreeHead(row.size, row.root, row.issued_at, row.signature)
