"""`nsw applications list`: a trader's own applications, newest first (requests signed with the
trader's key, like `nsw status`). A table for people, `--json` for programs; `--all` follows the
gateway's `next` links to the last page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from gateway.cli.options import TRADER_CERT, TRADER_KEY, URL, trader_client
from gateway.i18n.cli import say
from gateway.i18n.text import Text

COLUMNS = ("id", "trader_reference", "state", "verdict", "received_at", "decided_at")
HEADINGS = ("ID", "REFERENCE", "STATE", "VERDICT", "RECEIVED", "DECIDED")


def table_lines(items: list[dict[str, Any]]) -> list[str]:
    """A heading and one line per application, columns as wide as their widest value."""
    rows = [HEADINGS, *(tuple(str(item.get(c) or "-") for c in COLUMNS) for item in items)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


@click.group()
def applications() -> None:
    """Your applications, as the gateway has them (requests signed with your key)."""


@applications.command("list")
@click.option(
    "--declarant",
    required=True,
    help="The BIN whose applications to list: yours, or one you are registered to represent.",
)
@click.option("--state", help="Only applications in this state (in_progress, decided).")
@click.option(
    "--since", help="Only those received at or after this RFC 3339 time, e.g. 2026-12-07T00:00:00Z."
)
@click.option("--limit", type=click.IntRange(1, 100), help="Applications per page [gateway: 20].")
@click.option("--all", "every_page", is_flag=True, help="Follow the pages to the last one.")
@click.option("--json", "as_json", is_flag=True, help="Print the gateway's JSON answer.")
@TRADER_KEY
@TRADER_CERT
@URL
def list_applications(
    declarant: str,
    state: str | None,
    since: str | None,
    limit: int | None,
    every_page: bool,
    as_json: bool,
    key: Path,
    cert: Path,
    url: str,
) -> None:
    """List a declarant's applications, newest first, one page (--all: every page).

    With --json and --all, prints one document holding the items of every page."""
    client = trader_client(url, key, cert)
    page: dict[str, Any] | None = client.applications(
        declarant, state=state, since=since, limit=limit
    )
    items: list[dict[str, Any]] = []
    last: dict[str, Any] = {}
    while page is not None:
        items.extend(page["items"])
        last = page
        page = client.next_page(page) if every_page else None
    if as_json:
        document = last if not every_page else {**last, "items": items, "links": {}}
        click.echo(json.dumps(document, indent=2))
        return
    if not items:
        click.echo(
            say(Text("no applications of %(declarant)s match", declarant=declarant)), err=True
        )
        return
    for line in table_lines(items):
        click.echo(line)
    if last.get("links", {}).get("next"):
        click.echo(say(Text("more applications follow: --all lists every page")), err=True)
