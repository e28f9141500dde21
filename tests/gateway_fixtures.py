"""Fixtures that run the gateway and the stand-in agencies as real servers on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from gateway.app import create_app
from gateway.bootstrap import Services, build_services
from gateway.client import GatewayClient
from gateway.config import load_config
from gateway.pki import DevPki
from simulators.server import start_agency

AGENCY_CODES = ("customs", "transport", "agriculture", "health")


@pytest.fixture(scope="session")
def agencies() -> Iterator[dict[str, str]]:
    """The four stand-in agencies, started once for the session: code -> base URL."""
    running = [start_agency(code) for code in AGENCY_CODES]
    yield {code: agency.url for code, agency in zip(AGENCY_CODES, running, strict=True)}
    for agency in running:
        agency.stop()


def gateway_config(pki: DevPki, database_url: str, urls: dict[str, str], **overrides: Any):  # type: ignore[no-untyped-def]
    env = {"NSW_PKI_DIR": str(pki.directory), "NSW_DATABASE_URL": database_url}
    env.update({f"NSW_AGENCY_{code.upper()}_URL": url for code, url in urls.items()})
    return load_config(env, **overrides)


@dataclass
class RunningGateway:
    url: str
    app: Flask
    services: Services
    client: GatewayClient


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
    started: list[tuple[Any, threading.Thread, Services]] = []

    def start(**overrides: Any) -> RunningGateway:
        overrides.setdefault("poll_interval_s", 0.05)
        config = gateway_config(pki, database_url, agencies, **overrides)
        services = build_services(config)
        app = create_app(config, services)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        started.append((server, thread, services))
        url = f"http://127.0.0.1:{server.server_port}"
        return RunningGateway(url, app, services, GatewayClient(url))

    yield start
    for server, thread, services in started:
        server.shutdown()
        thread.join(10)
        services.close()
