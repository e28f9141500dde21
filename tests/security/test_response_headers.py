"""Headers on the trader API's answers (issue 15, item 11): nothing a trader reads is kept by a
cache or sniffed into another type, and browsers are told to use HTTPS (HSTS) when the gateway is
served over TLS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gateway.config import ONE_YEAR_S, load_config
from gateway.pki.dev import DevPki
from tests.responses import json_of
from tests.security.conftest import XML
from tests.trader_requests import identity, signature_headers


@pytest.mark.parametrize("suffix", ["", "/decision", "/receipt", "/evidence"])
def test_a_trader_read_is_not_cached_nor_sniffed(
    client: FlaskClient, signed_sample: Any, pki: DevPki, suffix: str
) -> None:
    lodged = client.post(
        "/api/v1/applications", data=signed_sample("fresh-apples-import"), headers=XML
    )
    path = f"/api/v1/applications/{json_of(lodged)['id']}{suffix}"
    answer = client.get(path, headers=signature_headers(identity(pki, "trader-steppe"), path))
    assert answer.status_code in (200, 409)  # 409: the decision is not made yet (a problem)
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    for refused in (lodged, client.get(path)):  # the 202 and a 401 problem document too
        assert refused.headers["Cache-Control"] == "no-store"


def test_hsts_is_sent_when_the_gateway_is_behind_tls(client: FlaskClient) -> None:
    # The default: Secure session cookies, so the gateway is served over TLS.
    answer = client.get("/healthz")
    assert answer.headers["Strict-Transport-Security"] == f"max-age={ONE_YEAR_S}"


def test_hsts_follows_its_setting(app_factory: Callable[..., Flask]) -> None:
    plain = app_factory(session_cookie_secure=False).test_client().get("/healthz")
    assert "Strict-Transport-Security" not in plain.headers
    chosen = app_factory(session_cookie_secure=False, hsts_max_age_s=600)
    assert (
        chosen.test_client().get("/healthz").headers["Strict-Transport-Security"] == "max-age=600"
    )


@pytest.mark.parametrize(
    ("env", "seconds"),
    [
        ({}, ONE_YEAR_S),  # NSW_SESSION_COOKIE_SECURE defaults to 1: behind TLS
        ({"NSW_SESSION_COOKIE_SECURE": "0"}, 0),
        ({"NSW_SESSION_COOKIE_SECURE": "0", "NSW_PUBLIC_URL": "https://nsw.example"}, ONE_YEAR_S),
        ({"NSW_HSTS_MAX_AGE_S": "0"}, 0),
        ({"NSW_SESSION_COOKIE_SECURE": "0", "NSW_HSTS_MAX_AGE_S": "86400"}, 86400),
    ],
)
def test_hsts_max_age_from_the_environment(env: dict[str, str], seconds: int) -> None:
    assert load_config(env).hsts_max_age() == seconds
