"""Permits through the whole gateway (issue 20 item 4), on both databases: the veterinary
stand-in grants a permit with a balance; applications citing it skip the agency and write off at
release until it is exhausted; the next one is held and the exit says why; the exit judges the
permit on the day of exit; the agency's signed suspension holds an application not yet exited;
only the holder and the issuing agency read the permit."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.billing.permits import PermitBook
from gateway.cli.client import ApiProblem, GatewayClient
from gateway.cli.guarantee import guarantee_document
from gateway.cli.main import main
from gateway.decision.document import NS
from gateway.domain.identifiers import Bin, HsCode
from gateway.payments.permits import Permit, Quantity
from gateway.storage.permits import PermitStore
from gateway.trust.xmlparse import parse_xml
from gateway.trust.xmlsig import sign_enveloped
from simulators.treasury import RunningTreasury
from tests.checkpoint.conftest import Checkpoint, fresh_plate
from tests.conftest import SAMPLES, trader_identity
from tests.payments.settle import pay_in_full
from tests.payments.test_payment_flow import _cli_env
from wire import httpsig

ALTYN = "190340025677"
STAGES = ("entry", "radiation", "parameters", "scan", "documents")


def lamb(permit_id: str | None = None, kg: str = "18200") -> Callable[[bytes], bytes]:
    """The chilled-lamb sample with a new reference, entering at Nurzholy, citing `permit_id`."""

    def edit(raw: bytes) -> bytes:
        raw = raw.replace(
            b"<TraderReference>", f"<TraderReference>P{secrets.token_hex(4)}-".encode(), 1
        )
        raw = raw.replace(b"KZ-ZHIBEKZHOLY", b"KZ-NURZHOLY")
        raw = raw.replace(
            b'<Quantity unit="kg">18200</Quantity>', f'<Quantity unit="kg">{kg}</Quantity>'.encode()
        )
        if permit_id:
            raw = raw.replace(
                b"</InvoiceValue>",
                f'</InvoiceValue><PermitReference agency="veterinary">{permit_id}</PermitReference>'.encode(),
            )
        return raw

    return edit  # fmt: skip


def lodge(cp: Checkpoint, edit: Callable[[bytes], bytes]) -> str:
    raw = edit((SAMPLES / "chilled-lamb-import.xml").read_bytes())
    signed = sign_enveloped(parse_xml(raw), trader_identity(cp.pki, "trader-altyn"))
    application_id = str(cp.client.submit(signed)["id"])
    cp.wait_decided(application_id)
    return application_id


def book(cp: Checkpoint) -> PermitBook:
    return PermitBook(PermitStore(cp.services.store.engine, cp.clock), cp.clock)


def to_the_exit(cp: Checkpoint, plate: str, application_id: str) -> dict[str, Any]:
    assert cp.notice(plate, [application_id]).status_code == 202
    for stage in STAGES:
        cp.clock.advance(seconds=3)
        assert cp.stage(stage, plate).status_code == 201
    cp.clock.advance(seconds=3)
    return dict(cp.stage("exit", plate).json())


def plate() -> str:
    return f"{secrets.randbelow(900) + 100}PRM02"


def test_a_permit_written_off_across_applications_until_exhausted(
    checkpoint_with_treasury: tuple[Checkpoint, RunningTreasury], monkeypatch: pytest.MonkeyPatch
) -> None:
    cp, _treasury = checkpoint_with_treasury
    permits = book(cp)

    # The veterinary stand-in grants a permit for this consignment and one more like it.
    first = lodge(cp, lamb())
    assert cp.status(first)["verdict"] == "granted"
    [permit] = permits.permits.for_holder(ALTYN)
    assert (permit.agency, str(permit.granted), permit.hs_code.value) == (
        "veterinary", "36400.000 kg", "0204100000",
    )  # fmt: skip
    pay_in_full(cp.services, first)
    assert cp.status(first)["verdict"] == "released"
    assert permits.show(permit.permit_id)["balance"] == "18200.000"

    # A second application cites it: veterinary is not asked; its release exhausts the permit.
    second = lodge(cp, lamb(permit.permit_id))
    assert "veterinary" not in [c["agency"] for c in cp.status(second)["cases"]]
    pay_in_full(cp.services, second)
    assert cp.status(second)["verdict"] == "released"
    shown = permits.show(permit.permit_id)
    assert (shown["balance"], shown["state"]) == ("0.000", "exhausted")
    assert [w["applicationId"] for w in shown["writeOffs"]] == [first, second]

    # A third: paid, but held with the balance stated; the exit says why.
    third = lodge(cp, lamb(permit.permit_id, kg="500"))
    pay_in_full(cp.services, third)
    assert cp.status(third)["verdict"] == "held"
    [hold] = permits.holds(third)
    assert hold.code == "permit-balance-exceeded" and "0.000 kg left" in hold.detail
    kinds = [m.kind for m in cp.services.store.messages(third)]
    assert "permit-write-off-refused" in kinds and "permit-write-off" not in kinds
    held = to_the_exit(cp, plate(), third)
    assert held["status"] == "directed" and held["direction"]["lane"] == "permit-control"
    assert "0.000 kg left" in held["direction"]["why"]

    # Operators read it with `nsw permits`.
    _cli_env(cp.services, monkeypatch)
    printed = CliRunner().invoke(
        main, ["permits", "show", permit.permit_id], catch_exceptions=False
    )
    assert printed.exit_code == 0, printed.output
    assert "0.000 of 36400.000 kg\texhausted" in printed.output
    assert (
        f"{first}\t-18200.000 kg" in printed.output and f"{second}\t-18200.000 kg" in printed.output
    )
    listed = CliRunner().invoke(main, ["permits", "list"], catch_exceptions=False)
    assert f"held\t{third}\t{permit.permit_id}\tpermit-balance-exceeded" in listed.output
    unknown = CliRunner().invoke(main, ["permits", "show", "KZ-VET-NONE"])
    assert unknown.exit_code == 1 and "There is no permit KZ-VET-NONE." in unknown.output


def test_the_exit_judges_the_permit_on_the_day_of_exit(
    checkpoint_with_treasury: tuple[Checkpoint, RunningTreasury],
) -> None:
    cp, _treasury = checkpoint_with_treasury
    permits = book(cp)
    today = permits.today()
    # A permit whose last day is today (granted as the veterinary stand-in would, shorter).
    permits.grant(
        Permit(
            permit_id=f"KZ-VET-LAST-{secrets.token_hex(3)}", agency="veterinary",
            holder=Bin(ALTYN), hs_code=HsCode("0204100000"), description="Lamb carcasses",
            granted=Quantity(Decimal("20000"), "kg"), valid_from=today - dt.timedelta(days=29),
            valid_until=today,
        ),
        None,
    )  # fmt: skip
    [permit] = permits.permits.for_holder(ALTYN)
    application_id = lodge(cp, lamb(permit.permit_id))
    pay_in_full(cp.services, application_id)
    assert cp.status(application_id)["verdict"] == "released"  # valid on the day of release
    # The vehicle reaches the exit the next day: the permit has expired.
    cp.clock.advance(days=1)
    refused = to_the_exit(cp, plate(), application_id)
    assert refused["status"] == "directed" and refused["direction"]["lane"] == "permit-control"
    assert f"permit {permit.permit_id} expired on {today}" in refused["direction"]["why"]


def _agency_request(
    cp: Checkpoint, method: str, path: str, body: bytes = b"", agency: str = "veterinary"
) -> requests.Response:
    key = serialization.load_pem_private_key(
        (cp.pki.directory / f"agency-{agency}.key").read_bytes(), password=None
    )
    cert = x509.load_pem_x509_certificate((cp.pki.directory / f"agency-{agency}.pem").read_bytes())
    assert isinstance(key, rsa.RSAPrivateKey)
    headers = {"Content-Type": "application/json"} if body else {}
    message = httpsig.HttpMessage(headers, method=method, url=f"{cp.url}{path}")
    components = (
        httpsig.REQUEST_COMPONENTS if body else ("@method", "@target-uri", "content-digest")
    )
    httpsig.sign(message.view(), body, key, cert, now=cp.clock(), components=components)
    return requests.request(
        method, f"{cp.url}{path}", data=body, headers=message.headers, timeout=30
    )


def test_the_agency_suspends_a_permit_and_an_application_not_exited_is_held(
    checkpoint_with_treasury: tuple[Checkpoint, RunningTreasury],
) -> None:
    cp, _treasury = checkpoint_with_treasury
    first = lodge(cp, lamb())
    [permit] = book(cp).permits.for_holder(ALTYN)
    pay_in_full(cp.services, first)
    path = f"/api/v1/permits/{permit.permit_id}"

    # Read by the issuing agency (signed with its pinned key), not by an unsigned caller.
    read = _agency_request(cp, "GET", path)
    assert read.status_code == 200, read.text
    assert read.json()["writeOffs"][0]["applicationId"] == first
    assert requests.get(f"{cp.url}{path}", timeout=30).status_code == 401
    # Read by its holder (a trader-signed read); another trader gets the same 404 as for nothing.
    holder = GatewayClient(cp.url, identity=trader_identity(cp.pki, "trader-altyn"))
    assert holder.permit(permit.permit_id)["balance"] == "18200.000"
    steppe = trader_identity(cp.pki, "trader-steppe")
    cp.services.trader_certs.register(cp.services.trust.verify(steppe.certificate), "test")
    with pytest.raises(ApiProblem) as other:
        GatewayClient(cp.url, identity=steppe).permit(permit.permit_id)
    assert other.value.status == 404

    # Another agency's change is refused and changes nothing; the issuing agency's holds `first`.
    change = json.dumps(
        {"agency": "veterinary", "action": "suspend", "reason": "outbreak"}
    ).encode()
    forged = requests.post(f"{cp.url}{path}/standing", data=change, headers={"Content-Type": "application/json"}, timeout=30)  # fmt: skip
    assert forged.status_code == 401
    assert forged.json()["type"] == "urn:kz:nsw:problem:permit-standing-signature-invalid"
    other_agency = json.dumps({"agency": "phytosanitary", "action": "revoke"}).encode()
    refused = _agency_request(cp, "POST", f"{path}/standing", other_agency, agency="phytosanitary")
    assert refused.status_code == 403
    assert refused.json()["type"] == "urn:kz:nsw:problem:not-your-permit"
    assert book(cp).permit(permit.permit_id).standing.value == "active"
    done = _agency_request(cp, "POST", f"{path}/standing", change)
    assert done.status_code == 200, done.text
    assert done.json() == {"permitId": permit.permit_id, "standing": "suspended", "applications": [first]}  # fmt: skip
    assert [h.code for h in book(cp).holds(first)] == ["permit-suspended"]
    held = to_the_exit(cp, plate(), first)
    assert held["status"] == "directed" and "suspended" in held["direction"]["why"]

    # A paid application the suspension caught before its release is released on reinstatement.
    second = lodge(cp, lamb(permit.permit_id, kg="1000"))
    pay_in_full(cp.services, second)
    # Paid, but held: its signed decision says so, names the payment and the hold's reason.
    assert cp.status(second)["verdict"] == "held"
    held_xml = cp.services.store.decision_xml(second)
    assert held_xml is not None
    decision = parse_xml(held_xml)
    assert decision.findtext(f"{{{NS}}}Outcome") == "held"
    assert decision.find(f"{{{NS}}}Hold").get("code") == "permit-suspended"
    assert decision.find(f"{{{NS}}}Payment") is not None
    assert (decision.findtext(f"{{{NS}}}Summary") or "").startswith("HELD — paid, not released")
    assert [h.code for h in book(cp).holds(second)] == ["permit-suspended"]
    back = json.dumps({"agency": "veterinary", "action": "reinstate"}).encode()
    reinstated = _agency_request(cp, "POST", f"{path}/standing", back)
    assert reinstated.status_code == 200, reinstated.text
    assert cp.status(second)["verdict"] == "released" and book(cp).holds() == []
    assert book(cp).permit(permit.permit_id).balance.value == Decimal("17200")
    kinds = [m.kind for m in cp.services.store.messages(first)]
    assert "permit-granted" in kinds and "permit-write-off" in kinds


def test_a_secured_application_held_for_a_suspension_says_held_until_reinstated(
    checkpoint_with_treasury: tuple[Checkpoint, RunningTreasury],
) -> None:
    cp, _treasury = checkpoint_with_treasury
    first = lodge(cp, lamb())
    [permit] = book(cp).permits.for_holder(ALTYN)
    pay_in_full(cp.services, first)
    path = f"/api/v1/permits/{permit.permit_id}"
    suspend = json.dumps({"agency": "veterinary", "action": "suspend"}).encode()
    assert _agency_request(cp, "POST", f"{path}/standing", suspend).status_code == 200

    # Customs accepts the guarantee, but the cited permit is suspended: secured and held.
    second = lodge(cp, lamb(permit.permit_id, kg="1000"))
    owed = cp.client.payment_order(second)["order"]["total"]
    reference = f"KZ-BG-9{secrets.randbelow(10**10):010d}"
    offer = guarantee_document(
        second, reference, "bank-guarantee", "960340000158", owed, "KZT",
        dt.date.today() + dt.timedelta(days=30),
    )  # fmt: skip
    offered = requests.post(
        f"{cp.url}/api/v1/applications/{second}/guarantee",
        data=sign_enveloped(offer, trader_identity(cp.pki, "trader-altyn")),
        headers={"Content-Type": "application/xml"},
        timeout=30,
    )
    assert offered.status_code == 200, offered.text
    assert offered.json()["outcome"] == "held"
    assert cp.status(second)["verdict"] == "held"
    decision = parse_xml(cp.client.decision(second) or b"")
    assert decision.findtext(f"{{{NS}}}Outcome") == "held"
    assert decision.find(f"{{{NS}}}Hold").get("code") == "permit-suspended"
    assert decision.find(f"{{{NS}}}Guarantee").get("reference") == reference
    summary = decision.findtext(f"{{{NS}}}Summary") or ""
    assert summary.startswith(f"HELD — secured by guarantee {reference}, not released")

    # Paid while held: still held; the reinstatement releases it, paid, the guarantee discharged.
    pay_in_full(cp.services, second)
    assert cp.status(second)["verdict"] == "held"
    back = json.dumps({"agency": "veterinary", "action": "reinstate"}).encode()
    assert _agency_request(cp, "POST", f"{path}/standing", back).status_code == 200
    assert cp.status(second)["verdict"] == "released"
    released = parse_xml(cp.client.decision(second) or b"")
    assert released.findtext(f"{{{NS}}}Outcome") == "released"
    assert released.find(f"{{{NS}}}Guarantee").get("reference") == reference
    assert released.find(f"{{{NS}}}Guarantee").get("dischargedAt") is not None
    assert released.find(f"{{{NS}}}Payment") is not None
    kinds = [m.kind for m in cp.services.store.messages(second)]
    assert kinds.count("guarantee-discharged") == 1
    assert book(cp).permit(permit.permit_id).balance.value == Decimal("17200")


def test_the_phytosanitary_stand_in_grants_a_permit_with_a_balance_too(
    checkpoint_with_treasury: tuple[Checkpoint, RunningTreasury],
) -> None:
    cp, _treasury = checkpoint_with_treasury
    apples = cp.lodge("fresh-apples-import", fresh_plate("123ABC02"))
    [permit] = book(cp).permits.for_holder("210540012341")
    phyto = next(c for c in cp.status(apples)["cases"] if c["agency"] == "phytosanitary")
    assert (permit.permit_id, permit.agency, permit.unit) == (
        phyto["permit_number"],
        "phytosanitary",
        "kg",
    )
    pay_in_full(cp.services, apples)
    assert cp.status(apples)["verdict"] == "released"
    after = book(cp).permit(permit.permit_id)
    assert after.written_off.value * 2 == after.granted.value  # its own consignment, written off
