"""The integrator's batch on PostgreSQL: read and hash outside the lock, then one statement.

Everything done while holding the leader's lock is the serial section of the whole gateway
(issue 17). On a busy process each round trip made while holding it cost more than the server's
time — the integrator's thread waits for the GIL again after every reply (up to the 5 ms switch
interval) — and so did the hashing between the read and the write. So the lock is held for one
statement and nothing else:

1. `read_batch`, in autocommit with no lock: the log's size, the queue and the old tree's
   frontier, in one statement (one snapshot);
2. the caller sequences and hashes in Python (`trail_log.plan_batch`), still holding nothing;
3. `place_batch`, one statement in autocommit: it takes the leader's transaction-scoped advisory
   lock in its first CTE, writes the seqs, the entries, the new subtree hashes and the
   `pg_notify`, and releases the lock at its own commit, in the server — before the reply is
   even read.

The read in 1 may be stale by the time 3 runs: another leader may have sequenced in between.
Then 3 fails as a whole, by the primary key of trail_nodes: any batch integrated since the read
stored the leaf (0, size) that this batch also writes, and an INSERT sees committed rows whatever
its snapshot (a unique check also waits for one still being committed). `place_batch` reports
that as `STALE` and the caller reads again; nothing is written, so the log stays contiguous.

Both statements are fixed texts with array parameters (prepared by the server after a few runs).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

from psycopg import errors

SEQUENCER_LOCK = 7270002  # the integrator's leader lock (PostgreSQL advisory lock key)

_SIZE, _QUEUED, _FRONTIER = 0, 1, 2  # the kinds of the read's rows

# The frontier of a log of `size` is its perfect subtrees, one per bit set in size: (level b,
# idx (size >> b) - 1); every left child an appended batch needs from the old tree is one of them
# (each ≤ 63 primary-key searches). One statement: one snapshot for size, queue and frontier.
_READ = (
    "WITH sz AS (SELECT coalesce(max(seq) + 1, 0) AS size FROM messages),"
    " q AS (SELECT id, entry FROM messages WHERE seq IS NULL ORDER BY id LIMIT %(limit)s)"
    " SELECT 0 AS kind, sz.size AS a, NULL::bigint AS b, NULL::bytea AS data FROM sz"
    " UNION ALL SELECT 1, q.id, NULL, q.entry FROM q"
    " UNION ALL SELECT 2, n.level, n.idx, n.hash"
    " FROM sz CROSS JOIN generate_series(0, 62) AS bit(level)"
    " JOIN trail_nodes AS n ON n.level = bit.level AND n.idx = (sz.size >> bit.level) - 1"
    " WHERE (sz.size >> bit.level) & 1 = 1 AND EXISTS (SELECT 1 FROM q)"
)  # no frontier for an empty queue: a loop woken by its own last commit reads two index ends

# The leader's lock, taken by the write's first CTE (MATERIALIZED: exactly once, before any row
# is written, since every write joins it): queue for it, or give up at once.
_LEAD = {
    True: "SELECT true AS got FROM (SELECT pg_advisory_xact_lock(%(lock)s)) AS l",
    False: "SELECT pg_try_advisory_xact_lock(%(lock)s) AS got",
}
_PLACE = (
    "WITH lead AS MATERIALIZED ({lead}),"
    " placed AS (UPDATE messages SET seq = p.seq, entry = p.entry"
    " FROM unnest(CAST(%(ids)s AS bigint[]), CAST(%(seqs)s AS bigint[]),"
    " CAST(%(entries)s AS bytea[])) AS p(id, seq, entry), lead"
    " WHERE lead.got AND messages.id = p.id AND messages.seq IS NULL RETURNING 1),"
    " stored AS (INSERT INTO trail_nodes (level, idx, hash)"
    " SELECT k.level, k.idx, k.hash FROM unnest(CAST(%(levels)s AS integer[]),"
    " CAST(%(idxs)s AS bigint[]), CAST(%(hashes)s AS bytea[])) AS k(level, idx, hash), lead"
    " WHERE lead.got RETURNING 1)"
    "{notify}"
    " SELECT (SELECT got FROM lead), (SELECT count(*) FROM placed){sent}"
)
# A CTE that is read runs exactly once; the channel is a bound parameter, not SQL text.
_NOTIFY = ", note AS MATERIALIZED (SELECT pg_notify(%(channel)s, '') FROM lead WHERE lead.got)"
_PLACE_SQL = {
    (wait, notifying): _PLACE.format(
        lead=_LEAD[wait],
        notify=_NOTIFY if notifying else "",
        sent=", (SELECT count(*) FROM note)" if notifying else "",
    )
    for wait in (True, False)
    for notifying in (True, False)
}

NOT_LEADER: Final = -1  # `place_batch`: another integrator holds the lock (only without `wait`)
STALE: Final = -2  # `place_batch`: another integrator sequenced since the read; nothing written


def read_batch(
    cursor: Any, limit: int
) -> tuple[int, list[tuple[int, bytes]], dict[tuple[int, int], bytes]]:
    """On an autocommit DB-API cursor: (log size, up to `limit` queued (id, pending entry) in
    insertion order, the stored frontier hashes of the log {(level, idx): hash}), in one
    statement, taking no lock."""
    cursor.execute(_READ, {"limit": limit})
    return batch_of(cursor.fetchall())


def batch_of(
    rows: Iterable[Sequence[Any]],
) -> tuple[int, list[tuple[int, bytes]], dict[tuple[int, int], bytes]]:
    """The batch a read's rows (kind, a, b, data) say: kind 0 the log's size (a), 1 a queued
    (id a, pending entry data), 2 a frontier hash (level a, idx b, hash data). SQLite's read
    (`trail_batch_sqlite.READ`) gives the same rows."""
    size, queued, frontier = 0, [], {}
    for kind, a, b, data in rows:
        if kind == _SIZE:
            size = int(a)
        elif kind == _QUEUED:
            queued.append((int(a), bytes(data)))
        else:
            frontier[(int(a), int(b))] = bytes(data)
    queued.sort()  # UNION ALL keeps no order
    return size, queued, frontier


def place_batch(
    cursor: Any,
    updates: Sequence[dict[str, Any]],
    nodes: dict[tuple[int, int], bytes],
    wait: bool,
    notify: str | None,
) -> int:
    """On an autocommit DB-API cursor, as the leader, in one statement (its own transaction):
    give the queued rows their seq and entry, store the new subtree hashes and, with `notify`,
    `pg_notify` that channel. Returns how many rows were placed, `NOT_LEADER` or `STALE` (then
    nothing was written)."""
    parameters: dict[str, Any] = {
        "lock": SEQUENCER_LOCK,
        "ids": [u["row_id"] for u in updates],
        "seqs": [u["seq"] for u in updates],
        "entries": [u["entry"] for u in updates],
        "levels": [level for level, _ in nodes],
        "idxs": [idx for _, idx in nodes],
        "hashes": list(nodes.values()),
    }
    if notify is not None:
        parameters["channel"] = notify
    try:
        got, placed, *_ = locked_write(cursor, _PLACE_SQL[(wait, notify is not None)], parameters)
    except errors.UniqueViolation:
        return STALE
    if not got:
        return NOT_LEADER
    # Fewer rows than read cannot be: rows leave the queue only by a batch, which would have
    # stored the leaf this one writes (the statement failed above).
    assert placed == len(updates), f"{placed} of {len(updates)} queued messages placed"
    return int(placed)


def locked_write(cursor: Any, sql: str, parameters: dict[str, Any]) -> tuple[Any, ...]:
    """Send the batch's statement and read its one row: all the time that the leader's lock can
    be held in this process (bench/_stages.py times it as the serial section)."""
    cursor.execute(sql, parameters)
    return tuple(cursor.fetchone())
