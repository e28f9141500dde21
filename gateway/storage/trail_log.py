"""The append-only Merkle log over every message, kept in the same database.

The shape of Tessera and Trillian: the transaction that stores a message only queues it (its row,
byte-exact, with no seq yet), so a message and its place in the queue commit together and no global
lock is taken on the business path. One integrator at a time — whoever holds the leader's lock: on
PostgreSQL a transaction-scoped advisory lock, on SQLite the write lock — sequences the queue in
batches, in insertion order, and writes the subtree hashes. Proofs read stored subtree hashes.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple, TypeVar, cast

from sqlalchemy import (
    Table,
    bindparam,
    func,
    select,
)
from sqlalchemy.orm import Session

from gateway.clock import Clock
from gateway.fanout.wakeup import TRAIL
from gateway.storage import wake
from gateway.storage.core_tx import Tx
from gateway.storage.driver_insert import insert_rows
from gateway.storage.models import CheckpointRow, MessageRow, TrailNodeRow, TreeHeadRow
from gateway.storage.trail_batch_pg import SEQUENCER_LOCK
from gateway.trail.format import ENTRY_PREFIX, TreeHead, entry_bytes, precise, read_entry
from gateway.trail.merkle import (
    HASH_SIZE,
    SubtreeHashes,
    leaf_hash,
    node_hash,
    perfect_subtrees_completed_by,
)
from gateway.trail.messages import Message, sha256_hex

MESSAGES = cast(Table, MessageRow.__table__)  # Core, not the ORM: appends go in bulk
T = TypeVar("T")


# Every node look-up is one statement of fixed text, whatever the number of keys: the keys go in
# as arrays (two on PostgreSQL, one JSON array of [level, idx] pairs on SQLite), and
# each key is a search of the primary key, joined from the parameter's rows. So the statement is
# prepared once (PostgreSQL prepares it after a few runs), costs no SQL rendering per proof (the
# per-level `IN` lists it replaces cost more Python than the look-ups themselves), and has no
# bound-parameter limit to chunk around. The row-value form `(level, idx) IN (...)` made SQLite
# scan the whole table (O(n) per proof and per append); tests/integration/test_trail_lookups.py
# checks the plans.
NODE_LOOKUP = {
    "postgresql": (
        "SELECT trail_nodes.level, trail_nodes.idx, trail_nodes.hash FROM trail_nodes"
        " JOIN unnest(%s::integer[], %s::bigint[]) AS k(level, idx)"
        " ON trail_nodes.level = k.level AND trail_nodes.idx = k.idx"
    ),
    "sqlite": (
        "SELECT trail_nodes.level, trail_nodes.idx, trail_nodes.hash FROM trail_nodes"
        " JOIN json_each(?) AS k"
        " ON trail_nodes.level = json_extract(k.value, '$[0]')"
        " AND trail_nodes.idx = json_extract(k.value, '$[1]')"
    ),
}  # in the drivers' own parameter styles: sent as they are, by SQLAlchemy or on a DB-API cursor


def nodes_parameters(dialect: str, keys: Iterable[tuple[int, int]]) -> tuple[Any, ...]:
    """The parameters of `NODE_LOOKUP[dialect]` for these (level, idx) keys."""
    unique = set(keys)
    if dialect == "postgresql":
        return [k[0] for k in unique], [k[1] for k in unique]
    return (json.dumps([list(k) for k in unique]),)


def fetch_nodes(session: Session, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """{(level, idx): hash} of the stored keys among these, in one statement."""
    dialect = session.get_bind().dialect.name
    rows = session.connection().exec_driver_sql(
        NODE_LOOKUP[dialect], nodes_parameters(dialect, keys)
    )
    return {(level, idx): digest for level, idx, digest in rows}


def node_key(start: int, end: int) -> tuple[int, int]:
    """The (level, idx) key of the perfect aligned subtree over leaves [start, end)."""
    level = (end - start).bit_length() - 1
    return level, start >> level


class DbSubtreeHashes:
    """`gateway.trail.merkle.SubtreeHashes` over the trail_nodes table, with an optional prefetch."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._cache: dict[tuple[int, int], bytes] = {}

    def load(self, ranges: list[tuple[int, int]]) -> None:
        """Fetch the hashes of these ranges in one query."""
        self._cache.update(fetch_nodes(self.session, (node_key(s, e) for s, e in ranges)))

    def subtree(self, start: int, end: int) -> bytes:
        key = node_key(start, end)
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


