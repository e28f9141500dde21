"""The integrator's batch on PostgreSQL in two statements: one read, one write.

Everything between taking the leader's lock and the commit is the serial section of the whole
gateway (issue 17), and on a busy worker each round trip in it costs more than the server's time:
the integrator's thread waits for the GIL again after every reply. So the batch reads the log's
size, the queue and the old tree's frontier in one statement, and writes the seqs, the entries,
the new subtree hashes and the `pg_notify` in another: lock, read, write, commit.

Both statements are fixed texts with array parameters (prepared once by the server).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

_SIZE, _QUEUED, _FRONTIER = 0, 1, 2  # the kinds of the read's rows

# Taken after the lock, in a statement of its own: under READ COMMITTED this statement's snapshot
# includes the last leader's commit. The frontier of a log of `size` is its perfect subtrees, one
# per bit set in size: (level b, idx (size >> b) - 1); every left child an appended batch needs
# from the old tree is one of them (each ≤ 63 primary-key searches).
_READ = text(
    "WITH sz AS (SELECT coalesce(max(seq) + 1, 0) AS size FROM messages),"
    " q AS (SELECT id, entry FROM messages WHERE seq IS NULL ORDER BY id LIMIT :limit)"
    " SELECT 0 AS kind, sz.size AS a, NULL::bigint AS b, NULL::bytea AS data FROM sz"
    " UNION ALL SELECT 1, q.id, NULL, q.entry FROM q"
    " UNION ALL SELECT 2, n.level, n.idx, n.hash"
    " FROM sz CROSS JOIN generate_series(0, 62) AS bit(level)"
    " JOIN trail_nodes AS n ON n.level = bit.level AND n.idx = (sz.size >> bit.level) - 1"
    " WHERE (sz.size >> bit.level) & 1 = 1"
)

_WRITE = (
    "WITH placed AS ("
    " UPDATE messages SET seq = p.seq, entry = p.entry"
    " FROM unnest(CAST(:ids AS bigint[]), CAST(:seqs AS bigint[]), CAST(:entries AS bytea[]))"
    " AS p(id, seq, entry) WHERE messages.id = p.id)"
    "{notify}"
    " INSERT INTO trail_nodes (level, idx, hash)"
    " SELECT k.level, k.idx, k.hash FROM unnest(CAST(:levels AS integer[]),"
    " CAST(:idxs AS bigint[]), CAST(:hashes AS bytea[])) AS k(level, idx, hash){join}"
)
_WRITE_QUIET = text(_WRITE.format(notify="", join=""))
# A CTE that is read runs exactly once; the channel is a bound parameter, not SQL text.
_WRITE_NOTIFYING = text(
    _WRITE.format(
        notify=", note AS MATERIALIZED (SELECT pg_notify(:channel, '') AS sent)",
        join=" CROSS JOIN note",
    )
)


def read_batch(
    session: Session, limit: int
) -> tuple[int, list[tuple[int, bytes]], dict[tuple[int, int], bytes]]:
    """(log size, up to `limit` queued (id, pending entry) in insertion order, the stored
    frontier hashes of the log {(level, idx): hash}), in one statement."""
    size, queued, frontier = 0, [], {}
    for kind, a, b, data in session.execute(_READ, {"limit": limit}):
        if kind == _SIZE:
            size = int(a)
        elif kind == _QUEUED:
            queued.append((int(a), bytes(data)))
        else:
            frontier[(int(a), int(b))] = bytes(data)
    queued.sort()  # UNION ALL keeps no order
    return size, queued, frontier


def write_batch(
    session: Session,
    updates: Sequence[dict[str, Any]],
    nodes: dict[tuple[int, int], bytes],
    notify: str | None,
) -> None:
    """Give the queued rows their seq and entry and store the new subtree hashes, in one
    statement; `notify`: also `pg_notify` this channel (delivered at commit)."""
    parameters: dict[str, Any] = {
        "ids": [u["row_id"] for u in updates],
        "seqs": [u["seq"] for u in updates],
        "entries": [u["entry"] for u in updates],
        "levels": [level for level, _ in nodes],
        "idxs": [idx for _, idx in nodes],
        "hashes": list(nodes.values()),
    }
    if notify is None:
        session.execute(_WRITE_QUIET, parameters)
    else:
        session.execute(_WRITE_NOTIFYING, {**parameters, "channel": notify})
