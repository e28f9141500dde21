"""What a trader's system does most: one RFC 9421-signed status read, and an idle gateway. Not a test.

    .venv/bin/python bench/status_read_bench.py [-n N] [--apps A] [--idle S] [--gunicorn]
        [--postgres URL [--may-wipe NAME]] [--no-sqlite]

For each database (SQLite; PostgreSQL with --postgres) the bench starts the stand-in agencies and
the gateway (`nsw serve --dev`, one process, 4 dispatcher threads, as `fanout_bench` does; with
--gunicorn `nsw serve` as deployed, whose workers are counted with their master) on a fresh
database, lodges A applications and waits until they are decided. Then:

- with --idle S: nothing is sent for S seconds and the gateway process's CPU over them is read
  from /proc/<pid>/stat (all its threads), printed as a share of one core with the threads that
  spent it (each OS thread carries its Python name: bench/_named_threads.py);
- N signed GETs of `/api/v1/applications/<id>` (the status), one at a time over one kept-alive
  session, signed as `nsw status` signs them (RFC 9421, tag "nsw-trader", a fresh nonce each), and
  then N of `/decision` (the signed decision's download). Printed per kind: the gateway process's
  CPU per read (its /proc CPU over the reads divided by N, less the idle rate when --idle ran)
  and wall p50/p99 as the client saw it;
- in this process, the RFC 9421 verification as the gateway calls it
  (`gateway.trust.http_signatures.verify_request` on a request signed the same way), CPU per call;
- in this process, the cryptographic floor of a read: the public-key verification of the
  request's signature alone (the library's algorithm class over a signature base of the same
  size, with each trader key the reads use, averaged as the reads cycle through them). Nothing is
  signed per read: the status is plain JSON and the decision is the document signed once when it
  was made, served as stored. Printed per read kind: the gateway's CPU per read (less idle) as a
  ratio to this floor.

The client's own signing is in this process, not in the gateway's figure. On a loaded machine
compare CPU figures (and runs made back to back), not wall times.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import sys
import time
from pathlib import Path

import requests
from _corpus import _traders, signed_corpus
from _support import (
    TICK,
    cpu_seconds,
    describe_url,
    family,
    fresh_database,
    percentiles_ms,
    table,
)
from cryptography.hazmat.primitives import hashes
from sqlalchemy import create_engine, select

from devtools.processes import ProcessGroup, free_port
from gateway.cli.client import TraderSignatureAuth
from gateway.fanout.agencies import standin_agencies
from gateway.pki.dev import DevPki, init_dev_pki
from gateway.resources import shipped
from gateway.storage.models import ApplicationRow
from gateway.trust.http_signatures import (
    TRADER_TAG,
    PublicKey,
    RequestView,
    algorithm_for,
    sign_request,
    verify_request,
)
from gateway.trust.xmlparse import parse_xml

REPO_ROOT = Path(__file__).resolve().parent.parent
WORKDIR = REPO_ROOT / "var" / "bench" / "status_read"
APP_NS = "{urn:kz:nsw:application:1}"
QUIET_S = 3.0  # after the last decision, before the idle window: checkpoints and retries settle


def start_servers(group: ProcessGroup, url: str, pki: DevPki, gunicorn: bool) -> tuple[str, int]:
    """The stand-in agencies and the gateway; returns the gateway's URL and pid (gunicorn's
    master: its workers are its children)."""
    env = {
        "NSW_PKI_DIR": str(pki.directory),
        "NSW_DATABASE_URL": url,
        "NSW_DISPATCHER_THREADS": "4",
        # As deployed (the OMC and the portal need it): requests then open sessions as there.
        "NSW_SECRET_KEY": secrets.token_urlsafe(32),
    }
    for code in standin_agencies(shipped("mappings")):
        port = free_port()
        args = ["-m", "simulators", code, "--port", str(port), "--latency-s", "0"]
        env[f"NSW_AGENCY_{code.upper()}_URL"] = group.start(
            code, args, port, {"NSW_PKI_DIR": str(pki.directory)}
        )
    port = free_port()
    entry = str(Path(__file__).with_name("_named_threads.py"))
    serve = [entry, "serve", "--port", str(port)] + ([] if gunicorn else ["--dev"])
    gateway = group.start("gateway", serve, port, env)
    return gateway, group.processes[-1].pid


def lodge(url: str, corpus: list[bytes], database_url: str, timeout_s: float) -> list[str]:
    """POST every application and wait until all are decided; their ids."""
    ids = []
    with requests.Session() as session:
        for body in corpus:
            r = session.post(
                f"{url}/api/v1/applications",
                data=body,
                headers={"Content-Type": "application/xml"},
                timeout=60,
            )
            r.raise_for_status()
            ids.append(r.json()["id"])
    reader = create_engine(database_url)
    apps = ApplicationRow.__table__
    give_up = time.monotonic() + timeout_s
    try:
        while time.monotonic() < give_up:
            with reader.connect() as c:
                decided = set(c.scalars(select(apps.c.id).where(apps.c.status == "decided")))
            if decided >= set(ids):
                return ids
            time.sleep(0.1)
    finally:
        reader.dispose()
    raise SystemExit(f"not every application was decided within {timeout_s:g} s")


def _threads(pids: list[int]) -> dict[str, float]:
    found: dict[str, float] = {}
    for pid in pids:
        for name, seconds in thread_cpu(pid).items():
            found[name] = found.get(name, 0.0) + seconds
    return found


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds (utime + stime) of each live thread of `pid`, summed by thread name."""
    found: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # the thread ended while we looked
            continue
        found[name] = found.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / TICK
    return found


