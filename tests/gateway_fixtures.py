"""Fixtures that run the gateway and the stand-in agencies as real servers on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import tomllib
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from flask import Flask

from devtools.processes import free_port
from gateway.app import create_app
from gateway.bootstrap import Services, build_services
from gateway.cli.client import GatewayClient, TraderSignatureAuth
from gateway.config import Config, load_config
from gateway.pki.dev import DevPki
from gateway.resources import shipped
from gateway.trust.xmlparse import parse_xml
from gateway.trust.xmlsig import DS_NS, SigningIdentity
from simulators.server import RunningAgency, start_agency
from tests.log_state import log_state_for
from tests.serving import serving

# Every agency of mappings/agencies.toml has a stand-in of the same code (simulators/server.py).
AGENCY_CODES = tuple(tomllib.loads((shipped("mappings") / "agencies.toml").read_text())["agencies"])


@pytest.fixture(scope="session")
def agencies(pki: DevPki) -> Iterator[dict[str, str]]:
    """The stand-in agencies, started once for the session: code -> base URL. They sign
    with their keys from the test PKI and believe only the gateway's certificate from it."""
    running = [start_agency(code, pki_dir=pki.directory) for code in AGENCY_CODES]
    yield {code: agency.url for code, agency in zip(AGENCY_CODES, running, strict=True)}
    for agency in running:
        agency.stop()


def endpoints_never_called() -> dict[str, str]:
    """An endpoint for every agency of agencies.toml, for apps that never dispatch
    (`dispatcher_threads=0`) but must be ready: `/readyz` answers 503 while an agency has none.
    Port 9 on the loopback (discard) is never called."""
    agencies = tomllib.loads((shipped("mappings") / "agencies.toml").read_text())["agencies"]
    return {code: "http://127.0.0.1:9/" for code in agencies}


def gateway_config(
    pki: DevPki, database_url: str, urls: dict[str, str], **overrides: Any
) -> Config:
    overrides.setdefault("log_state", log_state_for(database_url))
    # argon2id at production cost is tens of milliseconds of CPU per hash, and the OMC tests hash
    # for every account and sign-in; tests/omc/test_password_cost.py keeps the production profile.
    overrides.setdefault("cheap_password_hashes_for_tests", True)
    # Test gateways collect into the stand-in treasury's invented account (issue 20).
    overrides.setdefault("payee_account", "KZ909980000000012345")
    env = {"NSW_PKI_DIR": str(pki.directory), "NSW_DATABASE_URL": database_url}
    env.update({f"NSW_AGENCY_{code.upper()}_URL": url for code, url in urls.items()})
    return load_config(env, **overrides)


@dataclass
class RunningGateway:
    url: str
    app: Flask
    services: Services
    client: GatewayClient


class KeyringClient(GatewayClient):
    """A client holding every dev trader's key: it reads each application it lodged with the key
    of the certificate that signed it (RFC 9421), as that trader's own software would."""

    def __init__(self, base_url: str, pki: DevPki) -> None:
        super().__init__(base_url)
        self._by_fingerprint: dict[str, TraderSignatureAuth] = {}
        for party in pki.parties:
            if party.role == "trader":
                auth = TraderSignatureAuth(
                    SigningIdentity.from_files(
                        pki.key_path(party.slug),
                        pki.cert_path(party.slug),
                        pki.directory / "issuing-ca.pem",
                    )
                )
                self._by_fingerprint[auth.keyid] = auth
        self._signer_of: dict[str, TraderSignatureAuth] = {}

    def submit(self, signed_xml: bytes) -> dict[str, Any]:
        answer = super().submit(signed_xml)
        found = parse_xml(signed_xml).find(f".//{{{DS_NS}}}X509Certificate")
        if found is not None and found.text:
            der = base64.b64decode("".join(found.text.split()))
            fingerprint = hashlib.sha256(der).hexdigest()
            if fingerprint in self._by_fingerprint:
                self._signer_of[answer["id"]] = self._by_fingerprint[fingerprint]
        return answer

    def auth_for(self, application_id: str) -> requests.auth.AuthBase | None:
        return self._signer_of.get(application_id)


@pytest.fixture
def app_factory(pki: DevPki, database_url: str) -> Iterator[Callable[..., Flask]]:
    """In-process app (Flask test client) with no agencies and no dispatcher, for intake tests."""
    made: list[Services] = []

    def make(**overrides: Any) -> Flask:
        overrides.setdefault("dispatcher_threads", 0)
        config = gateway_config(pki, database_url, {}, **overrides)
        services = build_services(config)
        made.append(services)
        app = create_app(config, services)
        app.testing = True
        return app

    yield make
    for services in made:
        services.close()


@pytest.fixture
def gateway(
    pki: DevPki, database_url: str, agencies: dict[str, str]
) -> Iterator[Callable[..., RunningGateway]]:
    """gateway(**config_overrides): the gateway serving on a free port with dispatcher threads."""
    with ExitStack() as stack:

        def start(**overrides: Any) -> RunningGateway:
            overrides.setdefault("poll_interval_s", 0.05)
            config = gateway_config(pki, database_url, agencies, **overrides)
            services = build_services(config)
            stack.callback(services.close)  # after the server stops (callbacks run in reverse)
            app = create_app(config, services)
            url = stack.enter_context(serving(app))
            return RunningGateway(url, app, services, KeyringClient(url, pki))

        yield start


@pytest.fixture
def gateway_at(
    pki: DevPki, database_url: str, agencies: dict[str, str]
) -> Iterator[Callable[..., tuple[str, Services, KeyringClient]]]:
    """gateway_at(**overrides): a gateway whose NSW_PUBLIC_URL is its own address, so agencies
    may call back; returns (url, services, client)."""
    with ExitStack() as stack:

        def start(**overrides: Any) -> tuple[str, Services, KeyringClient]:
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            urls = {**agencies, **overrides.pop("agency_urls", {})}
            config = gateway_config(
                pki, database_url, urls, public_url=url, poll_interval_s=0.05, **overrides
            )
            services = build_services(config)
            stack.callback(services.close)
            stack.enter_context(serving(create_app(config, services), port=port))
            return url, services, KeyringClient(url, pki)

        yield start


@pytest.fixture
def own_agency(pki: DevPki) -> Iterator[Callable[..., RunningAgency]]:
    """own_agency(code, **options): a dedicated simulator (signing with the test PKI) that this
    test may break or switch to answer later; stopped at the end."""
    started: list[RunningAgency] = []

    def start(code: str, **options: Any) -> RunningAgency:
        agency = start_agency(code, pki_dir=pki.directory, **options)
        started.append(agency)
        return agency

    yield start
    for agency in started:
        agency.stop()
