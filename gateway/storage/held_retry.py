"""Applications held for a permit's balance, tried again when the balance grows (issue 20).

A credit-back (a withdrawal, an amendment that changes a citation, `PermitBook.credit_back`)
gives units back to a permit. In the same transaction, `retry_held` takes the applications held
for the balance of those permits, the oldest hold first, and writes off what each cites, as its
release would have: the permit's row lock is held already, and each write-off is the usual
conditional UPDATE in a savepoint, so of two applications waiting for the same units exactly one
gets them and the other stays held. An application drawn in full is released with a new signed
decision: paid (the order was paid), secured (a guarantee customs accepted), or nothing owed (it
was held by its decision); one already released (an amendment's new quantities) just keeps its
release. Its balance holds are cleared, with a `permit-hold-cleared` trail entry.

A reinstatement (`PermitStore.change_standing`) does the same for the applications its
suspension held, in the reinstating transaction (`retry_reinstated`): an application held by its
decision (nothing owed), or paid or secured and held, is released once its write-offs succeed.

Lock order: the permit (held), then the application with SKIP LOCKED: an application another
transaction holds now (its settlement, which then draws on the permit itself, or its own
withdrawal) is left to that transaction, so the two never wait for each other.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.billing.permit_ports import step_messages
from gateway.billing.ports import ReleaseDecision
from gateway.decision.document import PaymentNote
from gateway.errors import GatewayError
from gateway.storage.guarantee_steps import accepted_guarantee, discharge, note_of
from gateway.storage.models import ApplicationRow
from gateway.storage.payment_models import GuaranteeRow, PaymentOrderRow
from gateway.storage.payment_release import sign_release
from gateway.storage.permit_models import PermitHoldRow
from gateway.storage.permit_steps import release_day, write_off_in
from gateway.storage.repository import Store
from gateway.trail.messages import Message

BALANCE = "permit-balance-exceeded"


def retry_held(
    s: Session, permit_ids: Iterable[str], store: Store, sign: ReleaseDecision | None
) -> list[str]:
    """Inside the credit-back's transaction, after it: retry the applications held for the
    balance of `permit_ids`; returns those drawn in full now (released, or kept released)."""
    wanted = sorted(set(permit_ids))
    if not wanted:
        return []
    holds = s.scalars(
        select(PermitHoldRow)
        .where(
            PermitHoldRow.permit_id.in_(wanted),
            PermitHoldRow.code == BALANCE,
            PermitHoldRow.cleared_at.is_(None),
        )
        .order_by(PermitHoldRow.held_at, PermitHoldRow.id)
    ).all()
    done: list[str] = []
    for application_id in dict.fromkeys(h.application_id for h in holds):
        if _retry(s, application_id, store, sign, CREDITED):
            done.append(application_id)
    return done


CREDITED = "a credit-back gave units back to the permit"
REINSTATED = "the agency reinstated the permit"


def retry_reinstated(
    s: Session, application_ids: Iterable[str], store: Store, sign: ReleaseDecision | None
) -> list[str]:
    """Inside the reinstating transaction, after the suspension's holds are cleared: retry the
    release of `application_ids` (those the suspension held); returns those drawn in full now."""
    done: list[str] = []
    for application_id in sorted(set(application_ids)):
        # Another permit still suspended (or revoked, or short) refuses the write-off: it stays
        # held. Two reinstatements at once: the one that takes the application waits for the
        # other's permit lock, so it sees that permit reinstated; the other skips it.
        if _retry(s, application_id, store, sign, REINSTATED):
            done.append(application_id)
    return done


def _retry(
    s: Session, application_id: str, store: Store, sign: ReleaseDecision | None, reason: str
) -> bool:
    app = s.scalars(
        select(ApplicationRow)
        .where(ApplicationRow.id == application_id)
        .with_for_update(skip_locked=True)
    ).first()
    if app is None or app.status == "withdrawn":
        return False  # another transaction holds it now, or it is gone: not ours to retry
    order = s.scalars(
        select(PaymentOrderRow).where(
            PaymentOrderRow.application_id == application_id,
            PaymentOrderRow.status != "superseded",  # the order in force (an amendment's)
        )
    ).first()
    guarantee = accepted_guarantee(s, application_id)
    if app.released_at is not None:
        basis = "kept"  # released already (an amendment's new quantities were refused)
    elif order is not None and order.status == "paid":
        basis = "paid"
    elif guarantee is not None and guarantee.discharged_at is None:
        basis = "secured"
    elif app.verdict == "held":
        basis = "nothing-owed"
    else:
        return False  # granted and unpaid: it draws on its permits when it is released
    now = store.clock()
    try:
        with s.begin_nested():
            written = write_off_in(s, application_id, release_day(now), step_messages, store)
    except GatewayError:
        return False  # still not enough (or another refusal): it stays held, as it was
    cleared = s.scalars(
        select(PermitHoldRow).where(
            PermitHoldRow.application_id == application_id,
            PermitHoldRow.code == BALANCE,
            PermitHoldRow.cleared_at.is_(None),
        )
    ).all()
    for hold in cleared:
        hold.cleared_at = now
    value = {"applicationId": application_id, "permits": written, "basis": basis,
             "reason": reason}  # fmt: skip
    store._add_message(
        s,
        application_id,
        Message("permit-hold-cleared", "out", f"trader:{app.declarant_bin}", "application/json",
                json.dumps(value, sort_keys=True, separators=(",", ":")).encode()),
    )  # fmt: skip
    if basis != "kept" and sign is not None:
        if basis == "paid" and guarantee is not None and guarantee.discharged_at is None:
            assert order is not None
            discharge(s, app, guarantee, order, now, store)  # secured, held, paid since
        paid = basis == "paid"
        _release(s, app, now, sign, order if paid else None,
                 guarantee if basis == "secured" or (paid and guarantee) else None, store)  # fmt: skip
    return True


def _release(
    s: Session,
    app: ApplicationRow,
    now: dt.datetime,
    sign: ReleaseDecision,
    order: PaymentOrderRow | None,
    guarantee: GuaranteeRow | None,
    store: Store,
) -> None:
    payment = (
        PaymentNote(order.reference, order.total_minor, order.currency, now) if order else None
    )
    note = note_of(guarantee) if guarantee is not None else None
    sign_release(s, app, now, sign, store, payment=payment, guarantee=note)
