"""One application's path through the gateway, counted and profiled in one process. Not a test.

    .venv/bin/python bench/path_profile.py [-k K] [--postgres URL --may-wipe NAME] [--top N]
        [--batch N]

The stand-in agencies run as their own processes (as in fanout_bench); the gateway runs here,
without dispatcher threads: each application is lodged through the Flask test client (POST
/api/v1/applications, receipt included), then one dispatcher claims its cases (one per claim, or
--batch N per claim as the dispatcher threads do) and delivers them one at a time in this thread,
until it is decided. Reported per application, for intake and for
dispatch apart: SQL statements, transactions, and this thread's CPU time; with --top N, also the
N functions that took the most CPU (cProfile on thread CPU time, cumulative; it slows the run
several-fold, so the CPU column is then the profiled one). Where fanout_bench says how far the
gateway is from the crypto floor, this says which statements and functions make the distance.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from _corpus import signed_corpus
from _support import fresh_database
from fanout_bench import REPO_ROOT
from sqlalchemy import Engine, event

from devtools.processes import ProcessGroup, free_port
from gateway.app import create_app
from gateway.bootstrap import build_services
from gateway.config import load_config
from gateway.fanout.agencies import standin_agencies
from gateway.pki.dev import init_dev_pki
from gateway.resources import shipped
from gateway.storage.repository import Store

WORKDIR = REPO_ROOT / "var" / "bench" / "path"


class Counting:
    """SQL statements and transactions on `engine`, under the label the caller sets."""

    def __init__(self, engine: Engine) -> None:
        self.label = "other"
        self.statements: Counter[str] = Counter()
        self.transactions: Counter[str] = Counter()
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "begin", self._begin)

    def _statement(self, *_: Any) -> None:
        self.statements[self.label] += 1

    def _begin(self, *_: Any) -> None:
        self.transactions[self.label] += 1

    def count_raw(self) -> None:
        """Count the statements this thread sends on `Store.autocommit`'s DB-API cursors too
        (the claims, the loops' looks), which bypass SQLAlchemy's events: each is a transaction
        of its own, unless the cursor began one (SQLite's claim: BEGIN IMMEDIATE ... COMMIT)."""
        opened, counting, path = Store.autocommit, self, threading.current_thread()

        @contextmanager
        def autocommit(store: Store) -> Iterator[Any]:
            with opened(store) as cursor:
                yield _Counted(cursor, counting) if threading.current_thread() is path else cursor

        Store.autocommit = autocommit  # type: ignore[assignment]


class _Counted:
    def __init__(self, cursor: Any, counting: Counting) -> None:
        self.cursor, self.counting = cursor, counting
        self.in_transaction = False

    def execute(self, sql: str, *args: Any) -> Any:
        verb = sql.split(None, 1)[0].upper()
        if verb == "BEGIN":
            self.in_transaction = True
            self.counting.transactions[self.counting.label] += 1
        elif verb in ("COMMIT", "ROLLBACK"):
            self.in_transaction = False
        else:
            self.counting.statements[self.counting.label] += 1
            if not self.in_transaction:
                self.counting.transactions[self.counting.label] += 1
        return self.cursor.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cursor, name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-k", type=int, default=40, help="applications (after 4 to warm up)")
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL instead of SQLite")
    parser.add_argument("--may-wipe", metavar="NAME", help="see fanout_bench --may-wipe")
    parser.add_argument(
        "--top", type=int, default=0, help="profile (CPU) and list the N costliest functions"
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=1,
        help="cases taken per claim (default 1: one claim per case); the dispatcher threads take "
        "all of an application's ready cases in one claim, as --batch 8 does. Delivered one "
        "after another in this thread either way",
    )
    parser.add_argument(
        "--dump", metavar="FILE", help="with --top, also write the profile to FILE (pstats)"
    )
    args = parser.parse_args(argv)

    pki = init_dev_pki(REPO_ROOT / "certs" / "dev")
    warm = 4
    corpus = signed_corpus(pki, args.k + warm)
    url = args.postgres or f"sqlite:///{WORKDIR / 'nsw.db'}"
    WORKDIR.mkdir(parents=True, exist_ok=True)
    fresh_database(url, args.may_wipe).dispose()
    group = ProcessGroup(WORKDIR / "logs")
    try:
        env = {"NSW_PKI_DIR": str(pki.directory), "NSW_DATABASE_URL": url}
        for code in standin_agencies(shipped("mappings")):
            port = free_port()
            env[f"NSW_AGENCY_{code.upper()}_URL"] = group.start(
                code,
                ["-m", "simulators", code, "--port", str(port)],
                port,
                {"NSW_PKI_DIR": str(pki.directory)},
            )
        config = load_config(env, dispatcher_threads=0)
        services = build_services(config)
        try:
            app = create_app(config, services)
            client = app.test_client()
            dispatcher = services.dispatcher(0)
            counting = Counting(services.store.engine)
            counting.count_raw()
            cpu: Counter[str] = Counter()
            profile = cProfile.Profile(time.thread_time)  # CPU, not waiting

            def run(label: str, body: bytes) -> None:
                counting.label = label
                t0 = time.thread_time()
                answer = client.post(
                    "/api/v1/applications", data=body, content_type="application/xml"
                )
                assert answer.status_code == 202, answer.get_data(as_text=True)
                cpu["intake"] += time.thread_time() - t0
                counting.label = label.replace("intake", "dispatch")
                t0 = time.thread_time()
                # One at a time, all in this thread (so this thread's CPU is the path's).
                while dispatcher.run_once(batch=args.batch, in_threads=False):
                    pass
                cpu["dispatch"] += time.thread_time() - t0

            for body in corpus[:warm]:
                run("warm-intake", body)
            cpu.clear()
            if args.top:
                profile.enable()
            for body in corpus[warm:]:
                run("intake", body)
            profile.disable()
        finally:
            services.close()
    finally:
        group.stop()

    k = args.k
    print(f"{'SQLite' if url.startswith('sqlite') else 'PostgreSQL'}, {k} applications")
    print("| per application | SQL statements | transactions | CPU (this thread) |")
    print("| --- | ---: | ---: | ---: |")
    for part in ("intake", "dispatch"):
        print(
            f"| {part} | {counting.statements[part] / k:.1f} | "
            f"{counting.transactions[part] / k:.1f} | {cpu[part] / k * 1000:.1f} ms |"
        )
    if args.top:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)
        if args.dump:
            profile.dump_stats(args.dump)
    return 0


if __name__ == "__main__":
    sys.exit(main())
