"""A trader registers a URL and is sent each decision, signed: once, again after failures, again
when the decision is made anew; never to a URL it may not register, never through a redirect."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
import requests
from sqlalchemy import select

from gateway.cli.client import ApiProblem
from gateway.pki.dev import DevPki
from gateway.storage.models import MessageRow
from simulators.trader_inbox import RunningInbox
from tests.gateway_fixtures import RunningGateway
from tests.polling import wait_until
from tests.trader_requests import registered_trader as trader

STEPPE, KAZTRANS = "210540012341", "181240044780"  # declarants of two samples
OPERATOR = {"Authorization": "Bearer ops-token"}
DEV_URLS = {"notify_allow_http": True, "notify_allow_private": True, "retry_base_s": 0.05}


def notifications(gw: Any, application_id: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = gw.client.status(application_id)["notifications"]
    return result


def trail_records(gw: Any, kind: str, application_id: str | None = None) -> list[dict[str, Any]]:
    with gw.services.store.transaction() as s:
        query = select(MessageRow.body).where(MessageRow.kind == kind).order_by(MessageRow.id)
        if application_id:
            query = query.where(MessageRow.application_id == application_id)
        return [json.loads(body) for body in s.scalars(query)]


def test_the_trader_receives_its_decision_signed_byte_for_byte_once(
    gateway: Callable[..., RunningGateway],
    pki: DevPki,
    inbox: Callable[..., RunningInbox],
    signed_sample: Callable[..., bytes],
) -> None:
    gw = gateway(**DEV_URLS)
    endpoint = inbox()
    registered = trader(gw, pki, "trader-steppe").register_notification_url(STEPPE, endpoint.url)
    assert registered["url"] == endpoint.url

    accepted = gw.client.submit(signed_sample("fresh-apples-import"))
    decision = gw.client.wait_for_decision(accepted["id"])

    got = wait_until(lambda: endpoint.of(accepted["id"]), what="the decision reaches the trader")
    assert [r.body for r in got] == [decision]  # verified there: gateway's HTTP and XML signature
    assert got[0].outcome == "granted"
    assert endpoint.state.refused == []
    state = wait_until(
        lambda: (n := notifications(gw, accepted["id"])) and n[0]["state"] == "delivered" and n,
        what="the status shows the notification delivered",
    )
    assert state[0]["attempts"] == 1 and state[0]["last_status"] == 204
    sent = trail_records(gw, "trader-notification", accepted["id"])
    assert len(sent) == 1 and sent[0]["outcome"] == "delivered" and sent[0]["status"] == 204
    assert sent[0]["decision_sha256"] == hashlib.sha256(decision).hexdigest()
    assert sent[0]["idempotency_key"] == got[0].idempotency_key
    assert "idempotency-key" in sent[0]["signature-input"]


def test_a_busy_endpoint_gets_the_same_notification_until_it_takes_it(
    gateway: Callable[..., RunningGateway],
    pki: DevPki,
    inbox: Callable[..., RunningInbox],
    signed_sample: Callable[..., bytes],
) -> None:
    gw = gateway(**DEV_URLS)
    endpoint = inbox(fail_next=2)
    trader(gw, pki, "trader-steppe").register_notification_url(STEPPE, endpoint.url)
    accepted = gw.client.submit(signed_sample("fresh-apples-import"))

    delivered = wait_until(
        lambda: (n := notifications(gw, accepted["id"])) and n[0]["state"] == "delivered" and n,
        what="delivered after two refusals",
    )
    assert delivered[0]["attempts"] == 3
    assert endpoint.state.attempts == 3
    assert len(endpoint.of(accepted["id"])) == 1


def test_an_endpoint_that_keeps_failing_ends_failed_and_an_operator_sends_it_again(
    gateway: Callable[..., RunningGateway],
    pki: DevPki,
    inbox: Callable[..., RunningInbox],
    signed_sample: Callable[..., bytes],
) -> None:
    gw = gateway(**DEV_URLS, notify_max_attempts=2, operator_tokens=("ops-token",))
    endpoint = inbox(status=500)
    trader(gw, pki, "trader-steppe").register_notification_url(STEPPE, endpoint.url)
    accepted = gw.client.submit(signed_sample("fresh-apples-import"))

    failed = wait_until(
        lambda: (n := notifications(gw, accepted["id"])) and n[0]["state"] == "failed" and n,
        what="the notification fails for good",
    )
    assert failed[0]["attempts"] == 2 and failed[0]["last_status"] == 500
    assert "HTTP 500" in failed[0]["last_error"]
    gave_up = trail_records(gw, "trader-notification", accepted["id"])
    assert [r["outcome"] for r in gave_up] == ["failed"]

    ops = f"{gw.url}/api/v1/operations/notifications"
    listed = requests.get(ops, params={"state": "failed"}, headers=OPERATOR, timeout=10).json()
    assert [n["id"] for n in listed] == [failed[0]["id"]]

    endpoint.options.status = None  # the trader mends its endpoint
    retry = f"{ops}/{failed[0]['id']}/retry"
    assert requests.post(retry, timeout=10).status_code == 401
    assert requests.post(retry, headers=OPERATOR, timeout=10).json()["state"] == "pending"
    wait_until(lambda: endpoint.of(accepted["id"]), what="the retried notification arrives")
    # The gateway records the delivery once the endpoint has answered, a moment after the
    # endpoint has it.
    wait_until(
        lambda: notifications(gw, accepted["id"])[0]["state"] == "delivered",
        what="the retried notification recorded delivered",
    )
    again = requests.post(retry, headers=OPERATOR, timeout=10)
    assert again.status_code == 409
    assert again.json()["type"] == "urn:kz:nsw:problem:notification-not-retryable"


def test_gone_stops_at_once_and_redirects_are_not_followed(
    gateway: Callable[..., RunningGateway],
    pki: DevPki,
    inbox: Callable[..., RunningInbox],
    signed_sample: Callable[..., bytes],
) -> None:
    gw = gateway(**DEV_URLS)
    elsewhere = inbox()
    endpoint = inbox(status=302, location=elsewhere.url)
    trader(gw, pki, "trader-steppe").register_notification_url(STEPPE, endpoint.url)
    first = gw.client.submit(signed_sample("fresh-apples-import"))
    redirected = wait_until(
        lambda: (n := notifications(gw, first["id"])) and n[0]["last_status"] == 302 and n,
        what="the redirect is answered",
    )
    assert elsewhere.state.attempts == 0
    assert elsewhere.url in redirected[0]["last_error"]

    endpoint.options.status = 410
    second = gw.client.submit(
        signed_sample(
            "fresh-apples-import",
            edit=lambda b: b.replace(b"STEPPE-2026-0001", b"STEPPE-2026-0002"),
        )
    )
    gone = wait_until(
        lambda: (n := notifications(gw, second["id"])) and n[0]["state"] == "failed" and n,
        what="410 Gone ends the notification",
    )
    assert gone[0]["attempts"] == 1 and "410" in gone[0]["last_error"]


def test_a_decision_made_anew_is_sent_anew(
    gateway: Callable[..., RunningGateway],
    pki: DevPki,
    inbox: Callable[..., RunningInbox],
    signed_sample: Callable[..., bytes],
) -> None:
    gw = gateway(**DEV_URLS)
    endpoint = inbox()
    trader(gw, pki, "trader-kaztrans").register_notification_url(KAZTRANS, endpoint.url)
    # The carrier holds a special permit for heavy carriage, so the road police clear it at once
    # and only transport control's weighing holds the decision.
    permit = (
        b"<Document><Type>special-permit</Type><Number>SP-206-0042</Number>"
        b"<Date>2026-11-20</Date></Document></Documents>"
    )
    accepted = gw.client.submit(
        signed_sample(
            "overweight-machinery-transit", edit=lambda raw: raw.replace(b"</Documents>", permit)
        )
    )
    wait_until(lambda: endpoint.of(accepted["id"]), what="the held decision is sent")

    with gw.services.checkpoint.store.unit() as unit:
        unit.applications.settle_inspection(
            accepted["id"],
            "transport",
            cleared=True,
            officer="inspector-1",
            note="axle loads within the special permit",
        )
    both = wait_until(
        lambda: len(got := endpoint.of(accepted["id"])) == 2 and got,
        what="the new decision is sent too",
    )
    assert [r.outcome for r in both] == ["inspection", "released"]
    assert both[0].idempotency_key != both[1].idempotency_key
    assert both[1].body == gw.client.decision(accepted["id"])


def test_without_a_registered_url_nothing_is_sent(
    gateway: Callable[..., RunningGateway],
    inbox: Callable[..., RunningInbox],
    signed_sample: Callable[..., bytes],
) -> None:
    gw = gateway(**DEV_URLS)
    endpoint = inbox()
    accepted = gw.client.submit(signed_sample("fresh-apples-import"))
    gw.client.wait_for_decision(accepted["id"])
    assert notifications(gw, accepted["id"]) == []
    assert endpoint.state.attempts == 0


# --- registering the URL ------------------------------------------------------------------------


def test_registration_needs_the_companys_own_signature_and_is_in_the_trail(
    gateway: Callable[..., RunningGateway], pki: DevPki, inbox: Callable[..., RunningInbox]
) -> None:
    gw = gateway(**DEV_URLS)
    endpoint = inbox()
    url = f"{gw.url}/api/v1/traders/{STEPPE}/notification-url"

    unsigned = requests.put(url, json={"url": endpoint.url}, timeout=10)
    assert unsigned.status_code == 401
    assert unsigned.headers["Content-Type"] == "application/problem+json"
    with pytest.raises(ApiProblem) as other:
        trader(gw, pki, "trader-altyn").register_notification_url(STEPPE, endpoint.url)
    assert other.value.status == 403

    steppe = trader(gw, pki, "trader-steppe")
    assert steppe.notification_url(STEPPE) is None
    steppe.register_notification_url(STEPPE, endpoint.url)
    shown = steppe.notification_url(STEPPE)
    assert shown is not None and shown["url"] == endpoint.url
    steppe.remove_notification_url(STEPPE)
    assert steppe.notification_url(STEPPE) is None

    recorded = trail_records(gw, "notification-url")
    assert [r["method"] for r in recorded] == ["PUT", "DELETE"]
    assert json.loads(recorded[0]["body"]) == {"url": endpoint.url}
    assert recorded[0]["signature"]


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("ftp://trader.example/in", "must start with https://"),
        ("http://trader.example/in", "must start with https://"),
        ("https://user:secret@trader.example/in", "user name or password"),
        ("https://127.0.0.1/in", "not a public address"),
        ("https://[::1]:8443/in", "not a public address"),
        ("https://169.254.169.254/latest/meta-data", "not a public address"),
        ("not a url", "must start with https://"),
    ],
)
def test_urls_that_could_turn_the_gateway_against_its_own_network_are_refused(  # type: ignore[no-untyped-def]
    gateway, pki, target, why
) -> None:
    gw = gateway()  # production defaults: https only, public addresses only
    with pytest.raises(ApiProblem) as refused:
        trader(gw, pki, "trader-steppe").register_notification_url(STEPPE, target)
    assert refused.value.status == 422
    assert refused.value.problem["type"] == "urn:kz:nsw:problem:callback-url-refused"
    assert why in refused.value.problem["detail"]


def test_a_body_that_is_not_the_expected_json_gets_a_problem(
    gateway: Callable[..., RunningGateway], pki: DevPki
) -> None:
    gw = gateway(**DEV_URLS)
    steppe = trader(gw, pki, "trader-steppe")
    url = f"{gw.url}/api/v1/traders/{STEPPE}/notification-url"
    for body, content_type, status in (
        (b"[1, 2]", "application/json", 422),
        (b"{not json", "application/json", 422),
        (b"url=https://x", "application/x-www-form-urlencoded", 415),
        (b'{"url": "' + b"a" * 5000 + b'"}', "application/json", 413),
    ):
        answer = steppe.session.put(
            url, data=body, headers={"Content-Type": content_type}, auth=steppe.auth, timeout=10
        )
        assert answer.status_code == status, body[:20]
        assert answer.headers["Content-Type"] == "application/problem+json"
