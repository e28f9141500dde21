"""Permit steps inside a caller's transaction (issue 20 item 4): a grant stored from an agency's
answer, the write-off of an application's citations under the permits' row locks, a hold for a
refusal, and what the exit gate needs. The outbox's case updates, the payment release and
`PermitStore` (gateway/storage/permits.py) share them.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import Executable, Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from gateway.billing.permit_ports import (
    Citation,
    StepMessages,
    step_messages,
)
from gateway.checkpoint.exit_permit import PermitOnExit
from gateway.domain.identifiers import Bin, HsCode
from gateway.errors import GatewayError, NotFound
from gateway.i18n.text import Text
from gateway.intake.ports import CitedPermit
from gateway.payments.permits import Permit, Quantity, Standing, WriteOff
from gateway.storage.core_tx import Tx
from gateway.storage.models import ApplicationRow, CaseRow, CheckpointVisitRow
from gateway.storage.permit_citations import citations_of
from gateway.storage.permit_drawer import drawer_of
from gateway.storage.permit_models import (
    PermitCitationRow,
    PermitHoldRow,
    PermitRow,
    PermitWriteOffRow,
)
from gateway.storage.repository import Store
from gateway.trail.messages import Message

log = logging.getLogger(__name__)
PERMITS: Table = PermitRow.__table__  # type: ignore[assignment]
CITATIONS: Table = PermitCitationRow.__table__  # type: ignore[assignment]
# The day a permit is used on is the day in Kazakhstan (UTC+5), as for payments.
KZ_TIME = dt.timezone(dt.timedelta(hours=5))


def release_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(KZ_TIME).date()


PERMIT_FIELDS = ("permitId", "permitHolder", "permitHsCode", "permitQuantity", "permitUnit",
                 "permitValidFrom")  # fmt: skip


def permit_from_grant(agency: str, extra: dict[str, str], valid_until: str | None) -> Permit:
    """The permit an agency's grant describes: its answer's permit block, mapped into the case's
    extra fields by the agency's answer mapping (`mappings/agencies/<code>/answer.json`), and the
    case's validity. Raises `InvalidQuantity`, `InvalidIdentifier`, KeyError or ValueError."""
    return Permit(
        permit_id=extra["permitId"],
        agency=agency,
        holder=Bin(extra["permitHolder"]),
        hs_code=HsCode(extra["permitHsCode"]),
        description=extra.get("permitDescription", ""),
        granted=Quantity(Decimal(extra["permitQuantity"]), extra["permitUnit"]),
        valid_from=dt.date.fromisoformat(extra["permitValidFrom"]),
        valid_until=dt.date.fromisoformat(str(valid_until)),
    )


def release_without_payment(s: Session, application_id: str, store: Store) -> GatewayError | None:
    """An application released by its decision alone (nothing was charged): its cited quantities
    are written off in the same transaction, as a paid release does; on a refusal the application
    is held (the exit gate refuses it) with the attempt in the trail, and the refusal is returned:
    the caller signs a held decision instead of a released one (docs/payments.md)."""
    if not citations_of(s, application_id):
        return None
    try:
        with s.begin_nested():
            write_off_in(s, application_id, release_day(store.clock()), step_messages, store)
    except GatewayError as refusal:
        hold_in(s, application_id, refusal, step_messages, store)
        return refusal
    return None


def record_granted_permit(s: Tx, case: CaseRow | Row[Any], store: Store) -> Message | None:
    """A case just granted with a permit block: store the permit (once) and the consignment it
    was granted for as that application's citation of it; returns the permit's trail entry
    (`permit-granted`) for the caller to store, or None when the permit was stored before. A
    block the gateway cannot read is logged and left out: the case stays granted."""
    extra = json.loads(case.extra or "{}")
    if not all(extra.get(name) for name in PERMIT_FIELDS):
        return None
    try:
        permit = permit_from_grant(case.agency, extra, case.valid_until)
        # The consignment the permit was asked for draws on it too, at its application's release.
        line, consignment = extra.get("permitLine"), extra.get("permitConsignment")
        own = (
            CitedPermit(int(line), case.agency, permit.permit_id, permit.hs_code.value,
                        Quantity(Decimal(consignment), permit.unit).value, permit.unit)
            if line and consignment else None
        )  # fmt: skip
    except (GatewayError, KeyError, ValueError, ArithmeticError) as exc:
        log.warning("case %s: the permit granted cannot be stored: %s", case.id, exc)
        return None
    if not insert_permit(s, permit, case.application_id, store.clock()):
        return None
    if own is not None:
        insert_citation(s, case.application_id, own)
    value = {"permitId": permit.permit_id, "agency": permit.agency, "holder": str(permit.holder),
             "granted": str(permit.granted), "validUntil": permit.valid_until.isoformat(),
             "grantedFor": case.application_id}  # fmt: skip
    return Message(
        "permit-granted", "in", f"agency:{case.agency}", "application/json",
        json.dumps(value, sort_keys=True, separators=(",", ":")).encode(), case_id=case.id,
    )  # fmt: skip


