"""Progress events for traders (issue 19, item 5): the notification URL also receives signed JSON
events for case changes and the checkpoint's exit — only the types the trader chose, each with its
own type and Idempotency-Key, through the same delivery rows and retries as the decision."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import select

from gateway.app import create_app
from gateway.bootstrap import build_services
from gateway.cli.client import ApiProblem, GatewayClient
from gateway.cli.main import main
from gateway.pki.dev import DevPki
from gateway.storage.models import MessageRow
from gateway.trail.messages import Message
from simulators.trader_inbox import RunningInbox
from tests.checkpoint.conftest import OFFICER_TOKEN, Checkpoint, MovableClock, fresh_plate
from tests.gateway_fixtures import RunningGateway, gateway_config
from tests.polling import wait_until
from tests.serving import serving
from tests.trader_requests import registered_trader as trader

STEPPE, ALTYN = "210540012341", "190340025677"  # declarants of the apples and the cattle
DEV_URLS = {"notify_allow_http": True, "notify_allow_private": True, "retry_base_s": 0.05}
APPLE_AGENCIES = {"customs", "transport", "police", "phytosanitary", "health"}


def trail(services: Any, kind: str, application_id: str) -> list[dict[str, Any]]:
    with services.store.transaction() as s:
        bodies = s.scalars(
            select(MessageRow.body)
            .where(MessageRow.kind == kind, MessageRow.application_id == application_id)
            .order_by(MessageRow.seq)
        )
        return [json.loads(body) for body in bodies]


def test_a_trader_gets_each_agency_s_answer_as_a_signed_event_then_the_decision(
    gateway: Callable[..., RunningGateway],
    pki: DevPki,
    inbox: Callable[..., RunningInbox],
    signed_sample: Callable[..., bytes],
) -> None:
    gw = gateway(**DEV_URLS)
    endpoint = inbox(fail_next=1)  # the first attempt fails: events are retried like decisions
    chosen = ["decision", "case.granted", "case.refused"]
    registered = trader(gw, pki, "trader-steppe").register_notification_url(
        STEPPE, endpoint.url, events=chosen
    )
    assert registered["events"] == chosen
    accepted = gw.client.submit(signed_sample("fresh-apples-import"))
    decision = gw.client.wait_for_decision(accepted["id"])

    events = wait_until(
        lambda: len(got := endpoint.events_of(accepted["id"])) == len(APPLE_AGENCIES) and got,
        what="one event per agency's answer",
    )
    assert endpoint.state.refused == []  # each verified at the inbox: the gateway's signature
    assert {e.type for e in events} == {"case.granted"}
    assert {e.document["agency"] for e in events} == APPLE_AGENCIES
    assert all(e.document["state"] == "granted" and e.document["permitNumber"] for e in events)
    keys = [e.idempotency_key for e in events]
    assert len(set(keys)) == len(keys) and all(k.startswith("nsw-event-") for k in keys)
    assert len({e.document["id"] for e in events}) == len(events)
    got = wait_until(lambda: endpoint.of(accepted["id"]), what="the decision")
    assert [r.body for r in got] == [decision]
    # Each delivered event is in the trail with the event itself and its signature fields.
    sent = wait_until(
        lambda: len(t := trail(gw.services, "trader-event", accepted["id"])) == 5 and t,
        what="the events' deliveries in the trail",
    )
    assert {json.loads(r["event"])["id"] for r in sent} == {e.document["id"] for e in events}
    assert all(r["outcome"] == "delivered" and "idempotency-key" in r["signature-input"]
               for r in sent)  # fmt: skip
    kinds = [n["kind"] for n in gw.client.status(accepted["id"])["notifications"]]
    assert sorted(kinds) == ["case.granted"] * 5 + ["decision"]


def test_only_the_chosen_types_are_sent(
    gateway: Callable[..., RunningGateway],
    pki: DevPki,
    inbox: Callable[..., RunningInbox],
    signed_sample: Callable[..., bytes],
) -> None:
    gw = gateway(**DEV_URLS)
    endpoint = inbox()
    trader(gw, pki, "trader-altyn").register_notification_url(
        ALTYN, endpoint.url, events=["case.refused"]
    )
    accepted = gw.client.submit(signed_sample("live-cattle-import"))
    gw.client.wait_for_decision(accepted["id"])
    (refused,) = wait_until(lambda: endpoint.events_of(accepted["id"]), what="the refusal")
    assert refused.type == "case.refused" and refused.document["agency"] == "veterinary"
    assert refused.document["reasons"] and refused.document["reasons"][0]["code"]
    wait_until(
        lambda: all(n["state"] == "delivered"
                    for n in gw.client.status(accepted["id"])["notifications"]),
        what="every notification delivered",
    )  # fmt: skip
    assert endpoint.of(accepted["id"]) == []  # no decision: not chosen
    assert [e.type for e in endpoint.events_of(accepted["id"])] == ["case.refused"]


def test_the_choice_is_checked_and_shown(
    gateway: Callable[..., RunningGateway], pki: DevPki, inbox: Callable[..., RunningInbox]
) -> None:
    gw = gateway(**DEV_URLS)
    endpoint = inbox()
    steppe = trader(gw, pki, "trader-steppe")
    for events in (["case.exploded"], [], "decision", [1]):
        with pytest.raises(ApiProblem) as refused:
            steppe.register_notification_url(STEPPE, endpoint.url, events=events)  # type: ignore[arg-type]
        assert refused.value.status == 422
        assert refused.value.problem["type"] == "urn:kz:nsw:problem:invalid-value"
        assert "checkpoint.exit" in refused.value.problem["detail"]
    steppe.register_notification_url(STEPPE, endpoint.url)  # no choice: decisions only
    shown = steppe.notification_url(STEPPE)
    assert shown is not None and shown["events"] == ["decision"]
    steppe.register_notification_url(STEPPE, endpoint.url, events=["checkpoint.exit", "decision"])
    shown = steppe.notification_url(STEPPE)
    assert shown is not None and shown["events"] == ["decision", "checkpoint.exit"]


def test_the_cli_chooses_the_events(
    gateway: Callable[..., RunningGateway], pki: DevPki, inbox: Callable[..., RunningInbox]
) -> None:
    gw = gateway(**DEV_URLS)
    trader(gw, pki, "trader-steppe")  # its certificate registered by the operators
    endpoint = inbox()
    signer = ["--key", str(pki.key_path("trader-steppe")), "--cert",
              str(pki.cert_path("trader-steppe")), "--url", gw.url]  # fmt: skip
    result = CliRunner().invoke(
        main, ["notify-url", "set", STEPPE, endpoint.url, "--event", "case.refused",
               "--event", "decision", *signer],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["events"] == ["decision", "case.refused"]
    wrong = CliRunner().invoke(
        main, ["notify-url", "set", STEPPE, endpoint.url, "--event", "case.exploded", *signer]
    )
    assert wrong.exit_code == 2 and "case.exploded" in wrong.output


# --- the checkpoint's exit ------------------------------------------------------------------------


@pytest.fixture
def checkpoint_notifying(
    pki: DevPki, database_url: str, agencies: dict[str, str]
) -> Iterator[Checkpoint]:
    """The checkpoint's gateway (tests/checkpoint/conftest.py) that may notify 127.0.0.1."""
    clock = MovableClock()
    config = gateway_config(pki, database_url, agencies, poll_interval_s=0.05,
                            operator_tokens=(OFFICER_TOKEN,), **DEV_URLS)  # fmt: skip
    services = build_services(config, clock)
    with serving(create_app(config, services)) as url:
        yield Checkpoint(url, services, pki, clock, GatewayClient(url))
    services.close()


