"""Several `nsw worker` processes share the outbox; one is killed with SIGKILL mid-call and every
application still reaches its decision, with exactly one permit per case at every agency."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.pki.dev import DevPki
from gateway.storage.models import OutboxRow
from simulators.server import start_agency
from tests.gateway_fixtures import AGENCY_CODES, RunningGateway
from tests.log_state import log_state_for
from tests.paths import REPO_ROOT

APPS = 8
# The agencies that act on (and grant) the fresh apples; every stand-in runs.
APPLE_AGENCIES = ("customs", "transport", "police", "phytosanitary", "health")


@pytest.fixture
def slow_agencies(pki: DevPki) -> Iterator[dict[str, str]]:
    """Fresh simulators (permit serials from 1) slow enough that a kill lands mid-call."""
    running = [start_agency(code, latency_s=0.3, pki_dir=pki.directory) for code in AGENCY_CODES]
    yield {a.code: a.url for a in running}
    for agency in running:
        agency.stop()


def start_worker(env: dict[str, str], logfile) -> subprocess.Popen[bytes]:  # type: ignore[no-untyped-def]
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli.main", "worker", "--threads", "2"],
        env={**os.environ, **env},
        cwd=REPO_ROOT,
        stdout=logfile,
        stderr=subprocess.STDOUT,
    )


def test_killed_worker_loses_nothing_and_duplicates_nothing(
    gateway: Callable[..., RunningGateway],
    pki: DevPki,
    database_url: str,
    slow_agencies: dict[str, str],
    signed_sample: Callable[..., bytes],
    tmp_path: Path,
) -> None:
    gw = gateway(dispatcher_threads=0, agency_urls=slow_agencies)
    env = {
        "NSW_DATABASE_URL": database_url,
        "NSW_PKI_DIR": str(pki.directory),
        "NSW_LOG_STATE": str(log_state_for(database_url)),  # this database's log, shared
        "NSW_LEASE_S": "2",
        "NSW_AGENCY_TIMEOUT_S": "1",  # the lease must outlast each call (1.5 x the timeout)
        "NSW_NOTIFY_TIMEOUT_S": "1",
        "NSW_RETRY_BASE_S": "0.1",
        **{f"NSW_AGENCY_{code.upper()}_URL": url for code, url in slow_agencies.items()},
    }
    log = (tmp_path / "workers.log").open("wb")
    # The victim starts alone and the survivor once the victim holds a lease: started together,
    # on a loaded machine the survivor could boot first and claim every case before the victim.
    victim, survivor = start_worker(env, log), None
    try:
        ids = [
            gw.client.submit(
                signed_sample(
                    "fresh-apples-import",
                    edit=lambda raw, n=n: raw.replace(
                        b"STEPPE-2026-0001", f"STEPPE-KILL-{n}".encode()
                    ),
                )
            )["id"]
            for n in range(APPS)
        ]

        # Kill the victim while it holds a lease, i.e. in the middle of an agency call.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with gw.services.store.transaction() as s:
                holding = s.scalars(
                    select(OutboxRow.id).where(
                        OutboxRow.claimed_by.like(f"%:{victim.pid}:%"),
                        OutboxRow.done_at.is_(None),
                        OutboxRow.lease_until.is_not(None),
                    )
                ).first()
            if holding is not None:
                break
            time.sleep(0.02)
        assert holding is not None, "the victim never claimed a delivery"
        survivor = start_worker(env, log)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)

        decisions = {i: gw.client.wait_for_decision(i, deadline_s=90) for i in ids}
        assert all(b"<Outcome>granted</Outcome>" in xml for xml in decisions.values())

        # Exactly one permit per case at every agency: permits are distinct, and each agency's
        # serials run 1..APPS, so no retried call made a second permit.
        for agency in APPLE_AGENCIES:
            permits = [
                next(
                    c["permit_number"]
                    for c in gw.client.status(i)["cases"]
                    if c["agency"] == agency
                )
                for i in ids
            ]
            assert len(set(permits)) == APPS, permits
            assert sorted(int(p.rsplit("-", 1)[1]) for p in permits) == list(range(1, APPS + 1))
    finally:
        for worker in (victim, survivor):
            if worker is not None and worker.poll() is None:
                worker.terminate()
                worker.wait(10)
        log.close()
