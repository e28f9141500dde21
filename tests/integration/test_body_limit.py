"""One body reader for every endpoint (issue 15, item 3): a chunked body over the limit, sent over a
real socket with no Content-Length, is refused whole (413 `body-too-large`, a SOAP Fault on the
SOAP endpoint), never cut at the limit and parsed."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests
from flask import Flask

from gateway.checkpoint.events import MAX_BODY as EVENT_LIMIT
from gateway.web.api import SUBSCRIPTION_MAX_BYTES
from tests.serving import serving

LIMIT = 8 * 1024
BIN = "210540012341"
OFFICER = "officer-token-for-tests"


@pytest.fixture
def served(app_factory: Callable[..., Flask]) -> Iterator[str]:
    """The gateway, capped at LIMIT bytes, on a free port of 127.0.0.1: its base URL."""
    app = app_factory(max_body_bytes=LIMIT, operator_tokens=(OFFICER,))
    with serving(app) as url:
        yield url


def chunked(total: int, piece: bytes = b" ") -> Iterator[bytes]:
    """`total` bytes in 1 KiB chunks: `requests` sends a generator with Transfer-Encoding: chunked."""
    sent = 0
    while sent < total:
        size = min(1024, total - sent)
        yield piece * size
        sent += size


# (method, path, content type, the endpoint's limit, the first bytes: a plausible start)
ENDPOINTS = [
    ("POST", "/api/v1/applications", "application/xml", LIMIT, b"<a>"),
    ("POST", "/api/v1/checkpoint/notices", "application/xml", LIMIT, b"<a>"),
    ("POST", "/api/v1/checkpoint/events", "application/json", EVENT_LIMIT, b'{"a": 1}'),
    ("POST", "/api/v1/checkpoint/positions", "application/json", EVENT_LIMIT, b'{"a": 1}'),
    ("POST", "/api/v1/callbacks/health", "application/json", LIMIT, b'{"caseId": "x"}'),
    (
        "PUT",
        f"/api/v1/traders/{BIN}/notification-url",
        "application/json",
        SUBSCRIPTION_MAX_BYTES,
        b'{"url": "https://example.org/"}',
    ),
    ("POST", "/api/v1/checkpoint/visits/V-1/clearance", "application/json", EVENT_LIMIT, b"{"),
]


@pytest.mark.parametrize(("method", "path", "content_type", "limit", "start"), ENDPOINTS)
def test_chunked_body_over_the_limit_is_refused(
    served: str, method: str, path: str, content_type: str, limit: int, start: bytes
) -> None:
    def body() -> Iterator[bytes]:
        yield start
        yield from chunked(limit + 100 - len(start))

    response = requests.request(
        method,
        served + path,
        data=body(),
        headers={"Content-Type": content_type, "Authorization": f"Bearer {OFFICER}"},
        timeout=30,
    )
    assert response.status_code == 413, response.text[:300]
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:kz:nsw:problem:body-too-large"
    assert problem["limit"] == limit


def test_chunked_soap_callback_over_the_limit_gets_a_fault(served: str) -> None:
    envelope_start = b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'

    def body() -> Iterator[bytes]:
        yield envelope_start
        yield from chunked(LIMIT + 100 - len(envelope_start))

    response = requests.post(
        served + "/soap/callbacks",
        data=body(),
        headers={"Content-Type": "text/xml; charset=utf-8"},
        timeout=30,
    )
    assert response.status_code == 413
    assert b"<faultcode>nsw:BodyTooLarge</faultcode>" in response.content


def test_chunked_body_within_the_limit_is_read_whole(served: str) -> None:
    """The reader does not refuse what fits: a chunked body of exactly the limit reaches intake,
    which judges it as XML (here: not well-formed), not as too large."""

    def body() -> Iterator[bytes]:
        yield b"<a>"
        yield from chunked(LIMIT - 3, b"x")

    response = requests.post(
        served + "/api/v1/applications",
        data=body(),
        headers={"Content-Type": "application/xml"},
        timeout=30,
    )
    assert response.status_code == 400, response.text[:300]
    assert response.json()["type"] == "urn:kz:nsw:problem:malformed-xml"
