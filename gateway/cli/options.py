"""Options and helpers the `nsw` commands share: where the gateway is, the trader's key and
certificate that sign API requests, and the services of the configured database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gateway.config import load_config
from gateway.i18n.cli import say

if TYPE_CHECKING:
    from gateway.bootstrap import Services
    from gateway.cli.client import GatewayClient
    from gateway.trust.xmlsig import SigningIdentity

URL = click.option("--url", envvar="NSW_URL", default="http://127.0.0.1:8080", show_default=True)
TRADER_KEY = click.option(
    "--key", type=click.Path(exists=True, path_type=Path), envvar="NSW_TRADER_KEY", required=True
)
TRADER_CERT = click.option(
    "--cert", type=click.Path(exists=True, path_type=Path), envvar="NSW_TRADER_CERT", required=True
)


def trader_client(url: str, key: Path, cert: Path) -> GatewayClient:
    """A client whose requests are signed (RFC 9421) with the trader's key."""
    from gateway.cli.client import GatewayClient

    return GatewayClient(url, identity=signing_identity(key, cert))


def signing_identity(key: Path, cert: Path, *chain: Path) -> SigningIdentity:
    """The key and certificate, checked to belong together before anything is signed: a key that
    is not the certificate's would sign something no one can verify, and the gateway could only
    say that the signature does not verify, not why."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from gateway.errors import UnusableKey
    from gateway.trust.xmlsig import SigningIdentity

    key_pem = key.read_bytes()
    if b"-----BEGIN CERTIFICATE-----" in key_pem:
        raise UnusableKey(
            f"{key} is a certificate, not a private key: give the key file (.key) as --key and "
            "the certificate (.pem) as --cert."
        )
    try:
        private = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise UnusableKey(
            f"{key} is not an unencrypted PEM private key: give the .key file made with your "
            "certificate."
        ) from exc
    try:
        certificate = x509.load_pem_x509_certificate(cert.read_bytes())
    except ValueError as exc:
        raise UnusableKey(
            f"{cert} is not a PEM certificate: give your .pem file as --cert."
        ) from exc
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if private.public_key().public_bytes(der, spki) != certificate.public_key().public_bytes(
        der, spki
    ):
        raise UnusableKey(
            f"The key {key} is not the key of the certificate {cert}: give the key file that was "
            "made together with that certificate."
        )
    return SigningIdentity.from_files(key, cert, *chain)


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
        raise click.ClickException(say(exc.detail)) from exc
