"""The OMC in a real browser: Playwright driving Debian's Chromium (/usr/bin/chromium; never a
downloaded browser) against the gateway serving on 127.0.0.1 with the stand-in agencies."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gateway.pki.dev import DevPki
from tests.browser import NEEDS_CHROMIUM
from tests.gateway_fixtures import RunningGateway
from tests.omc.conftest import OMC, PASSWORD, add_accounts
from tests.omc.trucks import OmcFloor, held_at_weighbridge, in_transit_with_alert, without_notice

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = [pytest.mark.slow, NEEDS_CHROMIUM]
expect = sync_api.expect
expect.set_options(timeout=30_000)


@pytest.fixture
def page_as(browser: Any) -> Iterator[Any]:
    contexts: list[Any] = []

    def open_as(base_url: str, username: str) -> Any:
        context = browser.new_context(base_url=base_url)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto("/omc/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("section.login button[type=submit]")  # the header has the language switch
        expect(page).not_to_have_url(re.compile("/omc/login"))
        return page

    yield open_as
    for context in contexts:
        context.close()


def _gateway(gateway: Callable[..., RunningGateway], **overrides: Any) -> RunningGateway:
    gw = gateway(**OMC, **overrides)
    add_accounts(gw.app)
    return gw


def test_an_application_appears_and_reaches_its_decision_live(
    gateway: Callable[..., RunningGateway],
    page_as: Callable[[str, str], Any],
    signed_sample: Callable[..., bytes],
) -> None:
    gw = _gateway(gateway)
    page = page_as(gw.url, "op")
    page.goto("/omc/applications")
    expect(page.locator("#live.on")).to_be_visible()
    accepted = gw.client.submit(signed_sample("fresh-apples-import"))
    row = page.locator(f'tr[data-application="{accepted["id"]}"]')
    expect(row).to_be_visible()  # no reload: the event stream brought it
    expect(row.locator(".decision")).to_have_text("granted")  # customs charges are owed
    page.click(f'a:text("{accepted["id"]}")')
    expect(page.locator("#decision")).to_contain_text("granted")
    expect(page.locator("#messages")).to_contain_text("decision")


def test_an_agency_goes_down_its_case_escalates_and_is_retried(
    gateway: Callable[..., RunningGateway],
    agencies: dict[str, str],
    pki: DevPki,
    page_as: Callable[[str, str], Any],
    signed_sample: Callable[..., bytes],
) -> None:
    from simulators.server import start_agency

    transport = start_agency("transport", pki_dir=pki.directory, outage=True)
    try:
        gw = _gateway(
            gateway, agency_urls={**agencies, "transport": transport.url}, retry_base_s=0.05,
            max_attempts=3, breaker_failures=2, breaker_reset_s=0.2,
        )  # fmt: skip
        page = page_as(gw.url, "op")
        page.goto("/omc/agencies")
        accepted = gw.client.submit(signed_sample("overweight-machinery-transit"))
        breaker = page.locator('tr[data-agency="transport"] .breaker')
        expect(breaker).to_have_text(re.compile("open"))
        case = page.locator(f'#escalated tr[data-case="{accepted["id"]}-transport"]')
        expect(case).to_be_visible()

        transport.options.outage = False
        case.locator("button").click()
        expect(page.locator("section.confirm")).to_contain_text("recorded in the audit trail")
        page.click("#confirm")
        expect(page.locator(".flash")).to_contain_text("queued for transport again")
        expect(
            page.locator(f'#escalated tr[data-case="{accepted["id"]}-transport"]')
        ).to_have_count(0)
        expect(breaker).to_have_text("closed")
        assert b"<Outcome>inspection</Outcome>" in gw.client.wait_for_decision(
            accepted["id"], deadline_s=30
        )
    finally:
        transport.stop()


def test_an_agency_officer_cannot_open_another_agencys_case(
    gateway: Callable[..., RunningGateway],
    page_as: Callable[[str, str], Any],
    signed_sample: Callable[..., bytes],
) -> None:
    gw = _gateway(gateway)
    gw.app.extensions["nsw-omc-accounts"].add(
        "sanepid", "agency-officer", PASSWORD, "health", by="t"
    )
    accepted = gw.client.submit(signed_sample("live-cattle-import"))  # no health case
    page = page_as(gw.url, "sanepid")
    response = page.goto(f"/omc/applications/{accepted['id']}")
    assert response.status == 403
    expect(page.locator("h1")).to_have_text("Your role does not allow this")


def test_an_auditor_sees_no_action_and_a_posted_action_is_refused(
    gateway: Callable[..., RunningGateway],
    page_as: Callable[[str, str], Any],
    signed_sample: Callable[..., bytes],
) -> None:
    gw = _gateway(gateway)
    accepted = gw.client.submit(signed_sample("fresh-apples-import"))
    page = page_as(gw.url, "aud")
    page.goto(f"/omc/applications/{accepted['id']}")
    expect(page.locator("#cases")).to_be_visible()
    expect(page.locator("button:text('Retry…')")).to_have_count(0)
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    answer = page.request.post(
        f"/omc/actions/retry/{accepted['id']}-customs", form={"csrf_token": token, "confirm": "yes"}
    )
    assert answer.status == 403


def test_a_form_posted_without_its_csrf_token_is_refused(
    gateway: Callable[..., RunningGateway], page_as: Callable[[str, str], Any]
) -> None:
    gw = _gateway(gateway)
    page = page_as(gw.url, "op")
    page.goto("/omc/agencies")
    page.evaluate("document.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove())")
    page.click("header form button")  # sign out, without the token
    expect(page.locator("h1")).to_have_text("The form is missing its CSRF token")


# --- officers' actions at the checkpoint and in transit, watched live from another session --------


def test_an_inspection_recorded_by_the_inspector_releases_the_decision_on_the_operators_screen(
    omc_floor: OmcFloor, page_as: Callable[[str, str], Any]
) -> None:
    app_id, visit = held_at_weighbridge(omc_floor)
    watcher = page_as(omc_floor.url, "op")
    watcher.goto(f"/omc/applications/{app_id}")
    expect(watcher.locator("#live.on")).to_be_visible()
    transport = watcher.locator(f'tr[data-case="{app_id}-transport"] .pill')
    expect(transport).to_have_text("inspection")

    inspector = page_as(omc_floor.url, "trn")
    inspector.goto("/omc/checkpoints")
    vehicle = inspector.locator(f'[data-visit="{visit}"]')
    for finding in ("F1", "F2"):
        form = vehicle.locator(f'form[action$="/{visit}/{finding}"]')
        form.locator("select[name=result]").select_option("cleared")
        form.locator("input[name=note]").fill("reweighed on static scales")
        form.locator("button").click()
        expect(inspector.locator("section.confirm .what")).to_contain_text(f"{finding} of visit")
        inspector.click("#confirm")
        expect(inspector.locator(".flash")).to_contain_text(f"recorded for finding {finding}")
    expect(vehicle.locator(".pill.inspection")).to_have_count(0)

    expect(transport).to_have_text("granted")  # on the other screen, without a reload
    expect(watcher.locator("#decision .verdict")).to_have_text("released")
    expect(watcher.locator("#messages")).to_contain_text("officer:trn (agency-officer, transport)")


def test_a_vehicle_cleared_by_the_operator_leaves_the_lane_on_the_customs_screen(
    omc_floor: OmcFloor, page_as: Callable[[str, str], Any]
) -> None:
    visit = without_notice(omc_floor)
    watcher = page_as(omc_floor.url, "cus")
    watcher.goto("/omc/checkpoints")
    expect(watcher.locator("#live.on")).to_be_visible()
    expect(watcher.locator(f'[data-visit="{visit}"]')).to_contain_text("999ZZZ01")

    operator = page_as(omc_floor.url, "op")
    operator.goto("/omc/checkpoints")
    form = operator.locator(f'[data-visit="{visit}"] form[action$="/clear/{visit}"]')
    form.locator("input[name=reason]").fill("declared at the border")
    form.locator("button").click()
    expect(operator.locator("section.confirm")).to_contain_text("recorded in the audit trail")
    operator.click("#confirm")
    expect(operator.locator(".flash")).to_contain_text("cleared by hand; the barrier opens")

    expect(watcher.locator(f'[data-visit="{visit}"]')).to_have_count(0)
    exited = watcher.locator(f'tr[data-exited="{visit}"]')
    expect(exited).to_contain_text("manual")
    expect(exited.locator(".cleared-by")).to_have_text("op (operator)")


def test_an_alert_acknowledged_by_the_operator_shows_who_and_when_on_the_auditors_screen(
    omc_floor: OmcFloor, page_as: Callable[[str, str], Any]
) -> None:
    _, transit, key = in_transit_with_alert(omc_floor)
    watcher = page_as(omc_floor.url, "aud")
    watcher.goto("/omc/movements")
    expect(watcher.locator("#live.on")).to_be_visible()
    alert = watcher.locator(f'tr[data-alert="{key}"]')
    expect(alert.locator(".ack")).to_have_text("open")
    expect(watcher.locator(f'.vehicle-mark.alerting[data-transit="{transit}"]')).to_have_count(1)

    operator = page_as(omc_floor.url, "op")
    operator.goto("/omc/movements")
    operator.locator(f'tr[data-alert="{key}"] button').click()
    expect(operator.locator("section.confirm .what")).to_contain_text(f"of transit {transit}")
    operator.click("#confirm")
    expect(operator.locator(".flash")).to_contain_text("acknowledged")

    # The time as the reader writes it (CLDR), the exact moment in <time datetime> (gateway.i18n).
    expect(alert.locator(".ack")).to_contain_text(re.compile(r"by op at \w{3} \d+, \d{4}"))
    expect(alert.locator(".ack time")).to_have_attribute(
        "datetime", re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]+Z$")
    )
    expect(alert).to_have_class("acknowledged")
    expect(watcher.locator(f'.vehicle-mark.alerting[data-transit="{transit}"]')).to_have_count(0)


def test_a_live_refresh_keeps_what_an_officer_is_typing(
    omc_floor: OmcFloor, page_as: Callable[[str, str], Any]
) -> None:
    first = without_notice(omc_floor, "999ZZZ01")
    operator = page_as(omc_floor.url, "op")
    operator.goto("/omc/checkpoints")
    expect(operator.locator("#live.on")).to_be_visible()
    operator.locator(f"#reason-{first}").fill("declared at the border")
    second = without_notice(omc_floor, "888YYY01")
    expect(operator.locator(f'[data-visit="{second}"]')).to_be_visible()  # the lanes were redrawn
    expect(operator.locator(f"#reason-{first}")).to_have_value("declared at the border")
