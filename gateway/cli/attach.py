"""`nsw attach ID FILE...`: upload the supporting documents a lodged application lists (issue 19,
item 3), each a signed PUT by its SHA-256; the gateway accepts only the bytes the signed entry
names (size, digest, media type judged by content)."""

from __future__ import annotations

from pathlib import Path

import click

from gateway.cli.options import TRADER_CERT, TRADER_KEY, URL, trader_client
from gateway.i18n.cli import say
from gateway.i18n.text import Text


@click.command()
@click.argument("application_id")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@URL
@TRADER_KEY
@TRADER_CERT
def attach(application_id: str, files: tuple[Path, ...], url: str, key: Path, cert: Path) -> None:
    """Upload FILES, documents the signed application ID lists (Documents/Document with
    MediaType, Size and SHA256). Stops at the first refusal, saying why; exits 1 then."""
    from gateway.cli.client import ApiProblem

    client = trader_client(url, key, cert)
    for file in files:
        try:
            answer = client.attach(application_id, file.read_bytes())
        except ApiProblem as exc:
            raise click.ClickException(f"{file}: {exc}") from exc
        click.echo(
            say(
                Text(
                    "%(file)s: %(type)s %(number)s (%(media_type)s, %(size)s bytes, SHA-256 "
                    "%(sha256)s) "
                    "uploaded",
                    file=file,
                    type=answer["type"],
                    number=answer["number"],
                    media_type=answer["media_type"],
                    size=answer["size"],
                    sha256=answer["sha256"],
                )
            )
        )
