"""The traders' portal through the Flask test client: sign-in by certificate, what a trader may
see (its own company and those it represents, nothing of another BIN), downloads, uploads that
fail with the API's own problem, the notification URL, CSRF and the session's certificate."""

from __future__ import annotations

import datetime as dt
import html
import io
import json
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import TestResponse, encode_multipart

from gateway.domain.identifiers import Bin
from gateway.errors import ConfigurationError
from gateway.pki.dev import DevPki
from gateway.trust.representatives import Role
from gateway.trust.xmlparse import parse_xml
from gateway.trust.xmlsig import verify_enveloped
from tests.conftest import SAMPLES
from tests.portal.conftest import PORTAL, cert_header, csrf

STEPPE, ALTYN, KAZTRANS = "210540012341", "190340025677", "181240044780"
Client = Callable[[str], FlaskClient]


def lodge(app: Flask, signed: bytes) -> str:
    answer = app.test_client().post(
        "/api/v1/applications", data=signed, content_type="application/xml"
    )
    assert answer.status_code == 202, answer.get_data(as_text=True)
    identifier: str = answer.get_json()["id"]
    return identifier


def text(answer: TestResponse) -> str:
    """The page as a person reads it: entities decoded, whitespace runs as one space."""
    return " ".join(html.unescape(answer.get_data(as_text=True)).split())


def upload(
    client: FlaskClient, body: bytes, name: str = "application.xml",
    content_type: str = "application/xml",
) -> TestResponse:  # fmt: skip
    """The upload form as a browser sends it (the multipart body made here whole, in memory)."""
    token = csrf(client, "/portal/upload")
    file = FileStorage(io.BytesIO(body), filename=name, content_type=content_type)
    boundary, data = encode_multipart(MultiDict({"csrf_token": token, "application": file}))
    return client.post(
        "/portal/upload", data=data, content_type=f"multipart/form-data; boundary={boundary}"
    )


def test_a_trader_signs_in_with_its_certificate_and_sees_its_company(
    portal_app: Flask, pki: DevPki
) -> None:
    client = portal_app.test_client()
    assert client.get("/portal/").status_code == 302  # not signed in: to the sign-in page
    page = text(client.get("/portal/login"))
    assert "presented no certificate" in page

    client.environ_base["HTTP_X_CLIENT_CERT"] = cert_header(pki, "trader-steppe")
    page = text(client.get("/portal/login"))
    assert f"Sign in as BIN {STEPPE}" in page
    assert client.get("/portal/").status_code == 302  # presenting is not signing in
    answer = client.post("/portal/login", data={"csrf_token": csrf(client, "/portal/login")})
    assert answer.status_code == 302 and answer.headers["Location"] == "/portal/"
    cookie = client.get_cookie("nsw_portal", path="/portal")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Strict"
    assert client.get_cookie("nsw_omc", path="/omc") is None  # the OMC's cookie is another one
    listing = client.get("/portal/")
    assert listing.status_code == 200
    assert f"Applications of {STEPPE}" in text(listing)
    assert "frame-ancestors 'none'" in listing.headers["Content-Security-Policy"]


def test_a_certificate_the_portal_cannot_believe_signs_no_one_in(
    portal_app: Flask, pki: DevPki
) -> None:
    def login_page(slug: str, peer: str = "127.0.0.1") -> tuple[int, str]:
        client = portal_app.test_client()
        client.environ_base["HTTP_X_CLIENT_CERT"] = cert_header(pki, slug)
        client.environ_base["REMOTE_ADDR"] = peer
        answer = client.get("/portal/login")
        return answer.status_code, text(answer)

    status, page = login_page("trader-steppe", peer="203.0.113.9")
    assert status == 401 and "not a TLS proxy this gateway trusts" in page
    status, page = login_page("trader-revoked")
    assert status == 401 and "Your certificate was not accepted" in page
    status, page = login_page("officer-nurpeisova")  # valid for client auth, but no company
    assert status == 401 and "names no company" in page