def measure_idle(pid: int, seconds: float) -> tuple[float, list[tuple[str, float]]]:
    """The share of one core `pid` (and its children) used over `seconds` with no traffic, and
    by which threads."""
    time.sleep(QUIET_S)
    pids = family(pid)
    before_threads, before = _threads(pids), cpu_seconds(pids)
    time.sleep(seconds)
    after_threads, after = _threads(pids), cpu_seconds(pids)
    by_thread = [
        (name, (after_threads[name] - before_threads.get(name, 0.0)) / seconds)
        for name in after_threads
    ]
    by_thread = sorted((t for t in by_thread if t[1] > 0), key=lambda t: -t[1])
    return (after - before) / seconds, by_thread


def signed_reads(
    url: str, pid: int, ids: list[str], auths: list[TraderSignatureAuth], n: int, suffix: str
) -> tuple[float, dict[str, float]]:
    """N signed GETs (each application in turn); the gateway's CPU seconds over them and the
    client's wall-time percentiles."""
    walls = []
    with requests.Session() as session:
        r = session.get(f"{url}/api/v1/applications/{ids[0]}{suffix}", auth=auths[0], timeout=30)
        r.raise_for_status()  # warm: the first read of a key looks it up
        pids = family(pid)
        before = cpu_seconds(pids)
        for i in range(n):
            started = time.perf_counter()
            r = session.get(
                f"{url}/api/v1/applications/{ids[i % len(ids)]}{suffix}",
                auth=auths[i % len(ids)],
                timeout=30,
            )
            walls.append(time.perf_counter() - started)
            if r.status_code != 200:
                raise SystemExit(f"GET {suffix or 'status'} answered {r.status_code}: {r.text}")
        cpu = cpu_seconds(pids) - before
    return cpu, percentiles_ms(walls)


def verify_cost(auth: TraderSignatureAuth, public: PublicKey, reps: int) -> float:
    """CPU seconds of `verify_request` per call, on a GET signed as the bench's reads are."""
    now = dt.datetime.now(dt.UTC)
    headers: dict[str, str] = {}
    view = RequestView("GET", "http://127.0.0.1/api/v1/applications/NSW-20260101-0000000000", {})
    view = RequestView(view.method, view.url, headers)
    sign_request(view, auth.key, auth.keyid, tag=TRADER_TAG, now=now)
    verify_request(view, auth.keyid, public, lambda: now, tag=TRADER_TAG)  # warm
    started = time.thread_time()
    for _ in range(reps):
        verify_request(view, auth.keyid, public, lambda: now, tag=TRADER_TAG)
    return (time.thread_time() - started) / reps


def crypto_floor(auths: list[TraderSignatureAuth], reps: int) -> float:
    """CPU seconds of the signature verification alone per read, averaged over `auths` (each
    trader the reads cycle through): the algorithm `verify_request` picks for the key, verifying
    a signature over a base as long as a status read's."""
    now = dt.datetime.now(dt.UTC)
    spent = 0.0
    for auth in auths:
        view = RequestView(
            "GET", "http://127.0.0.1/api/v1/applications/NSW-20260101-0000000000", {}
        )
        sign_request(view, auth.key, auth.keyid, tag=TRADER_TAG, now=now)
        base = (
            '"@method": GET\n"@path": /api/v1/applications/NSW-20260101-0000000000\n"@query": ?\n'
            f'"@signature-params": {view.headers["Signature-Input"].split("=", 1)[1]}'
        ).encode()
        algorithm = algorithm_for(auth.key)
        signature = algorithm(private_key=auth.key).sign(base)
        verifier = algorithm(public_key=auth.key.public_key())
        verifier.verify(signature=signature, message=base)  # warm
        started = time.thread_time()
        for _ in range(reps):
            verifier.verify(signature=signature, message=base)
        spent += (time.thread_time() - started) / reps
    return spent / len(auths)


