"""OMC sessions end on the server (issue 15, items 6 and 7): a session carries its account's
session generation, and sign-out, a new password, disabling, a role change and a lockout raise it —
every session of the account ends at once, a cookie copied before included. Sign-in starts a new
session with a new CSRF token, so nothing planted before sign-in works after it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.omc.conftest import PASSWORD, csrf, sign_in

COOKIE = "nsw_omc"
PAGE = "/omc/applications"


def copied(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of `client`'s session cookie."""
    cookie = client.get_cookie(COOKIE, path="/omc")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie(COOKIE, cookie.value, path="/omc")
    assert thief.get(PAGE).status_code == 200  # the copy works while the session lasts
    return thief


def ended(client: FlaskClient) -> bool:
    answer = client.get(PAGE)
    return answer.status_code == 302 and "/omc/login" in answer.headers["Location"]


def test_a_cookie_copied_before_sign_out_is_refused_after_it(
    omc_app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    operator = client_as("op")
    thief = copied(omc_app, operator)
    other_browser = client_as("op")
    assert (
        operator.post("/omc/logout", data={"csrf_token": csrf(operator, PAGE)}).status_code == 302
    )
    assert ended(thief)
    assert ended(other_browser)  # sign-out ends every session of the account
    assert ended(operator)


@pytest.mark.parametrize(
    "change",
    [
        {"password": "a brand new password 42"},
        {"disabled": True},
        {"role": "auditor"},
    ],
    ids=["password", "disabled", "role"],
)
def test_an_administrator_s_change_ends_every_session_of_the_account(
    omc_app: Flask, client_as: Callable[[str], FlaskClient], change: dict[str, object]
) -> None:
    operator = client_as("op")
    thief = copied(omc_app, operator)
    accounts = omc_app.extensions["nsw-omc-accounts"]
    accounts.change("op", by="adm", **change)
    if change.get("disabled"):
        accounts.change("op", by="adm", disabled=False)  # enabled again: old sessions stay ended
    assert ended(operator)
    assert ended(thief)
    signed_in_again = omc_app.test_client()
    password = str(change.get("password", PASSWORD))
    assert sign_in(signed_in_again, "op", password).status_code == 302
    assert signed_in_again.get(PAGE).status_code == 200


def test_a_lockout_ends_every_session_of_the_account(
    omc_app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    operator = client_as("op")
    guesser = omc_app.test_client()
    for _ in range(5):  # NSW_LOGIN_MAX_FAILURES
        assert sign_in(guesser, "op", "a wrong guess").status_code == 401
    assert ended(operator)


def test_the_admin_page_ends_the_sessions_of_an_account_whose_password_it_sets(
    client_as: Callable[[str], FlaskClient],
) -> None:
    operator, admin = client_as("op"), client_as("adm")
    answer = admin.post(
        "/omc/admin/accounts/op",
        data={"change": "password", "password": "set by the admin 1234",
              "csrf_token": csrf(admin, "/omc/admin")},
    )  # fmt: skip
    assert answer.status_code == 302
    assert ended(operator)
    assert admin.get("/omc/admin").status_code == 200  # only that account's sessions end


def test_sign_in_issues_a_new_session_and_a_new_csrf_token(omc_app: Flask) -> None:
    client = omc_app.test_client()
    planted = csrf(client)  # the token of the session before sign-in (an attacker may know it)
    before = client.get_cookie(COOKIE, path="/omc")
    assert before is not None
    assert sign_in(client, "op").status_code == 302
    after = client.get_cookie(COOKIE, path="/omc")
    assert after is not None and after.value != before.value
    fresh = csrf(client, PAGE)
    assert fresh != planted
    refused = client.post("/omc/logout", data={"csrf_token": planted})
    assert refused.status_code == 403
    assert client.get(PAGE).status_code == 200  # still signed in: the forged sign-out failed
    assert client.post("/omc/logout", data={"csrf_token": fresh}).status_code == 302


def test_the_admin_page_changes_a_role_and_ends_that_account_s_sessions(
    omc_app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    operator, admin = client_as("op"), client_as("adm")
    token = csrf(admin, "/omc/admin")
    answer = admin.post(
        "/omc/admin/accounts/op", data={"change": "role", "role": "auditor", "csrf_token": token}
    )
    assert answer.status_code == 302
    assert ended(operator)
    [op] = [a for a in omc_app.extensions["nsw-omc-accounts"].list() if a.username == "op"]
    assert op.role == "auditor"
    own = admin.post(
        "/omc/admin/accounts/adm", data={"change": "role", "role": "auditor", "csrf_token": token}
    )
    assert own.status_code == 302 and admin.get("/omc/admin").status_code == 200  # not allowed
