"""`nsw withdraw ID --reason CODE` and `nsw amend ID FILE` (issue 19): the trader's own software
signs the withdrawal or the new version with the trader's key, as `nsw sign` does, and lodges it.
`nsw amend` reads the application's current version first (a signed read) and names it in
`<Amends>`, so a trader amends what is there now or is told which version is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from lxml import etree

from gateway.cli.options import TRADER_CERT, TRADER_KEY, URL, signing_identity, trader_client
from gateway.i18n.cli import say
from gateway.i18n.text import Text

NS = "urn:kz:nsw:application:1"
WITHDRAWAL_NS = "urn:kz:nsw:withdrawal:1"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
CHAIN = click.option(
    "--chain", type=click.Path(exists=True, path_type=Path), multiple=True,
    help="Certificates between yours and the root, put in the signature (the issuing CA).",
)  # fmt: skip
JSON_OUT = click.option("--json", "as_json", is_flag=True, help="Print the gateway's JSON answer.")


def withdrawal_document(application_id: str, reason: str, note: str | None) -> etree._Element:
    root = etree.Element(f"{{{WITHDRAWAL_NS}}}Withdrawal", nsmap={None: WITHDRAWAL_NS})
    etree.SubElement(root, f"{{{WITHDRAWAL_NS}}}ApplicationId").text = application_id
    etree.SubElement(root, f"{{{WITHDRAWAL_NS}}}Reason").text = reason
    if note:
        etree.SubElement(root, f"{{{WITHDRAWAL_NS}}}Note").text = note
    return root


def with_amends(document: etree._Element, application_id: str, sha256: str, version: int) -> None:
    """Name the version replaced: `<Amends>` after Documents, before any signature (replacing
    an `<Amends>` the file already had, and dropping an old signature: it is signed anew)."""
    for old in document.findall(f"{{{NS}}}Amends") + document.findall(f"{{{DS_NS}}}Signature"):
        document.remove(old)
    amends = etree.SubElement(document, f"{{{NS}}}Amends")
    amends.set("id", application_id)
    amends.set("sha256", sha256)
    amends.set("version", str(version))


def current_version(status: dict[str, Any]) -> int:
    versions = status.get("versions") or []
    return int(versions[-1]["version"]) if versions else 1


@click.command()
@click.argument("application_id")
@click.option("--reason", required=True, help="A reason code of mappings/lifecycle.toml.")
@click.option("--note", help="A sentence for the agencies (the reason 'other' wants one).")
@URL
@TRADER_KEY
@TRADER_CERT
@CHAIN
@JSON_OUT
def withdraw(
    application_id: str, reason: str, note: str | None, url: str, key: Path, cert: Path,
    chain: tuple[Path, ...], as_json: bool,
) -> None:  # fmt: skip
    """Withdraw an application: signed with your key, it cancels every open case and permit."""
    from gateway.trust.xmlsig import sign_enveloped

    identity = signing_identity(key, cert, *chain)
    signed = sign_enveloped(withdrawal_document(application_id, reason, note), identity)
    answer = trader_client(url, key, cert).withdraw(application_id, signed)
    if as_json:
        click.echo(json.dumps(answer, indent=2))
        return
    cancelling = ", ".join(answer["cancelling"]) or "none"
    click.echo(
        say(
            Text(
                "%(application_id)s: withdrawn; cancelling at %(cancelling)s",
                application_id=application_id,
                cancelling=cancelling,
            )
        )
    )
    click.echo(
        say(
            Text(
                "  withdrawn decision (signed by the gateway): sha256 %(answer)s",
                answer=answer["decision_sha256"],
            )
        )
    )


@click.command()
@click.argument("application_id")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@URL
@TRADER_KEY
@TRADER_CERT
@CHAIN
@JSON_OUT
def amend(
    application_id: str, file: Path, url: str, key: Path, cert: Path, chain: tuple[Path, ...],
    as_json: bool,
) -> None:  # fmt: skip
    """Lodge FILE (the whole application, corrected) as the application's next version."""
    from gateway.errors import GatewayError
    from gateway.trust.xmlparse import parse_xml
    from gateway.trust.xmlsig import sign_enveloped

    client = trader_client(url, key, cert)
    status = client.status(application_id)
    try:
        document = parse_xml(file.read_bytes())
    except GatewayError as exc:
        raise click.ClickException(f"{file}: {exc.detail}") from exc
    if document.tag != f"{{{NS}}}Application":
        raise click.ClickException(
            say(Text("%(file)s is not a single-window application.", file=file))
        )
    with_amends(document, application_id, status["application_sha256"], current_version(status))
    signed = sign_enveloped(document, signing_identity(key, cert, *chain))
    answer = client.amend(application_id, signed)
    if as_json:
        click.echo(json.dumps(answer, indent=2))
        return
    agencies = answer["agencies"]
    click.echo(
        say(
            Text(
                "%(application_id)s: version %(answer)s accepted",
                application_id=application_id,
                answer=answer["version"],
            )
        )
    )
    for change in answer["changes"]:
        click.echo(say(Text("  changed: %(change)s", change=change)))
    for kind in ("reopened", "added", "cancelled", "untouched"):
        if agencies.get(kind):
            click.echo(f"  {kind}: {', '.join(agencies[kind])}")
