"""The trail integrator's CPU at one application at a time (issue 17). Not a test: it prints figures.

    .venv/bin/python bench/integrator_costs.py -k 150 [--postgres URL]

What the live gateway does at c=1, in one process: each application's transactions queue their
trail messages (`--pattern`, entries per commit, default intake 2, three answers 1 each, the
settle with its decision 3: 8 entries in 5 commits, `--gap-ms` apart, one application every
`--every-ms`), while the real `IntegratorThread` (the gateway's `GATHER_S`, its checkpoint
interval, an Ed25519 C2SP signer with its state file, RSA tree heads) sequences them and signs
checkpoints. The writer is the bench's; what is measured is the CPU of the two integrator
threads alone (their own thread clocks), so the figures hold up on a busy machine:

- CPU per application, per entry, per integrating round and per checkpoint (the checkpoint
  thread's CPU is reported on its own too); rounds that found nothing are counted;
- the wall time from an entry's commit until the round that sequenced it returned (append →
  integrated: what an inclusion proof waits for), p50/p99/max.

On PostgreSQL the server's CPU is not counted (see bench/trail_bench.py for it).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import threading
import time
from pathlib import Path

from _support import fresh_database, percentiles_ms
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from gateway.clock import system_clock
from gateway.config import Config
from gateway.fanout.wakeup import TRAIL
from gateway.pki.dev import init_dev_pki
from gateway.storage.models import MessageRow
from gateway.storage.repository import Message, Store
from gateway.storage.trail import StoredTrail
from gateway.storage.wake import wakeups_for
from gateway.trail.audit import Auditor
from gateway.trail.format import TreeHead
from gateway.trail.integrator import GATHER_S, IntegratorThread
from gateway.trail.note import Ed25519Signer
from gateway.trail.signer import LogSigner
from gateway.trust.xmlsig import SigningIdentity

REPO_ROOT = Path(__file__).resolve().parent.parent


def _thread_cpu(thread: threading.Thread) -> float:
    """CPU seconds `thread` has used so far (its own clock: Linux)."""
    assert thread.ident is not None
    return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))


class _Counting:
    """The Auditor as the loop sees it, noting each round's end and what it sequenced."""

    def __init__(self, auditor: Auditor) -> None:
        self.auditor = auditor
        self.rounds: list[tuple[float, int]] = []  # (monotonic end, entries sequenced)
        self.signed = 0

    def integrate(self, wait: bool = True, max_batches: int | None = None) -> int:
        done = self.auditor.integrate(wait, max_batches)
        self.rounds.append((time.monotonic(), done))
        return done

    def sign_checkpoint(self) -> TreeHead | None:
        head = self.auditor.sign_checkpoint()
        self.signed += 1
        return head


