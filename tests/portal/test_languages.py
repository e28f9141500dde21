"""The portal in Kazakh, Russian and English (issue 21, item 2): its pages and the problems it shows
in the reader's language, Content-Language saying which, and its language switch kept in the
cookie (a trader is a certificate, with no stored account to keep a choice on)."""

from __future__ import annotations

import html
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from gateway.i18n import COOKIE
from gateway.pki.dev import DevPki
from tests.conftest import SAMPLES
from tests.portal.conftest import cert_header, csrf
from tests.portal.test_portal import STEPPE, upload

Client = Callable[[str], FlaskClient]


def text(answer: TestResponse) -> str:
    return " ".join(html.unescape(answer.get_data(as_text=True)).split())


@pytest.mark.parametrize(
    ("language", "used", "words"),
    [
        ("kk", "kk", f"БСН {STEPPE} ретінде кіру"),
        ("ru-RU,ru;q=0.9", "ru", f"Войти как БИН {STEPPE}"),
        ("fr", "en", f"Sign in as BIN {STEPPE}"),
    ],
)
def test_the_sign_in_page_is_in_the_readers_language(
    portal_app: Flask, pki: DevPki, language: str, used: str, words: str
) -> None:
    client = portal_app.test_client()
    client.environ_base["HTTP_X_CLIENT_CERT"] = cert_header(pki, "trader-steppe")
    answer = client.get("/portal/login", headers={"Accept-Language": language})
    assert answer.status_code == 200 and words in text(answer)
    assert answer.headers["Content-Language"] == used
    assert f'<html lang="{used}">' in answer.get_data(as_text=True)


def test_a_refused_certificate_is_explained_in_the_readers_language(
    portal_app: Flask, pki: DevPki
) -> None:
    client = portal_app.test_client()
    client.environ_base["HTTP_X_CLIENT_CERT"] = cert_header(pki, "trader-steppe")
    client.environ_base["REMOTE_ADDR"] = "203.0.113.9"  # not the trusted proxy
    page = text(client.get("/portal/login", headers={"Accept-Language": "ru"}))
    assert "не является доверенным TLS-прокси" in page
    # The portal's own way out, said in Russian too (a Text inside a Text).
    assert "Откройте портал по адресу, выданному вашей компании" in page


def test_the_switch_keeps_the_language_in_the_cookie_for_every_page(
    trader_client: Client,
) -> None:
    steppe = trader_client("trader-steppe")
    answer = steppe.post(
        "/portal/language",
        data={
            "lang": "kk",
            "next": "/portal/?state=decided",
            "csrf_token": csrf(steppe, "/portal/"),
        },
        headers={"Accept-Language": "ru"},
    )
    assert answer.status_code == 302 and answer.headers["Location"] == "/portal/?state=decided"
    cookie = steppe.get_cookie(COOKIE)
    assert cookie is not None and cookie.value == "kk" and cookie.http_only
    # The cookie beats the browser's Accept-Language: the reader chose.
    listing = steppe.get("/portal/", headers={"Accept-Language": "ru"})
    assert f"{STEPPE} өтініштері" in text(listing)
    assert listing.headers["Content-Language"] == "kk"
    assert "Қол қойылған өтінішті жүктеу" in text(steppe.get("/portal/upload"))


def test_the_switch_refuses_a_language_it_does_not_speak_and_stays_in_the_portal(
    trader_client: Client,
) -> None:
    steppe = trader_client("trader-steppe")
    token = csrf(steppe, "/portal/")
    refused = steppe.post("/portal/language", data={"lang": "fr", "csrf_token": token})
    assert refused.status_code == 400
    assert "kk, ru, en" in text(refused) and steppe.get_cookie(COOKIE) is None
    away = steppe.post(
        "/portal/language",
        data={"lang": "ru", "next": "https://evil.example/portal/", "csrf_token": token},
    )
    assert away.status_code == 302 and away.headers["Location"] == "/portal/login"
    without_token = steppe.post("/portal/language", data={"lang": "kk"})
    assert without_token.status_code == 403


def test_the_switch_works_before_sign_in(portal_app: Flask) -> None:
    client = portal_app.test_client()
    token = csrf(client, "/portal/login")
    answer = client.post("/portal/language", data={"lang": "ru", "csrf_token": token})
    assert answer.status_code == 302
    assert "Вход по сертификату" in text(client.get("/portal/login"))


def test_a_refused_upload_shows_the_apis_problem_in_the_readers_language(
    portal_app: Flask, trader_client: Client
) -> None:
    steppe = trader_client("trader-steppe")
    steppe.set_cookie(COOKIE, "kk")
    unsigned = (SAMPLES / "fresh-apples-import.xml").read_bytes()
    api = portal_app.test_client().post(
        "/api/v1/applications", data=unsigned, content_type="application/xml",
        headers={"Accept-Language": "kk"},
    )  # fmt: skip
    problem = api.get_json()
    answer = upload(steppe, unsigned)
    page = text(answer)
    assert answer.status_code == problem["status"]
    assert problem["title"] in page and problem["detail"] in page
    assert f'data-problem-type="{problem["type"]}"' in page  # the type stays the API's
    english = portal_app.test_client().post(
        "/api/v1/applications", data=unsigned, content_type="application/xml"
    )
    assert english.get_json()["title"] not in page  # said in Kazakh, not also in English
    wrong = upload(steppe, b"%PDF-1.7", "scan.pdf", "application/pdf")
    assert wrong.status_code == 415 and "application/pdf емес" in text(wrong)