class _Fetched:
    """`SubtreeHashes` over hashes already read."""

    def __init__(self, found: dict[tuple[int, int], bytes]) -> None:
        self.found = found

    def subtree(self, start: int, end: int) -> bytes:
        try:
            return self.found[node_key(start, end)]
        except KeyError:
            raise LookupError(f"no stored hash for leaves [{start}, {end})") from None


NodeReader = Callable[[Iterable[tuple[int, int]]], dict[tuple[int, int], bytes]]


def read_nodes_raw(
    cursor: Any, dialect: str, keys: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], bytes]:
    """`fetch_nodes` on a DB-API cursor: the proofs' path, where SQLAlchemy's execution
    machinery (events, result wrapping, row by row) cost more than the look-up itself."""
    cursor.execute(NODE_LOOKUP[dialect], nodes_parameters(dialect, keys))
    return {(level, idx): bytes(digest) for level, idx, digest in cursor.fetchall()}


def prove(read: NodeReader, size: int, compute: Callable[[SubtreeHashes], T]) -> T | None:
    """`compute` — a root or proof over the tree of the first `size` entries (size >= 1) — run
    on stored hashes read by one `read` (one statement); None when the log has fewer than
    `size` entries.

    That statement also reads leaf size-1, so it answers "is the log that big?" too, with no
    `max(seq)` and no transaction around two statements: leaves are stored contiguously from 0
    (the integrator writes them in order, in the transactions that give the seqs), so leaf
    size-1 is stored exactly when the log has `size` entries. One statement reads one snapshot,
    and stored hashes never change, so the answer is final."""
    if size < 1:
        raise ValueError(f"no tree of size {size} to prove in")
    recorder = _Recorder()
    compute(recorder)
    last = (0, size - 1)
    found = read([last, *(node_key(s, e) for s, e in recorder.ranges)])
    if last not in found:
        return None
    return compute(_Fetched(found))


def with_stored_hashes(session: Session, compute: Callable[[SubtreeHashes], T]) -> T:
    """Run a root or proof computation against the stored hashes in one round trip."""
    return compute(prefetched(session, [compute]))


# Built once and run on the session's connection (Core): the checkpoint loop reads these every
# round, and building the statement, its cache key and the ORM's loading cost more than the read.
_LOG_SIZE = select(func.max(MESSAGES.c.seq))
_HEADS = cast(Table, TreeHeadRow.__table__)
_CHECKPOINTS = cast(Table, CheckpointRow.__table__)
_LATEST_HEAD = select(_HEADS).order_by(_HEADS.c.size.desc()).limit(1)
_HEAD_AT = select(_HEADS).where(_HEADS.c.size == bindparam("size"))
_LATEST_CHECKPOINT = select(_CHECKPOINTS).order_by(_CHECKPOINTS.c.size.desc()).limit(1)
_CHECKPOINT_AT = select(_CHECKPOINTS).where(_CHECKPOINTS.c.size == bindparam("size"))


def log_size(session: Session) -> int:
    """The integrated log's size: its entries are 0..size-1, contiguous by construction (only
    the integrator assigns seq, each batch from the size it reads under the leader's lock)."""
    last = session.connection().execute(_LOG_SIZE).scalar()
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


class Step(NamedTuple):
    """A write of the append's transaction that goes out with it (`append_messages`): on
    PostgreSQL `sql`, one data-modifying WITH item (psycopg placeholders, `params` in their
    order), sent in the append's statement; elsewhere `run` in the transaction, before the
    append, as its own statement."""

    sql: str
    params: tuple[Any, ...]
    run: Callable[[Tx], object]


