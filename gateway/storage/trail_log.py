"""The append-only Merkle log over every message, kept in the same database.

The shape of Tessera and Trillian: the transaction that stores a message only queues it (its row,
byte-exact, with no seq yet), so a message and its place in the queue commit together and no global
lock is taken on the business path. One integrator at a time — whoever holds the leader's lock: on
PostgreSQL a transaction-scoped advisory lock, on SQLite the write lock — sequences the queue in
batches, in insertion order, and writes the subtree hashes. Proofs read stored subtree hashes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from itertools import groupby
from typing import Any, TypeVar, cast

from sqlalchemy import (
    Select,
    Table,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from gateway.clock import Clock
from gateway.fanout.wakeup import TRAIL
from gateway.storage import wake
from gateway.storage.models import CheckpointRow, MessageRow, TrailNodeRow, TreeHeadRow
from gateway.trail.format import TreeHead, entry_bytes, precise, read_entry
from gateway.trail.merkle import (
    HASH_SIZE,
    SubtreeHashes,
    leaf_hash,
    node_hash,
    perfect_subtrees_completed_by,
)
from gateway.trail.messages import Message, sha256_hex

MESSAGES = cast(Table, MessageRow.__table__)

SEQUENCER_LOCK = 7270002  # the integrator's leader lock (PostgreSQL advisory lock key)
MESSAGES = cast(Table, MessageRow.__table__)  # Core, not the ORM: the integrator writes in bulk
NODES = cast(Table, TrailNodeRow.__table__)
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
    """The integrated log's size: its entries are 0..size-1, contiguous by construction (only
    the integrator assigns seq, each batch from the size it reads under the leader's lock)."""
    last = session.scalar(select(func.max(MessageRow.seq)))
    return 0 if last is None else int(last) + 1


def append_message(
    session: Session, application_id: str | None, message: Message, clock: Clock
) -> None:
    """The trail's one append: store `message` byte-exact, queued for the log, in `session`'s
    transaction (so it commits, or not, with the write it records); its seq is given later by
    `integrate`. `append_messages` for several at once.

    No lock and no Merkle work here: the row is the queue entry (seq NULL), and everything the
    leaf will say except its seq is fixed now, in `entry`. Every storage module that records a
    message calls this, inside the transaction of the write the message belongs to; nothing
    outside gateway.storage opens that transaction."""
    append_messages(session, application_id, [message], clock)


def append_messages(
    session: Session, application_id: str | None, messages: Sequence[Message], clock: Clock
) -> None:
    """`append_message` for each of `messages`, in their order, as one Core INSERT (a multi-row
    statement on PostgreSQL, executemany on SQLite), written at once: the queue's order is
    the order of appends, whatever the session still has pending. (Through the ORM each row
    cost a unit-of-work flush and an INSERT ... RETURNING of its own, for an id nobody read.)"""
    if not messages:
        return
    now = clock()
    session.execute(insert(MESSAGES), [_queued(application_id, m, now) for m in messages])
    wake.owe(session, TRAIL)  # the integrator sequences them once this commits


def queue_message(
    session: Session, application_id: str | None, message: Message, clock: Clock
) -> MessageRow:
    """`append_message` as an ORM row, for a caller that needs its insertion id (it flushes)."""
    row = MessageRow(**_queued(application_id, message, clock()))
    session.add(row)
    wake.owe(session, TRAIL)  # the integrator sequences it once this commits
    return row


def _queued(application_id: str | None, message: Message, now: dt.datetime) -> dict[str, Any]:
    """The queue row of `message`: its bytes and digest, and its entry without a seq."""
    digest = sha256_hex(message.body)
    fields = {
        "kind": message.kind,
        "direction": message.direction,
        "counterpart": message.counterpart,
        "application_id": application_id,
        "case_id": message.case_id,
        "content_type": message.content_type,
        "time": precise(now),
        "signer": message.signer,
        "sha256": digest,
    }
    return {
        "application_id": application_id,
        "case_id": message.case_id,
        "kind": message.kind,
        "direction": message.direction,
        "counterpart": message.counterpart,
        "content_type": message.content_type,
        "body": message.body,
        "sha256": digest,
        "signer": message.signer,
        "created_at": now,
        "seq": None,
        "entry": entry_bytes(fields),
    }


def _pending() -> Select[int, bytes]:
    m = MessageRow.__table__.c
    return select(m.id, m.entry).where(m.seq.is_(None)).order_by(m.id)


def has_pending(session: Session) -> bool:
    """Whether any committed message waits for its seq (one look-up in the partial index)."""
    m = MessageRow.__table__.c
    return session.scalar(select(m.id).where(m.seq.is_(None)).limit(1)) is not None