def record_grant_in(
    s: Session, permit: Permit, granted_for: str | None, messages: Sequence[Message], store: Store
) -> bool:
    """Inside `s`: store `permit` and `messages` with it, unless it was stored before (then
    nothing is written and False returned)."""
    if not insert_permit(s, permit, granted_for, store.clock()):
        return False
    store._add_messages(s, granted_for, messages)
    return True


@cache
def _insert_permit(postgres: bool) -> Executable:
    insert = postgresql.insert if postgres else sqlite.insert
    return (
        insert(PERMITS)
        .on_conflict_do_nothing(index_elements=["permit_id"])
        .returning(PERMITS.c.permit_id)
    )


@cache
def _insert_citation(postgres: bool) -> Executable:
    insert = postgresql.insert if postgres else sqlite.insert
    return insert(CITATIONS).on_conflict_do_nothing(index_elements=["application_id", "item_line"])


def _postgres(s: Tx) -> bool:
    return s.connection().dialect.name == "postgresql"


def insert_permit(s: Tx, permit: Permit, granted_for: str | None, now: dt.datetime) -> bool:
    """One `INSERT ... ON CONFLICT DO NOTHING RETURNING`: whether `permit` was new. (What the ORM
    did in three steps: a get, an add and a flush.) What the session has pending is written
    first, so that a permit added through the ORM in `s` is seen. The statement is built once;
    its values are parameters."""
    s.flush()
    inserted = s.connection().execute(
        _insert_permit(_postgres(s)),
        {
            "permit_id": permit.permit_id, "agency": permit.agency,
            "holder_bin": str(permit.holder), "hs_code": permit.hs_code.value,
            "description": permit.description, "unit": permit.unit,
            "granted": permit.granted.value, "written_off": Decimal(0),
            "valid_from": permit.valid_from, "valid_until": permit.valid_until,
            "standing": permit.standing.value, "granted_for": granted_for, "issued_at": now,
        },
    )  # fmt: skip
    return inserted.first() is not None


def insert_citation(s: Tx, application_id: str, cited: CitedPermit) -> None:
    """The application's citation of a permit for one goods item, unless that item cites one
    already."""
    s.connection().execute(
        _insert_citation(_postgres(s)),
        {
            "application_id": application_id, "item_line": cited.item_line,
            "agency": cited.agency, "permit_id": cited.permit_id, "hs_code": cited.hs_code,
            "quantity": cited.quantity, "unit": cited.unit,
        },
    )  # fmt: skip


