"""`nsw pay ID` (the demo's payer, through the treasury stand-in) and `nsw payments ...`
(reconcile a day, list refunds owed). Both use the configured database and treasury (NSW_*)."""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time

import click

from gateway.cli.options import configured_services
from gateway.config import load_config
from gateway.i18n.cli import say, say_read
from gateway.i18n.text import Text
from gateway.payments.check_digits import Iban
from gateway.payments.money import Money


def _demo_account(bin_: str) -> str:
    """An invented payer account at the stand-in's bank code 998 (valid check digits)."""
    return str(Iban.make("998", f"KZT{bin_[-10:]}"))


@click.command()
@click.argument("application_id")
@click.option("--amount", help="In major units (e.g. 1250.50); default: what is outstanding.")
@click.option("--wait", "wait_s", type=float, default=30.0, show_default=True,
              help="Seconds to wait for the treasury's confirmation to be settled.")  # fmt: skip
def pay(application_id: str, amount: str | None, wait_s: float) -> None:
    """Pay an application's payment order through the treasury (demo and tests)."""
    from gateway.billing.wiring import build_payments

    config = load_config()
    with configured_services() as services:
        payments = build_payments(config, services)
        if payments.treasury is None:
            raise click.ClickException(
                say(
                    Text(
                        "No treasury is configured: set NSW_TREASURY_URL (and NSW_TREASURY_CERT "
                        "unless agency-treasury.pem is in the PKI directory)."
                    )
                )
            )
        try:
            issued = payments.order(application_id)
        except Exception as exc:
            raise click.ClickException(getattr(exc, "detail", str(exc))) from exc
        order = issued.order
        outstanding = order.total - Money(issued.received_minor, order.currency)
        paying = Money.parse(amount, order.currency) if amount else outstanding
        if paying.minor <= 0:
            raise click.ClickException(
                say(Text("Nothing is outstanding on %(reference)s.", reference=order.reference))
            )
        payer = {
            "bin": str(order.payer),
            "name": f"Declarant {order.payer}",
            "account": _demo_account(str(order.payer)),
        }
        answer = payments.treasury.pay(
            f"{order.reference}-{secrets.token_hex(4)}",
            str(order.reference),
            paying.minor,
            paying.currency,
            payer,
        )
        payment_id = answer["paymentId"]
        click.echo(
            say(
                Text(
                    "paid %(paying)s for %(reference)s: treasury payment %(payment_id)s",
                    paying=paying,
                    reference=order.reference,
                    payment_id=payment_id,
                )
            )
        )
        deadline = time.monotonic() + wait_s
        while True:
            found = [
                r.settlement
                for r in payments.orders.settlements(str(order.reference))
                if r.settlement.confirmation.payment_id == payment_id
            ]
            if found:
                click.echo(f"{found[0].outcome.value}: {say_read(found[0].detail)}")
                return
            if time.monotonic() > deadline:
                raise click.ClickException(
                    f"The treasury took payment {payment_id}, but its confirmation has not "
                    f"reached the gateway within {wait_s:g} s; `nsw payments reconcile` finds it."
                )
            threading.Event().wait(0.2)


@click.group()
def payments() -> None:
    """Payment orders and the treasury."""


@payments.command("reconcile")
@click.option("--date", "day", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="The value date (YYYY-MM-DD) of the treasury's statement.")  # fmt: skip
def reconcile(day: dt.datetime) -> None:
    """Compare the treasury's signed statement of a day with the payments the gateway recorded;
    list every difference and exit 1 if there is any."""
    from gateway.billing.wiring import build_payments

    config = load_config()
    with configured_services() as services:
        result = build_payments(config, services).reconcile(day.date())
    state = "final" if result.final else "not final (the day is not over)"
    if not result.differences:
        click.echo(
            say(
                Text(
                    "%(day)s: the statement (%(state)s) and the gateway agree",
                    day=result.day,
                    state=state,
                )
            )
        )
        return
    for d in result.differences:
        click.echo(f"{d.kind.value}\t{d.payment_id}\t{d.reference}\t{say_read(d.detail)}")
    raise click.ClickException(
        say(
            Text(
                "%(day)s: %(differences)s difference(s) with the treasury's statement (%(state)s)",
                day=result.day,
                differences=len(result.differences),
                state=state,
            )
        )
    )


@payments.command("refunds")
def refunds() -> None:
    """Every payment of which something is owed back to the payer."""
    from gateway.billing.wiring import build_payments

    config = load_config()
    with configured_services() as services:
        owed = build_payments(config, services).orders.refunds_owed()
    for r in owed:
        s = r.settlement
        c = s.confirmation
        click.echo(
            f"{c.payment_id}\t{c.reference}\t{s.refund_owed}\t{s.reason}\t{say_read(s.detail)}"
        )
    if not owed:
        click.echo(say(Text("no refunds owed")))
