"""The append-only Merkle log over every message, kept in the same database.

Appends happen inside the transaction that stores the message, so a message and its log entry commit
together. One sequencer at a time: on PostgreSQL a transaction-scoped advisory lock, on SQLite the
database write lock every write transaction already holds. Proofs read stored subtree hashes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from itertools import groupby
from typing import Any, TypeVar

from sqlalchemy import Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from gateway.clock import Clock
from gateway.fanout.wakeup import TRAIL
from gateway.storage import wake
from gateway.storage.models import CheckpointRow, MessageRow, TrailNodeRow, TreeHeadRow
from gateway.trail.format import TreeHead, entry_bytes, precise
from gateway.trail.merkle import (
    HASH_SIZE,
    SubtreeHashes,
    leaf_hash,
    node_hash,
    perfect_subtrees_completed_by,
)
from gateway.trail.messages import Message, sha256_hex

SEQUENCER_LOCK = 7270002
LOOKUP_CHUNK = 400  # keys per query: well under SQLite's bound-parameter limit
T = TypeVar("T")


@cache
def nodes_query(terms: int) -> Select[int, int, bytes]:
    """The stored hashes of `terms` levels' keys, as primary-key look-ups on both databases:
    parameters `level<k>` (an int) and `idx<k>` (a list) for k < terms.

    Written as `level = ? AND idx IN (...)` per level, OR-ed: SQLite runs each term as a search of
    the primary key (MULTI-INDEX OR) and PostgreSQL as index scans of it (BitmapOr). The row-value
    form `(level, idx) IN (...)` made SQLite scan the whole table, so every proof and every append
    cost O(n) (tests/integration/test_trail_lookups.py checks the plans). One statement per
    number of levels, built once: building the expression per proof cost more than the look-ups."""
    nodes = TrailNodeRow.__table__.c
    per_level = [
        and_(
            nodes.level == bindparam(f"level{k}"),
            nodes.idx.in_(bindparam(f"idx{k}", expanding=True)),
        )
        for k in range(terms)
    ]
    return select(nodes.level, nodes.idx, nodes.hash).where(or_(*per_level))


def fetch_nodes(session: Session, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """{(level, idx): hash} of the stored keys among these; one query per `LOOKUP_CHUNK` keys."""
    ordered = sorted(set(keys))
    found: dict[tuple[int, int], bytes] = {}
    for chunk in range(0, len(ordered), LOOKUP_CHUNK):
        params: dict[str, Any] = {}
        for k, (level, group) in enumerate(
            groupby(ordered[chunk : chunk + LOOKUP_CHUNK], key=lambda key: key[0])
        ):
            params[f"level{k}"], params[f"idx{k}"] = level, [idx for _, idx in group]
        rows = session.execute(nodes_query(len(params) // 2), params)
        found.update({(level, idx): digest for level, idx, digest in rows})
    return found


class DbSubtreeHashes:
    """`gateway.trail.merkle.SubtreeHashes` over the trail_nodes table, with an optional prefetch."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._cache: dict[tuple[int, int], bytes] = {}

    @staticmethod
    def _key(start: int, end: int) -> tuple[int, int]:
        level = (end - start).bit_length() - 1
        return level, start >> level

    def load(self, ranges: list[tuple[int, int]]) -> None:
        """Fetch the hashes of these ranges in one query (per `LOOKUP_CHUNK` distinct ones)."""
        self._cache.update(fetch_nodes(self.session, (self._key(s, e) for s, e in ranges)))

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


def prefetched(
    session: Session, computations: Iterable[Callable[[SubtreeHashes], object]]
) -> DbSubtreeHashes:
    """Stored hashes holding every subtree these root or proof computations ask for, fetched in
    one round trip: which subtrees a proof needs depends only on the sizes, so a dry run of each
    names them all first (an evidence bundle proves all its entries from one fetch)."""
    recorder = _Recorder()
    for compute in computations:
        compute(recorder)
    store = DbSubtreeHashes(session)
    store.load(recorder.ranges)
    return store


def with_stored_hashes(session: Session, compute: Callable[[SubtreeHashes], T]) -> T:
    """Run a root or proof computation against the stored hashes in one round trip."""
    return compute(prefetched(session, [compute]))


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
        lefts = {level: digest for (level, _), digest in fetch_nodes(session, wanted).items()}
    current = leaf_hash(row.entry)
    session.add(TrailNodeRow(level=0, idx=seq, hash=current))
    for node in completed:
        current = node_hash(lefts[node.level - 1], current)
        session.add(TrailNodeRow(level=node.level, idx=node.index, hash=current))
    session.flush()


def append_message(
    session: Session, application_id: str | None, message: Message, clock: Clock
) -> int:
    """The trail's one append: store `message` byte-exact and append its entry to the log, in
    `session`'s transaction (so it commits, or not, with the write it records). Returns its seq.

    Every storage module that records a message calls this, inside the transaction of the write
    the message belongs to; nothing outside gateway.storage opens that transaction."""
    now = clock()
    digest = sha256_hex(message.body)
    row = MessageRow(
        application_id=application_id,
        case_id=message.case_id,
        kind=message.kind,
        direction=message.direction,
        counterpart=message.counterpart,
        content_type=message.content_type,
        body=message.body,
        sha256=digest,
        signer=message.signer,
        created_at=now,
    )
    wake.owe(session, TRAIL)  # the tree-head signer signs once the log has grown
    append(
        session,
        row,
        {
            "kind": message.kind,
            "direction": message.direction,
            "counterpart": message.counterpart,
            "application_id": application_id,
            "case_id": message.case_id,
            "content_type": message.content_type,
            "time": precise(now),
            "signer": message.signer,
            "sha256": digest,
        },
    )
    return row.seq


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