def take_leadership(session: Session, wait: bool) -> bool:
    """Inside the integrator's transaction: become the one integrator until it ends. PostgreSQL:
    a transaction-scoped advisory lock (`wait`: queue for it, else give up at once); SQLite: the
    write lock `BEGIN IMMEDIATE` already took. Business transactions never take it."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    if wait:
        session.execute(select(func.pg_advisory_xact_lock(SEQUENCER_LOCK)))
        return True
    return bool(session.scalar(select(func.pg_try_advisory_xact_lock(SEQUENCER_LOCK))))


def sequenced(pending: bytes, seq: int) -> bytes:
    """The leaf input of a queued entry once it has `seq`: its fixed fields plus the seq."""
    return entry_bytes({**read_entry(pending), "seq": seq})


def integrate(session: Session, limit: int) -> int:
    """Sequence up to `limit` queued messages, in insertion order, as entries size..size+k-1;
    write their entries and every subtree hash they complete. Call with leadership taken
    (`take_leadership`). Returns k (0: nothing waited).

    Set-based: one read of the queue, one of the old tree's frontier hashes the new subtrees
    need as left children, one UPDATE of the messages and one INSERT of the nodes (`_place`).
    RFC 9162 §2.1.1: each new perfect subtree is node_hash(left, right) of its halves."""
    size = log_size(session)
    queued = session.execute(_pending().limit(limit)).all()
    if not queued:
        return 0
    updates = []
    leaves: list[bytes] = []
    for k, (row_id, pending) in enumerate(queued):
        entry = sequenced(pending, size + k)
        updates.append({"row_id": row_id, "seq": size + k, "entry": entry})
        leaves.append(leaf_hash(entry))
    _place(session, updates, _completed_nodes(session, size, leaves))
    return len(queued)


# PostgreSQL: a batch is three arrays, so each statement is one round trip and one fixed text
# (prepared once), whatever the batch's size.
_PLACE_PG = text(
    "UPDATE messages SET seq = placed.seq, entry = placed.entry"
    " FROM unnest(CAST(:ids AS bigint[]), CAST(:seqs AS bigint[]), CAST(:entries AS bytea[]))"
    " AS placed(id, seq, entry) WHERE messages.id = placed.id"
)
_NODES_PG = text(
    "INSERT INTO trail_nodes (level, idx, hash)"
    " SELECT * FROM unnest(CAST(:levels AS integer[]), CAST(:idxs AS bigint[]),"
    " CAST(:hashes AS bytea[]))"
)


def _place(
    session: Session, updates: list[dict[str, Any]], nodes: dict[tuple[int, int], bytes]
) -> None:
    """Give the queued rows their seq and entry, and store the new subtree hashes: on
    PostgreSQL one UPDATE and one INSERT over arrays; on SQLite (in-process, no round trips)
    an executemany of one prepared UPDATE and one multi-row INSERT."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            _PLACE_PG,
            {
                "ids": [u["row_id"] for u in updates],
                "seqs": [u["seq"] for u in updates],
                "entries": [u["entry"] for u in updates],
            },
        )
        session.execute(
            _NODES_PG,
            {
                "levels": [level for level, _ in nodes],
                "idxs": [idx for _, idx in nodes],
                "hashes": list(nodes.values()),
            },
        )
        return
    m = MESSAGES.c
    session.execute(
        update(MESSAGES)
        .where(m.id == bindparam("row_id"))
        .values(seq=bindparam("seq"), entry=bindparam("entry")),
        updates,
    )
    session.execute(
        insert(NODES),
        [{"level": level, "idx": idx, "hash": digest} for (level, idx), digest in nodes.items()],
    )


def _completed_nodes(
    session: Session, size: int, leaves: list[bytes]
) -> dict[tuple[int, int], bytes]:
    """{(level, idx): hash} of every perfect subtree completed by appending `leaves` to a log of
    `size`: the leaves themselves and their ancestors. Left children older than the batch are
    fetched in one query (they are perfect subtrees of the old tree: at most log2(size))."""
    completed = [perfect_subtrees_completed_by(size + k) for k in range(len(leaves))]
    older = [
        (node.level - 1, 2 * node.index)
        for chain in completed
        for node in chain[1:]
        if (2 * node.index + 1) << (node.level - 1) <= size  # the left half ends before the batch
    ]
    known = fetch_nodes(session, older) if older else {}
    new: dict[tuple[int, int], bytes] = {}
    for chain, leaf in zip(completed, leaves, strict=True):
        current = new[(0, chain[0].index)] = leaf
        for node in chain[1:]:
            left_key = (node.level - 1, 2 * node.index)
            left = new.get(left_key) or known[left_key]
            current = new[(node.level, node.index)] = node_hash(left, current)
    return new


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
