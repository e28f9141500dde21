"""PostgreSQL under fire: the gateway's backend connections are terminated again and again while
traders submit and dispatchers deliver. No request answers 500 (a 503 with Retry-After is allowed,
and the client sends the same bytes again), every acknowledged application is decided exactly
once with one permit per case, and every dispatcher, notifier and signer thread is still alive."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import func, select, text

from gateway.cli.client import ApiProblem, GatewayClient
from gateway.storage.db import make_engine
from gateway.storage.models import MessageRow
from simulators.server import RunningAgency
from tests.gateway_fixtures import AGENCY_CODES, RunningGateway

pytestmark = pytest.mark.slow

APPS = 10
# The agencies that act on (and grant) the fresh apples; every stand-in runs.
APPLE_AGENCIES = ("customs", "transport", "police", "phytosanitary", "health")
KILL_EVERY_S = 0.15
KILL = text(
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


class BackendKiller:
    """A thread that terminates every other backend of the database every KILL_EVERY_S."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.stop = threading.Event()
        self.rounds = 0
        self.thread = threading.Thread(target=self._run, name="backend-killer", daemon=True)

    def _run(self) -> None:
        with self.engine.connect() as c:
            while not self.stop.wait(KILL_EVERY_S):
                c.execute(KILL)
                c.commit()
                self.rounds += 1

    def __enter__(self) -> BackendKiller:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join(10)
        self.engine.dispose()


def submit_until_accepted(client: GatewayClient, body: bytes, answered: list[int]) -> str:
    """Submit; on 503 (with Retry-After) send the same bytes again, as a trader's system would."""
    for _ in range(50):
        try:
            accepted = client.submit(body)
        except ApiProblem as refused:
            answered.append(refused.status)
            assert refused.status == 503, refused.problem
            assert refused.problem["type"] == "urn:kz:nsw:problem:service-unavailable"
            continue
        answered.append(202)
        return str(accepted["id"])
    raise AssertionError("50 tries and still not accepted")


def test_killed_backends_make_no_500_and_no_duplicate_decision(
    gateway: Callable[..., RunningGateway],
    own_agency: Callable[..., RunningAgency],
    database_url: str,
    signed_sample: Callable[..., bytes],
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("terminates PostgreSQL backends; set NSW_TEST_DATABASE_URL")
    # A short lease so a claim whose write was lost with its connection comes back quickly; the
    # timeouts stay under it (the gateway refuses a lease shorter than 1.5 x each timeout).
    # Fresh stand-ins, so their permit serials run from 1: a second permit for a case would show.
    fresh = {code: own_agency(code).url for code in AGENCY_CODES}
    gw = gateway(
        agency_urls=fresh,
        lease_s=3,
        agency_timeout_s=2,
        notify_timeout_s=2,
        retry_base_s=0.05,
        max_attempts=50,
    )
    bodies = [
        signed_sample(
            "fresh-apples-import",
            edit=lambda raw, n=n: raw.replace(b"STEPPE-2026-0001", f"STEPPE-PGK-{n}".encode()),
        )
        for n in range(APPS)
    ]
    answered: list[int] = []
    with BackendKiller(database_url) as killer:
        ids = [submit_until_accepted(gw.client, body, answered) for body in bodies]
        # Keep killing while the dispatchers deliver and decide.
        for application_id in ids:
            try:
                gw.client.wait_for_decision(application_id, deadline_s=20)
            except ApiProblem as refused:  # a read that met a killed connection
                assert refused.status == 503, refused.problem
    assert killer.rounds > 0
    assert 500 not in answered

    decisions = {i: gw.client.wait_for_decision(i, deadline_s=30) for i in ids}
    assert all(b"<Outcome>granted</Outcome>" in xml for xml in decisions.values())
    with gw.services.store.reading() as s:
        counts = dict(
            s.execute(
                select(MessageRow.application_id, func.count())
                .where(MessageRow.kind == "decision", MessageRow.application_id.in_(ids))
                .group_by(MessageRow.application_id)
            ).all()
        )
    assert counts == {i: 1 for i in ids}, "an application was decided more than once"
    for agency in APPLE_AGENCIES:  # one permit per case at every agency: serials 1..APPS, no more
        permits = [
            next(c["permit_number"] for c in gw.client.status(i)["cases"] if c["agency"] == agency)
            for i in ids
        ]
        assert sorted(int(p.rsplit("-", 1)[1]) for p in permits) == list(range(1, APPS + 1))
    threads = [*gw.services.threads._threads, *gw.services.integrator._threads]  # type: ignore[union-attr]
    assert all(t.is_alive() for t in threads)
