"""The DB-backed message trail at a million entries (issues 7, 17). Not a test: it prints figures.

    .venv/bin/python bench/trail_bench.py                        # SQLite, 1,000,000 entries
    .venv/bin/python bench/trail_bench.py --no-sqlite \
        --postgres postgresql+psycopg://postgres@127.0.0.1:5432/nsw_bench \
        --postgres-empty postgresql+psycopg://postgres@127.0.0.1:5432/nsw_bench_empty

Per database:

1. appends through the integrator on an empty log (a database of its own, made fresh):
   `--writers` threads write messages through the real path (`Store._add_message` ->
   `trail_log.append_message`: the queue), one or `--batch` per transaction, while the real
   `IntegratorThread` sequences them and signs a C2SP checkpoint (Ed25519, the signer's state
   file and consistency check included) every 0.8 s while the log grows. Reported: entries/s
   from the first write until the last entry is integrated, this process's CPU per entry (on
   SQLite the database's too), checkpoints signed and the longest gap between two (or from the
   start); then the integrator alone, draining a queue of `--appends` entries, and the time it
   holds the leader's lock per entry — the only serial section; the business write holds none;
2. the BULK LOG of `--size` entries (bench/_bulk_log.py: not the append path), built with the
   drivers' bulk paths the first time and kept between runs, trimmed back and checked before use;
3. `--proofs` inclusion and consistency proofs served by `Auditor.inclusion/consistency` (one
   statement each), random sizes and indexes, back to back; then inclusion proofs one every
   `--pace-ms`, as requests arrive; wall and CPU; a sample verified against roots computed
   independently in memory; then `--bundles` evidence bundles (`Auditor.bundle`: 8 entries,
   their proofs fetched in one query) of random bulk-loaded applications;
4. appends through the integrator again on top of the loaded log, and a check that the
   integrator carried on exactly where the bulk load stopped (root over the database == root
   computed in memory).
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from _bulk_log import CYCLE, application_of, bulk_log
from _support import describe_url, fresh_database, percentiles_ms, table
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from gateway.clock import system_clock
from gateway.fanout.wakeup import TRAIL
from gateway.pki.dev import init_dev_pki
from gateway.resources import shipped
from gateway.storage import trail_log
from gateway.storage.models import MessageRow
from gateway.storage.repository import Message, Store
from gateway.storage.trail import StoredTrail
from gateway.storage.trail_log import DbSubtreeHashes
from gateway.storage.wake import wakeups_for
from gateway.trail.audit import Auditor
from gateway.trail.format import TreeHead
from gateway.trail.integrator import IntegratorThread
from gateway.trail.merkle import (
    leaf_hash,
    tree_root,
    verify_consistency,
    verify_inclusion,
)
from gateway.trail.note import Ed25519Signer
from gateway.trail.signer import LogSigner
from gateway.trust.xmlsig import SigningIdentity

REPO_ROOT = Path(__file__).resolve().parent.parent  # var/ and certs/dev/ of the checkout
ORIGIN = "bench.nsw.kz/trail"
CHECKPOINT_INTERVAL_S = 0.8  # the gateway's default (Config.tree_head_interval_s)
VERIFY_SAMPLE = 100


def _message() -> Message:
    body = (shipped("samples") / "fresh-apples-import.xml").read_bytes()  # a real-size body
    return Message("agency-answer", "in", "agency:customs", "application/xml", body)


def server_cpu(store: Store) -> float:
    """CPU seconds used so far by the PostgreSQL server processes serving this database (the
    bench's own connections: nothing else uses a bench database), read from /proc (the server
    runs on this machine: benches run on 127.0.0.1); 0 on SQLite, which runs in-process."""
    if store.engine.dialect.name != "postgresql":
        return 0.0
    with store.reading() as s:
        pids = s.scalars(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).all()
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


class _TimedAuditor:
    """The Auditor as the integrator loop sees it, noting when each checkpoint was signed."""

    def __init__(self, auditor: Auditor) -> None:
        self.auditor = auditor
        self.signed: list[float] = []

    def integrate(self, wait: bool = True, max_batches: int | None = None) -> int:
        return self.auditor.integrate(wait, max_batches)

    def sign_checkpoint(self) -> TreeHead | None:
        head = self.auditor.sign_checkpoint()
        if head is not None:
            self.signed.append(time.perf_counter())
        return head


def through_integrator(
    store: Store,
    auditor: Auditor,
    count: int,
    per_transaction: int,
    writers: int,
    interval_s: float,
) -> tuple[float, int, float, float, float]:
    """Entries per second written by `writers` threads and sequenced by the integrator loop, the
    checkpoints it signed meanwhile, the longest gap between two (or from the start), and this
    process's CPU seconds per entry (writers, integrator, and on SQLite the database), and the
    PostgreSQL server's per entry (0 on SQLite)."""
    message = _message()
    for _ in range(20):  # not timed: let SQLAlchemy compile and cache its statements first
        with store.transaction() as s:
            store._add_message(s, "NSW-BENCH-WARMUP", message)
    auditor.issue_tree_head()
    timed = _TimedAuditor(auditor)
    loop = IntegratorThread(timed, interval_s, wakeups_for(store.engine)[TRAIL], poll_s=1.0)
    share = count // writers // per_transaction  # transactions per writer
    appended = share * per_transaction * writers
    with store.reading() as s:
        target = trail_log.log_size(s) + appended

    def write() -> None:
        for _ in range(share):
            with store.transaction() as s:
                for _ in range(per_transaction):
                    store._add_message(s, "NSW-BENCH-APPEND", message)

    started, cpu, server = time.perf_counter(), time.process_time(), server_cpu(store)
    loop.start()
    threads = [threading.Thread(target=write) for _ in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    while True:  # the bench's own look, not the loop's: how long until the last is sequenced
        with store.reading() as s:
            if trail_log.log_size(s) >= target:
                break
        time.sleep(0.005)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    server = server_cpu(store) - server
    done = time.perf_counter()
    while not timed.signed or timed.signed[-1] < done:  # the checkpoint covering the last entry
        time.sleep(0.01)
    loop.stop()
    marks = [started, *timed.signed]
    longest = max(b - a for a, b in itertools.pairwise(marks))
    return appended / elapsed, len(timed.signed), longest, cpu / appended, server / appended


def integrator_alone(
    store: Store, trail: StoredTrail, count: int
) -> tuple[float, float, float, float]:
    """Entries per second the integrator sequences from a queue of `count`, the milliseconds per
    entry it takes (its wall time / entries: the lock is held for part of it), and the CPU
    time per entry of the integrating thread and of the database server (PostgreSQL)."""
    message = _message()
    for _ in range(count // 100):
        with store.transaction() as s:
            for _ in range(100):
                store._add_message(s, "NSW-BENCH-QUEUED", message)
    started, cpu, server = time.perf_counter(), time.thread_time(), server_cpu(store)
    done = trail.integrate()
    elapsed, cpu = time.perf_counter() - started, time.thread_time() - cpu
    server = server_cpu(store) - server
    return done / elapsed, elapsed / done * 1000, cpu / done * 1000, server / done * 1000


Proofs = list[tuple[int, int, list[bytes]]]
Times = tuple[list[float], list[float]]  # wall seconds, this process's CPU seconds


def time_proofs(
    auditor: Auditor, size: int, count: int, rng: random.Random
) -> tuple[Proofs, Times, Proofs, Times]:
    """Wall and CPU time of each proof. The CPU time is this process's (on SQLite that is all the
    work: the database runs in-process), so it holds up on a machine busy with other work."""
    sizes = [rng.randrange(2, size + 1) for _ in range(count)]
    inclusions: Proofs = []
    inclusion_times: Times = ([], [])
    for n in sizes:
        i = rng.randrange(n)
        t0, c0 = time.perf_counter(), time.thread_time()
        proof = auditor.inclusion(i, n)
        inclusion_times[1].append(time.thread_time() - c0)
        inclusion_times[0].append(time.perf_counter() - t0)
        inclusions.append((i, n, proof))
    consistencies: Proofs = []
    consistency_times: Times = ([], [])
    for n in sizes:
        m = rng.randrange(1, n)
        t0, c0 = time.perf_counter(), time.thread_time()
        proof = auditor.consistency(m, n)
        consistency_times[1].append(time.thread_time() - c0)
        consistency_times[0].append(time.perf_counter() - t0)
        consistencies.append((m, n, proof))
    return inclusions, inclusion_times, consistencies, consistency_times


def time_paced_inclusions(
    auditor: Auditor, size: int, count: int, rng: random.Random, pace_s: float
) -> Times:
    """Inclusion proofs as requests arrive at a server, one every `pace_s` (the pause not timed),
    rather than back to back: a thread that never sleeps is the one a loaded machine's scheduler
    sets back first, so back-to-back wall times measure the bench's own CPU hogging too."""
    times: Times = ([], [])
    for n in (rng.randrange(2, size + 1) for _ in range(count)):
        i = rng.randrange(n)
        time.sleep(pace_s)
        t0, c0 = time.perf_counter(), time.thread_time()
        auditor.inclusion(i, n)
        times[1].append(time.thread_time() - c0)
        times[0].append(time.perf_counter() - t0)
    return times


def time_bundles(auditor: Auditor, size: int, count: int, rng: random.Random) -> list[float]:
    """Seconds per `Auditor.bundle` of a random bulk-loaded application (len(CYCLE) entries)."""
    auditor.issue_tree_head()  # not timed: sign the head once, as the tree-head thread would
    times = []
    for _ in range(count):
        application_id = application_of(rng.randrange(size // len(CYCLE)) * len(CYCLE))
        t0 = time.perf_counter()
        bundle = auditor.bundle(application_id)
        times.append(time.perf_counter() - t0)
        assert len(bundle["entries"]) == len(CYCLE), application_id
    return times


def _leaf(store: Store, seq: int) -> bytes:
    with store.transaction() as s:
        entry = s.scalar(select(MessageRow.entry).where(MessageRow.seq == seq))
    assert entry is not None, f"no entry {seq}"
    return leaf_hash(entry)


def checkpointing(store: Store, gateway: SigningIdentity) -> Auditor:
    """An Auditor that signs C2SP checkpoints as the gateway does, with a throw-away log key and a
    signer state file of its own (its consistency check against the last signed tree included)."""
    state = Path(tempfile.mkdtemp(prefix="nsw-trail-bench-")) / "log-state"
    signer = LogSigner(Ed25519Signer(ORIGIN, Ed25519PrivateKey.generate()), state, system_clock)
    return Auditor(StoredTrail(store), gateway, system_clock, signer)


def appends(
    label: str,
    store: Store,
    auditor: Auditor,
    count: int,
    batch: int,
    writers: int,
    where: str,
) -> list[list[object]]:
    """Step 1 and 4: appends through the integrator, one and `batch` per transaction, and the
    integrator alone; printed, and returned as rows of the figures table."""
    figures: list[list[object]] = []
    for per_transaction in (1, batch):
        rate, signed, longest, cpu, server = through_integrator(
            store, auditor, count, per_transaction, writers, CHECKPOINT_INTERVAL_S
        )
        what = f"appends through the integrator, {where}: {writers} writers, {per_transaction} entries/txn"
        figure = (
            f"{rate:,.0f} entries/s; {signed} checkpoints, longest gap {longest:.2f} s; "
            f"CPU {cpu * 1000:.2f} ms/entry" + (f" + server {server * 1000:.2f}" if server else "")
        )
        print(f"{what}: {figure}", flush=True)
        figures.append([label, what, figure])
    rate, wall_ms, cpu_ms, server_ms = integrator_alone(store, StoredTrail(store), count)
    what = f"integrator alone, {where}: a queue of {count:,} sequenced"
    figure = f"{rate:,.0f} entries/s; {wall_ms:.3f} ms/entry, CPU {cpu_ms:.3f} ms/entry" + (
        f" + server {server_ms:.3f}" if server_ms else ""
    )
    print(f"{what}: {figure}", flush=True)
    figures.append([label, what, figure])
    return figures


def run(
    url: str,
    size: int,
    appends_n: int,
    writers: int,
    batch: int,
    proofs: int,
    bundles: int,
    gateway: SigningIdentity,
    empty_url: str | None,
    cache_dir: Path,
    may_wipe: Callable[[str], str | None],
    rebuild: bool,
    pace_s: float,
) -> list[list[object]]:
    label = describe_url(url)
    print(f"\n=== {label}  ({url})", flush=True)
    figures: list[list[object]] = []

    # 1. Appends through the integrator on an empty log (a database of its own: the bulk log is
    # kept between runs).
    if empty_url is not None:
        store = Store(fresh_database(empty_url, may_wipe(empty_url)), system_clock)
        figures += appends(
            label, store, checkpointing(store, gateway), appends_n, batch, writers, "empty log"
        )
        store.engine.dispose()

    # 2. The bulk log of `size` entries, reused from an earlier run when it checks out.
    engine, hashes, how = bulk_log(url, size, cache_dir, may_wipe(url), rebuild)
    store = Store(engine, system_clock)
    print(
        f"BULK LOG (not the append path): {size:,} entries + {sum(map(len, hashes.levels)):,} "
        f"subtree hashes, {how}",
        flush=True,
    )
    figures.append([label, f"BULK LOG (not the append path) of {size:,} entries", how])
    root = tree_root(size, hashes)
    with store.reading() as s:
        stored_root = tree_root(size, DbSubtreeHashes(s))
    assert stored_root == root, "root over the stored hashes differs from the in-memory root"

    # 3. Proofs served by the Auditor from stored subtree hashes.
    auditor = Auditor(StoredTrail(store), gateway, system_clock)
    rng = random.Random(9162)
    inclusions, inclusion_times, consistencies, consistency_times = time_proofs(
        auditor, size, proofs, rng
    )
    for name, (times, cpu) in (("inclusion", inclusion_times), ("consistency", consistency_times)):
        p, c = percentiles_ms(times), percentiles_ms(cpu)
        print(
            f"{name:<12} proof at {size:,}: mean {p['mean']:.2f} ms  p50 {p['p50']:.2f} ms  p99 {p['p99']:.2f} ms  "
            f"(CPU of this thread: p50 {c['p50']:.2f} ms  p99 {c['p99']:.2f} ms; n={len(times)})",
            flush=True,
        )
        figures.append(
            [
                label,
                f"{name} proof (Auditor, log of {size:,})",
                f"mean {p['mean']:.2f} / p50 {p['p50']:.2f} / p99 {p['p99']:.2f} ms",
            ]
        )
        figures.append(
            [
                label,
                f"{name} proof, CPU of the calling thread",
                f"mean {c['mean']:.2f} / p50 {c['p50']:.2f} / p99 {c['p99']:.2f} ms",
            ]
        )
    if pace_s:
        times, cpu = time_paced_inclusions(auditor, size, proofs, rng, pace_s)
        p, c = percentiles_ms(times), percentiles_ms(cpu)
        what = f"inclusion proof, one every {pace_s * 1000:.0f} ms (log of {size:,})"
        figure = (
            f"mean {p['mean']:.2f} / p50 {p['p50']:.2f} / p99 {p['p99']:.2f} ms; "
            f"CPU p50 {c['p50']:.2f} / p99 {c['p99']:.2f} ms"
        )
        print(f"{what}: {figure}", flush=True)
        figures.append([label, what, figure])
    # Not timed: the figures mean nothing unless the proofs verify against independent roots.
    for (i, n, proof), (m, n2, cproof) in zip(
        inclusions[:VERIFY_SAMPLE], consistencies[:VERIFY_SAMPLE], strict=True
    ):
        verify_inclusion(_leaf(store, i), i, n, proof, tree_root(n, hashes))
        verify_consistency(m, n2, tree_root(m, hashes), tree_root(n2, hashes), cproof)
    print(
        f"verified {VERIFY_SAMPLE} inclusion and {VERIFY_SAMPLE} consistency proofs against roots computed in memory",
        flush=True,
    )
    if bundles:
        p = percentiles_ms(time_bundles(auditor, size, bundles, rng))
        print(
            f"bundle of {len(CYCLE)} entries at {size:,}: mean {p['mean']:.2f} ms  p50 {p['p50']:.2f} ms  p99 {p['p99']:.2f} ms  (n={bundles})",
            flush=True,
        )
        figures.append(
            [
                label,
                f"evidence bundle of {len(CYCLE)} entries (Auditor, log of {size:,})",
                f"mean {p['mean']:.2f} / p50 {p['p50']:.2f} / p99 {p['p99']:.2f} ms",
            ]
        )

    # 4. Appends through the integrator again, on top of the loaded log.
    figures += appends(
        label, store, checkpointing(store, gateway), appends_n, batch, writers, f"at {size:,}"
    )
    with store.transaction() as s:
        grown = s.scalar(select(MessageRow.seq).order_by(MessageRow.seq.desc()).limit(1)) + 1
    for seq in range(size, grown):
        hashes.append(_leaf(store, seq))
    with store.transaction() as s:
        assert tree_root(grown, DbSubtreeHashes(s)) == tree_root(grown, hashes), "appends diverged"
    print(f"root at {grown:,} over stored hashes == root computed in memory", flush=True)
    engine.dispose()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sqlite",
        default=str(REPO_ROOT / "var" / "bench" / "trail.db"),
        help="SQLite file of the bulk log (kept between runs; the empty-log step uses a file "
        "beside it, recreated)",
    )
    parser.add_argument("--no-sqlite", action="store_true", help="only PostgreSQL")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="also PostgreSQL: the database of the bulk log, kept between runs (its name must "
        "contain 'bench', or be named in --may-wipe)",
    )
    parser.add_argument(
        "--postgres-empty",
        metavar="URL",
        help="PostgreSQL database for the empty-log appends (wiped; without it that step is "
        "left out on PostgreSQL)",
    )
    parser.add_argument(
        "--size", type=int, default=1_000_000, help="entries in the bulk-loaded log"
    )
    parser.add_argument("--postgres-size", type=int, help="bulk size on PostgreSQL [--size]")
    parser.add_argument("--appends", type=int, default=3_000, help="entries per append measurement")
    parser.add_argument("--batch", type=int, default=10, help="entries per transaction, batched")
    parser.add_argument("--writers", type=int, default=4, help="threads writing messages")
    parser.add_argument("--proofs", type=int, default=1_000)
    parser.add_argument("--bundles", type=int, default=200, help="evidence bundles to time")
    parser.add_argument(
        "--pace-ms",
        type=float,
        default=5.0,
        help="also time --proofs inclusion proofs one every this many ms (0: not)",
    )
    parser.add_argument(
        "--rebuild", action="store_true", help="build the bulk log afresh even if one is kept"
    )
    parser.add_argument(
        "--may-wipe",
        metavar="NAME",
        action="append",
        default=[],
        help="a PostgreSQL database without 'bench' in its name that this run may wipe "
        "(repeatable)",
    )
    args = parser.parse_args(argv)

    def may_wipe(url: str) -> str | None:
        name = make_url(url).database
        return name if name in args.may_wipe else None

    pki = init_dev_pki(REPO_ROOT / "certs" / "dev")
    gateway = SigningIdentity.from_files(pki.key_path("gateway"), pki.cert_path("gateway"))
    cache_dir = REPO_ROOT / "var" / "bench"
    figures = []
    wall, cpu = time.perf_counter(), time.process_time()
    if not args.no_sqlite:
        empty = Path(args.sqlite).with_name(Path(args.sqlite).stem + "-empty.db")
        figures += run(
            f"sqlite:///{args.sqlite}",
            args.size,
            args.appends,
            args.writers,
            args.batch,
            args.proofs,
            args.bundles,
            gateway,
            f"sqlite:///{empty}",
            cache_dir,
            may_wipe,
            args.rebuild,
            args.pace_ms / 1000,
        )
    if args.postgres:
        figures += run(
            args.postgres,
            args.postgres_size or args.size,
            args.appends,
            args.writers,
            args.batch,
            args.proofs,
            args.bundles,
            gateway,
            args.postgres_empty,
            cache_dir,
            may_wipe,
            args.rebuild,
            args.pace_ms / 1000,
        )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    figures.append(["(this run)", "wall / CPU of the bench process", f"{wall:.0f} s / {cpu:.0f} s"])
    print("\n" + table(["database", "measurement", "figure"], figures, "llr"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