def run(url: str, k: int, pattern: list[int], gap_s: float, every_s: float) -> None:
    store = Store(fresh_database(url), system_clock)
    pki = init_dev_pki(REPO_ROOT / "certs" / "dev")
    identity = SigningIdentity.from_files(pki.key_path("gateway"), pki.cert_path("gateway"))
    state = Path(tempfile.mkdtemp(prefix="nsw-integrator-costs-")) / "log-state"
    signer = LogSigner(
        Ed25519Signer("bench.nsw.kz/trail", Ed25519PrivateKey.generate()), state, system_clock
    )
    auditor = Auditor(StoredTrail(store), identity, system_clock, signer)
    body = b"<answer>" + b"x" * 3000 + b"</answer>"
    message = Message("agency-answer", "in", "agency:customs", "application/xml", body)
    for _ in range(20):  # warm-up, not measured: SQLAlchemy's caches, the first checkpoint
        with store.transaction() as s:
            store._add_message(s, "WARMUP", message)
    auditor.issue_tree_head()
    counting = _Counting(auditor)
    defaults = {f.name: f.default for f in dataclasses.fields(Config)}  # the gateway's own
    loop = IntegratorThread(
        counting,
        defaults["tree_head_interval_s"],
        wakeups_for(store.engine)[TRAIL],
        defaults["poll_interval_s"],
        gather_s=GATHER_S,
    )
    commits: list[tuple[float, int]] = []  # (monotonic commit, entries)
    loop.start()
    integrating, signing = loop._threads
    time.sleep(0.3)
    cpu0 = (_thread_cpu(integrating), _thread_cpu(signing))
    rounds0, signed0 = len(counting.rounds), counting.signed
    started = time.monotonic()
    for app in range(k):
        next_app = started + (app + 1) * every_s
        for n in pattern:
            with store.transaction() as s:
                for _ in range(n):
                    store._add_message(s, f"NSW-C1-{app}", message)
            commits.append((time.monotonic(), n))
            time.sleep(gap_s)
        time.sleep(max(0.0, next_app - time.monotonic()))
    total = sum(n for _, n in commits)
    deadline = time.monotonic() + 30
    while sum(n for _, n in counting.rounds[rounds0:]) < total and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(1.2)  # the checkpoint covering the last entries
    cpu1 = (_thread_cpu(integrating), _thread_cpu(signing))
    rounds = counting.rounds[rounds0:]
    signed = counting.signed - signed0
    loop.stop()
    with store.reading() as s:
        assert s.scalar(select(MessageRow.id).where(MessageRow.seq.is_(None)).limit(1)) is None

    # Append → integrated: entries are sequenced in commit order, so the n-th committed entry
    # is the n-th sequenced; its round's end is when its proof became possible.
    ends: list[float] = []
    for end, done in rounds:
        ends += [end] * done
    waits = []
    i = 0
    for committed, n in commits:
        for _ in range(n):
            waits.append(ends[i] - committed)
            i += 1
    integ, sign = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
    working = sum(1 for _, done in rounds if done)
    lat = percentiles_ms(waits)
    print(
        f"{store.engine.dialect.name}: {k} applications, {total} entries in {len(commits)} commits"
        f" (pattern {pattern}, gap {gap_s * 1000:.0f} ms, one every {every_s * 1000:.0f} ms)\n"
        f"  integrator CPU: {(integ + sign) / k * 1000:.3f} ms/application"
        f" = {(integ + sign) / total * 1000:.3f} ms/entry"
        f" (integrating {integ / k * 1000:.3f}, checkpoints {sign / k * 1000:.3f} ms/application)\n"
        f"  rounds: {len(rounds)} ({working} found work: {total / max(working, 1):.1f} entries"
        f" each; {integ / max(len(rounds), 1) * 1000:.3f} ms CPU per round);"
        f" checkpoints: {signed} ({sign / max(signed, 1) * 1000:.2f} ms CPU each)\n"
        f"  append → integrated: p50 {lat['p50']:.0f} ms, p99 {lat['p99']:.0f} ms,"
        f" max {lat['max']:.0f} ms",
        flush=True,
    )
    store.engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-k", type=int, default=150, help="applications")
    parser.add_argument("--pattern", default="2,1,1,1,3", help="entries per commit")
    parser.add_argument(
        "--gap-ms", type=float, default=8.0, help="between an application's commits"
    )
    parser.add_argument("--every-ms", type=float, default=60.0, help="one application every")
    parser.add_argument("--sqlite", default=None, help="SQLite file (recreated)")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument(
        "--postgres", metavar="URL", help="also PostgreSQL (a bench database: wiped)"
    )
    args = parser.parse_args(argv)
    pattern = [int(n) for n in args.pattern.split(",")]
    if not args.no_sqlite:
        path = args.sqlite or str(Path(tempfile.mkdtemp(prefix="nsw-ic-")) / "trail.db")
        run(f"sqlite:///{path}", args.k, pattern, args.gap_ms / 1000, args.every_ms / 1000)
    if args.postgres:
        run(args.postgres, args.k, pattern, args.gap_ms / 1000, args.every_ms / 1000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
