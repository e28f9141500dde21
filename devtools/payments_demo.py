"""The payment part of `nsw demo` (issue 20): the stand-in treasury as a process, a signed payment
order read by its declarant, `nsw pay` through the treasury, and the released decision after it;
a veterinary permit written off across two applications until exhausted, and a third held."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from devtools.processes import ProcessGroup, free_port
from gateway.billing.service import kz_day
from gateway.billing.wiring import build_payments
from gateway.bootstrap import Services
from gateway.cli.client import GatewayClient
from gateway.clock import system_clock
from gateway.payments.money import Money
from gateway.payments.settlement import Confirmation, Settlement
from gateway.trust.certificates import TrustStore
from gateway.trust.xmlparse import parse_xml
from gateway.trust.xmlsig import verify_enveloped
from simulators.treasury import ACCOUNT

DEC = "{urn:kz:nsw:decision:1}"


def start_treasury(group: ProcessGroup, pki_dir: Path, gateway_port: int) -> dict[str, str]:
    """Start the stand-in treasury, confirming payments to the gateway that will listen on
    `gateway_port`; returns the gateway's settings for it."""
    port = free_port()
    callback = f"http://127.0.0.1:{gateway_port}/api/v1/payments/callback"
    url = group.start(
        "treasury",
        ["-m", "simulators", "treasury", "--port", str(port), "--pki-dir", str(pki_dir),
         "--callback-url", callback],
        port,
        {},
        ready="/openapi.json",
    )  # fmt: skip
    return {"NSW_TREASURY_URL": url, "NSW_PAYEE_ACCOUNT": ACCOUNT}


def pay(env: dict[str, str], application_id: str) -> tuple[bool, str]:
    """`nsw pay ID`, as a person would type it; (succeeded, what it printed)."""
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli.main", "pay", application_id],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode == 0, (done.stdout + done.stderr).strip()


def show_order(reader: GatewayClient, application_id: str, echo: Callable[[str], None]) -> dict:  # type: ignore[type-arg]
    """Print the application's payment order as its declarant reads it (a signed read)."""
    state = reader.payment_order(application_id)
    order = state["order"]
    echo(
        f"   {application_id}  order {order['paymentReference']}: "
        f"{order['total'] / 100:,.2f} {order['currency']} due {order['due']} "
        f"to {order['payeeAccount']} (signed: {state['signature'][:24]}...)"
    )
    for line in order["lines"]:
        echo(
            f"      {line['kind']:<13} {line['amount'] / 100:>14,.2f} {order['currency']}  "
            f"KBK {line['kbk'] or '-':<6}  {line['legalBasis']}"
        )
    return state


def pay_and_release(
    reader: GatewayClient,
    application_id: str,
    env: dict[str, str],
    pki_dir: Path,
    ok: Callable[[str], None],
    bad: Callable[[str], None],
) -> int:
    """`nsw pay`, then the released decision (signed, naming the paid order)."""
    paid, output = pay(env, application_id)
    for line in output.splitlines():
        print(f"      {line}", flush=True)
    if not paid:
        bad(f"{application_id}: nsw pay failed")
        return 1
    xml = reader.decision(application_id) or b""
    verified = verify_enveloped(
        parse_xml(xml), TrustStore.from_directory(pki_dir, system_clock), now=system_clock()
    )
    outcome = verified.signed.findtext(f"{DEC}Outcome")
    payment = verified.signed.find(f"{DEC}Payment")
    if outcome == "released" and payment is not None:
        ok(
            f"{application_id}: released, the signed decision names paid order {payment.get('reference')}"
        )
        return 0
    bad(f"{application_id}: {outcome} after payment, expected released")
    return 1


def settle_in_full(services: Services, application_id: str) -> Settlement:
    """Settle an application's order as if the treasury had confirmed it in full, without a
    treasury (screenshot traffic, tests of what follows payment). The real path is `pay`."""
    payments = build_payments(services.config, services)
    issued = payments.order(application_id)
    order = issued.order
    day = kz_day(services.clock())
    confirmation = Confirmation(
        payment_id=f"TRY-{day:%Y%m%d}-{secrets.randbelow(10**6):06d}",
        reference=str(order.reference),
        amount=order.total - Money(issued.received_minor, order.currency),
        payer=str(order.payer),
        paid_on=day,
    )
    return payments.confirm(confirmation, b'{"settled-by":"devtools.payments_demo"}')


LAMB = "chilled-lamb-import"


def citing(sample: bytes, permit_id: str, reference: str, kg: str) -> bytes:
    """The lamb sample as a further consignment (new reference, `kg` of it) citing `permit_id`."""
    return (
        sample.replace(b"<TraderReference>", f"<TraderReference>{reference}-".encode(), 1)
        .replace(b'<Quantity unit="kg">18200</Quantity>', f'<Quantity unit="kg">{kg}</Quantity>'.encode())
        .replace(b"</InvoiceValue>", f'</InvoiceValue><PermitReference agency="veterinary">{permit_id}</PermitReference>'.encode())
    )  # fmt: skip


