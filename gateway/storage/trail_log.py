"""The append-only Merkle log over every message, kept in the same database.

Appends happen inside the transaction that stores the message, so a message and its log entry commit
together. One sequencer at a time: on PostgreSQL a transaction-scoped advisory lock, on SQLite the
database write lock every write transaction already holds. Proofs read stored subtree hashes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from gateway.merkle import (
    HASH_SIZE,
    SubtreeHashes,
    leaf_hash,
    node_hash,
    perfect_subtrees_completed_by,
)
from gateway.storage.models import CheckpointRow, MessageRow, TrailNodeRow, TreeHeadRow
from gateway.trail_format import TreeHead, entry_bytes

SEQUENCER_LOCK = 7270002
T = TypeVar("T")


class DbSubtreeHashes:
    """`gateway.merkle.SubtreeHashes` over the trail_nodes table, with an optional prefetch."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._cache: dict[tuple[int, int], bytes] = {}

    @staticmethod
    def _key(start: int, end: int) -> tuple[int, int]:
        level = (end - start).bit_length() - 1
        return level, start >> level

    def load(self, ranges: list[tuple[int, int]]) -> None:
        """Fetch the hashes of these ranges in one query."""
        keys = sorted({self._key(start, end) for start, end in ranges})
        for chunk in range(0, len(keys), 500):
            part = keys[chunk : chunk + 500]
            rows = self.session.execute(
                select(TrailNodeRow.level, TrailNodeRow.idx, TrailNodeRow.hash).where(
                    tuple_(TrailNodeRow.level, TrailNodeRow.idx).in_(part)
                )
            )
            self._cache.update({(level, idx): digest for level, idx, digest in rows})

    def subtree(self, start: int, end: int) -> bytes:
        key = self._key(start, end)
        if key not in self._cache:
            found = self.session.get(TrailNodeRow, key)
            if found is None:
                raise LookupError(f"no stored hash for leaves [{start}, {end})")
            self._cache[key] = found.hash
        return self._cache[key]


class _Recorder:
    """A stand-in store that notes which subtrees a computation asks for."""

    def __init__(self) -> None:
        self.ranges: list[tuple[int, int]] = []

    def subtree(self, start: int, end: int) -> bytes:
        self.ranges.append((start, end))
        return bytes(HASH_SIZE)


def with_stored_hashes(session: Session, compute: Callable[[SubtreeHashes], T]) -> T:
    """Run a root or proof computation against the stored hashes in one round trip: which
    subtrees a proof needs depends only on the sizes, so a dry run names them all first."""
    recorder = _Recorder()
    compute(recorder)
    store = DbSubtreeHashes(session)
    store.load(recorder.ranges)
    return compute(store)


def log_size(session: Session) -> int:
    last = session.scalar(select(func.max(MessageRow.seq)))
    return 0 if last is None else int(last) + 1


def append(session: Session, row: MessageRow, fields: dict[str, Any]) -> None:
    """Give `row` the next sequence number, its entry, and write the subtree hashes it completes.

    Appending leaf `seq` completes a chain of perfect subtrees (RFC 9162 §2.1.1): each one's right
    child is the one just computed, its left child was stored earlier — fetched in one query."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(SEQUENCER_LOCK)))
    seq = log_size(session)
    row.seq = seq
    row.entry = entry_bytes({**fields, "seq": seq})
    session.add(row)
    completed = perfect_subtrees_completed_by(seq)[1:]
    lefts: dict[int, bytes] = {}
    if completed:
        wanted = [(n.level - 1, 2 * n.index) for n in completed]
        for level, digest in session.execute(
            select(TrailNodeRow.level, TrailNodeRow.hash).where(
                tuple_(TrailNodeRow.level, TrailNodeRow.idx).in_(wanted)
            )
        ):
            lefts[level] = digest
    current = leaf_hash(row.entry)
    session.add(TrailNodeRow(level=0, idx=seq, hash=current))
    for node in completed:
        current = node_hash(lefts[node.level - 1], current)
        session.add(TrailNodeRow(level=node.level, idx=node.index, hash=current))
    session.flush()


def latest_tree_head(session: Session) -> TreeHead | None:
    row = session.scalars(select(TreeHeadRow).order_by(TreeHeadRow.size.desc()).limit(1)).first()
    return None if row is None else TreeHead(row.size, row.root, row.issued_at, row.signature)


def tree_head_at(session: Session, size: int) -> TreeHead | None:
    row = session.get(TreeHeadRow, size)
    return None if row is None else TreeHead(row.size, row.root, row.issued_at, row.signature)


def entries_between(session: Session, start: int, end: int) -> list[bytes]:
    """The leaf inputs of entries [start, end), in order (an entry bundle's contents)."""
    rows = session.execute(
        select(MessageRow.seq, MessageRow.entry)
        .where(MessageRow.seq >= start, MessageRow.seq < end)
        .order_by(MessageRow.seq)
    ).all()
    if [seq for seq, _ in rows] != list(range(start, end)):
        raise LookupError(f"entries {start}..{end - 1} are not all stored")
    return [entry for _, entry in rows]


def latest_checkpoint(session: Session) -> CheckpointRow | None:
    return session.scalars(
        select(CheckpointRow).order_by(CheckpointRow.size.desc()).limit(1)
    ).first()


def checkpoint_at(session: Session, size: int) -> CheckpointRow | None:
    return session.get(CheckpointRow, size)
