"""A guarantee as security for payment (issue 20 item 3), on both databases, with the real
customs stand-in (CheckGuarantee over WS-Security) and the stand-in treasury.

Offer -> customs accepts -> released, secured (a new signed decision naming the guarantee) -> the
exit opens; each refusal (customs' reason codes, and the gateway's own checks) is its own problem
type with nothing changed and the attempt in the trail; a later payment discharges the
guarantee."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from typing import Any

import pytest
import requests
from click.testing import CliRunner, Result
from lxml import etree

from adapters.base import GuaranteeAnswer, GuaranteeQuery
from adapters.soap import SoapAdapter
from gateway.bootstrap import Services
from gateway.cli.guarantee import guarantee_document
from gateway.cli.lifecycle import withdrawal_document
from gateway.cli.main import main
from gateway.pki.dev import DevPki
from gateway.resources import contracts_root
from gateway.trust.xmlparse import parse_xml
from gateway.trust.xmlsig import sign_enveloped
from simulators.server import RunningAgency
from simulators.treasury import ACCOUNT, RunningTreasury
from tests.checkpoint.conftest import Checkpoint, MovableClock, fresh_plate
from tests.conftest import SAMPLES, trader_identity
from tests.gateway_fixtures import KeyringClient
from tests.payments.settle import pay_in_full
from tests.payments.test_payment_flow import _cli_env
from tests.polling import wait_until

DEC = "{urn:kz:nsw:decision:1}"
STAGES = ("entry", "radiation", "parameters", "scan", "documents")
PLATE = "456GUA02"
BANK_BIN, SURETY_BIN = "960340000158", "991140000015"


def fresh(series: str = "KZ-BG-9") -> str:
    """A reference of the stand-in's open series: a valid, unused guarantee (the customs
    stand-in outlives a test and remembers what each guarantee secures)."""
    return f"{series}{secrets.randbelow(10**10):010d}"


def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(
        etree.parse(str(contracts_root() / "wsdl" / "application" / "decision.xsd"))
    )


def _offer(cp: Checkpoint, application_id: str, *args: str) -> Result:
    """`nsw guarantee ID ...` signed with the declarant's (Steppe Agro's) key."""
    pki = cp.pki
    return CliRunner().invoke(
        main,
        ["guarantee", application_id, "--url", cp.url, "--key", str(pki.key_path("trader-steppe")),
         "--cert", str(pki.cert_path("trader-steppe")), "--json", *args],
    )  # fmt: skip


def _post_offer(
    cp: Checkpoint,
    application_id: str,
    reference: str,
    *,
    guarantor: str = BANK_BIN,
    amount_minor: int | None = None,
    valid_until: dt.date | None = None,
) -> requests.Response:
    """POST a signed offer (by the declarant, Steppe Agro) for the order's total by default."""
    owed = cp.client.payment_order(application_id)["order"]["total"]
    document = guarantee_document(
        application_id, reference, "bank-guarantee", guarantor, amount_minor or owed, "KZT",
        valid_until or dt.date.today() + dt.timedelta(days=30),
    )  # fmt: skip
    signed = sign_enveloped(document, trader_identity(cp.pki, "trader-steppe"))
    return requests.post(
        f"{cp.url}/api/v1/applications/{application_id}/guarantee",
        data=signed,
        headers={"Content-Type": "application/xml"},
        timeout=30,
    )


def _refused(cp: Checkpoint, application_id: str, reference: str, **offer: Any) -> dict[str, Any]:
    """The problem document a signed offer was refused with (checked: an error status)."""
    response = _post_offer(cp, application_id, reference, **offer)
    assert response.status_code >= 400, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    return problem


def _kinds(cp: Checkpoint, application_id: str) -> list[str]:
    return [m.kind for m in cp.services.store.messages(application_id)]