def append_messages(
    session: Tx,
    application_id: str | None,
    messages: Sequence[Message],
    clock: Clock,
    *,
    step: Step | None = None,
) -> None:
    """`append_message` for each of `messages`, in their order, in one statement written at
    once: the queue's order is the order of appends. (Through the ORM each row cost a
    unit-of-work flush and an INSERT ... RETURNING of its own, for an id nobody read.) What the
    session has pending is flushed first, as `Session.execute` would, so an earlier ORM append
    (`queue_message`) and any row a message refers to are written before.

    The statement is run on the session's connection as the driver's, without SQLAlchemy's
    per-execution compile and parameter steps: on PostgreSQL one INSERT over one array per
    column (`_APPEND_PG`), whatever the number of rows, that also sends the integrator's NOTIFY
    (the Core INSERT of several rows went out as psycopg's pipelined executemany, ~0.4 ms of CPU
    per call, and the NOTIFY was one more round trip at commit); on SQLite the Core INSERT as
    the driver's executemany (`driver_insert.insert_rows`; issue 17).
    `tests/integration/test_trail_append.py` holds its rows equal to the Core INSERT's.

    `step`: another write of the transaction, made before the append; on PostgreSQL sent in the
    append's statement, which saves its round trip (~0.14 ms of client CPU: the decision's
    record, `settle_sql.record_decision_step`). Data-modifying WITH items see one snapshot and
    run to completion whether read or not; the step and the rows touch different tables."""
    if not messages:
        if step is not None:
            session.flush()
            step.run(session)
        return
    now = clock()
    session.flush()  # nothing to do (and no cost) when nothing is pending, as is usual
    connection = session.connection()
    dialect = connection.dialect
    time = precise(now)
    rows = [_queued(application_id, m, now, time) for m in messages]
    if dialect.name == "postgresql":
        sql, first = _APPEND_PG, ()
        if step is not None:
            sql, first = f"WITH {step.sql}, {_APPEND_PG.removeprefix('WITH ')}", step.params
        connection.exec_driver_sql(
            sql,
            (*first, application_id, now, *([row[name] for row in rows] for name in _PER_MESSAGE)),
        )
        wake.owe(session, TRAIL, notified=True)  # the statement sent the NOTIFY
        return
    if step is not None:
        step.run(session)
    insert_rows(connection, MESSAGES, rows)
    wake.owe(session, TRAIL)  # the integrator sequences them once this commits


# A queued row's columns that differ from message to message (application_id and created_at
# are the same for all the messages of an append), in the order of `_APPEND_PG`'s arrays.
_PER_MESSAGE = (
    "case_id", "kind", "direction", "counterpart", "content_type", "body", "sha256", "signer",
    "entry",
)  # fmt: skip
# PostgreSQL: one array per column of `_PER_MESSAGE`; the rows in the arrays' order (ORDER BY
# the ordinality: ids follow it, as for SQLAlchemy's own multi-row INSERTs); and the NOTIFY of
# the integrator's channel (`TRAIL`: delivered at commit, never for a rollback; a data-modifying
# WITH runs whether or not it is read). The arrays go in binary (`%b`): as text, psycopg escapes
# each element in Python, and two arrays of 2 kB bodies and entries cost it ~0.3 ms of CPU per
# append, in binary ~0.03 ms; the server reads the same values (`test_trail_append.py`).
_APPEND_PG = (
    "WITH queued AS (INSERT INTO messages (application_id, created_at, case_id, kind,"
    " direction, counterpart, content_type, body, sha256, signer, entry)"
    " SELECT %s, %s, case_id, kind, direction, counterpart, content_type, body, sha256,"
    " signer, entry FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::text[],"
    " %b::bytea[], %b::text[], %b::text[], %b::bytea[]) WITH ORDINALITY"
    " AS m(case_id, kind, direction, counterpart, content_type, body, sha256, signer, entry, n)"
    " ORDER BY n) SELECT pg_notify('nsw_trail', '')"
)


def queue_message(
    session: Session, application_id: str | None, message: Message, clock: Clock
) -> MessageRow:
    """`append_message` as an ORM row, for a caller that needs its insertion id (it flushes)."""
    now = clock()
    row = MessageRow(**_queued(application_id, message, now, precise(now)))
    session.add(row)
    wake.owe(session, TRAIL)  # the integrator sequences it once this commits
    return row