def test_the_session_lasts_only_while_the_same_certificate_comes(
    trader_client: Client, pki: DevPki
) -> None:
    client = trader_client("trader-steppe")
    assert client.get("/portal/").status_code == 200
    client.environ_base["HTTP_X_CLIENT_CERT"] = cert_header(pki, "trader-altyn")
    assert client.get("/portal/").status_code == 302  # another certificate: the cookie is void
    client.environ_base["HTTP_X_CLIENT_CERT"] = cert_header(pki, "trader-steppe")
    assert client.get("/portal/").status_code == 302  # ... and stays void: sign in again
    stream = client.get("/portal/applications/NSW-20261207-0000000000/events")
    assert stream.status_code == 401  # a problem, not a redirect: the browser stops reconnecting
    assert stream.get_json()["type"] == "urn:kz:nsw:problem:portal-not-signed-in"
    del client.environ_base["HTTP_X_CLIENT_CERT"]
    assert client.get("/portal/login").status_code == 200


def test_another_traders_application_is_not_found_and_not_listed(
    portal_app: Flask, trader_client: Client, signed_sample: Callable[..., bytes]
) -> None:
    cattle = lodge(portal_app, signed_sample("live-cattle-import"))  # ALTYN's
    apples = lodge(portal_app, signed_sample("fresh-apples-import"))  # STEPPE's
    steppe = trader_client("trader-steppe")
    assert apples in text(steppe.get("/portal/")) and cattle not in text(steppe.get("/portal/"))
    unknown = "APP-00000000000000000000"
    for suffix in ("", "/body", "/receipt.xml", "/evidence.json", "/decision.xml", "/events"):
        theirs, missing = (
            steppe.get(f"/portal/applications/{cattle}{suffix}"),
            steppe.get(f"/portal/applications/{unknown}{suffix}"),
        )
        assert theirs.status_code == missing.status_code == 404, suffix
        assert text(theirs).replace(cattle, "X") == text(missing).replace(unknown, "X")
    assert steppe.get(f"/portal/?declarant={ALTYN}").status_code == 403
    page = text(steppe.get(f"/portal/applications/{apples}"))
    assert "Progress at each agency" in page and 'data-agency="customs"' in page


def test_a_representative_follows_the_companies_it_represents(
    portal_app: Flask, trader_client: Client, signed_sample: Callable[..., bytes]
) -> None:
    apples = lodge(portal_app, signed_sample("fresh-apples-import"))
    carrier = trader_client("trader-kaztrans")
    assert carrier.get(f"/portal/applications/{apples}").status_code == 404
    representatives = portal_app.extensions["nsw"].representatives
    representatives.register(Bin(STEPPE), Bin(KAZTRANS), Role.CARRIER)
    assert f"{STEPPE} · carrier" in text(carrier.get("/portal/"))
    assert apples in text(carrier.get(f"/portal/?declarant={STEPPE}"))
    assert carrier.get(f"/portal/applications/{apples}").status_code == 200
    representatives.revoke(Bin(STEPPE), Bin(KAZTRANS))
    assert carrier.get(f"/portal/applications/{apples}").status_code == 404  # at once


def test_the_receipt_and_evidence_download_and_the_decision_waits(
    portal_app: Flask, trader_client: Client, signed_sample: Callable[..., bytes]
) -> None:
    apples = lodge(portal_app, signed_sample("fresh-apples-import"))
    steppe = trader_client("trader-steppe")
    receipt = steppe.get(f"/portal/applications/{apples}/receipt.xml")
    assert receipt.status_code == 200
    assert receipt.headers["Content-Disposition"] == f'attachment; filename="{apples}-receipt.xml"'
    trust = portal_app.extensions["nsw"].trust
    verified = verify_enveloped(parse_xml(receipt.data), trust, now=dt.datetime.now(dt.UTC))
    assert apples in "".join(verified.signed.itertext())  # what the gateway's signature covers
    evidence = json.loads(steppe.get(f"/portal/applications/{apples}/evidence.json").data)
    assert evidence["application_id"] == apples and evidence["entries"]
    waiting = steppe.get(f"/portal/applications/{apples}/decision.xml")
    assert waiting.status_code == 409 and "not made yet; waiting for: customs" in text(waiting)