def write_off_in(
    s: Session, application_id: str, day: dt.date, messages: StepMessages, store: Store
) -> list[str]:
    """Write off what `application_id` cites, in transaction `s`; raises the domain's refusal
    (the caller rolls back). Returns the permits written off (none when nothing is cited)."""
    app = s.get(ApplicationRow, application_id)
    if app is None:
        raise NotFound(
            Text("There is no application %(application_id)s.", application_id=application_id)
        )
    wanted: dict[str, list[Citation]] = {}
    for c in citations_of(s, application_id):
        wanted.setdefault(c.permit_id, []).append(c)
    if not wanted:
        return []
    holder = drawer_of(s, app)
    now = store.clock()
    for permit_id in sorted(wanted):  # one lock order: two releases never deadlock
        row = lock_permit(s, permit_id)
        if row is None:
            raise NotFound(
                Text(
                    "Application %(application_id)s cites permit %(permit_id)s, which the "
                    "gateway does not know.",
                    application_id=application_id,
                    permit_id=permit_id,
                ),
                permitId=permit_id,
            )
        cited = wanted[permit_id]
        quantity = Quantity(sum((c.quantity for c in cited), Decimal(0)), cited[0].unit)
        permit = permit_of(s, row)
        after = permit.write_off(application_id, quantity, day, holder)  # raises a refusal
        if after is permit:
            continue  # the same write-off again: nothing to do
        done = s.execute(
            update(PermitRow)
            .where(
                PermitRow.permit_id == permit_id,
                PermitRow.standing == Standing.ACTIVE.value,
                PermitRow.granted - PermitRow.written_off >= quantity.value,
            )
            .values(written_off=PermitRow.written_off + quantity.value)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            # Changed since it was read: the domain states why with the balance as it is now.
            s.refresh(row)
            permit_of(s, row).write_off(application_id, quantity, day, holder)
            raise AssertionError("a refused write-off was not refused")  # pragma: no cover
        s.add(
            PermitWriteOffRow(
                permit_id=permit_id,
                application_id=application_id,
                quantity=quantity.value,
                day=day,
                written_at=now,
            )
        )
        s.flush()
        for m in messages(
            "permit-write-off",
            {
                "permitId": permit_id,
                "applicationId": application_id,
                "quantity": f"{quantity.value:f}",
                "unit": quantity.unit,
                "day": day.isoformat(),
                "balance": f"{after.balance.value:f}",
            },
        ):
            store._add_message(s, application_id, m)
    return sorted(wanted)


def credit_back_in(
    s: Session, application_id: str, messages: StepMessages, store: Store
) -> list[str]:
    """Return every write-off of `application_id` not yet credited back to its permit, in
    transaction `s` (a withdrawal's, or `PermitStore.credit_back`'s), each under the permit's row
    lock with a `permit-credit-back` trail entry. The write-off rows stay, marked credited back.
    Returns the permits credited, in lock order."""
    now = store.clock()
    rows = list(
        s.scalars(
            select(PermitWriteOffRow)
            .where(
                PermitWriteOffRow.application_id == application_id,
                PermitWriteOffRow.credited_back_at.is_(None),
            )
            .order_by(PermitWriteOffRow.permit_id)
        )
    )
    for w in rows:
        lock_permit(s, w.permit_id)
        s.execute(
            update(PermitRow)
            .where(PermitRow.permit_id == w.permit_id)
            .values(written_off=PermitRow.written_off - w.quantity)
        )
        w.credited_back_at = now
        for m in messages(
            "permit-credit-back",
            {"permitId": w.permit_id, "applicationId": application_id,
             "quantity": f"{w.quantity:f}"},
        ):  # fmt: skip
            store._add_message(s, application_id, m)
    return [w.permit_id for w in rows]


def hold_in(
    s: Session, application_id: str, refusal: GatewayError, messages: StepMessages, store: Store
) -> None:
    """Hold `application_id` for a refused write-off, with the attempt in the trail."""
    permit_id = str(refusal.extensions.get("permitId", ""))
    s.add(
        PermitHoldRow(
            application_id=application_id,
            permit_id=permit_id,
            code=refusal.code,
            detail=refusal.detail,
            held_at=store.clock(),
        )
    )
    for m in messages(
        "permit-write-off-refused",
        {"applicationId": application_id, "problem": refusal.problem()},
    ):
        store._add_message(s, application_id, m)


def permit_of(s: Session, row: PermitRow) -> Permit:
    write_offs = s.scalars(
        select(PermitWriteOffRow)
        .where(
            PermitWriteOffRow.permit_id == row.permit_id,
            PermitWriteOffRow.credited_back_at.is_(None),
        )
        .order_by(PermitWriteOffRow.written_at, PermitWriteOffRow.id)
    )
    return Permit(
        permit_id=row.permit_id,
        agency=row.agency,
        holder=Bin(row.holder_bin),
        hs_code=HsCode(row.hs_code),
        description=row.description,
        granted=Quantity(row.granted, row.unit),
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        standing=Standing(row.standing),
        write_offs=tuple(
            WriteOff(w.application_id, Quantity(w.quantity, row.unit), w.day) for w in write_offs
        ),
    )


def lock_permit(s: Session, permit_id: str) -> PermitRow | None:
    """The permit row, locked for the rest of the transaction (PostgreSQL `FOR UPDATE`; on
    SQLite the transaction holds the database's write lock from its BEGIN IMMEDIATE)."""
    return s.scalars(
        select(PermitRow).where(PermitRow.permit_id == permit_id).with_for_update()
    ).first()


def citing(s: Session, permit_id: str) -> list[str]:
    return sorted(
        set(
            s.scalars(
                select(PermitCitationRow.application_id).where(
                    PermitCitationRow.permit_id == permit_id
                )
            )
        )
    )


def not_exited(s: Session, application_ids: list[str]) -> list[str]:
    """Those of `application_ids` that no vehicle has carried out through an exit barrier."""
    exited: set[str] = set()
    for carried in s.scalars(
        select(CheckpointVisitRow.applications).where(CheckpointVisitRow.state == "exited")
    ):
        exited.update(json.loads(carried or "[]"))
    return [a for a in application_ids if a not in exited]


def permits_on_exit(s: Session, application_id: str) -> tuple[tuple[PermitOnExit, ...], str | None]:
    """For the exit gate: the permits the application cites, and why it is held, if it is."""
    cited = sorted({c.permit_id for c in citations_of(s, application_id)})
    rows = [row for p in cited if (row := s.get(PermitRow, p)) is not None]
    hold = s.scalars(
        select(PermitHoldRow)
        .where(PermitHoldRow.application_id == application_id, PermitHoldRow.cleared_at.is_(None))
        .order_by(PermitHoldRow.held_at)
    ).first()
    return (
        tuple(
            PermitOnExit(r.permit_id, r.agency, r.standing, r.valid_from, r.valid_until)
            for r in rows
        ),
        hold.detail if hold is not None else None,
    )
