"""The exit and the life after lodging (issue 19): a withdrawn application does not leave, even
released and paid; once the vehicle has left, the application can no longer be withdrawn."""

from __future__ import annotations

from gateway.cli.client import ApiProblem
from tests.checkpoint.conftest import Checkpoint
from tests.checkpoint.test_six_stages import _apples, _through
from tests.lifecycle_documents import withdrawal
from tests.trader_requests import identity


def _withdraw(cp: Checkpoint, application_id: str) -> dict[str, object]:
    signed = withdrawal(identity(cp.pki, "trader-steppe"), application_id, "no-longer-shipping")
    return cp.client.withdraw(application_id, signed)


def test_a_withdrawn_application_is_refused_at_the_exit_with_the_reason(
    checkpoint: Checkpoint,
) -> None:
    application_id = _apples(checkpoint, "321WDR02")  # released: paid in full
    _withdraw(checkpoint, application_id)
    _through(checkpoint, "321WDR02")
    checkpoint.clock.advance(minutes=1)
    answer = checkpoint.stage("exit", "321WDR02").json()
    assert answer["status"] == "directed"
    assert "withdrawn by its declarant" in answer["direction"]["why"]
    assert answer["direction"]["lane"] == "customs-inspection"


def test_after_the_exit_a_withdrawal_is_refused(checkpoint: Checkpoint) -> None:
    application_id = _apples(checkpoint, "654EXT02")
    _through(checkpoint, "654EXT02")
    checkpoint.clock.advance(minutes=1)
    assert checkpoint.stage("exit", "654EXT02").json()["status"] == "open-barrier"
    try:
        _withdraw(checkpoint, application_id)
    except ApiProblem as problem:
        assert problem.status == 409
        assert str(problem.problem["type"]).endswith(":after-exit")
    else:
        raise AssertionError("a withdrawal after the exit was accepted")
    assert checkpoint.status(application_id)["verdict"] == "released"


def test_withdrawing_a_paid_application_through_the_api_owes_the_payment_back(
    checkpoint: Checkpoint,
) -> None:
    from gateway.billing.wiring import build_payments

    application_id = _apples(checkpoint, "321WDR03")  # released: paid in full
    orders = build_payments(checkpoint.services.config, checkpoint.services).orders
    order = orders.order_for(application_id)
    assert order is not None and orders.refunds_owed() == []

    _withdraw(checkpoint, application_id)

    owed = orders.refunds_owed()
    assert sum(r.settlement.refund_owed.minor for r in owed) == order.order.total.minor
    assert {r.settlement.reason for r in owed} == {"payment-application-withdrawn"}
    kinds = [m.kind for m in checkpoint.services.store.messages(application_id)]
    assert kinds.count("payment-refund-owed") == 1
