"""Customs' ReleaseGuarantee made durable (issue 20), on both databases, with a customs stand-in
of the test's own: the release is queued in the withdrawal's transaction and asked by the release
loop until customs answers (an outage first, then an answer), once effective; a release queued
while no loop runs (a crash after the withdrawal) is delivered by the next loop to start."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.billing.wiring import release_loop
from gateway.bootstrap import Services
from gateway.pki.dev import DevPki
from gateway.storage.payment_models import GuaranteeReleaseRow
from simulators.server import RunningAgency
from simulators.treasury import ACCOUNT
from tests.checkpoint.conftest import Checkpoint, MovableClock, fresh_plate
from tests.gateway_fixtures import KeyringClient
from tests.payments.settle import pay_in_full
from tests.payments.test_guarantee import PLATE, _kinds, _post_offer, fresh, withdraw
from tests.polling import wait_until


def _secured(
    gateway_at: Callable[..., tuple[str, Services, KeyringClient]],
    customs: RunningAgency,
    pki: DevPki,
) -> tuple[Checkpoint, str, str]:
    """A gateway asking `customs`, and an application released secured by a fresh guarantee."""
    url, services, client = gateway_at(payee_account=ACCOUNT, agency_urls={"customs": customs.url})
    cp = Checkpoint(url, services, pki, MovableClock(), client)
    application_id = cp.lodge("fresh-apples-import", fresh_plate(PLATE))
    reference = fresh()
    accepted = _post_offer(cp, application_id, reference)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["released"] is True
    return cp, application_id, reference


def _release(services: Services, application_id: str) -> GuaranteeReleaseRow | None:
    with Session(services.store.engine) as s:
        return s.scalars(
            select(GuaranteeReleaseRow).where(GuaranteeReleaseRow.application_id == application_id)
        ).first()


def _state(cp: Checkpoint, application_id: str) -> list[tuple[str, str]]:
    offers = cp.client.guarantees(application_id)["guarantees"]
    return [(o["reference"], o["state"]) for o in offers]


def test_a_release_customs_does_not_answer_is_asked_again_until_it_does_and_done_once(
    gateway_at: Callable[..., tuple[str, Services, KeyringClient]],
    own_agency: Callable[..., RunningAgency],
    pki: DevPki,
) -> None:
    customs = own_agency("customs")
    cp, first, reference = _secured(gateway_at, customs, pki)

    # Customs is down when the application is withdrawn: the release is queued with the
    # withdrawal, and the first attempts fail (each kept in the trail).
    customs.options.outage = True
    withdraw(cp, first)
    failed = wait_until(
        lambda: (r := _release(cp.services, first)) is not None and r.attempts >= 2 and r,
        what="two unanswered attempts",
    )
    assert failed.state == "queued" and failed.last_error and failed.done_at is None
    assert _state(cp, first) == [(reference, "securing")]
    assert "guarantee-release" in _kinds(cp, first)

    # Customs is back: the next attempt is answered, the guarantee is released, once.
    customs.options.outage = False
    done = wait_until(
        lambda: (r := _release(cp.services, first)) is not None and r.done_at is not None and r,
        what="customs to answer the release",
    )
    assert (done.state, done.answer) == ("answered", "released")
    assert _state(cp, first) == [(reference, "released")]
    answers = [
        m.body for m in cp.services.store.messages(first) if m.kind == "guarantee-release-answer"
    ]
    assert sum(b"released</" in body.replace(b"ns0:", b"") for body in answers) == 1
    # Customs freed the reservation: the guarantee secures another application now.
    second = cp.lodge("fresh-apples-import", fresh_plate(PLATE))
    taken = _post_offer(cp, second, reference)
    assert taken.status_code == 200, taken.text


def test_a_release_queued_while_no_loop_runs_is_asked_by_the_next_loop(
    gateway_at: Callable[..., tuple[str, Services, KeyringClient]],
    own_agency: Callable[..., RunningAgency],
    pki: DevPki,
) -> None:
    customs = own_agency("customs")
    cp, first, reference = _secured(gateway_at, customs, pki)
    # The process's loops stop (as if it died right after the withdrawal committed).
    cp.services.threads.stop()
    withdraw(cp, first)
    queued = _release(cp.services, first)
    assert queued is not None and (queued.state, queued.attempts) == ("queued", 0)
    assert "guarantee-release" not in _kinds(cp, first)

    # Another process's loop (here: one built on the same database) finds and delivers it.
    loop = release_loop(cp.services)
    assert loop is not None
    assert wait_until(loop.step, what="the loop to claim the release") == 1
    done = _release(cp.services, first)
    assert done is not None and (done.state, done.answer) == ("answered", "released")
    assert _state(cp, first) == [(reference, "released")]
    assert {"guarantee-release", "guarantee-release-answer"} <= set(_kinds(cp, first))
    assert loop.step() == 0  # answered: never asked again


def test_a_guarantee_discharged_by_payment_is_freed_at_customs_and_secures_another(
    gateway_at: Callable[..., tuple[str, Services, KeyringClient]],
    own_agency: Callable[..., RunningAgency],
    pki: DevPki,
) -> None:
    customs = own_agency("customs")
    cp, first, reference = _secured(gateway_at, customs, pki)

    # The order is paid: the guarantee is discharged, and customs is asked (reason
    # "discharged") to free the reservation the paid debt no longer needs.
    pay_in_full(cp.services, first)
    done = wait_until(
        lambda: (r := _release(cp.services, first)) is not None and r.done_at is not None and r,
        what="customs to answer the release of the discharged guarantee",
    )
    assert (done.reason, done.state, done.answer) == ("discharged", "answered", "released")
    offer = cp.client.guarantees(first)["guarantees"][0]
    assert (offer["state"], offer["releasedAt"] is not None) == ("discharged", True)
    assert b"<Reason>discharged</Reason>" in _release_request(cp, first)

    # The same guarantee now secures another application (customs no longer holds it).
    second = cp.lodge("fresh-apples-import", fresh_plate(PLATE))
    taken = _post_offer(cp, second, reference)
    assert taken.status_code == 200, taken.text
    assert taken.json()["released"] is True


def _release_request(cp: Checkpoint, application_id: str) -> bytes:
    [request] = [
        m.body for m in cp.services.store.messages(application_id) if m.kind == "guarantee-release"
    ]
    return request
