"""A gateway wired to the stand-in treasury: both real servers on 127.0.0.1, each calling the
other (payments one way, signed confirmations back)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from werkzeug.serving import make_server

from devtools.processes import free_port
from gateway.app import create_app
from gateway.bootstrap import Services, build_services
from gateway.pki.dev import DevPki
from simulators.treasury import ACCOUNT, RunningTreasury, start_treasury
from tests.checkpoint.conftest import OFFICER_TOKEN, Checkpoint, MovableClock
from tests.gateway_fixtures import KeyringClient, gateway_config


@dataclass
class Paying:
    url: str
    services: Services
    client: KeyringClient
    treasury: RunningTreasury


@pytest.fixture
def paying_gateway(
    gateway_at: Callable[..., tuple[str, Services, KeyringClient]], pki: DevPki
) -> Iterator[Callable[..., Paying]]:
    """paying_gateway(**treasury_options): the gateway (collecting into the treasury's account)
    and the stand-in treasury confirming each payment to the gateway's callback."""
    started: list[RunningTreasury] = []

    def start(**treasury_options: Any) -> Paying:
        port = free_port()
        url, services, client = gateway_at(
            payee_account=ACCOUNT, treasury_url=f"http://127.0.0.1:{port}"
        )
        treasury = start_treasury(
            port=port,
            pki_dir=pki.directory,
            callback_url=f"{url}/api/v1/payments/callback",
            **treasury_options,
        )
        started.append(treasury)
        return Paying(url, services, client, treasury)

    yield start
    for treasury in started:
        treasury.stop()


@pytest.fixture
def checkpoint_with_treasury(
    pki: DevPki, database_url: str, agencies: dict[str, str]
) -> Iterator[tuple[Checkpoint, RunningTreasury]]:
    """The checkpoint's gateway (devices, movable clock) collecting through the stand-in treasury,
    which confirms each payment to the gateway's callback."""
    gateway_port, treasury_port = free_port(), free_port()
    url = f"http://127.0.0.1:{gateway_port}"
    clock = MovableClock()
    config = gateway_config(
        pki, database_url, agencies, poll_interval_s=0.05, operator_tokens=(OFFICER_TOKEN,),
        public_url=url, payee_account=ACCOUNT, treasury_url=f"http://127.0.0.1:{treasury_port}",
    )  # fmt: skip
    services = build_services(config, clock)
    server = make_server("127.0.0.1", gateway_port, create_app(config, services), threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    treasury = start_treasury(
        port=treasury_port, pki_dir=pki.directory, callback_url=f"{url}/api/v1/payments/callback"
    )
    yield Checkpoint(url, services, pki, clock, KeyringClient(url, pki)), treasury
    treasury.stop()
    server.shutdown()
    thread.join(10)
    services.close()
