"""`nsw guarantee ID --ref REF` (issue 20 item 3): the trader's software offers a guarantee as
security for an application's customs payments, signed with the trader's key like a
withdrawal; customs checks it and an accepted one releases the application (secured)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click
from lxml import etree

from gateway.cli.lifecycle import CHAIN, JSON_OUT
from gateway.cli.options import TRADER_CERT, TRADER_KEY, URL, signing_identity, trader_client
from gateway.i18n.cli import say
from gateway.i18n.text import Text

NS = "urn:kz:nsw:guarantee:1"
DEMO_BANK_BIN = "960340000158"  # the customs stand-in's invented bank (simulators/guarantees.py)


def guarantee_document(
    application_id: str, reference: str, kind: str, guarantor: str, amount_minor: int,
    currency: str, valid_until: dt.date,
) -> etree._Element:  # fmt: skip
    root = etree.Element(f"{{{NS}}}GuaranteeOffer", nsmap={None: NS})
    for name, value in (
        ("ApplicationId", application_id),
        ("Reference", reference),
        ("Kind", kind),
        ("GuarantorBIN", guarantor),
        ("Amount", str(amount_minor)),
        ("ValidUntil", valid_until.isoformat()),
    ):
        etree.SubElement(root, f"{{{NS}}}{name}").text = value
    amount = root.find(f"{{{NS}}}Amount")
    assert amount is not None
    amount.set("currency", currency)
    return root


@click.command()
@click.argument("application_id")
@click.option("--ref", "reference", required=True, help="The guarantee's reference.")
@click.option("--guarantor", default=DEMO_BANK_BIN, show_default=True,
              help="The BIN of the bank or surety that gives the guarantee.")  # fmt: skip
@click.option("--kind", type=click.Choice(["bank-guarantee", "surety"]), default="bank-guarantee",
              show_default=True)  # fmt: skip
@click.option("--amount", "amount_minor", type=click.IntRange(min=1),
              help="Minor units it secures (tiyn); default: the payment order's total.")  # fmt: skip
@click.option("--currency", default="KZT", show_default=True)
@click.option("--valid-until", type=click.DateTime(["%Y-%m-%d"]),
              help="Last day it is valid; default: a year from today.")  # fmt: skip
@URL
@TRADER_KEY
@TRADER_CERT
@CHAIN
@JSON_OUT
def guarantee(
    application_id: str, reference: str, guarantor: str, kind: str, amount_minor: int | None,
    currency: str, valid_until: dt.datetime | None, url: str, key: Path, cert: Path,
    chain: tuple[Path, ...], as_json: bool,
) -> None:  # fmt: skip
    """Offer a guarantee for an unpaid application: customs checks it; accepted, it releases."""
    from gateway.trust.xmlsig import sign_enveloped

    client = trader_client(url, key, cert)
    if amount_minor is None:
        order = client.payment_order(application_id)["order"]
        amount_minor, currency = int(order["total"]), str(order["currency"])
    until = valid_until.date() if valid_until else dt.date.today() + dt.timedelta(days=365)
    document = guarantee_document(
        application_id, reference, kind, guarantor, amount_minor, currency, until
    )
    signed = sign_enveloped(document, signing_identity(key, cert, *chain))
    answer = client.guarantee(application_id, signed)
    if as_json:
        click.echo(json.dumps(answer, indent=2))
        return
    if answer["released"]:
        line = Text(
            "%(application_id)s: released — secured by guarantee %(reference)s",
            application_id=application_id,
            reference=reference,
        )
    else:
        line = Text(
            "%(application_id)s: guarantee %(reference)s accepted, but held for a permit",
            application_id=application_id,
            reference=reference,
        )
    click.echo(say(line))
