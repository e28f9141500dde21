"""The portal in a real browser: Playwright driving Debian's Chromium (/usr/bin/chromium; never a
downloaded browser) against the gateway serving on 127.0.0.1 with the stand-in agencies. The test
sets the certificate header on every request, as the TLS proxy in front of the portal would."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from gateway.trust.xmlparse import parse_xml
from gateway.trust.xmlsig import verify_enveloped
from tests.browser import NEEDS_CHROMIUM
from tests.conftest import SAMPLES
from tests.gateway_fixtures import RunningGateway
from tests.portal.conftest import PORTAL

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = [pytest.mark.slow, NEEDS_CHROMIUM]
expect = sync_api.expect
expect.set_options(timeout=30_000)


def test_a_trader_follows_its_application_live_and_downloads_the_signed_decision(
    gateway: Callable[..., RunningGateway],
    own_agency: Callable[..., Any],
    agencies: dict[str, str],
    page_as: Callable[[str, str], Any],
    signed_sample: Callable[..., bytes],
) -> None:
    health = own_agency("health", outage=True)  # its case waits until the test lets it answer
    gw = gateway(
        **PORTAL, agency_urls={**agencies, "health": health.url}, retry_base_s=0.05,
        max_attempts=1000, breaker_failures=1000,
    )  # fmt: skip
    accepted = gw.client.submit(signed_sample("fresh-apples-import"))
    page = page_as(gw.url, "trader-steppe")

    # The list: its own application, with a link to it.
    row = page.locator(f'tr[data-application="{accepted["id"]}"]')
    expect(row).to_contain_text("STEPPE-2026-0001")
    row.locator("a").click()
    expect(page.locator("h1")).to_contain_text(accepted["id"])
    expect(page.locator("#live.on")).to_be_visible()
    expect(page.locator('tr[data-agency="customs"] .pill')).to_have_text("granted")
    health_state = page.locator('tr[data-agency="health"] .pill')
    expect(health_state).not_to_have_text("granted")
    expect(page.locator("#decision")).to_contain_text("waiting for health")

    # Live progress: the health service answers; the page shows it without a reload.
    page.evaluate("window.notReloaded = true")
    health.options.outage = False
    expect(health_state).to_have_text("granted")
    # Granted by every agency; released only once customs charges are paid (issue 20).
    expect(page.locator("#decision")).to_contain_text("granted")
    assert page.evaluate("window.notReloaded") is True

    # Downloads: the decision verifies as the gateway's signature; receipt and evidence come too.
    # Fetched by the page's own request context (its cookie and the proxy's header): Chromium's
    # download manager does not carry the header the test stands in for the TLS proxy with.
    def download(link: str) -> Any:
        answer = page.request.get(page.locator(link).get_attribute("href"))
        assert answer.status == 200, answer.text()
        return answer

    decision = download("#decision-xml")
    assert decision.headers["content-disposition"].startswith("attachment")
    verified = verify_enveloped(
        parse_xml(decision.body()), gw.services.trust, now=dt.datetime.now(dt.UTC)
    )
    assert accepted["id"] in "".join(verified.signed.itertext())
    assert "granted" in "".join(verified.signed.itertext())
    assert accepted["id"].encode() in download("#receipt").body()
    assert download("#evidence").json()["application_id"] == accepted["id"]


def test_a_trader_uploads_a_signed_application_and_an_unsigned_one_is_refused(
    gateway: Callable[..., RunningGateway],
    page_as: Callable[[str, str], Any],
    signed_sample: Callable[..., bytes],
) -> None:
    gw = gateway(**PORTAL)
    page = page_as(gw.url, "trader-steppe")
    unsigned = (SAMPLES / "fresh-apples-import.xml").read_bytes()
    problem = gw.client.session.post(
        f"{gw.url}/api/v1/applications", data=unsigned,
        headers={"Content-Type": "application/xml"}, timeout=30,
    ).json()  # fmt: skip

    page.click("text=Upload an application")
    page.set_input_files(
        "input[name=application]",
        files=[{"name": "apples.xml", "mimeType": "application/xml", "buffer": unsigned}],
    )
    page.click("form.upload button")
    expect(page.locator("section.problem h2")).to_have_text(problem["title"])
    expect(page.locator("section.problem .problem-detail")).to_have_text(problem["detail"])

    page.set_input_files(
        "input[name=application]",
        files=[{"name": "apples.xml", "mimeType": "application/xml",
                "buffer": signed_sample("fresh-apples-import")}],
    )  # fmt: skip
    page.click("form.upload button")
    expect(page.locator(".flash")).to_contain_text("was accepted")
    expect(page.locator("#cases")).to_contain_text("customs")


def test_another_traders_application_typed_into_the_address_bar_is_not_found(
    gateway: Callable[..., RunningGateway],
    page_as: Callable[[str, str], Any],
    signed_sample: Callable[..., bytes],
) -> None:
    gw = gateway(**PORTAL)
    theirs = gw.client.submit(signed_sample("live-cattle-import"))["id"]  # Altyn's
    page = page_as(gw.url, "trader-steppe")
    expect(page.locator(f'tr[data-application="{theirs}"]')).to_have_count(0)
    for path in (f"/portal/applications/{theirs}", f"/portal/applications/{theirs}/decision.xml"):
        response = page.goto(path)
        assert response.status == 404  # not 403: whether the id exists is not told
        expect(page.locator("h1")).to_have_text("Not found")
