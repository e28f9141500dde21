"""`GatewayClient.wait_for_decision` waits through a gateway's 503 with Retry-After (a database
connection lost while it recovers) instead of failing the wait; any other problem still ends it.
Against a real HTTP server on the loopback."""

from __future__ import annotations

import pytest
from flask import Flask, Response

from gateway.cli.client import ApiProblem, GatewayClient
from tests.serving import serving

PROBLEM = "application/problem+json"


def _gateway(answers: list[tuple[int, bytes]]) -> tuple[Flask, list[int]]:
    """A stand-in gateway whose decision read gives `answers` in turn (the last one for ever)."""
    app = Flask("decision-reads")
    served: list[int] = []

    @app.get("/api/v1/applications/<application_id>/decision")
    def decision(application_id: str) -> Response:
        status, body = answers[min(len(served), len(answers) - 1)]
        served.append(status)
        if status == 200:
            return Response(body, 200, content_type="application/xml")
        headers = {"Retry-After": "0"} if status == 503 else {}
        return Response(body, status, headers=headers, content_type=PROBLEM)

    return app, served


UNAVAILABLE = (503, b'{"type":"urn:kz:nsw:problem:service-unavailable","title":"Unavailable"}')
NOT_YET = (409, b'{"type":"urn:kz:nsw:problem:not-decided","title":"Not decided yet"}')
DECIDED = (200, b"<Decision/>")


def test_a_503_with_retry_after_is_waited_through_until_the_decision() -> None:
    app, served = _gateway([UNAVAILABLE, NOT_YET, UNAVAILABLE, DECIDED])
    with serving(app) as url:
        assert GatewayClient(url).wait_for_decision("APP-1", deadline_s=10) == b"<Decision/>"
    assert served == [503, 409, 503, 200]


def test_another_problem_ends_the_wait_at_once() -> None:
    app, served = _gateway([(404, b'{"type":"about:blank","title":"Not Found"}')])
    with serving(app) as url, pytest.raises(ApiProblem) as refused:
        GatewayClient(url).wait_for_decision("APP-1", deadline_s=10)
    assert (refused.value.status, served) == (404, [404])


def test_a_gateway_unavailable_past_the_deadline_is_its_503() -> None:
    app, served = _gateway([UNAVAILABLE])
    with serving(app) as url, pytest.raises(ApiProblem) as refused:
        GatewayClient(url).wait_for_decision("APP-1", deadline_s=0.3)
    assert refused.value.status == 503 and refused.value.retry_after_s == 0.0
    assert len(served) >= 2
