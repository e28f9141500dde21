"""Amending and withdrawing from the application's page (issue 21, item 3): the trader uploads a
document signed with its own tool; the lifecycle service judges it as for the API, and a refusal
shows the API's problem, translated, on the page. Another company's application answers 404."""

from __future__ import annotations

import datetime as dt
import html
import io
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import TestResponse, encode_multipart

from gateway.storage.models import ApplicationRow, CaseRow
from tests.lifecycle_documents import amends, withdrawal
from tests.portal.conftest import csrf
from tests.trader_requests import identity

Client = Callable[[str], FlaskClient]
APPLES = "fresh-apples-import"


def text(answer: TestResponse) -> str:
    return " ".join(html.unescape(answer.get_data(as_text=True)).split())


def upload(
    client: FlaskClient, application_id: str, form: str, body: bytes,
    media_type: str = "application/xml", headers: dict[str, str] | None = None,
) -> TestResponse:  # fmt: skip
    """`form` is "versions" (an amendment) or "withdrawal"."""
    page = f"/portal/applications/{application_id}"
    token = csrf(client, page)
    field = "amendment" if form == "versions" else "withdrawal"
    file = FileStorage(io.BytesIO(body), filename=f"{field}.xml", content_type=media_type)
    boundary, data = encode_multipart(MultiDict({"csrf_token": token, field: file}))
    return client.post(
        f"{page}/{form}", data=data, headers=headers or {},
        content_type=f"multipart/form-data; boundary={boundary}",
    )  # fmt: skip


def lodge(app: Flask, signed_sample: Callable[..., bytes]) -> dict[str, Any]:
    answer = app.test_client().post(
        "/api/v1/applications", data=signed_sample(APPLES), content_type="application/xml"
    )
    assert answer.status_code == 202
    lodged: dict[str, Any] = answer.get_json()
    return lodged


def test_an_amendment_uploaded_on_the_page_becomes_version_two(
    portal_app: Flask, trader_client: Client, signed_sample: Callable[..., bytes]
) -> None:
    lodged = lodge(portal_app, signed_sample)
    steppe = trader_client("trader-steppe")
    page = text(steppe.get(f"/portal/applications/{lodged['id']}"))
    # What the trader's tool must name in <Amends>: this application, its version and bytes.
    assert (
        f'<Amends id="{lodged["id"]}" sha256="{lodged["application_sha256"]}" version="1"/>' in page
    )
    assert "no-longer-shipping" in page  # the withdrawal reasons the rules know

    body = signed_sample(APPLES, edit=amends(lodged["id"], lodged["application_sha256"], 1,
                                             quantity="19000"))  # fmt: skip
    done = upload(steppe, lodged["id"], "versions", body)
    assert done.status_code == 302, text(done)
    after = text(steppe.get(f"/portal/applications/{lodged['id']}"))
    assert "Version 2 was accepted" in after
    assert 'id="versions"' in steppe.get(f"/portal/applications/{lodged['id']}").get_data(
        as_text=True
    )
    assert portal_app.extensions["nsw"].lifecycle.store.current(lodged["id"]).version == 2

    # The same document again names version 1, which is no longer current: the API's 409.
    again = upload(steppe, lodged["id"], "versions", body)
    assert again.status_code == 409
    assert 'data-problem-type="urn:kz:nsw:problem:version-superseded"' in again.get_data(
        as_text=True
    )


def test_a_withdrawal_uploaded_on_the_page_withdraws_and_the_forms_go(
    portal_app: Flask, trader_client: Client, signed_sample: Callable[..., bytes], pki: Any
) -> None:
    lodged = lodge(portal_app, signed_sample)
    steppe = trader_client("trader-steppe")
    body = withdrawal(identity(pki, "trader-steppe"), lodged["id"], "no-longer-shipping")
    done = upload(steppe, lodged["id"], "withdrawal", body)
    assert done.status_code == 302, text(done)
    after = steppe.get(f"/portal/applications/{lodged['id']}")
    assert "The application was withdrawn; asked to cancel their cases" in text(after)
    assert 'id="withdraw"' not in after.get_data(as_text=True)  # nothing left to withdraw
    kinds = [m.kind for m in portal_app.extensions["nsw"].store.messages(lodged["id"])]
    assert kinds[-2:] == ["withdrawal", "decision"]


def test_a_wrong_type_or_unsigned_upload_gets_the_apis_problem_translated(
    portal_app: Flask, trader_client: Client, signed_sample: Callable[..., bytes], pki: Any
) -> None:
    lodged = lodge(portal_app, signed_sample)
    steppe = trader_client("trader-steppe")
    api = portal_app.test_client()
    signed = withdrawal(identity(pki, "trader-steppe"), lodged["id"], "no-longer-shipping")
    unsigned = (
        '<Withdrawal xmlns="urn:kz:nsw:withdrawal:1">'
        f"<ApplicationId>{lodged['id']}</ApplicationId><Reason>no-longer-shipping</Reason>"
        "</Withdrawal>"
    ).encode()
    for body, media_type in ((signed, "application/pdf"), (unsigned, "application/xml")):
        sent = api.post(
            f"/api/v1/applications/{lodged['id']}/withdrawal", data=body,
            headers={"Content-Type": media_type, "Accept-Language": "ru"},
        ).get_json()  # fmt: skip
        shown = upload(steppe, lodged["id"], "withdrawal", body, media_type,
                       headers={"Accept-Language": "ru"})  # fmt: skip
        assert shown.status_code == sent["status"]
        page = text(shown)
        assert sent["type"] in page
        assert sent["title"] in page and sent["detail"] in page
        assert any("\u0430" <= ch <= "\u044f" for ch in sent["title"])  # Russian, not English
    assert portal_app.extensions["nsw"].lifecycle.store.current(lodged["id"]).version == 1


