"""A gateway started without an endpoint for some agency says so: /readyz is 503 naming the
agencies and the settings to make, and every OMC page carries a banner."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from tests.omc.conftest import OMC, add_accounts, sign_in

AGENCIES = ("customs", "transport", "police", "veterinary", "phytosanitary", "health")


def _app(app_factory: Callable[..., Flask], configured: tuple[str, ...]) -> Flask:
    urls = {code: f"http://127.0.0.1:9/{code}" for code in configured}  # never called here
    app = app_factory(**OMC, agency_urls=urls)
    add_accounts(app)
    return app


def test_readyz_names_the_agencies_without_an_endpoint(app_factory: Callable[..., Flask]) -> None:
    ready = _app(app_factory, ("customs", "transport")).test_client().get("/readyz")
    assert ready.status_code == 503
    body = ready.get_json()
    assert body["status"] == "not-ready"
    assert body["checks"]["agencies"] == ("no endpoint: health, phytosanitary, police, veterinary")
    assert body["checks"]["database"] == "ok"


def test_readyz_is_ready_when_every_agency_has_an_endpoint(
    app_factory: Callable[..., Flask],
) -> None:
    ready = _app(app_factory, AGENCIES).test_client().get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"]["agencies"] == "ok"


def test_the_omc_shows_a_degraded_banner(app_factory: Callable[..., Flask]) -> None:
    client = _app(app_factory, AGENCIES[:-1]).test_client()  # all but health
    assert sign_in(client, "op").status_code == 302
    page = client.get("/omc/agencies").get_data(as_text=True)
    assert "Degraded: no endpoint is configured for" in page
    assert "health" in page and "NSW_AGENCY_HEALTH_URL" in page
    assert "NSW_AGENCY_CUSTOMS_URL" not in page


def test_no_banner_when_every_agency_has_an_endpoint(app_factory: Callable[..., Flask]) -> None:
    client = _app(app_factory, AGENCIES).test_client()
    assert sign_in(client, "op").status_code == 302
    assert "Degraded" not in client.get("/omc/agencies").get_data(as_text=True)
