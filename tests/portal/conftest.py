"""Portal fixtures: an app whose portal believes the certificate header from 127.0.0.1 (the test
client's and the browser's peer, standing for the TLS proxy), and test clients signed in as a
dev-PKI trader, the header set on every request as the proxy would."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gateway.pki.dev import DevPki
from tests.omc.conftest import OMC

HEADER = "X-Client-Cert"
PROXY = "127.0.0.1"
PORTAL = {
    **OMC,
    "portal_client_cert_header": HEADER,
    "portal_trusted_proxies": (PROXY, "::1"),
}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def cert_header(pki: DevPki, slug: str) -> str:
    """The header value a TLS proxy sends for `slug`'s certificate (nginx's escaped PEM)."""
    return urllib.parse.quote(pki.cert_path(slug).read_text())


def csrf(client: FlaskClient, path: str) -> str:
    found = TOKEN.search(client.get(path).get_data(as_text=True))
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def sign_in(client: FlaskClient, pki: DevPki, slug: str) -> None:
    client.environ_base["HTTP_X_CLIENT_CERT"] = cert_header(pki, slug)
    answer = client.post("/portal/login", data={"csrf_token": csrf(client, "/portal/login")})
    assert answer.status_code == 302, answer.get_data(as_text=True)


@pytest.fixture
def portal_app(app_factory: Callable[..., Flask]) -> Flask:
    return app_factory(**PORTAL)


@pytest.fixture
def trader_client(portal_app: Flask, pki: DevPki) -> Callable[[str], FlaskClient]:
    """trader_client(slug): a test client signed in with that dev trader's certificate."""

    def make(slug: str) -> FlaskClient:
        client = portal_app.test_client()
        sign_in(client, pki, slug)
        return client

    return make


@pytest.fixture
def page_as(browser: Any, pki: DevPki) -> Iterator[Callable[[str, str], Any]]:
    """page_as(base_url, trader slug): a browser page signed in to the portal with the trader's
    certificate (the proxy's header on every request of the context). For the browser tests."""
    expect = pytest.importorskip("playwright.sync_api").expect
    contexts: list[Any] = []

    def open_as(base_url: str, slug: str) -> Any:
        context = browser.new_context(
            base_url=base_url, extra_http_headers={HEADER: cert_header(pki, slug)}
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto("/portal/")  # a page first: it leads through the sign-in
        expect(page).to_have_url(re.compile("/portal/login"))
        page.click("#sign-in")
        expect(page.locator("#who")).to_contain_text(f"BIN {pki.party(slug).bin}")
        return page

    yield open_as
    for context in contexts:
        context.close()
