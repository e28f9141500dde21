"""The scoped session interface answers a request outside the portal as Flask's own does, and a
request without the cookie without building the signing serializer."""

from __future__ import annotations

import pytest
from flask import Flask, Response, session
from flask.sessions import SecureCookieSessionInterface

from gateway.portal.session import ScopedSessions

PATH = "/api/v1/applications/x"


def _app(interface: SecureCookieSessionInterface) -> Flask:
    app = Flask(__name__)
    app.secret_key = "k" * 32
    app.session_interface = interface

    @app.get(PATH)
    def read() -> Response:
        return Response("")

    return app


def _cookie_of(data: dict[str, str]) -> str:
    app = _app(SecureCookieSessionInterface())
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert serializer is not None
    return str(serializer.dumps(data))


@pytest.mark.parametrize(
    "cookies",
    [{}, {"session": ""}, {"other": "1"}, {"session": "not signed"}, {"session": None}],
    ids=["none", "empty", "another cookie", "forged", "signed"],
)
def test_a_request_outside_the_portal_opens_what_flask_opens(cookies: dict[str, str]) -> None:
    if cookies.get("session", "") is None:
        cookies = {"session": _cookie_of({"officer": "o-1"})}
    header = "; ".join(f"{k}={v}" for k, v in cookies.items())
    environ = {"HTTP_COOKIE": header} if header else {}
    opened = []
    for interface in (ScopedSessions(), SecureCookieSessionInterface()):
        app = _app(interface)
        with app.test_request_context(PATH, environ_base=environ) as ctx:
            opened.append(ctx.session)
    ours, flasks = opened
    assert type(ours) is type(flasks)
    assert dict(ours) == dict(flasks)
    assert (ours.modified, ours.accessed, ours.new) == (
        flasks.modified,
        flasks.accessed,
        flasks.new,
    )


def test_a_request_without_the_cookie_builds_no_serializer(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object) -> None:
        raise AssertionError("the signing serializer was built")

    monkeypatch.setattr(ScopedSessions, "get_signing_serializer", refuse)
    app = _app(ScopedSessions())
    answer = app.test_client().get(PATH)
    assert answer.status_code == 200
    assert "Set-Cookie" not in answer.headers and "Vary" not in answer.headers


@pytest.mark.parametrize("touch", ["nothing", "read", "write", "clear"])
def test_the_answer_carries_the_headers_flask_gives_it(touch: str) -> None:
    headers = []
    for interface in (ScopedSessions(), SecureCookieSessionInterface()):
        app = _app(interface)

        @app.get("/touch")
        def touched() -> Response:
            if touch == "read":
                session.get("officer")
            elif touch == "write":
                session["officer"] = "o-1"
            elif touch == "clear":
                session.clear()
            return Response("")

        client = app.test_client()
        if touch == "clear":
            client.set_cookie("session", _cookie_of({"officer": "o-1"}))
        answer = client.get("/touch")
        # The cookie's name and attributes: its value carries the time it was signed at.
        cookies = [
            c.split("=", 1)[0] + c.partition(";")[2] for c in answer.headers.getlist("Set-Cookie")
        ]
        headers.append((answer.headers.get("Vary"), cookies))
    assert headers[0] == headers[1]
