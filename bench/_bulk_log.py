"""A log of a million entries for trail_bench.py, built fast once and kept between runs.

Not the append path: entries are precomputed in Python (the same `entry_bytes` the integrator
writes) and go in with the driver's bulk paths — COPY on PostgreSQL, one `executemany` in one
transaction on SQLite — with every stored subtree hash (`InMemorySubtreeHashes`). The hashes are
also written to a file under var/bench/, beside a note of the database and the root.

A later run with the same database and size reuses the log: it trims what the previous run
appended (messages past the bulk size or still queued, their subtree hashes, tree heads and
checkpoints), brings the schema to the newest migration, and checks that the root over the stored
hashes equals the root over the file's — and that sampled entries hash to the file's leaves —
before any figure is taken. Anything else rebuilds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _support import fresh_database
from sqlalchemy import Engine, delete, select, text
from sqlalchemy.engine import make_url

from gateway.storage.db import make_engine, read_session_factory
from gateway.storage.migrate import upgrade
from gateway.storage.models import CheckpointRow, MessageRow, TrailNodeRow, TreeHeadRow
from gateway.storage.trail_log import DbSubtreeHashes
from gateway.trail.format import entry_bytes, precise
from gateway.trail.merkle import HASH_SIZE, InMemorySubtreeHashes, leaf_hash, tree_root

# One application's messages, in order: what the bulk-loaded entries look like.
CYCLE = (
    ("application", "in", "trader:210540012341", None),
    ("agency-request", "out", "agency:customs", "customs"),
    ("agency-answer", "in", "agency:customs", "customs"),
    ("agency-request", "out", "agency:transport", "transport"),
    ("agency-answer", "in", "agency:transport", "transport"),
    ("agency-request", "out", "agency:phytosanitary", "phytosanitary"),
    ("agency-answer", "in", "agency:phytosanitary", "phytosanitary"),
    ("decision", "out", "trader:210540012341", None),
)
COLUMNS = (
    "seq",
    "entry",
    "application_id",
    "case_id",
    "kind",
    "direction",
    "counterpart",
    "content_type",
    "body",
    "sha256",
    "signer",
    "created_at",
)
BASE_TIME = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
CHUNK = 50_000
SAMPLE = 200  # entries re-hashed against the kept leaves when a cached log is reused


def application_of(seq: int) -> str:
    return f"NSW-20260101-{seq // len(CYCLE):010X}"


def _rows(start: int, stop: int) -> Iterator[tuple[Any, ...]]:
    """The message rows of entries start..stop-1 (short bodies), in COLUMNS order."""
    for seq in range(start, stop):
        kind, direction, counterpart, agency = CYCLE[seq % len(CYCLE)]
        application_id = application_of(seq)
        case_id = f"{application_id}-{agency}" if agency else None
        body = b"<bulk-loaded seq='%d'/>" % seq
        digest = hashlib.sha256(body).hexdigest()
        created = BASE_TIME + dt.timedelta(milliseconds=seq)
        fields = {
            "kind": kind,
            "direction": direction,
            "counterpart": counterpart,
            "application_id": application_id,
            "case_id": case_id,
            "content_type": "application/xml",
            "time": precise(created),
            "signer": None,
            "sha256": digest,
            "seq": seq,
        }
        yield (
            seq,
            entry_bytes(fields),
            application_id,
            case_id,
            kind,
            direction,
            counterpart,
            "application/xml",
            body,
            digest,
            None,
            created,
        )


def _fill_postgres(engine: Engine, size: int, hashes: InMemorySubtreeHashes) -> None:
    raw: Any = engine.raw_connection()
    try:
        with raw.cursor() as cur:
            with cur.copy(f"COPY messages ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for start in range(0, size, CHUNK):
                    for row in _rows(start, min(size, start + CHUNK)):
                        hashes.append(leaf_hash(row[1]))
                        copy.write_row(row)
            with cur.copy("COPY trail_nodes (level, idx, hash) FROM STDIN") as copy:
                for level, level_hashes in enumerate(hashes.levels):
                    for idx, digest in enumerate(level_hashes):
                        copy.write_row((level, idx, digest))
        raw.commit()
    finally:
        raw.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        # As autovacuum would, eventually: without it the first minutes after a bulk load
        # measure autovacuum competing for this machine's two cores, not the log.
        c.exec_driver_sql("VACUUM ANALYZE messages, trail_nodes")


def _fill_sqlite(engine: Engine, size: int, hashes: InMemorySubtreeHashes) -> None:
    created_at = MessageRow.__table__.c.created_at.type
    as_stored = created_at.dialect_impl(engine.dialect).bind_processor(engine.dialect)
    assert as_stored is not None
    marks = ", ".join("?" for _ in COLUMNS)
    raw: Any = engine.raw_connection()
    try:
        cur = raw.cursor()
        synchronous = cur.execute("PRAGMA synchronous").fetchone()[0]
        cur.execute("PRAGMA synchronous=OFF")  # a bench log, rebuilt if a crash tears it
        cur.execute("BEGIN IMMEDIATE")
        for start in range(0, size, CHUNK):
            rows = list(_rows(start, min(size, start + CHUNK)))
            for row in rows:
                hashes.append(leaf_hash(row[1]))
            cur.executemany(
                f"INSERT INTO messages ({', '.join(COLUMNS)}) VALUES ({marks})",
                [(*row[:-1], as_stored(row[-1])) for row in rows],
            )
        for level, level_hashes in enumerate(hashes.levels):
            cur.executemany(
                "INSERT INTO trail_nodes (level, idx, hash) VALUES (?, ?, ?)",
                ((level, idx, digest) for idx, digest in enumerate(level_hashes)),
            )
        cur.execute("COMMIT")
        cur.execute(f"PRAGMA synchronous={int(synchronous)}")
        cur.close()
    finally:
        raw.close()


def _files(url: str, size: int, cache_dir: Path) -> tuple[Path, Path]:
    name = hashlib.sha256(url.encode()).hexdigest()[:12]
    return cache_dir / f"trail-{name}-{size}.json", cache_dir / f"trail-{name}-{size}.hashes"


def _save(hashes: InMemorySubtreeHashes, path: Path) -> None:
    with path.open("wb") as f:
        for level_hashes in hashes.levels:
            f.write(len(level_hashes).to_bytes(8, "big"))
            f.write(b"".join(level_hashes))


def _load(path: Path) -> InMemorySubtreeHashes:
    data = path.read_bytes()
    hashes = InMemorySubtreeHashes()
    hashes.levels, at = [], 0
    while at < len(data):
        count = int.from_bytes(data[at : at + 8], "big")
        at += 8
        end = at + count * HASH_SIZE
        hashes.levels.append([data[i : i + HASH_SIZE] for i in range(at, end, HASH_SIZE)])
        at = end
    return hashes


def _trim(engine: Engine, size: int) -> None:
    """Back to the bulk-loaded log of `size`: what earlier runs appended goes (index range scans
    only: per level, the subtrees that end past `size`)."""
    m, n = MessageRow.__table__.c, TrailNodeRow.__table__.c
    with engine.begin() as c:
        c.execute(delete(MessageRow).where((m.seq >= size) | m.seq.is_(None)))
        for level in range(64):
            c.execute(delete(TrailNodeRow).where(n.level == level, n.idx >= size >> level))
        c.execute(delete(TreeHeadRow))
        c.execute(delete(CheckpointRow))


def _reuse(url: str, size: int, note: Path, kept: Path) -> tuple[Engine, Any] | None:
    """The cached log of `size` at `url`, trimmed and checked, with its kept hashes; or None."""
    if not (note.exists() and kept.exists()):
        return None
    recorded = json.loads(note.read_text())
    if recorded.get("url") != url or recorded.get("size") != size:
        return None
    engine = make_engine(url)
    try:
        upgrade(engine)  # a newer migration since the log was built
        _trim(engine, size)
        hashes = _load(kept)
        with engine.connect() as c:
            stored = c.execute(text("SELECT max(seq) FROM messages")).scalar()
        if stored != size - 1 or len(hashes) != size:
            raise LookupError("sizes differ")
        root = bytes.fromhex(recorded["root"])
        with read_session_factory(engine).begin() as s:
            if tree_root(size, DbSubtreeHashes(s)) != root or tree_root(size, hashes) != root:
                raise LookupError("roots differ")
            rng = random.Random(size)
            for seq in (rng.randrange(size) for _ in range(SAMPLE)):
                entry = s.scalar(select(MessageRow.entry).where(MessageRow.seq == seq))
                if entry is None or leaf_hash(entry) != hashes.levels[0][seq]:
                    raise LookupError(f"entry {seq} differs")
    except Exception as exc:  # any doubt: build afresh
        print(f"cached log at {url} not reused ({exc}); building it", flush=True)
        engine.dispose()
        return None
    return engine, hashes


def bulk_log(
    url: str, size: int, cache_dir: Path, may_wipe: str | None = None, rebuild: bool = False
) -> tuple[Engine, InMemorySubtreeHashes, str]:
    """An engine on a log of exactly the `size` bulk entries, every subtree hash of it, and how
    it came ("reused, checked in N s" or "built in N s")."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    note, kept = _files(url, size, cache_dir)
    t0 = time.perf_counter()
    reused = None if rebuild else _reuse(url, size, note, kept)
    if reused is not None:
        return reused[0], reused[1], f"reused and checked in {time.perf_counter() - t0:.1f} s"
    note.unlink(missing_ok=True)
    engine = fresh_database(url, may_wipe)
    hashes = InMemorySubtreeHashes()
    if make_url(url).get_backend_name() == "postgresql":
        _fill_postgres(engine, size, hashes)
    else:
        _fill_sqlite(engine, size, hashes)
    _save(hashes, kept)
    note.write_text(json.dumps({"url": url, "size": size, "root": tree_root(size, hashes).hex()}))
    return engine, hashes, f"built in {time.perf_counter() - t0:.1f} s"
