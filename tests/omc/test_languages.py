# ruff: noqa: RUF001 - Kazakh and Russian words, in Cyrillic on purpose
"""Kazakh, Russian and English (issue 21, item 2): problem documents and OMC pages in the reader's
language, Content-Language saying which one was used, and the OMC's switch remembered per officer."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from gateway.errors import ConfigurationError
from gateway.i18n import COOKIE
from tests.omc.conftest import OMC, csrf, sign_in

WRONG_TYPE = {"data": b"{}", "content_type": "application/json"}


def _submit_wrong_type(app: Flask, language: str | None) -> Any:
    headers = {"Accept-Language": language} if language is not None else {}
    return app.test_client().post("/api/v1/applications", headers=headers, **WRONG_TYPE)


@pytest.mark.parametrize(
    ("language", "used", "title", "detail"),
    [
        ("kk", "kk", "Медиа түрі қате", "application/json емес, application/xml ретінде"),
        ("ru-RU,ru;q=0.9,en;q=0.5", "ru", "Неверный тип данных", "а не application/json"),
        ("en", "en", "Wrong media type", "not application/json"),
    ],
)
def test_a_problem_is_told_in_the_readers_language_with_the_same_type(
    omc_app: Flask, language: str, used: str, title: str, detail: str
) -> None:
    answer = _submit_wrong_type(omc_app, language)
    problem = answer.get_json()
    assert answer.status_code == 415 and answer.mimetype == "application/problem+json"
    assert problem["type"] == "urn:kz:nsw:problem:unsupported-media-type"
    assert problem["title"] == title and detail in problem["detail"]
    assert answer.headers["Content-Language"] == used
    assert "Accept-Language" in answer.headers["Vary"]


@pytest.mark.parametrize("language", ["fr", "de-CH, fr;q=0.8", "*", "kk;q=0", ";;;=,,", "x" * 300])
def test_an_unknown_or_unsupported_language_falls_back_to_the_default_and_says_so(
    omc_app: Flask, language: str
) -> None:
    answer = _submit_wrong_type(omc_app, language)
    assert answer.status_code == 415
    assert answer.get_json()["title"] == "Wrong media type"
    assert answer.headers["Content-Language"] == "en"


def test_the_default_language_is_configurable(app_factory: Any) -> None:
    app = app_factory(default_locale="kk", **OMC)
    answer = _submit_wrong_type(app, "fr")
    assert answer.headers["Content-Language"] == "kk"
    assert answer.get_json()["title"] == "Медиа түрі қате"
    with pytest.raises(ConfigurationError, match="NSW_DEFAULT_LOCALE is 'fr'"):
        app_factory(default_locale="fr")


def test_an_http_error_of_the_router_is_translated_too(omc_app: Flask) -> None:
    answer = omc_app.test_client().get("/api/v1/no-such-thing", headers={"Accept-Language": "ru"})
    problem = answer.get_json()
    assert answer.status_code == 404 and problem["type"] == "urn:kz:nsw:problem:http-404"
    assert problem["title"] == "Не найдено" and problem["detail"].startswith("По этому адресу")


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("kk", ["Кіру", "Пайдаланушы аты", "Құпиясөз"]),
        ("ru", ["Вход", "Имя пользователя", "Пароль"]),
    ],
)
def test_the_sign_in_page_follows_accept_language(
    omc_app: Flask, language: str, words: list[str]
) -> None:
    page = omc_app.test_client().get("/omc/login", headers={"Accept-Language": language})
    html = page.get_data(as_text=True)
    assert page.headers["Content-Language"] == language and f'<html lang="{language}">' in html
    assert all(word in html for word in words)
    assert "User name" not in html


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("kk", ["Өтініштер", "Органдар", "Өткізу пункттері", "Шығу"]),
        ("ru", ["Заявления", "Органы", "Пункты пропуска", "Выйти"]),
    ],
)
def test_omc_pages_are_translated(
    client_as: Any, escalated: tuple[str, str], language: str, words: list[str]
) -> None:
    client = client_as("op")
    headers = {"Accept-Language": language}
    for path in ("/omc/applications", "/omc/agencies", "/omc/checkpoints", "/omc/movements"):
        page = client.get(path, headers=headers)
        assert page.status_code == 200 and page.headers["Content-Language"] == language, path
    html = client.get(f"/omc/applications/{escalated[0]}", headers=headers).get_data(as_text=True)
    assert all(word in html for word in words)
    escalated_word = {"kk": "жоғары деңгейге берілді", "ru": "передано на разбор"}[language]
    assert (
        f'<span class="pill escalated">{escalated_word}</span>' in html
    )  # the class stays the code


def test_the_six_services_and_their_officers_are_named_in_the_readers_language(
    client_as: Any,
) -> None:
    client = client_as("op")
    page = client.get("/omc/agencies", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    # From agencies.toml (name_ru, officer_ru); the map's words come from the catalog.
    assert "Комитет ветеринарного контроля и надзора" in page and "ветеринарный инспектор" in page
    assert "(6 служб)" in page and "Officers" not in page
    movements = client.get("/omc/movements", headers={"Accept-Language": "kk"}).get_data(
        as_text=True
    )
    assert "транзиттік дәліз" in movements and "transit corridor" not in movements


def test_times_are_written_the_readers_way_with_the_exact_moment_kept(
    client_as: Any, escalated: tuple[str, str]
) -> None:
    client = client_as("op")
    html = client.get("/omc/applications", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    moment = re.search(r'<time datetime="([^"]+Z)">([^<]+)</time>', html)
    assert moment, html
    assert re.search(r"\d{4}", moment.group(2)) and "г." in moment.group(2)  # CLDR ru, medium


def _switch(client: Any, language: str, next_path: str = "/omc/agencies") -> Any:
    token = csrf(client, "/omc/login" if next_path == "/omc/login" else "/omc/agencies")
    return client.post(
        "/omc/language", data={"lang": language, "next": next_path, "csrf_token": token}
    )


def test_the_switch_is_remembered_on_the_officers_account(omc_app: Flask, client_as: Any) -> None:
    first = client_as("op")
    switched = _switch(first, "kk")
    assert switched.status_code == 302 and switched.headers["Location"] == "/omc/agencies"
    assert COOKIE in switched.headers["Set-Cookie"]
    # The choice beats the browser's Accept-Language ...
    page = first.get("/omc/agencies", headers={"Accept-Language": "ru"})
    assert page.headers["Content-Language"] == "kk" and "Органдар" in page.get_data(as_text=True)
    # ... and follows the officer to another browser, which has no cookie.
    elsewhere = omc_app.test_client()
    assert sign_in(elsewhere, "op").status_code == 302
    assert elsewhere.get("/omc/agencies").headers["Content-Language"] == "kk"
    # The next officer on the first workstation gets their own language, not the last one's.
    first.post("/omc/logout", data={"csrf_token": csrf(first, "/omc/agencies")})
    assert sign_in(first, "aud").status_code == 302
    _switch(first, "ru")
    assert sign_in(first, "op").status_code == 302
    assert first.get("/omc/agencies").headers["Content-Language"] == "kk"


def test_the_switch_on_the_sign_in_page_keeps_the_choice_in_a_cookie(omc_app: Flask) -> None:
    client = omc_app.test_client()
    switched = _switch(client, "ru", "/omc/login")
    assert switched.status_code == 302 and switched.headers["Location"] == "/omc/login"
    page = client.get("/omc/login")
    assert page.headers["Content-Language"] == "ru" and "Вход" in page.get_data(as_text=True)


@pytest.mark.parametrize("language", ["fr", "KK", "", "kk-KZ"])
def test_the_switch_refuses_a_language_it_does_not_speak(client_as: Any, language: str) -> None:
    client = client_as("op")
    refused = _switch(client, language)
    assert refused.status_code == 400
    assert "kk, ru, en" in refused.get_data(as_text=True)
    assert client.get("/omc/agencies").headers["Content-Language"] == "en"


def test_the_switch_never_redirects_outside_the_omc(client_as: Any) -> None:
    client = client_as("op")
    switched = _switch(client, "ru", "https://evil.example/omc/")
    assert switched.status_code == 302 and switched.headers["Location"] == "/omc/"


def test_an_intake_refusal_is_told_in_kazakh(omc_app: Flask) -> None:
    from gateway import resources

    unsigned = (resources.shipped("samples") / "fresh-apples-import.xml").read_bytes()
    answer = omc_app.test_client().post(
        "/api/v1/applications", data=unsigned, content_type="application/xml",
        headers={"Accept-Language": "kk"},
    )  # fmt: skip
    problem = answer.get_json()
    assert answer.status_code == 422 and problem["type"] == "urn:kz:nsw:problem:bad-signature"
    assert problem["title"] == "XML қолтаңбасы тексеруден өтпейді"
    assert problem["detail"].startswith("Құжатқа қол қойылмаған.")


@pytest.mark.parametrize(
    ("language", "name"),
    [
        ("kk", "Қаржы министрлігінің Мемлекеттік кірістер комитеті (кеден)"),
        ("ru", "Комитет государственных доходов Министерства финансов (таможня)"),
        ("en", "State Revenue Committee (customs), Ministry of Finance"),
    ],
)
def test_agency_names_come_from_the_register_in_the_readers_language(
    client_as: Any, language: str, name: str
) -> None:
    page = client_as("op").get("/omc/agencies", headers={"Accept-Language": language})
    assert name in page.get_data(as_text=True)
