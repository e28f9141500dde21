"""`nsw portal-screenshots DIR`: a gateway with the stand-in agencies on 127.0.0.1 (a fresh dev
PKI and SQLite database in a temporary directory), applications lodged for one trader (Steppe
Agro), and Debian's Chromium, driven by Playwright, photographing the portal's pages as that
trader sees them: signed in with its certificate, the header set as the portal's TLS proxy would.

One set of pictures per language asked for (`--lang en --lang ru`): the browser asks for that
language (Accept-Language), and the files are named `portal-<view>-<lang>.png`."""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

from devtools.screenshots import ARGS
from gateway.app import create_app
from gateway.billing.permits import PermitBook
from gateway.bootstrap import build_services
from gateway.cli.client import GatewayClient
from gateway.config import load_config
from gateway.domain.identifiers import Bin, HsCode
from gateway.payments.permits import Permit, Quantity
from gateway.pki.dev import DevPki, init_dev_pki
from gateway.resources import shipped
from gateway.trust.xmlparse import parse_xml
from gateway.trust.xmlsig import SigningIdentity, sign_enveloped

TRADER = "trader-steppe"
HEADER = "X-Client-Cert"
REFERENCES = ("STEPPE-2026-0001", "STEPPE-2026-0002", "STEPPE-2026-0003")


def take_portal_screenshots(directory: Path, chromium: str, languages: Sequence[str]) -> list[Path]:
    from playwright.sync_api import sync_playwright

    from simulators.server import start_agency
    from simulators.treasury import ACCOUNT

    directory.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="nsw-portal-shots-"))
    pki = init_dev_pki(work / "pki")
    agencies = {
        c: start_agency(c, pki_dir=pki.directory)
        for c in ("customs", "transport", "police", "veterinary", "phytosanitary", "health")
    }
    env = {"NSW_PKI_DIR": str(pki.directory), "NSW_DATABASE_URL": f"sqlite:///{work / 'nsw.db'}"}
    env |= {f"NSW_AGENCY_{c.upper()}_URL": a.url for c, a in agencies.items()}
    config = load_config(env, secret_key=secrets.token_urlsafe(32), session_cookie_secure=False,
                         portal_client_cert_header=HEADER, portal_trusted_proxies=("127.0.0.1",),
                         retry_base_s=0.05, max_attempts=1000, breaker_failures=1000,
                         payee_account=ACCOUNT)  # fmt: skip
    services = build_services(config)
    app = create_app(config, services)
    _grant_permits(app.extensions["nsw-permits"], pki)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    saved: list[Path] = []
    try:
        ids = _lodge(url, pki)
        _wait_for_decision(services.store, ids)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
            for lang in languages:
                saved += _photograph(browser, url, pki, ids, directory, lang)
            browser.close()
    finally:
        server.shutdown()
        services.close()
        for agency in agencies.values():
            agency.stop()
        shutil.rmtree(work, ignore_errors=True)
    return saved


def _photograph(
    browser: Any, url: str, pki: DevPki, ids: list[str], directory: Path, lang: str
) -> list[Path]:
    """The portal's pages as the trader sees them, its browser asking for `lang`."""
    certificate = urllib.parse.quote(pki.cert_path(TRADER).read_text())
    context = browser.new_context(
        base_url=url, viewport={"width": 1280, "height": 800}, locale=lang,
        extra_http_headers={HEADER: certificate, "Accept-Language": lang},
    )  # fmt: skip
    page = context.new_page()
    page.set_default_timeout(30_000)
    saved: list[Path] = []

    def shot(name: str) -> None:
        page.wait_for_load_state("load")
        target = directory / f"portal-{name}-{lang}.png"
        page.screenshot(path=str(target), full_page=True)
        saved.append(target)

    page.goto("/portal/login")
    shot("sign-in")
    page.click("#sign-in")
    page.wait_for_selector("#applications")
    shot("applications")
    page.goto(f"/portal/applications/{ids[0]}")
    page.wait_for_selector("#live.on")
    shot("application")
    page.goto(f"/portal/applications/{ids[0]}/payment")
    page.wait_for_selector("#order")
    shot("payment")
    page.goto("/portal/permits")
    page.wait_for_selector("#permits")
    shot("permits")
    page.goto("/portal/upload")
    unsigned = (shipped("samples") / "fresh-apples-import.xml").read_bytes()
    page.set_input_files(
        "input[name=application]",
        files=[{"name": "apples.xml", "mimeType": "application/xml", "buffer": unsigned}],
    )
    page.click("form.upload button")
    page.wait_for_selector("section.problem")
    shot("upload-refused")
    page.goto("/portal/notifications")
    shot("notifications")
    context.close()
    return saved


def _grant_permits(book: PermitBook, pki: DevPki) -> None:
    """Two veterinary permits of the trader's, as the veterinary agency would grant them."""
    today = dt.date.today()
    holder_bin = pki.party(TRADER).bin
    assert holder_bin is not None  # a trader of the dev PKI names its company
    holder = Bin(holder_bin)
    for permit_id, tonnes, description in (
        ("VET-2026-0001", "20", "Beef carcasses, fresh"),
        ("VET-2026-0002", "5", "Lamb carcasses, fresh"),
    ):
        book.grant(
            Permit(
                permit_id=permit_id, agency="veterinary", holder=holder,
                hs_code=HsCode("0201100001"), description=description,
                granted=Quantity(Decimal(tonnes), "t"), valid_from=today,
                valid_until=today + dt.timedelta(days=90),
            ),
            None,
        )  # fmt: skip


def _lodge(url: str, pki: DevPki) -> list[str]:
    """Three of the trader's applications, the newest last."""
    client = GatewayClient(url)
    identity = SigningIdentity.from_files(
        pki.key_path(TRADER), pki.cert_path(TRADER), pki.directory / "issuing-ca.pem"
    )
    raw = (shipped("samples") / "fresh-apples-import.xml").read_bytes()
    return [
        client.submit(
            sign_enveloped(parse_xml(raw.replace(b"STEPPE-2026-0001", ref.encode())), identity)
        )["id"]
        for ref in REFERENCES
    ]


def _wait_for(check: object, deadline_s: float = 30) -> None:
    ends = time.monotonic() + deadline_s
    while time.monotonic() < ends:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise RuntimeError("the sample applications did not reach the expected state in time")


def _wait_for_decision(store: object, ids: list[str]) -> None:
    _wait_for(lambda: all(store.application(i).verdict for i in ids))  # type: ignore[attr-defined]
