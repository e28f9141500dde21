"""A secured application held for a permit, paid at a settlement that releases it itself (its
hold cleared without a retry): the payment discharges the guarantee and the released decision
names both (issue 20; both databases)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import update
from sqlalchemy.orm import Session

from gateway.billing.ports import PaidApplication
from gateway.clock import system_clock
from gateway.domain.identifiers import Bin
from gateway.payments import Confirmation, Money, PaymentOrder, PaymentReference, settle
from gateway.payments.settlement import Outcome
from gateway.storage.db import make_engine
from gateway.storage.models import ApplicationRow
from gateway.storage.outbox import OutboxStore
from gateway.storage.payment_models import GuaranteeRow
from gateway.storage.payments import PaymentStore
from gateway.trail.messages import Message
from tests.payments.guarantee_rows import BANK_BIN, OFFERED
from tests.storage_helpers import lodge
from tests.unit.payments.factories import TREASURY, charge

TODAY = dt.date(2026, 12, 7)


def test_a_payment_discharges_the_guarantee_of_a_secured_held_application_it_releases(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    try:
        lodge(OutboxStore(engine, system_clock), "APP-G1")
        signed: list[PaidApplication] = []
        store = PaymentStore(engine, system_clock)

        def sign(paid: PaidApplication) -> bytes:
            signed.append(paid)
            return b"<Decision/>"

        store.release_decision = sign

        def make(reference: PaymentReference) -> tuple[PaymentOrder, str]:
            return PaymentOrder(
                reference=reference, application_id="APP-G1", payer=Bin("210540012341"), issued_on=TODAY, payee_account=TREASURY,
                lines=(charge(amount="150000.00"),),
            ), "signature"  # fmt: skip

        def no_messages(order: PaymentOrder, signature: str) -> Sequence[Message]:
            return []

        order = store.issue("APP-G1", TODAY, make, no_messages).order
        # Secured by a guarantee customs accepted, then held for a permit (not released).
        with Session(engine) as s, s.begin():
            s.add(GuaranteeRow(
                application_id="APP-G1", reference="KZ-BG-9000001", guarantor_bin=BANK_BIN,
                amount_minor=15_000_000, currency="KZT", valid_until=TODAY, owed_minor=15_000_000,
                outcome="accepted", offered_at=OFFERED,
            ))  # fmt: skip
            held = update(ApplicationRow).where(ApplicationRow.id == "APP-G1")
            s.execute(held.values(verdict="held"))

        confirmation = Confirmation(
            "P-G1", str(order.reference), Money.parse("150000.00", "KZT"), "210540012341", TODAY
        )
        assert store.settle_payment(confirmation, settle, lambda _: []).outcome is Outcome.PAID

        [released] = signed
        assert released.payment is not None and released.held is None
        assert released.guarantee is not None and released.guarantee.discharged_at is not None
        kinds = [m.kind for m in store.messages("APP-G1")]
        assert kinds.count("guarantee-discharged") == 1 and "decision" in kinds
        with Session(engine) as s:
            row = s.query(GuaranteeRow).one()
            app = s.get_one(ApplicationRow, "APP-G1")
            assert row.discharged_at is not None
            assert (app.verdict, app.released_at is not None) == ("released", True)
    finally:
        engine.dispose()