def test_a_failed_upload_shows_the_apis_problem(
    portal_app: Flask, trader_client: Client, signed_sample: Callable[..., bytes]
) -> None:
    steppe = trader_client("trader-steppe")
    api = portal_app.test_client()

    def same_as_api(
        answer: TestResponse, body: bytes, content_type: str = "application/xml"
    ) -> None:
        problem = api.post("/api/v1/applications", data=body, content_type=content_type).get_json()
        page = text(answer)
        assert answer.status_code == problem["status"], page
        assert f'data-problem-type="{problem["type"]}"' in page
        assert problem["title"] in page and problem["detail"] in page

    unsigned = (SAMPLES / "fresh-apples-import.xml").read_bytes()
    same_as_api(upload(steppe, unsigned), unsigned)
    same_as_api(
        upload(steppe, b"%PDF-1.7", "scan.pdf", "application/pdf"), b"%PDF", "application/pdf"
    )
    limit = portal_app.extensions["nsw"].config.max_body_bytes
    huge = b"<a>" + b" " * limit + b"</a>"
    answer = upload(steppe, huge)
    assert answer.status_code == 413
    assert 'data-problem-type="urn:kz:nsw:problem:body-too-large"' in text(answer)
    huge = b"<a>" + b" " * (limit + 64 * 1024) + b"</a>"  # the whole form over its limit too
    answer = upload(steppe, huge)
    assert (
        answer.status_code == 413
        and 'data-problem-type="urn:kz:nsw:problem:body-too-large"' in text(answer)
    )
    accepted = upload(steppe, signed_sample("fresh-apples-import"))
    assert accepted.status_code == 302 and "/portal/applications/" in accepted.headers["Location"]
    assert "was accepted" in text(steppe.get(accepted.headers["Location"]))


def test_a_form_without_its_csrf_token_is_refused(trader_client: Client) -> None:
    steppe = trader_client("trader-steppe")
    answer = steppe.post(
        "/portal/notifications", data={"declarant": STEPPE, "url": "https://8.8.8.8/"}
    )
    assert answer.status_code == 403 and "The form is missing its CSRF token" in text(answer)
    assert steppe.post("/portal/logout").status_code == 403


def test_the_notification_url_follows_the_apis_rules(
    portal_app: Flask, trader_client: Client
) -> None:
    steppe = trader_client("trader-steppe")

    def register(url: str, declarant: str = STEPPE) -> TestResponse:
        token = csrf(steppe, "/portal/notifications")
        return steppe.post(
            "/portal/notifications",
            data={"csrf_token": token, "declarant": declarant, "url": url, "action": "register"},
        )

    refused = register("https://10.1.2.3/hook")  # not a public address
    assert refused.status_code == 422 and "callback-url-refused" in text(refused)
    assert register("https://8.8.8.8/hook", declarant=ALTYN).status_code == 403
    assert register("https://8.8.8.8/hook").status_code == 302
    notifications = portal_app.extensions["nsw"].notifications
    assert notifications.subscription(STEPPE).url == "https://8.8.8.8/hook"
    assert "https://8.8.8.8/hook" in text(steppe.get("/portal/notifications"))


def test_someone_elses_signed_application_is_lodged_but_not_shown(
    portal_app: Flask, trader_client: Client, signed_sample: Callable[..., bytes]
) -> None:
    steppe = trader_client("trader-steppe")
    answer = upload(steppe, signed_sample("live-cattle-import"))  # signed by Altyn, for Altyn
    assert answer.status_code == 200
    assert "a company you are not registered to represent" in text(answer)
    assert "live-cattle" not in text(steppe.get("/portal/")).lower()


def test_sign_in_redirects_only_inside_the_portal_and_sign_out_ends_the_session(
    portal_app: Flask, pki: DevPki
) -> None:
    client = portal_app.test_client()
    client.environ_base["HTTP_X_CLIENT_CERT"] = cert_header(pki, "trader-steppe")
    token = csrf(client, "/portal/login")
    for target, lands in [("https://elsewhere.example/portal/", "/portal/"),
                          ("/omc/admin", "/portal/"), ("/portal/upload", "/portal/upload")]:  # fmt: skip
        answer = client.post(f"/portal/login?next={target}", data={"csrf_token": token})
        assert answer.headers["Location"] == lands
        token = (
            csrf(client, "/portal/upload")
            if lands == "/portal/upload"
            else csrf(client, "/portal/")
        )
    assert client.post("/portal/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/portal/").status_code == 302  # to the sign-in page: nothing kept


def test_a_certificate_header_without_trusted_proxies_does_not_start(
    app_factory: Callable[..., Flask],
) -> None:
    with pytest.raises(ConfigurationError, match="NSW_PORTAL_TRUSTED_PROXIES"):
        app_factory(**{**PORTAL, "portal_trusted_proxies": ()})
