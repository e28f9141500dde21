"""The treasury's side of the edge: a confirmation not signed by the treasury is refused with
nothing changed; the same confirmation twice settles once; reconciliation finds a difference
planted in the treasury's signed statement (issue 20 items 2-3)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from gateway.billing.service import kz_day
from gateway.storage.models import MessageRow
from tests.payments.conftest import Paying
from tests.payments.test_payment_flow import _cli_env, _granted, _pay
from tests.polling import wait_until


def _cli(*args: str) -> Result:
    from gateway.cli.main import main

    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _refused_with(paying: Paying, status: int) -> bytes:
    sent = wait_until(lambda: paying.treasury.callbacks.sent, what="the treasury's callback")
    assert sent[0].status == status, sent[0]
    body: bytes = sent[0].body
    return body


def test_a_confirmation_signed_by_another_party_is_refused_and_changes_nothing(
    paying_gateway: Callable[..., Paying],
    signed_sample: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paying = paying_gateway(tamper="other-agency")  # signed with another agency's valid key
    application_id = _granted(paying, signed_sample)
    order = paying.client.payment_order(application_id)

    result = _cli_pay(paying, application_id, monkeypatch)
    assert result.exit_code == 1 and "has not reached the gateway" in result.output

    problem = json.loads(_refused_with(paying, 401))
    assert problem["type"] == "urn:kz:nsw:problem:payment-callback-signature-invalid"
    after = paying.client.payment_order(application_id)
    assert after["status"] == "open" and after["settlements"] == []
    assert after["outstanding"] == order["outstanding"]
    kinds = [m.kind for m in paying.services.store.messages(application_id)]
    assert "payment-callback" not in kinds


def test_an_unsigned_confirmation_is_refused(
    paying_gateway: Callable[..., Paying],
    signed_sample: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paying = paying_gateway(tamper="unsigned")
    application_id = _granted(paying, signed_sample)
    assert _cli_pay(paying, application_id, monkeypatch).exit_code == 1
    problem = json.loads(_refused_with(paying, 401))
    assert problem["type"] == "urn:kz:nsw:problem:payment-callback-signature-invalid"
    assert paying.client.payment_order(application_id)["status"] == "open"


def _cli_pay(paying: Paying, application_id: str, monkeypatch: pytest.MonkeyPatch) -> Result:
    _cli_env(paying.services, monkeypatch)
    return _cli("pay", application_id, "--wait", "2")


def test_reconcile_finds_a_difference_planted_in_the_statement(
    paying_gateway: Callable[..., Paying],
    signed_sample: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paying = paying_gateway()
    application_id = _granted(paying, signed_sample)
    _pay(paying, application_id, monkeypatch)
    paid = paying.client.payment_order(application_id)
    payment_id = paid["settlements"][0]["paymentId"]
    day = paid["settlements"][0]["paidOn"]
    assert day == kz_day(paying.services.clock()).isoformat()

    agreed = _cli("payments", "reconcile", "--date", day)
    assert agreed.exit_code == 0, agreed.output
    assert "agree" in agreed.output

    # The treasury's statement now says 1 tiyn more than it confirmed.
    paying.treasury.ledger.plant_alteration(payment_id, minor=paid["order"]["total"] + 1)
    found = _cli("payments", "reconcile", "--date", day)
    assert found.exit_code == 1
    assert "amount-mismatch" in found.output and payment_id in found.output

    # Both runs are trail entries: the statement as received (with its signature) and the result.
    with paying.services.store.reading() as s:
        kinds = list(s.scalars(select(MessageRow.kind).where(MessageRow.application_id.is_(None))))
    assert kinds.count("treasury-statement") == kinds.count("reconciliation") == 2
