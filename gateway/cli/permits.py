"""`nsw permits show ID` and `nsw permits list [--holder BIN]`: permits with their balance and
every write-off, read from the configured database (NSW_*), for operators (issue 20). Holders and
agencies read theirs over the API (GET /api/v1/permits/<id>, signed)."""

from __future__ import annotations

from typing import Any

import click

from gateway.cli.options import configured_services
from gateway.i18n.cli import say, say_read
from gateway.i18n.text import Text


def _echo_permit(p: dict[str, Any], *, write_offs: bool) -> None:
    click.echo(
        f"{p['permitId']}\t{p['agency']}\t{p['holder']}\t{p['goods']['hsCode']}\t"
        f"{p['balance']} of {p['granted']} {p['unit']}\t{p['state']}\t"
        f"{p['validFrom']}..{p['validUntil']}"
    )
    if not write_offs:
        return
    for w in p["writeOffs"]:
        back = "  (credited back)" if w["creditedBack"] else ""
        click.echo(f"  {w['day']}\t{w['applicationId']}\t-{w['quantity']} {p['unit']}{back}")
    if not p["writeOffs"]:
        click.echo(say(Text("  no write-offs")))


@click.group()
def permits() -> None:
    """Permits with a balance (issue 20)."""


@permits.command("show")
@click.argument("permit_id")
def show(permit_id: str) -> None:
    """A permit: its balance, state today, and every write-off."""
    from gateway.billing.wiring import build_permits
    from gateway.errors import GatewayError

    with configured_services() as services:
        try:
            shown = build_permits(services).show(permit_id)
        except GatewayError as exc:
            raise click.ClickException(say(exc.detail)) from exc
    _echo_permit(shown, write_offs=True)


@permits.command("list")
@click.option("--holder", help="Only the permits of this BIN.")
def list_(holder: str | None) -> None:
    """Every permit (or a holder's), newest first, with its balance; then the applications held
    for a permit."""
    from gateway.billing.permits import permit_json
    from gateway.billing.wiring import build_permits

    with configured_services() as services:
        book = build_permits(services)
        if holder:
            shown = book.of_holder(holder)
        else:
            day = book.today()
            shown = [
                permit_json(p, book.permits.write_offs(p.permit_id), day)
                for p in book.permits.everything()
            ]
        holds = book.holds()
    for p in shown:
        _echo_permit(p, write_offs=False)
    if not shown:
        click.echo(say(Text("no permits")))
    for h in holds:
        click.echo(f"held\t{h.application_id}\t{h.permit_id}\t{h.code}\t{say_read(h.detail)}")
