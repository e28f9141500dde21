"""The trail port (gateway.trail.ports) over the messages, trail_nodes, tree_heads and checkpoints
tables: `trail_log`'s functions bound to one session."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.clock import Clock
from gateway.fanout.wakeup import TRAIL
from gateway.storage import trail_batch_pg, trail_batch_sqlite, trail_heads, trail_log
from gateway.storage.db import begin_first
from gateway.storage.models import MessageRow
from gateway.storage.repository import Store, trail_entry
from gateway.trail.format import TreeHead
from gateway.trail.merkle import SubtreeHashes
from gateway.trail.messages import Message
from gateway.trail.ports import LoadableHashes, StoredCheckpoint, TrailEntry

T = TypeVar("T")
# Entries sequenced per integrator transaction: enough to amortise its few statements, few enough
# that one round of the loop (a batch, then a checkpoint if due) stays short on a loaded machine
# (at 1 ms an entry, 1000 made a checkpoint a second late).
INTEGRATION_BATCH = 250
LEADER_POLL_S = 0.002  # SQLite: how often the integrator tries for the write lock while it waits


def _checkpoint(row: Any) -> StoredCheckpoint | None:
    if row is None:
        return None
    return StoredCheckpoint(row.size, row.root, row.note, row.signed_at)


class SessionTrailView:
    """`TrailView` over one session (one transaction)."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    def log_size(self) -> int:
        return trail_log.log_size(self.session)

    def latest_tree_head(self) -> TreeHead | None:
        return trail_log.latest_tree_head(self.session)

    def tree_head_at(self, size: int) -> TreeHead | None:
        return trail_log.tree_head_at(self.session, size)

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        return _checkpoint(trail_log.latest_checkpoint(self.session))

    def checkpoint_at(self, size: int) -> StoredCheckpoint | None:
        return _checkpoint(trail_log.checkpoint_at(self.session, size))

    def hashes(self) -> LoadableHashes:
        return trail_log.DbSubtreeHashes(self.session)

    def prefetched(
        self, computations: Iterable[Callable[[SubtreeHashes], object]]
    ) -> SubtreeHashes:
        return trail_log.prefetched(self.session, computations)

    def with_stored_hashes(self, compute: Callable[[SubtreeHashes], T]) -> T:
        return trail_log.with_stored_hashes(self.session, compute)

    def entries_between(self, start: int, end: int) -> list[bytes]:
        return trail_log.entries_between(self.session, start, end)

    def entries_of(self, application_id: str) -> list[TrailEntry]:
        rows = self.session.scalars(
            select(MessageRow)
            .where(MessageRow.application_id == application_id)
            .order_by(MessageRow.seq.asc().nulls_last(), MessageRow.id)
        )
        return [trail_entry(row) for row in rows]

    def append(self, application_id: str | None, message: Message) -> int:
        row = trail_log.queue_message(self.session, application_id, message, self.clock)
        self.session.flush()  # its insertion id, for `seq_of`
        return row.id

    def seq_of(self, message_id: int) -> int | None:
        return self.session.scalar(select(MessageRow.seq).where(MessageRow.id == message_id))


class StoredTrail:
    """`Trail` in the gateway's database, through `store`'s transactions (so a lost connection
    is `DatabaseUnavailable` and an append wakes the tree-head signer)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        # The integrator's write transactions on SQLite (on its DB-API cursors): they take the
        # write lock ahead of business writers (`db.begin_first`); it holds it briefly, and a
        # checkpoint waits for it.
        self._begin = partial(begin_first, store.engine, poll_s=LEADER_POLL_S)

    @contextmanager
    def writing(self) -> Iterator[SessionTrailView]:
        with self.store.transaction() as s:
            yield SessionTrailView(s, self.store.clock)

    @contextmanager
    def reading(self) -> Iterator[SessionTrailView]:
        with self.store.reading() as s:
            yield SessionTrailView(s, self.store.clock)

    def _autocommit(self) -> AbstractContextManager[Any]:
        """`Store.autocommit`: a DB-API cursor in autocommit (the integrator's and the proofs'
        statements)."""
        return self.store.autocommit()

    def proof(self, size: int, compute: Callable[[SubtreeHashes], T]) -> T | None:
        """`compute` over the stored hashes of the first `size` entries, read in one statement
        (`trail_log.prove`) on an autocommit cursor (one statement sees one snapshot by
        itself); None when the log is smaller."""
        dialect = self.store.engine.dialect.name
        with self._autocommit() as cursor:
            return trail_log.prove(
                partial(trail_log.read_nodes_raw, cursor, dialect), size, compute
            )

    def integrate(
        self, wait: bool = True, max_batches: int | None = None, batch: int = INTEGRATION_BATCH
    ) -> int:
        """Sequence every message queued when this started (at most `max_batches` batches),
        `batch` per transaction; returns how many. `wait`: queue for the leader's lock
        (PostgreSQL) behind a running integrator, then integrate what it left; otherwise give up
        at once (0) when another holds it.

        Each batch is read and hashed holding nothing, then written holding the leader's lock
        for its write alone (`trail_batch_pg` on PostgreSQL: one statement; SQLite: the write
        transaction); a batch read before another integrator's is read again. An idle loop
        costs one read and never takes the lock."""
        one_batch = (
            self._batch_pg if self.store.engine.dialect.name == "postgresql" else self._batch
        )
        total, batches = 0, 0
        while max_batches is None or batches < max_batches:
            done = one_batch(wait, batch)
            if done == trail_batch_pg.STALE:
                continue  # another integrator went first: read what it left
            if done == trail_batch_pg.NOT_LEADER:
                break
            batches += 1
            total += done
            if done < batch:
                break
        return total

    def _batch_pg(self, wait: bool, limit: int) -> int:
        with self._autocommit() as cursor:
            read = trail_batch_pg.read_batch(cursor, limit)
            if not read[1]:
                return 0
            updates, nodes = trail_log.plan_batch(read)
            # The checkpoint signers are owed a look: other processes' by the NOTIFY the write
            # sends itself (no round trip more under the lock), this one's after it.
            done = trail_batch_pg.place_batch(cursor, updates, nodes, wait, notify=TRAIL)
        if done > 0:
            self.store.wakeups.signal({TRAIL})
        return done

    def _batch(self, _wait: bool, limit: int) -> int:
        """SQLite (`trail_batch_sqlite`): read and hash in a snapshot (no write lock), then
        write holding it, on the driver's connection."""
        with self._autocommit() as cursor:
            read = trail_batch_sqlite.read_batch(cursor, limit)
            if not read[1]:
                return 0
            updates, nodes = trail_log.plan_batch(read)
            done = trail_batch_sqlite.place_batch(cursor, read[0], updates, nodes, self._begin)
        if done > 0:
            self.store.wakeups.signal({TRAIL})  # a checkpoint is owed: wake the signers
        return done

    def store_signed(self, head: TreeHead, checkpoint: StoredCheckpoint | None) -> TreeHead:
        """Both rows in one transaction of the integrator's (one commit: on SQLite each is a
        sync of the log file, which a loaded disk makes slow), on its autocommit cursor
        (`trail_heads`); a row of that size stored first by another process stands, and the
        head that stands is returned."""
        with self._autocommit() as cursor:
            return trail_heads.store_signed(
                cursor, self.store.engine.dialect.name, head, checkpoint, self._begin
            )
