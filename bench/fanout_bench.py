"""Fan-out throughput and latency, end to end, over real processes (issue 6 item 7). Not a test.

    .venv/bin/python bench/fanout_bench.py [--quick] [--postgres URL] [--workers M] [-k K] [-c C]

For each database (SQLite; PostgreSQL with --postgres) and each agency latency (--latencies), the
bench starts the stand-in agencies of agencies.toml (`python -m simulators CODE --latency-s S`), the gateway
(`python -m gateway.cli.main serve --dev`, N dispatcher threads; or 0 there and M `nsw worker` processes
with N threads each) on a fresh database, all on 127.0.0.1, and stops them all afterwards. With
--gunicorn the gateway is `nsw serve` as a ministry runs it (gunicorn's threaded workers,
--web-workers of them, default 1 so that one process dispatches as with --dev); the master and its
workers are counted together.

Before anything is timed it signs a corpus of K applications (the samples/ with a new
TraderReference per copy, each signed by its declarant's dev certificate) and measures the crypto
floor of one application in this process (bench/_floor.py): every cryptographic call the gateway
makes for it, counted from the code — intake's XML-DSig verify with chain and CRL, the receipt and
decision signatures, and per agency the request's signature and the answer's verification
(WS-Security for SOAP agencies; RFC 9421 with Content-Digest for REST ones) — over the same three
samples, the agency calls made for real against in-process stand-ins.

Timed: C client threads send the K applications, by default in a closed loop (a thread sends its
next application once its last one is decided: C applications in flight); with --burst as fast
as the gateway accepts them, so the latencies then include the backlog. Reported: applications accepted per second,
decisions per second, time from submission to the decision being visible to the trader
(p50/p95/p99), the gateway's CPU seconds per application (web process and workers, from
/proc/<pid>/stat), and that CPU as a multiple of the crypto floor.

"Visible" is when the committed decision can be read: a watcher thread reads the applications
table (SQLite: every POLL_S; PostgreSQL: when a commit NOTIFYs the trail's channel, as every settle
does) and stamps each application the first time it sees it decided, so a latency is late by at
most POLL_S (or the notification's trip) plus one read. (The gateway's `decided_at` is set when the last case is
settled, before the decision is signed and committed: it under-reports; the bench prints by how
much.)
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _stages as stages
import psycopg
import requests
from _corpus import signed_corpus
from _cpu_share import CpuShare
from _floor import crypto_floors
from _support import (
    TICK,
    cpu_seconds,
    describe_url,
    family,
    fresh_database,
    machine_jiffies,
    percentiles_ms,
    start_worker,
    table,
)
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.engine import make_url

from devtools.processes import ProcessGroup, free_port
from gateway.fanout.agencies import standin_agencies
from gateway.fanout.wakeup import TRAIL
from gateway.pki.dev import DevPki, init_dev_pki
from gateway.resources import shipped
from gateway.storage.models import ApplicationRow

REPO_ROOT = Path(__file__).resolve().parent.parent  # var/ and certs/dev/ of the checkout
WORKDIR = REPO_ROOT / "var" / "bench" / "fanout"
POLL_S = 0.002  # SQLite: how often the watcher reads which decisions are committed
SAFETY_S = 0.02  # PostgreSQL: it reads on the trail's NOTIFY, and at least this often


@dataclass(frozen=True)
class Setup:
    database_url: str
    latency_s: float
    threads: int  # dispatcher threads per process that dispatches
    workers: int  # `nsw worker` processes; 0: the threads run in the web process
    may_wipe: str | None = None  # a PostgreSQL database without 'bench' in its name it may wipe
    stages: Path | None = None  # record stage timestamps here (bench/_stages.py)
    web_workers: int = 0  # gunicorn workers (`nsw serve`); 0: Werkzeug's server (`serve --dev`)


# --- the processes ------------------------------------------------------------------------------


def start_servers(
    group: ProcessGroup, setup: Setup, pki: DevPki
) -> tuple[str, list[int], list[int], list[list[int]]]:
    """Agencies, gateway (and workers); returns the gateway URL, the agencies' pids, the web
    server's pids (gunicorn's master and workers) and each `nsw worker`'s pid."""
    env = {
        "NSW_PKI_DIR": str(pki.directory),
        "NSW_DATABASE_URL": setup.database_url,
        "NSW_DISPATCHER_THREADS": str(0 if setup.workers else setup.threads),
        # As deployed (the OMC and the portal need it): requests then open sessions as there.
        "NSW_SECRET_KEY": secrets.token_urlsafe(32),
    }
    for code in standin_agencies(shipped("mappings")):
        port = free_port()
        args = ["-m", "simulators", code, "--port", str(port), "--latency-s", str(setup.latency_s)]
        env[f"NSW_AGENCY_{code.upper()}_URL"] = group.start(
            code, args, port, {"NSW_PKI_DIR": str(pki.directory)}
        )
    agencies = [p.pid for p in group.processes]
    port = free_port()
    # --dev by default: one process, as the published figures were measured. With --gunicorn,
    # `nsw serve` as deployed: the master and the workers it forks, all counted as "web".
    entry = ["-m", "gateway.cli.main"]
    if setup.stages is not None:  # the same gateway, with a few functions wrapped to stamp times
        setup.stages.unlink(missing_ok=True)
        env[stages.ENV] = str(setup.stages)
        entry = [str(Path(__file__).with_name("_stages.py"))]
    serve = [*entry, "serve", "--port", str(port)]
    if setup.web_workers:
        env["NSW_WEB_WORKERS"] = str(setup.web_workers)
    else:
        serve.append("--dev")
    url = group.start("gateway", serve, port, env)
    # Only a gunicorn worker answers the readiness probe: once it answered, its worker exists.
    web = family(group.processes[-1].pid)
    if len(web) != 1 + setup.web_workers:
        raise SystemExit(f"the web server runs {len(web)} processes, not {1 + setup.web_workers}")
    for i in range(setup.workers):
        start_worker(group, f"worker-{i}", setup.threads, env, entry)
    return url, agencies, web, [[p.pid] for p in group.processes[len(agencies) + 1 :]]


