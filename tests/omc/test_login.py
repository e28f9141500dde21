"""Sign-in: argon2id hashes, lockout, CSRF on every form, session cookie flags, no open redirect."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from gateway.storage.models import OmcAccountRow
from tests.omc.conftest import OMC, PASSWORD, csrf, sign_in


def test_passwords_are_stored_as_argon2id_hashes(omc_app: Flask) -> None:
    store = omc_app.extensions["nsw"].store
    with store.transaction() as s:
        hashes = s.scalars(select(OmcAccountRow.password_hash)).all()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert not any(PASSWORD in h for h in hashes)


def test_sign_in_sets_a_strict_http_only_session_cookie(omc_app: Flask) -> None:
    response = sign_in(omc_app.test_client(), "op")
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/omc" in cookie


def test_the_session_cookie_is_secure_by_default(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(secret_key=OMC["secret_key"])
    app.extensions["nsw-omc-accounts"].add("op", "operator", PASSWORD, by="test")
    response = sign_in(app.test_client(), "op")
    assert "Secure" in response.headers["Set-Cookie"]


def test_a_wrong_password_is_refused_with_one_sentence_for_every_reason(omc_app: Flask) -> None:
    client = omc_app.test_client()
    wrong = sign_in(client, "op", "not the password")
    unknown = sign_in(client, "nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong name or password" in wrong.get_data(as_text=True)
    assert client.get("/omc/applications").status_code == 302  # still not signed in


def test_an_account_locks_after_repeated_failures_until_an_admin_unlocks_it(
    omc_app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    client = omc_app.test_client()
    for _ in range(5):
        assert sign_in(client, "op", "guess").status_code == 401
    assert sign_in(client, "op").status_code == 401  # the right password no longer helps
    admin = client_as("adm")
    unlocked = admin.post(
        "/omc/admin/accounts/op", data={"change": "unlock", "csrf_token": csrf(admin, "/omc/admin")}
    )
    assert unlocked.status_code == 302
    assert sign_in(client, "op").status_code == 302


def test_a_form_without_its_csrf_token_is_refused(
    omc_app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    client = omc_app.test_client()
    response = client.post("/omc/login", data={"username": "op", "password": PASSWORD})
    assert response.status_code == 403
    assert "CSRF" in response.get_data(as_text=True)
    operator = client_as("op")
    forged = operator.post(
        "/omc/actions/retry/x-customs", data={"confirm": "yes", "csrf_token": "forged"}
    )
    assert forged.status_code == 403


def test_sign_in_never_redirects_off_the_omc(omc_app: Flask) -> None:
    client = omc_app.test_client()
    token = csrf(client)
    response = client.post(
        "/omc/login?next=https://evil.example/omc/",
        data={"username": "op", "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/omc/"


def test_a_disabled_account_loses_its_session_at_once(
    omc_app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    operator = client_as("op")
    assert operator.get("/omc/applications").status_code == 200
    omc_app.extensions["nsw-omc-accounts"].change("op", by="test", disabled=True)
    assert operator.get("/omc/applications").status_code == 302


def test_without_a_session_key_the_omc_is_not_served(app_factory: Callable[..., Flask]) -> None:
    app = app_factory()
    response = app.test_client().get("/omc/login")
    assert response.status_code == 503
    assert "NSW_SECRET_KEY" in response.get_json()["detail"]


def test_the_dev_opt_in_serves_the_omc_with_a_random_key(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(omc_insecure_dev_key=True)
    assert app.test_client().get("/omc/login").status_code == 200