def show_permit(reader: GatewayClient, permit_id: str, echo: Callable[[str], None]) -> dict:  # type: ignore[type-arg]
    """Print the permit as its holder reads it (a signed read)."""
    p = reader.permit(permit_id)
    echo(f"   permit {p['permitId']} ({p['agency']}, holder {p['holder']}): {p['balance']} of "
         f"{p['granted']} {p['unit']} left, {p['state']}, valid until {p['validUntil']}")  # fmt: skip
    for w in p["writeOffs"]:
        echo(f"      {w['day']}  {w['applicationId']}  -{w['quantity']} {p['unit']}")
    return p


def permit_story(
    client: GatewayClient,
    reader: GatewayClient,
    first: str,
    sample: bytes,
    env: dict[str, str],
    pki_dir: Path,
    ok: Callable[[str], None],
    bad: Callable[[str], None],
) -> int:
    """The lamb's veterinary permit covers two consignments: the first one's release writes it
    off, a second application cites it and exhausts it, a third citing it is paid but held."""
    from gateway.trust.xmlsig import sign_enveloped

    failures = 0
    reader.wait_for_decision(first, deadline_s=60)
    vet = next(c for c in reader.status(first)["cases"] if c["agency"] == "veterinary")
    permit_id = vet["permit_number"]
    failures += pay_and_release(reader, first, env, pki_dir, ok, bad)
    show_permit(reader, permit_id, print)
    identity = reader.identity
    assert identity is not None
    for n, kg in ((2, "18200"), (3, "1000")):
        signed = sign_enveloped(parse_xml(citing(sample, permit_id, f"PERMIT{n}", kg)), identity)
        answer = client.submit(signed)
        application_id = answer["id"]
        ok(f"{application_id} cites {permit_id} for {kg} kg -> {', '.join(answer['agencies'])}")
        if "veterinary" in answer["agencies"]:
            failures += 1
            bad("veterinary was asked again although a covering permit is cited")
        reader.wait_for_decision(application_id, deadline_s=60)
        if n == 2:
            failures += pay_and_release(reader, application_id, env, pki_dir, ok, bad)
            if show_permit(reader, permit_id, print)["state"] != "exhausted":
                failures += 1
                bad(f"{permit_id} is not exhausted after two consignments")
            continue
        paid, _output = pay(env, application_id)
        state = reader.status(application_id)
        if paid and state["verdict"] == "held":
            ok(f"{application_id}: paid, but held: nothing is left of {permit_id}")
        else:
            failures += 1
            bad(f"{application_id}: {state['verdict']} after payment, expected held for the permit")
        listed = subprocess.run(
            [sys.executable, "-m", "gateway.cli.main", "permits", "list"],
            env={**os.environ, **env}, capture_output=True, text=True, check=False,
        )  # fmt: skip
        for line in listed.stdout.splitlines():
            if line.startswith("held"):
                print(f"      nsw permits list: {line}", flush=True)
    return failures


def guarantee_story(
    client: GatewayClient,
    reader: GatewayClient,
    sample: bytes,
    ok: Callable[[str], None],
    bad: Callable[[str], None],
) -> int:
    """A third apples consignment is released on a guarantee instead of payment: a guarantee too
    small for its charges is refused by customs, a bank guarantee customs knows releases it."""
    from gateway.cli.client import ApiProblem
    from gateway.cli.guarantee import DEMO_BANK_BIN, guarantee_document
    from gateway.trust.xmlsig import sign_enveloped

    identity = reader.identity
    assert identity is not None
    lodged = sign_enveloped(
        parse_xml(sample.replace(b"<TraderReference>", b"<TraderReference>SECURED-", 1)), identity
    )
    application_id = client.submit(lodged)["id"]
    reader.wait_for_decision(application_id, deadline_s=60)
    owed = reader.payment_order(application_id)["order"]["total"]
    failures = 0
    until = kz_day(system_clock()) + dt.timedelta(days=365)
    for reference in ("KZ-BG-0010", "KZ-BG-0001"):
        offer = guarantee_document(
            application_id, reference, "bank-guarantee", DEMO_BANK_BIN, owed, "KZT", until
        )
        try:
            answer = reader.guarantee(application_id, sign_enveloped(offer, identity))
        except ApiProblem as refused:
            ok(f"{application_id}: guarantee {reference} refused ({refused.problem.get('type')})")
            continue
        if not answer["released"]:
            failures += 1
            bad(f"{application_id}: guarantee {reference} accepted but not released")
    xml = reader.decision(application_id) or b""
    summary = parse_xml(xml).findtext(f"{DEC}Summary") or ""
    if "secured by guarantee KZ-BG-0001" in summary:
        ok(f"{application_id}: {summary.split(';')[0]}, {owed / 100:,.2f} KZT still to pay")
    else:
        failures += 1
        bad(f"{application_id}: the decision says {summary!r}, expected secured by KZ-BG-0001")
    return failures
