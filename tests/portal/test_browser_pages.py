"""The portal's pages after lodging, in a real browser (issue 21, item 3): amending and
withdrawing with documents the trader signed itself, the payment order and the company's permits;
a wrong-type or unsigned upload shows the API's problem in the reader's language, and another
trader's payment and permit pages are not found. Playwright on Debian's Chromium, against the
gateway serving on 127.0.0.1 with the stand-in agencies (tests/portal/test_browser.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from gateway.billing.permits import PermitBook
from gateway.billing.signing import verify_detached
from gateway.payments.order import canonical_json
from gateway.pki.dev import DevPki
from simulators.treasury import ACCOUNT
from tests.browser import NEEDS_CHROMIUM
from tests.conftest import SAMPLES
from tests.gateway_fixtures import RunningGateway
from tests.lifecycle_documents import amends, withdrawal
from tests.payments.permit_rows import ALTYN, vet_permit
from tests.portal.conftest import PORTAL
from tests.trader_requests import identity
from wire.keys import load_certificate

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = [pytest.mark.slow, NEEDS_CHROMIUM]
expect = sync_api.expect
expect.set_options(timeout=30_000)
APPLES = "fresh-apples-import"


def choose(page: Any, form: str, field: str, name: str, media_type: str, body: bytes) -> None:
    """Choose a file for the form's field and send the form."""
    page.set_input_files(
        f"form#{form} input[name={field}]",
        files=[{"name": name, "mimeType": media_type, "buffer": body}],
    )
    page.click(f"form#{form} button")


def api_problem(gw: RunningGateway, path: str, body: bytes, media_type: str) -> dict[str, Any]:
    """What the API answers the same bytes with, in Russian."""
    answer = gw.client.session.post(
        f"{gw.url}{path}", data=body, timeout=30,
        headers={"Content-Type": media_type, "Accept-Language": "ru"},
    )  # fmt: skip
    assert answer.status_code >= 400, answer.text
    problem: dict[str, Any] = answer.json()
    return problem


def test_a_trader_amends_then_withdraws_and_refusals_are_the_apis_in_russian(
    gateway: Callable[..., RunningGateway],
    page_as: Callable[[str, str], Any],
    signed_sample: Callable[..., bytes],
    pki: DevPki,
) -> None:
    gw = gateway(**PORTAL)
    lodged = gw.client.submit(signed_sample(APPLES))
    path = f"/api/v1/applications/{lodged['id']}"
    page = page_as(gw.url, "trader-steppe")
    page.goto(f"/portal/applications/{lodged['id']}")
    page.click('button[name=lang][value="ru"]')
    expect(page.locator("h1")).to_contain_text(f"Заявление {lodged['id']}")
    expect(page.locator("#version")).to_contain_text("1")

    # A withdrawal sent as a PDF: the API's 415, its Russian title and sentence, on the page.
    signed_withdrawal = withdrawal(identity(pki, "trader-steppe"), lodged["id"], "duplicate")
    problem = api_problem(gw, f"{path}/withdrawal", signed_withdrawal, "application/pdf")
    choose(page, "withdraw", "withdrawal", "withdrawal.pdf", "application/pdf", signed_withdrawal)
    expect(page.locator("section.problem h2")).to_have_text(problem["title"])
    expect(page.locator("section.problem .problem-detail")).to_have_text(problem["detail"])
    expect(page.locator("section.problem .problem-type")).to_have_text(problem["type"])

    # An unsigned amendment: the API's problem for it, in Russian; nothing changed.
    edit = amends(lodged["id"], lodged["application_sha256"], 1, quantity="19000")
    unsigned = edit((SAMPLES / f"{APPLES}.xml").read_bytes())
    problem = api_problem(gw, f"{path}/versions", unsigned, "application/xml")
    choose(page, "amend", "amendment", "amendment.xml", "application/xml", unsigned)
    expect(page.locator("section.problem h2")).to_have_text(problem["title"])
    expect(page.locator("section.problem .problem-detail")).to_have_text(problem["detail"])
    expect(page.locator("#version")).to_contain_text("1")

    # The signed amendment: version 2, in the versions table.
    choose(page, "amend", "amendment", "amendment.xml", "application/xml",
           signed_sample(APPLES, edit=edit))  # fmt: skip
    expect(page.locator(".flash")).to_contain_text("Версия 2 принята")
    expect(page.locator('#versions tr[data-version="2"]')).to_be_visible()
    expect(page.locator("#version")).to_have_attribute("data-version", "2")

    # The signed withdrawal: the application is withdrawn and the forms are gone.
    choose(page, "withdraw", "withdrawal", "withdrawal.xml", "application/xml", signed_withdrawal)
    expect(page.locator(".flash")).to_contain_text("Заявление отозвано")
    expect(page.locator("#decision .verdict.withdrawn")).to_be_visible()
    expect(page.locator("form#withdraw")).to_have_count(0)
    expect(page.locator("form#amend")).to_have_count(0)


def test_a_trader_reads_its_payment_order_and_permits_but_not_another_traders(
    gateway: Callable[..., RunningGateway],
    page_as: Callable[[str, str], Any],
    signed_sample: Callable[..., bytes],
    pki: DevPki,
) -> None:
    gw = gateway(**PORTAL, payee_account=ACCOUNT)
    ours = gw.client.submit(signed_sample(APPLES))["id"]
    theirs = gw.client.submit(signed_sample("live-cattle-import"))["id"]  # Altyn's
    book: PermitBook = gw.app.extensions["nsw-permits"]
    book.grant(vet_permit("VET-1", "10"), None)
    book.grant(vet_permit("VET-9", "7", holder=ALTYN), None)
    page = page_as(gw.url, "trader-steppe")

    # The payment order, once every agency granted the application (customs assessed charges).
    page.goto(f"/portal/applications/{ours}")
    expect(page.locator("#decision .verdict.granted")).to_be_visible()
    expect(page.locator("#decision-version")).to_have_text("version 1")
    page.click("#payment-link")
    expect(page.locator("#reference")).to_contain_text("RF")
    total = page.locator("#total").inner_text()
    assert total.endswith("KZT")
    expect(page.locator("#outstanding")).to_have_text(total)
    expect(page.locator("#received")).to_have_text("0.00 KZT")
    expect(page.locator('#breakdown tr[data-beneficiary="customs"]')).to_be_visible()
    expect(page.locator("#payments")).to_contain_text("No payment has been confirmed")
    # The signed order, fetched by the page's own request context (see test_browser.py).
    download = page.request.get(page.locator("#order-json").get_attribute("href"))
    assert download.status == 200
    document = json.loads(download.body())
    gateway_cert = load_certificate(pki.cert_path("gateway"))
    verify_detached(document["signature"], canonical_json(document["order"]), gateway_cert)
    assert document["order"]["applicationId"] == ours

    # The company's permits, and one permit's page.
    page.click("header nav >> text=Permits")
    expect(page.locator('#permits tr[data-permit="VET-1"]')).to_contain_text("10 t")
    expect(page.locator('#permits tr[data-permit="VET-9"]')).to_have_count(0)
    page.click('#permits tr[data-permit="VET-1"] a')
    expect(page.locator("#balance")).to_have_text("10 t")
    expect(page.locator("#state")).to_contain_text("valid")

    # Another trader's payment and permit, typed into the address bar: not found.
    for path in (f"/portal/applications/{theirs}/payment", "/portal/permits/VET-9"):
        response = page.goto(path)
        assert response.status == 404
        expect(page.locator("h1")).to_have_text("Not found")
