"""`nsw notify-url ...` (a trader, through the API, signed) and `nsw notifications ...` (operators,
on the gateway's database): where decisions are sent, and what became of each sending."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from gateway.cli.options import TRADER_CERT, TRADER_KEY, URL, configured_services, trader_client
from gateway.i18n.cli import say
from gateway.i18n.text import Text
from gateway.notify.events import EVENT_TYPES


@contextmanager
def _problems() -> Iterator[None]:
    from gateway.cli.client import ApiProblem

    try:
        yield
    except ApiProblem as exc:
        raise click.ClickException(str(exc)) from exc


@click.group("notify-url")
def notify_url() -> None:
    """Where the gateway POSTs your decisions, signed (requests signed with your key)."""


@notify_url.command("set")
@click.argument("bin_", metavar="BIN")
@click.argument("target")
@click.option(
    "--event",
    "events",
    multiple=True,
    type=click.Choice(EVENT_TYPES),
    help="A notification type to receive (repeat); default: decision only.",
)
@URL
@TRADER_KEY
@TRADER_CERT
def notify_url_set(
    bin_: str, target: str, events: tuple[str, ...], url: str, key: Path, cert: Path
) -> None:
    """Send BIN's decisions (and the progress events chosen with --event) to TARGET (https://...)."""
    with _problems():
        client = trader_client(url, key, cert)
        chosen = list(events) if events else None
        click.echo(json.dumps(client.register_notification_url(bin_, target, events=chosen)))


@notify_url.command("show")
@click.argument("bin_", metavar="BIN")
@URL
@TRADER_KEY
@TRADER_CERT
def notify_url_show(bin_: str, url: str, key: Path, cert: Path) -> None:
    with _problems():
        found = trader_client(url, key, cert).notification_url(bin_)
    click.echo(json.dumps(found) if found else f"no notification URL is registered for {bin_}")


@notify_url.command("remove")
@click.argument("bin_", metavar="BIN")
@URL
@TRADER_KEY
@TRADER_CERT
def notify_url_remove(bin_: str, url: str, key: Path, cert: Path) -> None:
    with _problems():
        trader_client(url, key, cert).remove_notification_url(bin_)
    click.echo(say(Text("decisions of %(bin)s are no longer sent anywhere", bin=bin_)))


@click.group()
def notifications() -> None:
    """Decision notifications to traders: list them, send a failed one again."""


@notifications.command("list")
@click.option("--state", type=click.Choice(["pending", "delivered", "failed"]))
def notifications_list(state: str | None) -> None:
    with configured_services() as services:
        for n in services.notifications.listing(state):
            click.echo(
                f"{n.id:>6} {n.application_id:<24} {n.state:<9} "
                f"attempts={n.attempts} {n.url} {n.last_error or ''}"
            )


@notifications.command("retry")
@click.argument("ids", nargs=-1, type=int, required=True)
def notifications_retry(ids: tuple[int, ...]) -> None:
    """Send failed notifications again, to the URL registered now."""
    with configured_services() as services:
        for notification_id in ids:
            try:
                services.notifications.retry(notification_id)
            except (LookupError, ValueError) as exc:
                raise click.ClickException(str(exc)) from exc
            click.echo(
                say(
                    Text(
                        "notification %(notification_id)s: pending again",
                        notification_id=notification_id,
                    )
                )
            )
