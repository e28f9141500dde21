"""The application view shows the request id it arrived with and the decisions sent to the trader
— the latter to operators, not to one agency's officers (the decision covers every agency)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from gateway.storage.models import ApplicationRow
from gateway.storage.notifications import enqueue_decision
from gateway.storage.repository import Message


def test_request_id_and_trader_notifications_on_the_application_page(
    omc_app: Flask, client_as: Callable[[str], FlaskClient], signed_sample: Callable[..., bytes]
) -> None:
    answer = omc_app.test_client().post(
        "/api/v1/applications",
        data=signed_sample("fresh-apples-import"),
        content_type="application/xml",
        headers={"X-Request-Id": "lodged-by-erp-0042"},
    )
    app_id = answer.get_json()["id"]
    services = omc_app.extensions["nsw"]
    services.notifications.subscribe(
        "210540012341",
        "https://erp.steppe.example/nsw",
        fingerprint="f" * 64,
        message=Message("notification-url", "in", "trader:210540012341", "text/plain", b"-"),
    )
    with services.store.transaction() as s:  # as the decision's transaction would
        app = s.get_one(ApplicationRow, app_id)
        app.verdict = "released"
        enqueue_decision(s, app, b"<Decision/>", services.clock)

    page = client_as("op").get(f"/omc/applications/{app_id}").get_data(as_text=True)
    assert '<code id="request-id">lodged-by-erp-0042</code>' in page
    assert 'id="notifications"' in page and "https://erp.steppe.example/nsw" in page

    officer = client_as("cus").get(f"/omc/applications/{app_id}")
    assert officer.status_code == 200
    assert 'id="notifications"' not in officer.get_data(as_text=True)
