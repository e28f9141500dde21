"""No polling on the path: committed work wakes the loops, an application's cases go out at once,
and an idle gateway leaves the database alone (issue 17, item 3).

The safety-net poll is set to a minute where a test shows that something does not wait for it.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from adapters.base import AgencyAdapter, AgencyAnswer, AgencyRequest
from gateway.cli.client import GatewayClient
from gateway.config import Config
from gateway.pki.dev import DevPki
from gateway.storage.models import CaseRow, OutboxRow
from simulators.server import RunningAgency
from simulators.trader_inbox import start_trader_inbox
from tests.conftest import trader_identity
from tests.gateway_fixtures import RunningGateway
from tests.polling import wait_until
from tests.sql_statements import recorded

NO_POLL = 60.0  # a safety-net poll that no test here may wait for


class InFlight:
    """Counts an agency adapter's calls in progress and the most there ever were at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = self.most = 0

    def wrap(self, adapter: AgencyAdapter) -> Any:
        counter = self

        class Counted:
            spec = adapter.spec

            def send(self, request: AgencyRequest) -> AgencyAnswer:
                with counter._lock:
                    counter.now += 1
                    counter.most = max(counter.most, counter.now)
                try:
                    return adapter.send(request)
                finally:
                    with counter._lock:
                        counter.now -= 1

        return Counted()


def test_a_decision_arrives_without_waiting_for_a_poll(
    gateway: Callable[..., RunningGateway], signed_sample: Callable[..., bytes]
) -> None:
    gw = gateway(poll_interval_s=NO_POLL)
    accepted = gw.client.submit(signed_sample("overweight-machinery-transit"))
    # The dispatchers were asleep for a minute; the intake's commit woke them.
    gw.client.wait_for_decision(accepted["id"], deadline_s=15)


def test_the_trader_is_notified_without_waiting_for_a_poll(
    gateway: Callable[..., RunningGateway], pki: DevPki, signed_sample: Callable[..., bytes]
) -> None:
    gw = gateway(poll_interval_s=NO_POLL, notify_allow_http=True, notify_allow_private=True)
    identity = trader_identity(pki, "trader-steppe")
    gw.services.trader_certs.register(gw.services.trust.verify(identity.certificate), "operator")
    inbox = start_trader_inbox(pki_dir=pki.directory)
    try:
        trader = GatewayClient(gw.url, identity=identity)
        trader.register_notification_url("210540012341", inbox.url)
        accepted = gw.client.submit(signed_sample("fresh-apples-import"))
        # The decision's commit owes the notification and wakes the notifier asleep for a minute.
        wait_until(lambda: inbox.of(accepted["id"]), 15, "the decision reaches the trader")
    finally:
        inbox.stop()


def test_a_retry_is_made_at_its_time_not_at_the_next_poll(
    gateway: Callable[..., RunningGateway],
    agencies: dict[str, str],
    own_agency: Callable[..., RunningAgency],
    signed_sample: Callable[..., bytes],
) -> None:
    customs = own_agency("customs", outage=True)
    gw = gateway(
        poll_interval_s=NO_POLL,
        retry_base_s=1.0,  # the first retry comes 0.5-1 s after the failure
        agency_urls={**agencies, "customs": customs.url},
    )
    accepted = gw.client.submit(signed_sample("overweight-machinery-transit"))

    def customs_failed() -> bool:
        case = next(
            c for c in gw.client.status(accepted["id"])["cases"] if c["agency"] == "customs"
        )
        return bool(case["last_error"])

    wait_until(customs_failed, 15, "the first call to customs failed")
    customs.options.outage = False
    # Nothing wakes the dispatcher but the retry's own due time.
    gw.client.wait_for_decision(accepted["id"], deadline_s=15)


def test_an_applications_cases_are_in_flight_at_once(
    gateway: Callable[..., RunningGateway],
    agencies: dict[str, str],
    own_agency: Callable[..., RunningAgency],
    signed_sample: Callable[..., bytes],
) -> None:
    slow = {code: own_agency(code, latency_s=0.5) for code in ("customs", "transport")}
    # One dispatcher thread: before, it called customs, waited, then called transport.
    gw = gateway(
        dispatcher_threads=1,
        poll_interval_s=NO_POLL,
        agency_urls={**agencies, **{code: a.url for code, a in slow.items()}},
    )
    in_flight = InFlight()
    for code in slow:  # the dispatcher looks its adapter up for each delivery
        gw.services.adapters[code] = in_flight.wrap(gw.services.adapters[code])

    accepted = gw.client.submit(signed_sample("overweight-machinery-transit"))
    gw.client.wait_for_decision(accepted["id"], deadline_s=15)

    assert in_flight.most == 2
    states = {c["agency"]: c["state"] for c in gw.client.status(accepted["id"])["cases"]}
    assert states == {"customs": "granted", "transport": "inspection", "police": "inspection"}


def test_one_commit_wakes_one_claimer_that_takes_every_case_at_once(
    gateway: Callable[..., RunningGateway], signed_sample: Callable[..., bytes]
) -> None:
    # Worth two dispatcher threads (16 slots). Before, two loops of 4 woke and raced: one claimed
    # four of the application's five cases, the other the fifth.
    gw = gateway(dispatcher_threads=2, poll_interval_s=NO_POLL)
    accepted = gw.client.submit(signed_sample("fresh-apples-import"))
    gw.client.wait_for_decision(accepted["id"], deadline_s=15)

    with gw.services.store.engine.connect() as c:
        claimers = c.execute(
            select(OutboxRow.claimed_by)
            .join(CaseRow, CaseRow.id == OutboxRow.case_id)
            .where(CaseRow.application_id == accepted["id"])
        ).all()
    assert len(claimers) == 5 and len({who for (who,) in claimers}) == 1


def test_an_idle_gateway_leaves_the_database_alone(gateway: Callable[..., RunningGateway]) -> None:
    # What a deployment gets: the default safety-net poll and tree-head interval.
    defaults = {f.name: f.default for f in dataclasses.fields(Config)}
    gw = gateway(poll_interval_s=defaults["poll_interval_s"])
    with recorded(gw.services.store.engine) as statements:
        end = time.monotonic() + 1.0
        wait_until(lambda: time.monotonic() >= end, 10, "the window passed")
    # Two dispatchers and a notifier: each at most one safety-net turn (a one-row read, and
    # the deadline sweep's) and the first turns at start; polling every 0.2 s issued ~50.
    assert len(statements) <= 20, statements
