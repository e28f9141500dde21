"""A gateway wired to the stand-in treasury: both real servers on 127.0.0.1, each calling the
other (payments one way, signed confirmations back)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from devtools.processes import free_port
from gateway.bootstrap import Services
from gateway.pki.dev import DevPki
from simulators.treasury import ACCOUNT, RunningTreasury, start_treasury
from tests.gateway_fixtures import KeyringClient


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