def withdraw(cp: Checkpoint, application_id: str) -> None:
    """POST a signed withdrawal (by the declarant, Steppe Agro); checked: 200."""
    withdrawal = sign_enveloped(
        withdrawal_document(application_id, "no-longer-shipping", None),
        trader_identity(cp.pki, "trader-steppe"),
    )
    answer = requests.post(
        f"{cp.url}/api/v1/applications/{application_id}/withdrawal",
        data=withdrawal,
        headers={"Content-Type": "application/xml"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text


def _released_at_customs(cp: Checkpoint, application_id: str, reference: str) -> bool:
    """Whether the application's guarantee `reference` shows as released by customs."""
    offers = cp.client.guarantees(application_id)["guarantees"]
    return any(o["reference"] == reference and o["state"] == "released" for o in offers)


def _to_the_exit(cp: Checkpoint, application_id: str) -> dict[str, Any]:
    assert cp.notice(PLATE, [application_id]).status_code == 202
    for stage in STAGES:
        cp.clock.advance(seconds=3)
        assert cp.stage(stage, PLATE).status_code == 201
    cp.clock.advance(seconds=3)
    return dict(cp.stage("exit", PLATE).json())


def test_an_accepted_guarantee_releases_secured_the_exit_opens_and_payment_discharges_it(
    checkpoint_with_treasury: tuple[Checkpoint, RunningTreasury], monkeypatch: pytest.MonkeyPatch
) -> None:
    cp, _treasury = checkpoint_with_treasury
    application_id = cp.lodge("fresh-apples-import", fresh_plate(PLATE))
    assert cp.status(application_id)["verdict"] == "granted"
    held = _to_the_exit(cp, application_id)
    assert held["direction"]["lane"] == "customs-payment"

    reference = fresh()
    offered = _offer(cp, application_id, "--ref", reference)
    assert offered.exit_code == 0, offered.output
    assert '"released": true' in offered.output
    assert cp.status(application_id)["verdict"] == "released"
    decision = parse_xml(cp.client.decision(application_id) or b"")
    _schema().assertValid(decision)
    assert decision.findtext(f"{DEC}Outcome") == "released"
    assert decision.find(f"{DEC}Payment") is None
    guarantee = decision.find(f"{DEC}Guarantee")
    assert guarantee is not None and guarantee.get("reference") == reference
    assert f"secured by guarantee {reference}" in (decision.findtext(f"{DEC}Summary") or "")
    kinds = _kinds(cp, application_id)
    assert {"guarantee-offer", "guarantee-check", "guarantee-answer"} <= set(kinds)
    assert kinds.count("decision") == 2  # granted, then released (secured)

    # The exit opens for a secured release.
    cp.clock.advance(seconds=3)
    opened = wait_until(
        lambda: (a := cp.stage("exit", PLATE).json())["status"] == "open-barrier" and a,
        what="the barrier to open",
    )
    assert opened["status"] == "open-barrier"

    # Paid later: the guarantee is discharged, stated in a new decision and the trail.
    _cli_env(cp.services, monkeypatch)
    paid = CliRunner().invoke(main, ["pay", application_id], catch_exceptions=False)
    assert paid.exit_code == 0, paid.output
    assert "guarantee-discharged" in _kinds(cp, application_id)
    after = parse_xml(cp.client.decision(application_id) or b"")
    _schema().assertValid(after)
    assert after.find(f"{DEC}Payment") is not None
    discharged = after.find(f"{DEC}Guarantee")
    assert discharged is not None and discharged.get("dischargedAt")
    assert f"guarantee {reference} discharged" in (after.findtext(f"{DEC}Summary") or "")
    offers = cp.client.guarantees(application_id)["guarantees"]
    assert [(o["reference"], o["state"]) for o in offers] == [(reference, "discharged")]


REFUSALS: list[tuple[str, dict[str, Any], str, bool]] = [
    # (reference, offer, problem code, whether customs was asked)
    ("KZ-NOPE-1", {}, "guarantee-unknown", True),
    ("KZ-BG-0001", {"guarantor": SURETY_BIN}, "guarantee-unknown", True),
    ("KZ-BG-0010", {}, "guarantee-insufficient", True),  # customs: too small
    ("KZ-BG-0020", {}, "guarantee-expired", True),  # customs: expired yesterday
    ("KZ-BG-0002", {"amount_minor": 100}, "guarantee-insufficient", False),  # the gateway
    ("KZ-BG-0002", {"valid_until": dt.date(2020, 1, 1)}, "guarantee-expired", False),
]


@pytest.mark.parametrize(("reference", "offer", "code", "asked"), REFUSALS)
def test_each_refused_guarantee_is_its_own_problem_nothing_changes_and_it_is_in_the_trail(
    checkpoint_with_treasury: tuple[Checkpoint, RunningTreasury],
    reference: str,
    offer: dict[str, Any],
    code: str,
    asked: bool,
) -> None:
    cp, _treasury = checkpoint_with_treasury
    application_id = cp.lodge("fresh-apples-import", fresh_plate(PLATE))
    before = cp.client.decision(application_id)
    problem = _refused(cp, application_id, reference, **offer)
    assert problem["type"] == f"urn:kz:nsw:problem:{code}"
    assert reference in problem["detail"]
    assert cp.status(application_id)["verdict"] == "granted"
    assert cp.client.decision(application_id) == before
    kinds = set(_kinds(cp, application_id))
    assert {"guarantee-offer", "guarantee-refused"} <= kinds
    assert ("guarantee-answer" in kinds) is asked
    assert "guarantee-discharged" not in kinds


def test_a_guarantee_already_securing_another_application_is_refused(
    checkpoint_with_treasury: tuple[Checkpoint, RunningTreasury],
) -> None:
    cp, _treasury = checkpoint_with_treasury
    first = cp.lodge("fresh-apples-import", fresh_plate(PLATE))
    second = cp.lodge("fresh-apples-import", fresh_plate("789GUA02"))
    surety = fresh("KZ-SR-9")
    assert _offer(cp, first, "--ref", surety, "--guarantor", SURETY_BIN).exit_code == 0
    refused = _refused(cp, second, surety, guarantor=SURETY_BIN)
    assert refused["type"] == "urn:kz:nsw:problem:guarantee-already-used"
    assert cp.status(second)["verdict"] == "granted"
    assert "guarantee-answer" in _kinds(cp, second)
    # Offered again once released: not needed, and customs is not asked.
    answers = _kinds(cp, first).count("guarantee-answer")
    again = _refused(cp, first, fresh())
    assert again["type"] == "urn:kz:nsw:problem:guarantee-not-needed"
    assert _kinds(cp, first).count("guarantee-answer") == answers
    assert "guarantee-offer-refused" in _kinds(cp, first)


def test_an_answer_from_customs_that_is_not_believed_changes_nothing(
    gateway_at: Callable[..., tuple[str, Services, KeyringClient]],
    own_agency: Callable[..., RunningAgency],
    pki: DevPki,
) -> None:
    customs = own_agency("customs")
    url, services, client = gateway_at(payee_account=ACCOUNT, agency_urls={"customs": customs.url})
    raw = (SAMPLES / "fresh-apples-import.xml").read_bytes()
    signed = sign_enveloped(parse_xml(raw), trader_identity(pki, "trader-steppe"))
    application_id = str(client.submit(signed)["id"])
    client.wait_for_decision(application_id, deadline_s=60)
    customs.options.tamper = "body"  # from now on a byte of its signed answers is changed
    cp = Checkpoint(url, services, pki, MovableClock(), client)

    problem = _refused(cp, application_id, fresh())
    assert problem["type"] == "urn:kz:nsw:problem:guarantee-check-unavailable"
    assert client.status(application_id)["verdict"] == "granted"
    kinds = _kinds(cp, application_id)
    assert {"guarantee-offer-refused", "guarantee-check"} <= set(kinds)
    assert "guarantee-refused" not in kinds  # no answer was believed: nothing was decided

    customs.options.tamper = None
    accepted = _post_offer(cp, application_id, fresh())
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["released"] is True


def test_a_guarantee_reserved_but_not_needed_is_released_at_customs(
    checkpoint_with_treasury: tuple[Checkpoint, RunningTreasury], monkeypatch: pytest.MonkeyPatch
) -> None:
    cp, _treasury = checkpoint_with_treasury
    first = cp.lodge("fresh-apples-import", fresh_plate(PLATE))
    second = cp.lodge("fresh-apples-import", fresh_plate("789GUA02"))
    real = SoapAdapter.check_guarantee

    def paid_meanwhile(adapter: SoapAdapter, query: GuaranteeQuery) -> GuaranteeAnswer:
        answer = real(adapter, query)  # customs reserves it for `first` ...
        if query.application_id == first:
            pay_in_full(cp.services, first)  # ... and `first` is paid before it is stored
        return answer

    monkeypatch.setattr(SoapAdapter, "check_guarantee", paid_meanwhile)
    reference = fresh()
    refused = _refused(cp, first, reference)
    assert refused["type"] == "urn:kz:nsw:problem:guarantee-not-needed"
    # Stored refused, its release queued with it; the release loop asks customs.
    wait_until(
        lambda: _released_at_customs(cp, first, reference),
        what="customs to release the reservation",
    )
    assert {"guarantee-release", "guarantee-release-answer"} <= set(_kinds(cp, first))
    # Customs released its reservation: the guarantee secures another application now.
    accepted = _post_offer(cp, second, reference)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["released"] is True


def test_a_withdrawn_secured_application_s_guarantee_is_released_at_customs(
    checkpoint_with_treasury: tuple[Checkpoint, RunningTreasury],
) -> None:
    cp, _treasury = checkpoint_with_treasury
    first = cp.lodge("fresh-apples-import", fresh_plate(PLATE))
    second = cp.lodge("fresh-apples-import", fresh_plate("789GUA02"))
    reference = fresh()
    assert _post_offer(cp, first, reference).json()["released"] is True
    withdraw(cp, first)
    wait_until(
        lambda: _released_at_customs(cp, first, reference),
        what="customs to release the reservation",
    )
    assert {"guarantee-release", "guarantee-release-answer"} <= set(_kinds(cp, first))
    # Customs released its reservation: the guarantee secures another application now.
    accepted = _post_offer(cp, second, reference)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["released"] is True
