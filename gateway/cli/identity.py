"""`nsw representatives ...` and `nsw traders ...`: who may act for whom, and whose keys may sign
requests to read applications. Both write the gateway's database (NSW_DATABASE_URL)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gateway.config import load_config
from gateway.domain.identifiers import Bin
from gateway.errors import InvalidValue
from gateway.i18n.cli import say
from gateway.i18n.text import Text

if TYPE_CHECKING:
    from gateway.trust.wiring import Registries

ROLES = ("customs-representative", "carrier")


def _registries() -> AbstractContextManager[Registries]:
    from gateway.trust.wiring import registries

    return registries(load_config().database_url)


def _bin(value: str) -> Bin:
    try:
        return Bin(value)
    except InvalidValue as exc:
        raise click.BadParameter(exc.detail) from exc


@click.group()
def representatives() -> None:
    """Authorised representatives: a company that may sign applications for a declarant."""


@representatives.command("add")
@click.argument("principal_bin")
@click.argument("representative_bin")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--note", default="", help="E.g. the power of attorney's number and date.")
def representatives_add(principal_bin: str, representative_bin: str, role: str, note: str) -> None:
    """Register REPRESENTATIVE_BIN to act for PRINCIPAL_BIN."""
    from gateway.trust.representatives import Role

    principal, representative = _bin(principal_bin), _bin(representative_bin)
    with _registries() as registries:
        try:
            made = registries.representatives.register(
                principal,
                representative,
                Role(role),
                note,
            )
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    state = "registered" if made else "was already registered"
    click.echo(
        say(
            Text(
                "%(representative_bin)s %(state)s as %(role)s for %(principal_bin)s",
                representative_bin=representative_bin,
                state=state,
                role=role,
                principal_bin=principal_bin,
            )
        )
    )


@representatives.command("revoke")
@click.argument("principal_bin")
@click.argument("representative_bin")
@click.option("--role", type=click.Choice(ROLES), help="Only this role (default: every role).")
def representatives_revoke(principal_bin: str, representative_bin: str, role: str | None) -> None:
    """End REPRESENTATIVE_BIN's registrations for PRINCIPAL_BIN."""
    from gateway.trust.representatives import Role

    principal, representative = _bin(principal_bin), _bin(representative_bin)
    with _registries() as registries:
        ended = registries.representatives.revoke(
            principal,
            representative,
            Role(role) if role else None,
        )
    if not ended:
        raise click.ClickException(
            say(
                Text(
                    "%(representative_bin)s has no registration for %(principal_bin)s",
                    representative_bin=representative_bin,
                    principal_bin=principal_bin,
                )
            )
        )
    click.echo(
        say(
            Text(
                "%(ended)s registration(s) of %(representative_bin)s for %(principal_bin)s revoked",
                ended=ended,
                representative_bin=representative_bin,
                principal_bin=principal_bin,
            )
        )
    )


@representatives.command("list")
@click.option("--bin", "bin_", help="Only registrations where this BIN is either party.")
@click.option("--all", "everything", is_flag=True, help="Include revoked registrations.")
def representatives_list(bin_: str | None, everything: bool) -> None:
    from gateway.clock import iso

    with _registries() as registries:
        rows = registries.representatives.list(bin_, include_revoked=everything)
    for r in rows:
        until = f" revoked {iso(r.revoked_at)}" if r.revoked_at else ""
        click.echo(
            f"{r.representative} -> {r.principal} {r.role.value} since {iso(r.registered_at)}{until} {r.note}".rstrip()
        )


@click.group()
def traders() -> None:
    """Trader certificates whose keys may sign requests (RFC 9421) to read applications."""


@traders.command("register")
@click.argument("cert", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def traders_register(cert: Path) -> None:
    """Register a trader's certificate (PEM); it must be trusted now and name a BIN."""
    from gateway.clock import system_clock
    from gateway.errors import GatewayError
    from gateway.trust.certificates import TrustStore, load_certificates

    config = load_config()
    certificates = load_certificates(cert)
    trust = TrustStore.from_directory(config.pki_dir, system_clock, require_crl=config.require_crl)
    try:
        signer = trust.verify(certificates[0], certificates[1:])
    except GatewayError as exc:
        raise click.ClickException(say(exc.detail)) from exc
    if signer.bin is None:
        raise click.ClickException(say(Text("the certificate names no BIN (subject OU=BIN…)")))
    with _registries() as registries:
        made = registries.trader_certs.register(signer, "operator")
    state = "registered" if made else "was already registered"
    click.echo(
        say(
            Text(
                "%(fingerprint_sha256)s (%(subject)s) %(state)s for BIN %(bin)s",
                fingerprint_sha256=signer.fingerprint_sha256,
                subject=signer.subject,
                state=state,
                bin=signer.bin,
            )
        )
    )


@traders.command("list")
@click.option("--bin", "bin_", help="Only this BIN's certificates.")
def traders_list(bin_: str | None) -> None:
    from gateway.clock import iso

    with _registries() as registries:
        rows = registries.trader_certs.list(bin_)
    for r in rows:
        click.echo(f"{r.fingerprint} BIN {r.bin} {r.source:<10} {iso(r.registered_at)} {r.subject}")
