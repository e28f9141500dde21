"""What the benches share: a throw-away database per run, percentiles, and a plain text table.

Not a test and not part of the gateway; imported by the bench scripts in this directory.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from devtools.processes import ProcessGroup
from gateway.storage.db import make_engine
from gateway.storage.migrate import upgrade

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
TICK = os.sysconf("SC_CLK_TCK")


def fresh_database(url: str, may_wipe: str | None = None) -> Engine:
    """An engine on an empty database at the newest schema.

    SQLite: the file is deleted first. PostgreSQL: the database is created if absent and its
    `public` schema dropped and recreated — so only a local database whose name says it is a bench
    database is accepted; a bench must never wipe the gateway's or the tests' data. `may_wipe`
    names one other database the caller has said may be wiped (a throw-away test database).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        assert parsed.database, "a SQLite bench needs a file"
        for suffix in ("", "-wal", "-shm"):
            Path(parsed.database + suffix).unlink(missing_ok=True)
    else:
        if parsed.host not in LOCAL_HOSTS:
            raise SystemExit(f"benches run on 127.0.0.1 only, not {parsed.host}")
        if "bench" not in (parsed.database or "") and parsed.database != may_wipe:
            raise SystemExit(
                f"refusing to wipe database {parsed.database!r}: use one named for benches, "
                "e.g. postgresql+psycopg://postgres@127.0.0.1:5432/nsw_bench, or name it in "
                "--may-wipe"
            )
        _create_postgres_database(url)
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            c.execute(text("CREATE SCHEMA public"))
        admin.dispose()
    engine = make_engine(url)
    upgrade(engine)
    return engine


def _create_postgres_database(url: str) -> None:
    parsed = make_url(url)
    maintenance = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with maintenance.connect() as c:
        exists = c.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
        )
        if not exists:
            c.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    maintenance.dispose()


def describe_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return "SQLite (WAL)"
    with create_engine(url).connect() as c:
        version = str(c.scalar(text("SHOW server_version"))).split()[0]
    return f"PostgreSQL {version}"


def percentiles_ms(seconds: Sequence[float]) -> dict[str, float]:
    """mean, p50, p95, p99 and max in milliseconds (nearest-rank on the sorted sample)."""
    ms = sorted(s * 1000 for s in seconds)

    def rank(p: float) -> float:
        return ms[min(len(ms) - 1, max(0, round(p / 100 * len(ms)) - 1))]

    return {
        "mean": statistics.fmean(ms),
        "p50": rank(50),
        "p95": rank(95),
        "p99": rank(99),
        "max": ms[-1],
    }


def table(header: Sequence[str], rows: Sequence[Sequence[object]], align: str = "") -> str:
    """A Markdown table padded to line up in a terminal (pastes straight into the README).

    `align` has one letter per column, `l` or `r`; by default the first column is left-aligned and
    the others right-aligned."""
    align = align or "l" + "r" * (len(header) - 1)
    cells = [[str(h) for h in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        padded = (
            c.rjust(w) if a == "r" else c.ljust(w)
            for c, w, a in zip(row, widths, align, strict=True)
        )
        return "| " + " | ".join(padded) + " |"

    rule = "| " + " | ".join("-" * w for w in widths) + " |"
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of every thread of each process (fields 14 and 15 of /proc/<pid>/stat)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / TICK


def family(pid: int) -> list[int]:
    """`pid` and its descendants (gunicorn's workers), from /proc/<pid>/task/*/children."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except FileNotFoundError:
            continue
        for child in children:
            found += family(int(child))
    return found


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) clock ticks of all cores since boot, from the first line of /proc/stat."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return sum(ticks) - idle, sum(ticks)


def start_worker(
    group: ProcessGroup,
    name: str,
    threads: int,
    env: dict[str, str],
    entry: Sequence[str] = ("-m", "gateway.cli.main"),
) -> None:
    """A `nsw worker` has no port to wait on: wait for the line it logs once dispatching.
    `entry`: how Python starts the `nsw` command (bench/_stages.py wraps it to stamp times)."""
    log = group.logdir / f"{name}.log"
    process = subprocess.Popen(
        [sys.executable, *entry, "worker", "--threads", str(threads)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env={**os.environ, **env},
    )
    group.processes.append(process)
    give_up = time.monotonic() + 30
    while b"worker running" not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > give_up:
            raise RuntimeError(f"worker {name} did not start; see {log}")
        time.sleep(0.05)