# --- the timed phase ----------------------------------------------------------------------------


def send_all(
    url: str,
    corpus: list[bytes],
    concurrency: int,
    wait_for: Callable[[str], None] | None,
    watch: Callable[[str], None],
) -> list[tuple[str | None, float]]:
    """POST every application from `concurrency` threads; (id or None, wall time sent) each.

    With `wait_for` (closed loop) a thread sends its next application only once its last one is
    decided, so `concurrency` applications are in flight; without it (burst) the threads send as
    fast as the gateway accepts and the dispatchers drain the backlog afterwards."""
    local = threading.local()

    def send(body: bytes) -> tuple[str | None, float]:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        sent = time.time()
        response = local.session.post(
            f"{url}/api/v1/applications",
            data=body,
            headers={"Content-Type": "application/xml"},
            timeout=60,
        )
        app_id = response.json()["id"] if response.status_code == 202 else None
        if app_id:
            watch(app_id)
        if app_id and wait_for:
            wait_for(app_id)
        return app_id, sent

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(send, corpus))


class DecisionWatcher:
    """Stamps each application with the wall time its decision was first seen committed.

    One thread reads which of the applications accepted and not yet seen decided are decided, each
    read a fresh transaction (a statement over the few ids in flight, so it costs the same at the
    end of a run as at its start): what it sees is what the decision endpoint would serve the
    trader. Decisions are read from the database, not polled through the API: polling would add
    its own CPU to the gateway's (and status reads need an HTTP signature per request).

    When it reads: on SQLite every POLL_S. On PostgreSQL when the gateway's trail channel is
    notified (every transaction that settles a case, the deciding one included, appends to the
    trail and NOTIFYs it at commit), and at least every SAFETY_S. Reading every 2 ms cost 500
    statements a second: about a fifth of a core of this client and as much again of PostgreSQL's,
    taken from the two cores the gateway runs on, which skewed the runs that compare workers."""

    def __init__(self, reader: Engine) -> None:
        self.reader = reader
        self.seen: dict[str, float] = {}
        self.reads = 0  # statements it sent
        self._events: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._pending: set[str] = set()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._listener: psycopg.Connection[Any] | None = None
        if reader.dialect.name == "postgresql":
            url = reader.url.set(drivername="postgresql")
            self._listener = psycopg.connect(
                url.render_as_string(hide_password=False), autocommit=True
            )
            self._listener.execute(f"LISTEN {TRAIL}")
        self._thread = threading.Thread(target=self._run, name="decision-watcher", daemon=True)

    def _event(self, app_id: str) -> threading.Event:
        with self._lock:
            return self._events.setdefault(app_id, threading.Event())

    def watch(self, app_id: str) -> None:
        """Start looking for `app_id`'s decision (called as soon as the gateway accepted it)."""
        with self._lock:
            if app_id not in self.seen:
                self._pending.add(app_id)
        self._wake.set()

    def _pause(self) -> None:
        """Until the next read is worth making: a commit notified (PostgreSQL), or POLL_S."""
        if self._listener is None:
            self._stop.wait(POLL_S)
            return
        # A notification that arrived during the last read is still unread on the socket: this
        # returns at once for it, so no commit is missed between a read and the next wait.
        for _ in self._listener.notifies(timeout=SAFETY_S, stop_after=1):
            pass

    def _run(self) -> None:
        apps = ApplicationRow.__table__
        with self.reader.connect() as c:
            while not self._stop.is_set():
                with self._lock:
                    pending = list(self._pending)
                if not pending:
                    self._wake.wait(POLL_S)
                    self._wake.clear()
                    continue
                query = select(apps.c.id).where(apps.c.status == "decided", apps.c.id.in_(pending))
                decided = c.scalars(query).all()
                c.rollback()
                self.reads += 1
                now = time.time()
                for app_id in decided:
                    with self._lock:
                        self._pending.discard(app_id)
                        self.seen.setdefault(app_id, now)
                    self._event(app_id).set()
                self._pause()

    def wait_for(self, app_id: str, give_up: float) -> None:
        self._event(app_id).wait(max(0.0, give_up - time.monotonic()))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:  # started
            self._thread.join(10)
        if self._listener is not None and not self._thread.is_alive():
            self._listener.close()


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def run_setup(
    setup: Setup,
    pki: DevPki,
    corpus: list[bytes],
    concurrency: int,
    timeout_s: float,
    closed_loop: bool,
) -> dict[str, object]:
    fresh_database(setup.database_url, setup.may_wipe).dispose()
    reader = create_engine(setup.database_url)
    watcher = DecisionWatcher(reader)
    apps = ApplicationRow.__table__
    database = "sqlite" if setup.database_url.startswith("sqlite") else "postgres"
    group = ProcessGroup(WORKDIR / "logs" / f"{database}-{setup.latency_s:g}s-{setup.workers}w")
    try:
        url, agencies, web, workers = start_servers(group, setup, pki)
        gateway = web + [pid for pids in workers for pid in pids]
        share = CpuShare(
            {
                "web": web,
                **{f"worker-{i}": pids for i, pids in enumerate(workers)},
                "stand-ins": agencies,
            },
            None if database == "sqlite" else make_url(setup.database_url).database,
        )
        share.start()
        machine_before, own_before, started = machine_jiffies(), _own_cpu(), time.time()
        cpu_before, agencies_before = cpu_seconds(gateway), cpu_seconds(agencies)
        give_up = time.monotonic() + timeout_s
        watcher.start()
        waiter = (lambda app_id: watcher.wait_for(app_id, give_up)) if closed_loop else None
        sent = send_all(url, corpus, concurrency, waiter, watcher.watch)
        accepted_in = time.time() - started
        ids = {app_id: at for app_id, at in sent if app_id}
        for app_id in ids:
            watcher.wait_for(app_id, give_up)
        finished = time.time()
        share.stop()
        watcher.stop()
        cpu = cpu_seconds(gateway) - cpu_before
        agencies_cpu = cpu_seconds(agencies) - agencies_before
        machine_after, own = machine_jiffies(), _own_cpu() - own_before
    finally:
        watcher.stop()
        group.stop()
    with reader.connect() as c:
        rows = c.execute(select(apps.c.id, apps.c.decided_at, apps.c.verdict)).all()
    reader.dispose()
    decided_at = {
        r.id: r.decided_at.replace(tzinfo=r.decided_at.tzinfo or dt.UTC).timestamp()
        for r in rows
        if r.decided_at
    }
    visible = {i: at for i, at in watcher.seen.items() if i in ids}
    waits = [visible[i] - ids[i] for i in visible]
    # How much earlier decided_at claims the decision than the trader could see it.
    early = [visible[i] - decided_at[i] for i in visible if i in decided_at]
    last = max(visible.values(), default=finished)
    return {
        "accepted": len(ids),
        "decided": len(waits),
        "accepted_per_s": len(ids) / accepted_in,
        "decisions_per_s": len(waits) / (last - started),
        "wait": percentiles_ms(waits) if waits else None,
        "decided_at_early": percentiles_ms(early) if early else None,
        "cpu_per_app": cpu / max(1, len(ids)),
        "cpu_percent": 100 * cpu / (finished - started),
        "agencies_cpu_per_app": agencies_cpu / max(1, len(ids)),
        # CPU used by processes this bench did not start (other work on the machine) skews it.
        "others_busy": max(
            0.0, (machine_after[0] - machine_before[0]) / TICK - cpu - agencies_cpu - own
        )
        / ((finished - started) * (os.cpu_count() or 1)),
        "verdicts": Counter(r.verdict for r in rows),
        "capacity": share.capacity(
            len(ids),
            [f"worker-{i}" for i in range(setup.workers)] or ["web"],
            len(waits) / (last - started),
        ),
        "cpu_share": share.report(len(ids))
        + f"; the watcher read {watcher.reads / max(1e-9, finished - started):.0f} times a second",
        "stages": (
            stages.stage_report(stages.read(setup.stages), ids, visible)
            if setup.stages is not None
            else None
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "-k", "--applications", type=int, default=200, help="K applications per configuration"
    )
    parser.add_argument("-c", "--concurrency", type=int, default=8, help="C client threads")
    parser.add_argument("--threads", type=int, default=4, help="N dispatcher threads per process")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="M `nsw worker` processes (0: threads in the web process)",
    )
    parser.add_argument(
        "--latencies", default="0,0.2", help="agency latencies in seconds, comma-separated"
    )
    parser.add_argument(
        "--postgres", metavar="URL", help="also PostgreSQL (database name must contain 'bench')"
    )
    parser.add_argument(
        "--may-wipe",
        metavar="NAME",
        help="a PostgreSQL database without 'bench' in its name that this run may wipe",
    )
    parser.add_argument("--no-sqlite", action="store_true", help="only PostgreSQL")
    parser.add_argument(
        "--burst",
        action="store_true",
        help="send all K at once (C threads) and let the backlog drain; default: closed loop, "
        "each client thread sends its next application when its last one is decided",
    )
    parser.add_argument(
        "--stages",
        action="store_true",
        help="stamp each stage of each application in the gateway (bench/_stages.py) and print "
        "where the latency goes",
    )
    parser.add_argument(
        "--gunicorn",
        action="store_true",
        help="`nsw serve` as deployed (gunicorn's threaded workers) instead of `serve --dev` "
        "(Werkzeug, a thread per connection); the default stays --dev, as the published "
        "figures were measured",
    )
    parser.add_argument(
        "--web-workers",
        type=int,
        default=1,
        help="with --gunicorn, its workers (NSW_WEB_WORKERS; deployed default 2): 1 keeps one "
        "process dispatching, as --dev does",
    )
    parser.add_argument("--quick", action="store_true", help="K=24, C=4: about 20-30 s on SQLite")
    parser.add_argument(
        "--timeout", type=float, default=240, help="seconds to wait for decisions per configuration"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.applications, args.concurrency = 24, 4
    k, c = args.applications, args.concurrency

    before = machine_jiffies()
    time.sleep(1)
    after = machine_jiffies()
    idle = 1 - (after[0] - before[0]) / max(1, after[1] - before[1])
    print(f"machine: {os.cpu_count()} cores, {idle:.0%} idle before the run", flush=True)
    if idle < 0.8:
        print("WARNING: something else is using the CPU; the figures will be low", flush=True)
    pki = init_dev_pki(REPO_ROOT / "certs" / "dev")
    corpus = signed_corpus(pki, k)
    floor, pure = crypto_floors(pki, corpus, 3 if args.quick else 20)
    floor_s, pure_s = floor["total"][0], pure["total"][0]
    print(
        "crypto floor per application (CPU in this process; calls per application), as the "
        "gateway calls it and pure (RSA/ECDSA, SHA-256, c14n only):"
    )
    for what, (cpu, calls) in floor.items():
        print(
            f"  {what:<34} {cpu * 1000:6.2f} ms  pure {pure[what][0] * 1000:6.2f} ms  "
            f"({calls:.2f} calls)",
            flush=True,
        )

    databases = [] if args.no_sqlite else [f"sqlite:///{WORKDIR / 'nsw.db'}"]
    databases += [args.postgres] if args.postgres else []
    rows = []
    for url in databases:
        for latency in (float(x) for x in args.latencies.split(",")):
            database = "sqlite" if url.startswith("sqlite") else "postgres"
            name = f"stages-{database}-{latency:g}s-{args.workers}w.jsonl"
            trace = WORKDIR / name if args.stages else None
            setup = Setup(
                url,
                latency,
                args.threads,
                args.workers,
                args.may_wipe,
                trace,
                args.web_workers if args.gunicorn else 0,
            )
            r = run_setup(setup, pki, corpus, c, args.timeout, not args.burst)
            wait = r["wait"] or dict.fromkeys(("p50", "p95", "p99"), float("nan"))
            row = [
                describe_url(url),
                f"{latency:g} s",
                f"{args.workers} x {args.threads}" if args.workers else f"web x {args.threads}",
                f"{r['accepted_per_s']:.1f}",
                f"{r['decisions_per_s']:.1f}",
                f"{wait['p50']:.0f} / {wait['p95']:.0f} / {wait['p99']:.0f}",
                f"{r['cpu_per_app'] * 1000:.0f} ms",
                f"{r['cpu_percent']:.0f} %",
                f"{r['cpu_per_app'] / floor_s:.1f}x / {r['cpu_per_app'] / pure_s:.1f}x",
                f"{r['agencies_cpu_per_app'] * 1000:.0f} ms",
                f"{r['others_busy'] * 100:.0f} %",
            ]
            rows.append(row)
            verdicts = ", ".join(f"{v} {n}" for v, n in sorted(r["verdicts"].items(), key=str))
            print(
                f"{' | '.join(row)}   ({r['decided']}/{r['accepted']} decided of {k}: {verdicts})",
                flush=True,
            )
            print(r["cpu_share"], flush=True)
            print(r["capacity"], flush=True)
            if early := r["decided_at_early"]:
                print(
                    f"  decided_at precedes the visible decision by p50 {early['p50']:.0f} ms, "
                    f"p99 {early['p99']:.0f} ms (the watcher's wait included)",
                    flush=True,
                )
            if r["stages"]:
                print(r["stages"], flush=True)
    mode = "burst, then drained" if args.burst else f"closed loop: {c} applications in flight"
    server = (
        f"gunicorn, {args.web_workers} worker(s)" if args.gunicorn else "serve --dev (Werkzeug)"
    )
    print(
        f"\nK={k} applications, C={c} client threads ({mode}), {os.cpu_count()} cores, "
        f"web server: {server}"
    )
    print(
        f"crypto floor: {floor_s * 1000:.1f} ms CPU per application as called, "
        f"{pure_s * 1000:.1f} ms pure"
    )
    header = [
        "database",
        "agency latency",
        "dispatchers",
        "accepted/s",
        "decisions/s",
        "submit→visible decision p50/p95/p99 ms",
        "gateway CPU/app",
        "gateway CPU",
        "CPU/app ÷ floor as called / pure",
        "agencies CPU/app",
        "other processes",
    ]
    print(table(header, rows, "lllrrrrrrrr"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
