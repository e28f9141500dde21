"""`nsw omc ...`: accounts for the OMC, and screenshots of its main views."""

from __future__ import annotations

import os

import click

from gateway.config import load_config
from gateway.i18n.cli import say


@click.group()
def omc() -> None:
    """The Operative Management Centre: accounts and screenshots."""


@omc.group()
def users() -> None:
    """OMC accounts (reads and writes the gateway's database)."""


@users.command("add")
@click.argument("username")
@click.option(
    "--role", required=True, type=click.Choice(["operator", "agency-officer", "auditor", "admin"])
)
@click.option("--agency", help="The agency of an agency officer (customs, transport, ...).")
@click.option("--cert-fingerprint", help="SHA-256 of a PKI client certificate that may sign in.")
def users_add(username: str, role: str, agency: str | None, cert_fingerprint: str | None) -> None:
    """Add an account. The password comes from NSW_OMC_PASSWORD or a prompt (never an argument)."""
    from gateway.bootstrap import build_services
    from gateway.omc.accounts import Accounts
    from gateway.omc.errors import BadAccount

    password = os.environ.get("NSW_OMC_PASSWORD") or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    config = load_config()
    services = build_services(config)
    try:
        accounts = Accounts(
            services.omc.accounts,
            services.clock,
            agencies=frozenset(services.specs),
            max_failures=config.login_max_failures,
            lockout_s=config.login_lockout_s,
        )
        accounts.add(username, role, password, agency, by="cli", cert_fingerprint=cert_fingerprint)
    except BadAccount as exc:
        raise click.ClickException(say(exc.detail)) from exc
    finally:
        services.close()
    click.echo(f"account {username} ({role}{', ' + agency if agency else ''}) added")


@users.command("list")
def users_list() -> None:
    from gateway.bootstrap import build_services
    from gateway.omc.accounts import Accounts

    config = load_config()
    services = build_services(config)
    try:
        accounts = Accounts(services.omc.accounts, services.clock,
                            agencies=frozenset(services.specs),
                            max_failures=config.login_max_failures, lockout_s=config.login_lockout_s)  # fmt: skip
        for a in accounts.list():
            state = "disabled" if a.disabled else "locked" if a.locked else "active"
            click.echo(f"{a.username:<24} {a.role:<15} {a.agency or '':<12} {state}")
    finally:
        services.close()