def test_another_companys_application_cannot_be_amended_or_withdrawn(
    portal_app: Flask, trader_client: Client, signed_sample: Callable[..., bytes], pki: Any
) -> None:
    lodged = lodge(portal_app, signed_sample)  # Steppe's
    portal_app.test_client().post(  # registers trader-altyn
        "/api/v1/applications", data=signed_sample("live-cattle-import"),
        content_type="application/xml",
    )  # fmt: skip
    altyn = trader_client("trader-altyn")
    body = withdrawal(identity(pki, "trader-steppe"), lodged["id"], "no-longer-shipping")
    token = csrf(altyn, "/portal/")
    for form, field in (("withdrawal", "withdrawal"), ("versions", "amendment")):
        file = FileStorage(io.BytesIO(body), filename="x.xml", content_type="application/xml")
        boundary, data = encode_multipart(MultiDict({"csrf_token": token, field: file}))
        answer = altyn.post(
            f"/portal/applications/{lodged['id']}/{form}", data=data,
            content_type=f"multipart/form-data; boundary={boundary}",
        )  # fmt: skip
        assert answer.status_code == 404
    assert portal_app.extensions["nsw"].store.application(lodged["id"]).status == "in_progress"


def test_an_amendment_as_large_as_the_api_takes_is_taken_and_one_byte_more_is_not(
    portal_app: Flask, trader_client: Client, signed_sample: Callable[..., bytes]
) -> None:
    lodged = lodge(portal_app, signed_sample)
    steppe = trader_client("trader-steppe")
    limit = portal_app.extensions["nsw"].config.max_body_bytes
    signed = signed_sample(APPLES, edit=amends(lodged["id"], lodged["application_sha256"], 1,
                                               quantity="19000"))  # fmt: skip
    at_limit = signed + b"\n" * (limit - len(signed))  # whitespace after the document
    over = upload(steppe, lodged["id"], "versions", at_limit + b"\n")
    assert over.status_code == 413
    assert 'data-problem-type="urn:kz:nsw:problem:body-too-large"' in text(over)
    # The file within the API's limit, the form around it over it: still taken (the form's own
    # limit is the file's and the multipart framing).
    done = upload(steppe, lodged["id"], "versions", at_limit)
    assert done.status_code == 302, text(done)
    assert portal_app.extensions["nsw"].lifecycle.store.current(lodged["id"]).version == 2


def test_while_an_amendment_is_checked_again_no_decision_is_offered(
    portal_app: Flask, trader_client: Client, signed_sample: Callable[..., bytes]
) -> None:
    lodged = lodge(portal_app, signed_sample)
    store = portal_app.extensions["nsw"].store
    with store.transaction() as s:  # decided, customs granted, as the agencies' answers would
        case = s.get_one(CaseRow, f"{lodged['id']}-customs")
        case.state, case.permit_number = "granted", "KZ-CUS-1"
        app = s.get_one(ApplicationRow, lodged["id"])
        app.status, app.verdict = "decided", "granted"
        app.decided_at, app.decision_xml = dt.datetime.now(dt.UTC), b"<Decision/>"
    steppe = trader_client("trader-steppe")
    page = f"/portal/applications/{lodged['id']}"
    assert 'id="decision-xml"' in steppe.get(page).get_data(as_text=True)
    assert steppe.get(f"{page}/decision.xml").data == b"<Decision/>"

    body = signed_sample(APPLES, edit=amends(lodged["id"], lodged["application_sha256"], 1,
                                             quantity="19000"))  # fmt: skip
    assert upload(steppe, lodged["id"], "versions", body).status_code == 302
    after = steppe.get(page).get_data(as_text=True)
    assert 'id="decision-xml"' not in after and 'id="decision-version"' not in after
    assert 'id="retired-permits"' in after and "KZ-CUS-1" in after  # superseded by version 2
    refused = steppe.get(f"{page}/decision.xml")  # the API's answer: not made yet
    assert refused.status_code == 409
    assert "urn:kz:nsw:problem:decision-not-ready" in text(refused)


def test_the_live_refresh_with_the_pages_old_cookie_does_not_bring_a_shown_message_back(
    portal_app: Flask, trader_client: Client, signed_sample: Callable[..., bytes], pki: Any
) -> None:
    """The page's body is fetched again on every event of its stream, with the cookie the page
    had then: one fetched after the withdrawal's message was shown, but sent before, must not
    put the message back (it showed again beside the next one)."""
    lodged = lodge(portal_app, signed_sample)
    steppe = trader_client("trader-steppe")
    page = f"/portal/applications/{lodged['id']}"
    body = withdrawal(identity(pki, "trader-steppe"), lodged["id"], "no-longer-shipping")
    assert upload(steppe, lodged["id"], "withdrawal", body).status_code == 302
    holding = steppe.get_cookie("nsw_portal", path="/portal")
    assert holding is not None  # the cookie that carries the message to the page

    late = portal_app.test_client()  # the live refresh, sent with that cookie
    late.environ_base.update(steppe.environ_base)  # the same browser: the same certificate
    late.set_cookie("nsw_portal", holding.value, path="/portal")
    shown = steppe.get(page)
    assert "The application was withdrawn" in text(shown)
    refreshed = late.get(f"{page}/body")
    assert refreshed.status_code == 200
    assert not [c for c in refreshed.headers.getlist("Set-Cookie") if c.startswith("nsw_portal=")]
    assert "The application was withdrawn" not in text(steppe.get(page))