def _queued(
    application_id: str | None, message: Message, now: dt.datetime, time: str
) -> dict[str, Any]:
    """The queue row of `message`: its bytes and digest, and its entry without a seq (`time`
    is `now` as the entry says it, `precise(now)`)."""
    digest = sha256_hex(message.body)
    fields = {
        "kind": message.kind,
        "direction": message.direction,
        "counterpart": message.counterpart,
        "application_id": application_id,
        "case_id": message.case_id,
        "content_type": message.content_type,
        "time": time,
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


def take_leadership(session: Session, wait: bool) -> bool:
    """Inside a transaction: become the one integrator until it ends. PostgreSQL: a
    transaction-scoped advisory lock (`wait`: queue for it, else give up at once) — the batch
    itself takes it inside its one write statement (`trail_batch_pg.place_batch`); SQLite: the
    write lock `BEGIN IMMEDIATE` already took. Business transactions never take it."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    if wait:
        session.execute(select(func.pg_advisory_xact_lock(SEQUENCER_LOCK)))
        return True
    return bool(session.scalar(select(func.pg_try_advisory_xact_lock(SEQUENCER_LOCK))))


# A queued entry is canonical JSON (`entry_bytes`: keys sorted, no spaces) of fields without a
# seq, among them "kind" and "sha256", between which "seq" sorts. Inside a JSON string every '"'
# is escaped, so '"' after ',' is always the structure's: the first `,"sha256":"` is the key.
_SHA256_KEY = b',"sha256":"'
_SEQ_KEY = b',"seq":'


def sequenced(pending: bytes, seq: int) -> bytes:
    """The leaf input of a queued entry once it has `seq`: its fixed fields plus the seq,
    exactly `entry_bytes({**read_entry(pending), "seq": seq})`. The seq is spliced in before
    the "sha256" key, the place sorting gives it, instead of decoding and encoding the JSON
    (most of the integrator's own Python per entry); an entry not of the queue's shape takes
    the decoding path (tests/integration/test_trail_batch.py compares the two). Right only while
    no field of `_queued` sorts between "seq" and "sha256" (a "service" would): such a field
    needs the decoding path."""
    at = pending.find(_SHA256_KEY)
    if at < 0 or not pending.startswith(ENTRY_PREFIX) or _SEQ_KEY in pending:
        return entry_bytes({**read_entry(pending), "seq": seq})
    return b'%s,"seq":%d%s' % (pending[:at], seq, pending[at:])


Batch = tuple[int, list[tuple[int, bytes]], dict[tuple[int, int], bytes]]  # size, queue, frontier


def plan_batch(batch: Batch) -> tuple[list[dict[str, Any]], dict[tuple[int, int], bytes]]:
    """What integrating a batch read by `read_batch` (trail_batch_pg, trail_batch_sqlite)
    writes, computed holding no lock: the queued rows' seqs (size, size+1, ... in insertion order) and entries, and {(level, idx):
    hash} of every perfect subtree they complete — the leaves and their ancestors.
    RFC 9162 §2.1.1: each new perfect subtree is node_hash(left, right) of its halves."""
    size, queued, known = batch
    updates = []
    new: dict[tuple[int, int], bytes] = {}
    for k, (row_id, pending) in enumerate(queued):
        entry = sequenced(pending, size + k)
        updates.append({"row_id": row_id, "seq": size + k, "entry": entry})
        chain = perfect_subtrees_completed_by(size + k)
        current = new[(0, chain[0].index)] = leaf_hash(entry)
        for node in chain[1:]:
            left_key = (node.level - 1, 2 * node.index)
            # A left half older than the batch is a perfect subtree of the old tree: frontier.
            left = new.get(left_key) or known[left_key]
            current = new[(node.level, node.index)] = node_hash(left, current)
    return updates, new


def _head(row: Any) -> TreeHead | None:
    return None if row is None else TreeHead(row.size, row.root, row.issued_at, row.signature)


def latest_tree_head(session: Session) -> TreeHead | None:
    return _head(session.connection().execute(_LATEST_HEAD).first())


def tree_head_at(session: Session, size: int) -> TreeHead | None:
    return _head(session.connection().execute(_HEAD_AT, {"size": size}).first())


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


def latest_checkpoint(session: Session) -> Any:
    """The latest trail_checkpoints row (size, root, note, signed_at), or None."""
    return session.connection().execute(_LATEST_CHECKPOINT).first()


def checkpoint_at(session: Session, size: int) -> Any:
    """The trail_checkpoints row of `size` (size, root, note, signed_at), or None."""
    return session.connection().execute(_CHECKPOINT_AT, {"size": size}).first()