def run(
    database_url: str, may_wipe: str | None, pki: DevPki, args: argparse.Namespace
) -> list[list[str]]:
    fresh_database(database_url, may_wipe).dispose()
    corpus = signed_corpus(pki, args.apps)
    traders = _traders(pki)
    auths = [
        TraderSignatureAuth(traders[str(parse_xml(b).findtext(f"{APP_NS}DeclarantBIN"))])
        for b in corpus
    ]
    database = "sqlite" if database_url.startswith("sqlite") else "postgres"
    group = ProcessGroup(WORKDIR / "logs" / database)
    floor_s = crypto_floor(auths, 200)
    print(
        f"crypto floor of a read (signature verify alone, the {len(auths)} traders' keys): "
        f"{floor_s * 1000:.3f} ms CPU",
        flush=True,
    )
    rows = []
    name = describe_url(database_url)
    try:
        url, pid = start_servers(group, database_url, pki, args.gunicorn)
        ids = lodge(url, corpus, database_url, args.timeout)
        idle_rate = 0.0
        if args.idle:
            idle_rate, threads = measure_idle(pid, args.idle)
            print(
                f"{name}: idle gateway over {args.idle:g} s: {idle_rate * 100:.2f} % of a core "
                f"({idle_rate * 1000:.1f} ms CPU per s)",
                flush=True,
            )
            for thread, share in threads:
                print(f"    {thread:<16} {share * 100:6.2f} %", flush=True)
        for kind, suffix in (("status", ""), ("decision", "/decision")):
            cpu, wall = signed_reads(url, pid, ids, auths, args.reads, suffix)
            net = max(0.0, cpu - idle_rate * wall["mean"] / 1000 * args.reads)
            rows.append(
                [
                    name,
                    kind,
                    str(args.reads),
                    f"{cpu / args.reads * 1000:.2f} ms",
                    f"{net / args.reads * 1000:.2f} ms" if args.idle else "-",
                    f"{net / args.reads / floor_s:.1f}x",
                    f"{wall['p50']:.1f} / {wall['p99']:.1f}",
                    f"{idle_rate * 100:.2f} %" if args.idle else "-",
                ]
            )
            print(" | ".join(rows[-1]), flush=True)
    finally:
        group.stop()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--reads", type=int, default=300, help="N signed reads per kind")
    parser.add_argument("--apps", type=int, default=4, help="A applications lodged first")
    parser.add_argument(
        "--idle", type=float, default=0, help="S seconds of no traffic to measure (0: none)"
    )
    parser.add_argument("--postgres", metavar="URL", help="also PostgreSQL ('bench' in its name)")
    parser.add_argument("--may-wipe", metavar="NAME", help="a database it may wipe all the same")
    parser.add_argument("--no-sqlite", action="store_true", help="only PostgreSQL")
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait for decisions")
    parser.add_argument(
        "--gunicorn",
        action="store_true",
        help="`nsw serve` as deployed (gunicorn, NSW_WEB_WORKERS workers) instead of --dev",
    )
    args = parser.parse_args(argv)

    pki = init_dev_pki(REPO_ROOT / "certs" / "dev")
    some = _traders(pki)
    identity = next(iter(some.values()))
    auth = TraderSignatureAuth(identity)
    public = identity.certificate.public_key()
    assert isinstance(public, PublicKey)
    verify_s = verify_cost(auth, public, 200)
    load = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} cores, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
        f"RFC 9421 verify_request as the gateway calls it: {verify_s * 1000:.2f} ms CPU per call "
        f"(key {identity.certificate.fingerprint(hashes.SHA256()).hex()[:12]}…)",
        flush=True,
    )
    databases = [] if args.no_sqlite else [f"sqlite:///{WORKDIR / 'nsw.db'}"]
    databases += [args.postgres] if args.postgres else []
    rows = []
    for url in databases:
        rows += run(url, args.may_wipe, pki, args)
    print()
    print(f"RFC 9421 verify alone (this process): {verify_s * 1000:.2f} ms CPU per read")
    header = [
        "database",
        "read",
        "N",
        "gateway CPU/read",
        "less idle",
        "÷ crypto floor",
        "wall p50 / p99 ms",
        "idle gateway",
    ]
    print(table(header, rows, "llrrrrrr"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
