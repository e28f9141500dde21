"""Observability belongs to the app, not to the OMC: an app built without the OMC still gives every
answer a request id, logs JSON lines under it, and serves /healthz, /readyz and /metrics."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator

import pytest
from flask import Flask

from gateway.observability.logs import JsonFormatter

TOKEN = "scraper-token-for-tests"


@pytest.fixture
def app_without_omc(app_factory: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch) -> Flask:
    """The app factory's app with the OMC left out (its blueprints, hooks and everything else)."""
    monkeypatch.setattr("gateway.app.init_omc", lambda *args: None)
    app = app_factory(metrics_tokens=(TOKEN,))

    def broken() -> str:
        raise RuntimeError("the ledger is on fire")

    app.add_url_rule("/broken", "broken", broken)
    return app


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """What the gateway's own JSON log handler (installed by the app factory) writes."""
    (handler,) = [
        h
        for h in logging.getLogger("gateway").handlers
        if isinstance(h, logging.StreamHandler) and isinstance(h.formatter, JsonFormatter)
    ]
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


def test_without_the_omc_every_answer_has_a_request_id(app_without_omc: Flask) -> None:
    client = app_without_omc.test_client()
    assert client.get("/omc/").status_code == 404  # the OMC is really not there
    kept = client.get("/healthz", headers={"X-Request-Id": "trace-12345678"})
    assert kept.status_code == 200 and kept.headers["X-Request-Id"] == "trace-12345678"
    refused = client.get("/api/v1/applications/APP-nope/status")  # a problem document too
    assert refused.status_code >= 400 and len(refused.headers["X-Request-Id"]) == 16


def test_without_the_omc_metrics_and_readiness_are_served(app_without_omc: Flask) -> None:
    client = app_without_omc.test_client()
    client.get("/healthz")
    assert client.get("/metrics").status_code == 401  # still for the scraper only
    scraped = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert scraped.status_code == 200
    text = scraped.get_data(as_text=True)
    assert "nsw_applications" in text and "nsw_trail_signer_refusing 0.0" in text
    assert (
        'nsw_http_request_duration_seconds_count{endpoint="operations_health.healthz",'
        'method="GET"} 1.0' in text
    )
    ready = client.get("/readyz")  # no agency endpoints in this app: up, but not ready
    assert ready.status_code == 503
    assert ready.get_json()["checks"]["database"] == "ok"
    assert ready.get_json()["checks"]["agencies"].startswith("no endpoint: ")


def test_without_the_omc_a_500_is_one_json_line_under_its_request_id(
    app_without_omc: Flask, json_log: io.StringIO
) -> None:
    answer = app_without_omc.test_client().get("/broken", headers={"X-Request-Id": "trace-5005"})
    assert answer.status_code == 500
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    (failure,) = [line for line in lines if line["logger"] == "gateway.web.problems"]
    assert failure["request_id"] == "trace-5005"
    assert failure["exc"]["message"] == "the ledger is on fire"
