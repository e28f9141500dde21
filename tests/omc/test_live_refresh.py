"""The OMC's live refresh and its flash messages: a signed-in session is permanent, so Flask would
send the cookie again with every answer; a refresh sent with the cookie a page had before it
showed a message, answered after, would put the message back, and the next page showed it again.
The live refresh (the event stream and the parts of pages it makes fetch themselves again) sets
the cookie only if it changed the session."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.omc.conftest import csrf

COOKIE = "nsw_omc"
MESSAGE = 'class="flash'

# Every request a page's live refresh makes (omc.js, the hx-get parts, the charts' data):
# `{app}` is the application's id.
LIVE = [
    "/omc/events",
    "/omc/applications/rows",
    "/omc/applications/{app}/body",
    "/omc/agencies/body",
    "/omc/checkpoints/body",
    "/omc/movements/body",
    "/omc/charts/data.json",
]


@pytest.mark.parametrize("refresh", LIVE)
def test_a_late_live_refresh_with_the_pages_old_cookie_does_not_bring_a_shown_message_back(
    escalated: tuple[str, str],
    omc_app: Flask,
    client_as: Callable[[str], FlaskClient],
    refresh: str,
) -> None:
    app_id, case_id = escalated
    operator = client_as("op")
    page = f"/omc/applications/{app_id}"
    done = operator.post(
        f"/omc/actions/retry/{case_id}",
        data={"csrf_token": csrf(operator, page), "confirm": "yes", "next": page},
    )
    assert done.status_code == 302
    holding = operator.get_cookie(COOKIE, path="/omc")
    assert holding is not None  # the cookie that carries the message to the page

    late = omc_app.test_client()  # the live refresh, sent with that cookie
    late.set_cookie(COOKIE, holding.value, path="/omc")
    shown = operator.get(page)
    assert shown.get_data(as_text=True).count(MESSAGE) == 1
    refreshed = late.get(refresh.format(app=app_id))
    try:
        assert refreshed.status_code == 200
        assert not [
            c for c in refreshed.headers.getlist("Set-Cookie") if c.startswith(f"{COOKIE}=")
        ]
    finally:
        refreshed.close()  # the event stream: end it unread
    assert MESSAGE not in operator.get(page).get_data(as_text=True)


def test_a_live_refresh_still_ends_a_session_that_has_ended(
    omc_app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    """Setting the cookie only when the session changed keeps the one change a refresh makes:
    a session ended on the server (here by sign-out elsewhere) is cleared from the browser too."""
    operator = client_as("op")
    refresh = omc_app.test_client()
    cookie = operator.get_cookie(COOKIE, path="/omc")
    assert cookie is not None
    refresh.set_cookie(COOKIE, cookie.value, path="/omc")
    assert operator.post("/omc/logout", data={"csrf_token": csrf(operator, "/omc/applications")})
    answer = refresh.get("/omc/agencies/body")
    assert answer.status_code == 302 and "/omc/login" in answer.headers["Location"]
    assert refresh.get_cookie(COOKIE, path="/omc") is None
