"""The web process's CPU per lodged application, with nothing else running in it. Not a test.

    .venv/bin/python bench/intake_bench.py [-k K] [--servers dev,gunicorn] [--rounds R]
        [--postgres URL --may-wipe NAME]

Starts the gateway with no dispatcher threads (`NSW_DISPATCHER_THREADS=0`: nothing is sent to an
agency, so no stand-ins run) on a fresh database, lodges K signed applications one after another
from one client (POST /api/v1/applications, receipt included, on a kept-alive connection) and
reads the CPU time of the web process (gunicorn: master and workers) over them. So the figure is
intake's share of fanout_bench's gateway CPU per application, as each server runs it: `dev` is
`serve --dev` (Werkzeug, what fanout_bench measures by default), `gunicorn` is `nsw serve` with one
worker (as deployed, less the second worker). With several servers and rounds the runs alternate,
so that on a shared machine each server sees the same minutes; the median is printed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import requests
from _corpus import signed_corpus
from _support import cpu_seconds, family, fresh_database, percentiles_ms
from fanout_bench import REPO_ROOT

from devtools.processes import ProcessGroup, free_port
from gateway.fanout.agencies import standin_agencies
from gateway.pki.dev import DevPki, init_dev_pki
from gateway.resources import shipped

WORKDIR = REPO_ROOT / "var" / "bench" / "intake"
WARM = 20


def run(server: str, url: str, pki: DevPki, corpus: list[bytes]) -> tuple[float, float]:
    """(web CPU seconds per application, client wall p50 ms) for one server over `corpus`."""
    env = {"NSW_PKI_DIR": str(pki.directory), "NSW_DATABASE_URL": url}
    env["NSW_DISPATCHER_THREADS"] = "0"  # nothing dispatched: the agencies are never called
    for code in standin_agencies(shipped("mappings")):
        env[f"NSW_AGENCY_{code.upper()}_URL"] = f"http://127.0.0.1:{free_port()}"
    port = free_port()
    serve = ["-m", "gateway.cli.main", "serve", "--port", str(port)]
    if server == "dev":
        serve.append("--dev")
    else:
        env["NSW_WEB_WORKERS"] = "1"
    group = ProcessGroup(WORKDIR / "logs" / server)
    try:
        base = group.start("gateway", serve, port, env)
        pids = family(group.processes[-1].pid)
        walls = []
        with requests.Session() as session:
            for i, body in enumerate(corpus):
                if i == WARM:
                    before = cpu_seconds(pids)
                started = time.perf_counter()
                r = session.post(
                    f"{base}/api/v1/applications",
                    data=body,
                    headers={"Content-Type": "application/xml"},
                    timeout=60,
                )
                walls.append(time.perf_counter() - started)
                if r.status_code != 202:
                    raise SystemExit(f"{server}: POST answered {r.status_code}: {r.text}")
        cpu = cpu_seconds(pids) - before
    finally:
        group.stop()
    return cpu / (len(corpus) - WARM), percentiles_ms(walls[WARM:])["p50"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-k", type=int, default=300, help="K applications per run")
    parser.add_argument("--servers", default="dev,gunicorn", help="dev, gunicorn or both")
    parser.add_argument("--rounds", type=int, default=3, help="R runs of each server, alternated")
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL instead of SQLite")
    parser.add_argument("--may-wipe", metavar="NAME", help="see fanout_bench --may-wipe")
    args = parser.parse_args(argv)
    pki = init_dev_pki(REPO_ROOT / "certs" / "dev")
    WORKDIR.mkdir(parents=True, exist_ok=True)
    url = args.postgres or f"sqlite:///{WORKDIR / 'nsw.db'}"
    servers = args.servers.split(",")
    results: dict[str, list[tuple[float, float]]] = {s: [] for s in servers}
    corpus = signed_corpus(pki, args.k + WARM)  # lodged again on a fresh database each run
    for r in range(args.rounds):
        for server in servers:
            fresh_database(url, args.may_wipe).dispose()
            cpu, p50 = run(server, url, pki, corpus)
            results[server].append((cpu, p50))
            print(
                f"round {r + 1} {server:<8} web CPU {cpu * 1000:.2f} ms per application, "
                f"client p50 {p50:.1f} ms",
                flush=True,
            )
    for server, runs in results.items():
        cpus = sorted(c * 1000 for c, _ in runs)
        print(
            f"{server:<8} median {statistics.median(cpus):.2f} ms per application "
            f"(runs: {', '.join(f'{c:.2f}' for c in cpus)})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