def test_the_vehicle_s_exit_is_an_event(
    checkpoint_notifying: Checkpoint, inbox: Callable[..., RunningInbox]
) -> None:
    cp, endpoint, plate = checkpoint_notifying, inbox(), "123ABC02"
    cp.services.notifications.subscribe(
        STEPPE, endpoint.url, fingerprint="00" * 32, events=("checkpoint.exit",),
        message=Message("notification-url", "in", f"trader:{STEPPE}", "text/plain", b"test"),
    )  # fmt: skip
    application_id = cp.lodge("fresh-apples-import", fresh_plate(plate))
    cp.pay(application_id)
    assert cp.notice(plate, [application_id]).status_code == 202
    # The clock stays put: the inbox checks the signature's time against its own clock.
    for stage in ("entry", "radiation", "parameters", "scan", "documents"):
        assert cp.stage(stage, plate).status_code == 201
    answer = cp.stage("exit", plate).json()
    assert answer["status"] == "open-barrier"
    (exit_,) = wait_until(lambda: endpoint.events_of(application_id), what="the exit event")
    assert exit_.type == "checkpoint.exit"
    assert exit_.document["plate"] == plate and exit_.document["visitId"] == answer["visit"]
    assert exit_.document["checkpoint"] == "KZ-NURZHOLY"
    assert endpoint.of(application_id) == []  # the decisions were not chosen
    assert requests.get(endpoint.base_url + "/received", timeout=10).json() == []
