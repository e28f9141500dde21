"""The integrator's batch on SQLite, on a DB-API cursor: one read, then one short write transaction.

The same steps as `trail_batch_pg` (read and hash holding nothing, write holding the lock), on
the driver's connection rather than through an ORM session: at one application at a time the
integrator sequences a few entries per round, and the sessions' set-up, statement compilation
and result wrapping cost several times the statements themselves (issue 17: the integrator was
~6.5 % of the live web process's GIL time, nearly all of it SQLAlchemy's).

1. `read_batch`, one SELECT on the pool's connection, which is in autocommit (`db.make_engine`):
   the log's size, the queue and the old tree's frontier in one statement, so in one snapshot,
   taking no write lock;
2. the caller sequences and hashes (`trail_log.plan_batch`), holding nothing;
3. `place_batch`: BEGIN IMMEDIATE (`db.begin_first`: polled while this process's writers hold
   back, so the integrator is not queued behind them by SQLite's busy handler), a look at the size — unchanged, or another integrator
   went first and nothing is written (`STALE`) — the seqs and entries, the new subtree hashes,
   COMMIT. A failure rolls back: the queue is left as it was for the next round.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from gateway.storage.trail_batch_pg import STALE, batch_of

# One statement, one snapshot: size, up to `limit` queued entries in insertion order and, when
# any is queued, the frontier of the old tree (one primary-key search per bit set in size; the
# recursive CTE counts the bits, SQLite has no generate_series). tests/integration/
# test_trail_lookups.py checks that the plan searches the primary key and scans no node.
READ = (
    "WITH sz AS (SELECT coalesce(max(seq) + 1, 0) AS size FROM messages),"
    " q AS (SELECT id, entry FROM messages WHERE seq IS NULL ORDER BY id LIMIT ?),"
    " bit(level) AS (SELECT 0 UNION ALL SELECT level + 1 FROM bit WHERE level < 62)"
    " SELECT 0, sz.size, NULL, NULL FROM sz"
    " UNION ALL SELECT 1, q.id, NULL, q.entry FROM q"
    " UNION ALL SELECT 2, trail_nodes.level, trail_nodes.idx, trail_nodes.hash"
    " FROM sz CROSS JOIN bit JOIN trail_nodes ON trail_nodes.level = bit.level"
    " AND trail_nodes.idx = (sz.size >> bit.level) - 1"
    " WHERE (sz.size >> bit.level) & 1 = 1 AND EXISTS (SELECT 1 FROM q)"
)
_SIZE = "SELECT coalesce(max(seq) + 1, 0) FROM messages"
_PLACE = "UPDATE messages SET seq = ?, entry = ? WHERE id = ? AND seq IS NULL"
_STORE = "INSERT INTO trail_nodes (level, idx, hash) VALUES (?, ?, ?)"


def read_batch(
    cursor: Any, limit: int
) -> tuple[int, list[tuple[int, bytes]], dict[tuple[int, int], bytes]]:
    """(log size, up to `limit` queued (id, pending entry) in insertion order, the stored
    frontier hashes {(level, idx): hash}), in one statement on an autocommit cursor."""
    cursor.execute(READ, (limit,))
    return batch_of(cursor.fetchall())


def place_batch(
    cursor: Any,
    size: int,
    updates: Sequence[dict[str, Any]],
    nodes: dict[tuple[int, int], bytes],
    begin: Callable[[Any], None],
) -> int:
    """Write a batch planned on a log of `size` in one write transaction on `cursor`'s
    connection (in autocommit: `begin` takes the write lock, COMMIT is ours). Returns how many rows were placed,
    or `STALE` when another integrator sequenced since the read (nothing written)."""
    connection = cursor.connection
    begin(connection)
    try:
        cursor.execute(_SIZE, ())
        if cursor.fetchone()[0] != size:
            connection.execute("ROLLBACK")
            return STALE
        cursor.executemany(_PLACE, [(u["seq"], u["entry"], u["row_id"]) for u in updates])
        # Fewer rows than read cannot be: rows leave the queue only by a batch, which would
        # have grown the size looked at above, under this same write lock.
        placed = int(cursor.rowcount)
        if placed != len(updates):
            raise AssertionError(f"{placed} of {len(updates)} queued messages placed")
        cursor.executemany(_STORE, [(level, idx, h) for (level, idx), h in nodes.items()])
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return placed
