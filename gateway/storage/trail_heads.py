"""Storing a signed tree head and its C2SP checkpoint, on a DB-API cursor.

The checkpoint loop stores both about once a second, from the integrator's process. Through an
ORM session (two Core INSERTs built per call, then an ORM get of the head that stands) that
cost about as much CPU as signing them; here it is one statement on PostgreSQL and one short
write transaction on SQLite. Either row of that size stored first by another process stands
(ON CONFLICT DO NOTHING), and the head that stands is returned.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.trail.format import TreeHead
from gateway.trail.ports import StoredCheckpoint

# PostgreSQL, one statement (its own transaction on the autocommit cursor): the head this
# statement stored, or the one stored before it (of the statement's snapshot; one committed
# after it began makes the INSERT do nothing and shows in neither, and `store_signed` reads it).
_PG_HEAD = (
    " h AS (INSERT INTO tree_heads (size, root, issued_at, signature)"
    " VALUES (%(size)s, %(head_root)s, %(issued_at)s, %(signature)s) ON CONFLICT DO NOTHING"
    " RETURNING size, root, issued_at, signature)"
    " SELECT size, root, issued_at, signature FROM h UNION ALL"
    " SELECT size, root, issued_at, signature FROM tree_heads"
    " WHERE size = %(size)s AND NOT EXISTS (SELECT 1 FROM h)"
)
_PG_CHECKPOINT = (
    " c AS (INSERT INTO trail_checkpoints (size, root, note, signed_at)"
    " VALUES (%(size)s, %(root)s, %(note)s, %(signed_at)s) ON CONFLICT DO NOTHING),"
)
_PG = {True: f"WITH{_PG_CHECKPOINT}{_PG_HEAD}", False: f"WITH{_PG_HEAD}"}
_PG_STANDS = "SELECT size, root, issued_at, signature FROM tree_heads WHERE size = %s"
_SQLITE_CHECKPOINT = (
    "INSERT INTO trail_checkpoints (size, root, note, signed_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT DO NOTHING"
)
_SQLITE_HEAD = (
    "INSERT INTO tree_heads (size, root, issued_at, signature) VALUES (?, ?, ?, ?)"
    " ON CONFLICT DO NOTHING"
)
_SQLITE_STANDS = "SELECT size, root, issued_at, signature FROM tree_heads WHERE size = ?"


def store_signed(
    cursor: Any,
    dialect: str,
    head: TreeHead,
    checkpoint: StoredCheckpoint | None,
    begin: Callable[[Any], None],
) -> TreeHead:
    """Store `head` and `checkpoint` (of the same size) in one transaction on an autocommit
    `cursor`; the head of that size that stands. SQLite: `begin` takes the write lock on the
    cursor's connection (`db.begin_first`: ahead of business writers, as the integrator)."""
    if dialect == "postgresql":
        cursor.execute(
            _PG[checkpoint is not None],
            {
                "size": head.size,
                "head_root": head.root,
                "issued_at": head.issued_at,
                "signature": head.signature,
                **(
                    {
                        "root": checkpoint.root,
                        "note": checkpoint.note,
                        "signed_at": checkpoint.signed_at,
                    }
                    if checkpoint is not None
                    else {}
                ),
            },
        )
        row = cursor.fetchone()
        if row is None:  # stored by another process since this statement's snapshot
            cursor.execute(_PG_STANDS, (head.size,))
            row = cursor.fetchone()
    else:
        connection = cursor.connection
        begin(connection)
        try:
            if checkpoint is not None:
                cursor.execute(
                    _SQLITE_CHECKPOINT,
                    (checkpoint.size, checkpoint.root, checkpoint.note, checkpoint.signed_at),
                )
            cursor.execute(_SQLITE_HEAD, (head.size, head.root, head.issued_at, head.signature))
            cursor.execute(_SQLITE_STANDS, (head.size,))
            row = cursor.fetchone()
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
    assert row is not None, f"no tree head of size {head.size} stored"
    size, root, issued_at, signature = row
    return TreeHead(int(size), bytes(root), issued_at, bytes(signature))
