"""Options and helpers the `nsw` commands share: where the gateway is, the trader's key and
certificate that sign API requests, and the services of the configured database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gateway.config import load_config

if TYPE_CHECKING:
    from gateway.bootstrap import Services
    from gateway.client import GatewayClient

URL = click.option("--url", envvar="NSW_URL", default="http://127.0.0.1:8080", show_default=True)
TRADER_KEY = click.option(
    "--key", type=click.Path(exists=True, path_type=Path), envvar="NSW_TRADER_KEY", required=True
)
TRADER_CERT = click.option(
    "--cert", type=click.Path(exists=True, path_type=Path), envvar="NSW_TRADER_CERT", required=True
)


def trader_client(url: str, key: Path, cert: Path) -> GatewayClient:
    """A client whose requests are signed (RFC 9421) with the trader's key."""
    from gateway.client import GatewayClient
    from gateway.xmlsig import SigningIdentity

    return GatewayClient(url, identity=SigningIdentity.from_files(key, cert))


@contextmanager
def configured_services() -> Iterator[Services]:
    """The services on the configured database (NSW_*), closed when the command ends. A
    `GatewayError` (no such application, a missing key file...) ends the command with its
    sentence, not a stack trace."""
    from gateway.bootstrap import build_services
    from gateway.errors import GatewayError

    try:
        services = build_services(load_config())
        try:
            yield services
        finally:
            services.close()
    except GatewayError as exc:
        raise click.ClickException(exc.detail) from exc
