"""`nsw omc screenshots DIR`: a gateway with the stand-in agencies on 127.0.0.1 (a fresh dev PKI
and SQLite database in a temporary directory), the sample applications lodged by their declarants
(the health service down for a while, so one case escalates), trucks at the checkpoint's lanes and
one in transit with alerts (`devtools.screenshot_traffic`), and Debian's Chromium, driven by
Playwright, photographing each main view."""

from __future__ import annotations

import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

from devtools.screenshot_traffic import put_vehicles_on_the_floor
from gateway.app import create_app
from gateway.bootstrap import build_services
from gateway.cli.client import GatewayClient
from gateway.config import load_config
from gateway.pki.dev import DevPki, init_dev_pki
from gateway.resources import shipped
from gateway.trust.xmlparse import parse_xml
from gateway.trust.xmlsig import SigningIdentity, sign_enveloped

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
SAMPLES = {
    "fresh-apples-import": "trader-steppe",
    "live-cattle-import": "trader-altyn",
    "overweight-machinery-transit": "trader-kaztrans",
}
VIEWS = [  # file name, path (after sign-in as the operator)
    ("applications", "/omc/applications"),
    ("application", None),  # the first application's page
    ("agencies", "/omc/agencies"),
    ("checkpoints", "/omc/checkpoints"),
    ("movements", "/omc/movements"),
    ("charts", "/omc/charts"),
]


def take_screenshots(
    directory: Path, chromium: str, languages: Sequence[str] = ("en",)
) -> list[Path]:
    from playwright.sync_api import sync_playwright

    from simulators.server import start_agency
    from simulators.treasury import ACCOUNT

    directory.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="nsw-omc-shots-"))
    pki = init_dev_pki(work / "pki")
    agencies = {
        c: start_agency(c, pki_dir=pki.directory)
        for c in ("customs", "transport", "police", "veterinary", "phytosanitary")
    }
    agencies["health"] = start_agency("health", pki_dir=pki.directory, outage=True)
    env = {"NSW_PKI_DIR": str(pki.directory), "NSW_DATABASE_URL": f"sqlite:///{work / 'nsw.db'}"}
    env |= {f"NSW_AGENCY_{c.upper()}_URL": a.url for c, a in agencies.items()}
    env["NSW_PAYEE_ACCOUNT"] = ACCOUNT  # the apples are charged: settled in full before they exit
    config = load_config(env, secret_key=secrets.token_urlsafe(32), session_cookie_secure=False,
                         retry_base_s=0.05, max_attempts=2, breaker_failures=2,
                         breaker_reset_s=0.5)  # fmt: skip
    services = build_services(config)
    app = create_app(config, services)
    password = secrets.token_urlsafe(16)
    app.extensions["nsw-omc-accounts"].add("operator", "operator", password, by="screenshots")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    saved: list[Path] = []
    try:
        ids = _lodge(url, pki)
        _wait_for_escalation(services.store, ids)
        agencies["health"].options.outage = False
        put_vehicles_on_the_floor(url, pki, services, work)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
            for lang in languages:
                saved += _photograph(browser, url, password, ids, directory, lang)
            browser.close()
    finally:
        server.shutdown()
        services.close()
        for agency in agencies.values():
            agency.stop()
        shutil.rmtree(work, ignore_errors=True)
    return saved


def _photograph(
    browser: Any, url: str, password: str, ids: list[str], directory: Path, lang: str
) -> list[Path]:
    """The OMC's main views as the operator sees them, the browser asking for `lang` (files
    `omc-<view>.png` in English, `omc-<view>-<lang>.png` in another language)."""
    context = browser.new_context(
        base_url=url, viewport={"width": 1400, "height": 900}, locale=lang,
        extra_http_headers={"Accept-Language": lang},
    )  # fmt: skip
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto("/omc/login")
    page.fill("input[name=username]", "operator")
    page.fill("input[name=password]", password)
    page.click("section.login button[type=submit]")  # not the language switch
    page.wait_for_url("**/omc/")
    saved = []
    for name, path in VIEWS:
        page.goto(path or f"/omc/applications/{ids[0]}")
        page.wait_for_load_state("load")
        if path == "/omc/movements":  # the map's base layer and routes are fetched after the page
            page.wait_for_selector("#map.base-drawn.routes-drawn")
        page.wait_for_timeout(600)  # let the charts draw and the first live refresh land
        target = directory / (f"omc-{name}.png" if lang == "en" else f"omc-{name}-{lang}.png")
        page.screenshot(path=str(target), full_page=True)
        saved.append(target)
    context.close()
    return saved


def _lodge(url: str, pki: DevPki) -> list[str]:
    client = GatewayClient(url)
    ids = []
    for name, slug in SAMPLES.items():
        identity = SigningIdentity.from_files(
            pki.key_path(slug), pki.cert_path(slug), pki.directory / "issuing-ca.pem"
        )
        raw = (shipped("samples") / f"{name}.xml").read_bytes()
        ids.append(client.submit(sign_enveloped(parse_xml(raw), identity))["id"])
    return ids


def _wait_for_escalation(store: object, ids: list[str], deadline_s: float = 30) -> None:
    """Until every case is settled or escalated (the health service is down)."""
    ends = time.monotonic() + deadline_s
    while time.monotonic() < ends:
        apps = [store.application(i) for i in ids]  # type: ignore[attr-defined]
        if all(c.state not in ("queued", "pending") for a in apps if a for c in a.cases):
            return
        time.sleep(0.2)
