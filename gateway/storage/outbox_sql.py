"""The outbox's hot statements in SQLAlchemy Core: claim deliveries, settle a case, read what a
decision is composed from (issue 17 item 2).

These run once or several times per case, so they are written as a few set-based statements on the
tables, not as ORM loads, refreshes and flushes (which were two thirds of the gateway's CPU):

- a claim is one `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING` on
  PostgreSQL, joined in the same statement to what the delivery needs; on SQLite the same UPDATE
  (the transaction already holds the write lock) and one SELECT of the details;
- a case is settled by one guarded UPDATE whose row count says whether it was still open;
- the decision reads the application and its cases in one joined SELECT.

Nothing here holds ORM objects, so nothing is re-read after it was written. The statements run
on the session's connection (`Session.connection()`), not through `Session.execute`: the ORM's
execution steps (autoflush, its compile and result stages) cost more CPU than such a statement.
Each runs where nothing the session holds is pending, or where what is pending need not come
first (the callers say which).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    ColumnElement,
    Executable,
    Select,
    Table,
    and_,
    bindparam,
    case,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from gateway.decision.ports import DecisionSubject
from gateway.decision.rules import CaseResult, CaseState, decidable
from gateway.fanout.ports import Claim, ClaimTurn
from gateway.storage.db import utc
from gateway.storage.models import ApplicationRow, CaseRow, OutboxRow, TraderSubscriptionRow

OUTBOX = cast(Table, OutboxRow.__table__)
CASES = cast(Table, CaseRow.__table__)
APPS = cast(Table, ApplicationRow.__table__)
SUBSCRIPTIONS = cast(Table, TraderSubscriptionRow.__table__)
JSON_COLUMNS = frozenset({"reasons", "conditions", "extra", "charges"})
SETTLED = tuple(sorted(state.value for state in CaseState if state.settled))

# What a Claim needs besides the outbox row: the case's agency and the application.
_CLAIM_DETAILS = (
    CASES.c.agency,
    CASES.c.application_id,
    APPS.c.body,
    APPS.c.received_at,
    APPS.c.amended_at,  # issue 19: an amended application's deadlines count from the amendment
    APPS.c.request_id,
)
# What composing a decision reads: the application's facts and every case, in routing order.
_DECISION_INPUTS = (
    APPS.c.declarant_bin,
    APPS.c.trader_reference,
    APPS.c.body_sha256,
    APPS.c.released_at,
    APPS.c.withdrawn_at,
    APPS.c.decision_xml,
    CASES.c.id,  # with extra and application_id: what a changed case owes (events, a permit)
    CASES.c.application_id,
    CASES.c.extra,
    CASES.c.agency,
    CASES.c.state,
    CASES.c.permit_number,
    CASES.c.valid_until,
    CASES.c.reasons,
    CASES.c.conditions,
    CASES.c.inspection,
    CASES.c.answer_sha256,
    CASES.c.charges,
)


# The statements are built once, with bound parameters, and cached: building a SQLAlchemy
# expression costs more CPU than running the statement it makes (the compiled form is cached by
# SQLAlchemy too, keyed by the statement's structure).
NOW = bindparam("now", type_=OUTBOX.c.available_at.type)


def _free() -> ColumnElement[bool]:
    """Not done, and no lease that is still running at :now."""
    return and_(
        OUTBOX.c.done_at.is_(None),
        or_(OUTBOX.c.lease_until.is_(None), OUTBOX.c.lease_until < NOW),
    )


def _ready() -> ColumnElement[bool]:
    """The outbox rows a dispatcher may claim at :now."""
    return and_(_free(), OUTBOX.c.available_at <= NOW)


def due_at(table: Any) -> ColumnElement[Any]:
    """When a leased table's row (outbox, notifications) may next be claimed: when it becomes
    available, or when its lease runs out if it is leased (a killed worker's row comes back)."""
    t = table.c
    return case((t.lease_until > t.available_at, t.lease_until), else_=t.available_at)


NEXT_DUE = select(func.min(due_at(OUTBOX))).where(OUTBOX.c.done_at.is_(None))


@cache
def any_ready() -> Select[int]:
    """One ready delivery's id, if any (parameter: now)."""
    return select(OUTBOX.c.id).where(_ready()).limit(1)


@cache
def _claim(postgres: bool, skipping: bool) -> Executable:
    """The claim (parameters: now, limit, worker, lease_until; skip: agencies, if `skipping`)."""
    ready = select(OUTBOX.c.id).where(_ready())
    if skipping:
        ready = ready.where(
            OUTBOX.c.case_id.not_in(
                select(CASES.c.id).where(CASES.c.agency.in_(bindparam("skip", expanding=True)))
            )
        )
    ready = ready.order_by(OUTBOX.c.available_at, OUTBOX.c.id).limit(bindparam("limit"))
    chosen: Any = ready.scalar_subquery()
    if postgres:
        # A MATERIALIZED CTE: PostgreSQL runs it once. As a plain `IN (SELECT ... LIMIT n)` the
        # planner may run the sub-select again per outer row, and the UPDATE then takes more
        # than n rows (tests/integration/test_outbox_statements.py claims one of three).
        locked = ready.with_for_update(skip_locked=True).cte("ready").prefix_with("MATERIALIZED")
        chosen = select(locked.c.id)
    claimed = (
        update(OUTBOX)
        .where(OUTBOX.c.id.in_(chosen), _free())
        .values(
            claimed_by=bindparam("worker"),
            lease_until=bindparam("lease_until"),
            lease_generation=OUTBOX.c.lease_generation + 1,
            attempts=OUTBOX.c.attempts + 1,
        )
        .returning(
            OUTBOX.c.id,
            OUTBOX.c.case_id,
            OUTBOX.c.attempts,
            OUTBOX.c.lease_generation,
            OUTBOX.c.operation,  # issue 19: request | amend (for `version`) | cancel (`reason`)
            OUTBOX.c.version,
            OUTBOX.c.reason,
        )
    )
    if not postgres:
        return claimed
    # One round trip: the UPDATE as a data-modifying CTE, joined to the case and application,
    # with when the rows it did not take are next due. (The statement's sub-selects read the
    # table as it was before the UPDATE: the rows taken are left out, their lease is known.)
    taken = claimed.cte("claimed")
    others = OUTBOX.alias("others")
    others_due = (
        select(func.min(due_at(others)))
        .where(others.c.done_at.is_(None), others.c.id.not_in(select(taken.c.id)))
        .scalar_subquery()
    )
    return (
        select(taken, *_CLAIM_DETAILS, others_due.label("next_due"))
        .join(CASES, CASES.c.id == taken.c.case_id)
        .join(APPS, APPS.c.id == CASES.c.application_id)
    )


# SQLite: after the UPDATE, in its transaction, so the rows taken count with their new lease.
_CLAIMED_DETAILS = (
    select(
        CASES.c.id.label("case_id"), *_CLAIM_DETAILS, NEXT_DUE.scalar_subquery().label("next_due")
    )
    .join(APPS, APPS.c.id == CASES.c.application_id)
    .where(CASES.c.id.in_(bindparam("case_ids", expanding=True)))
)


def claim_deliveries(
    s: Session | Connection,
    *,
    worker: str,
    now: dt.datetime,
    lease_until: dt.datetime,
    limit: int,
    skip_agencies: frozenset[str],
    postgres: bool,
) -> ClaimTurn:
    """Inside transaction `s` (a Core connection will do): lease up to `limit` ready deliveries
    to `worker` until `lease_until`, counting an attempt and a lease generation each, and return
    them as claims, with when a delivery is next due after them (read in the claim's statements;
    one more statement only when nothing was claimed).

    The guard (not done, available, no live lease) is in the UPDATE itself, so a row whose lease
    has not expired is never taken twice. PostgreSQL: candidates are locked `FOR UPDATE SKIP
    LOCKED` in the sub-select, so concurrent claimers take different rows without waiting; SQLite:
    the transaction holds the database write lock (BEGIN IMMEDIATE)."""
    params: dict[str, Any] = {
        "now": now, "limit": limit, "worker": worker, "lease_until": lease_until,
    }  # fmt: skip
    if skip_agencies:
        params["skip"] = sorted(skip_agencies)
    statement = _claim(postgres, bool(skip_agencies))
    if postgres:
        rows: list[Mapping[str, Any]] = [dict(r._mapping) for r in s.execute(statement, params)]
    else:
        # SQLite's RETURNING names only the updated table: the details are one more SELECT.
        leased = {r.case_id: r._mapping for r in s.execute(statement, params)}
        rows = (
            [
                {**leased[d.case_id], **d._mapping}
                for d in s.execute(_CLAIMED_DETAILS, {"case_ids": list(leased)})
            ]
            if leased
            else []
        )
    if not rows:
        return ClaimTurn([], utc(s.execute(NEXT_DUE).scalar()))
    others_due = utc(rows[0]["next_due"])
    next_due = lease_until if others_due is None else min(others_due, lease_until)
    claims = [
        Claim(
            outbox_id=r["id"],
            case_id=r["case_id"],
            agency=r["agency"],
            application_id=r["application_id"],
            application_body=r["body"],
            attempts=r["attempts"],
            received_at=utc(r["amended_at"] or r["received_at"]) or now,
            request_id=r["request_id"],
            worker=worker,
            generation=r["lease_generation"],
            lease_until=lease_until,
            operation=r["operation"],
            version=r["version"],
            reason=r["reason"],
        )
        for r in rows
    ]
    return ClaimTurn(sorted(claims, key=lambda c: c.outbox_id), next_due)


_LOCK_APPLICATION = (
    update(APPS).where(APPS.c.id == bindparam("app_id")).values(updated_at=bindparam("now"))
)


def lock_application(s: Session, application_id: str, now: dt.datetime) -> None:
    """Lock the application's row until `s` ends: callbacks and dispatchers settling its cases
    queue here, so two settling its last two cases at once cannot both see "one still open"
    (PostgreSQL row lock; SQLite's write lock is held already)."""
    s.connection().execute(_LOCK_APPLICATION, {"app_id": application_id, "now": now})


@cache
def _set_case(columns: frozenset[str], only_if_open: bool) -> Executable:
    guard = [CASES.c.id == bindparam("case_id_")]
    if only_if_open:
        guard.append(CASES.c.state.not_in(SETTLED))
    return (
        update(CASES)
        .where(and_(*guard))
        .values({name: bindparam(f"{name}_") for name in sorted(columns)})
    )


def set_case(
    s: Session,
    case_id: str,
    *,
    state: CaseState,
    fields: Mapping[str, object],
    now: dt.datetime,
    only_if_open: bool,
) -> bool:
    """Write a case's state and answer fields in one UPDATE; JSON columns are encoded. With
    `only_if_open`, a case already settled (by a callback that overtook this answer) is left as
    it is. Returns whether the case was written."""
    params = _case_values(case_id, state, fields, now)
    written = s.connection().execute(_set_case(_columns(params), only_if_open), params)
    return bool(written.rowcount == 1)


def _case_values(
    case_id: str, state: CaseState, fields: Mapping[str, object], now: dt.datetime
) -> dict[str, object]:
    """The parameters of `_set_case`: the case's id, its state and answer fields (JSON columns
    encoded). Parameter names end in "_": a bound name may not be a column's name in an UPDATE."""
    values: dict[str, object] = {"state": state.value, "updated_at": now}
    for name, value in fields.items():
        if name not in CASES.c:
            raise KeyError(f"cases has no column {name}")
        values[name] = json.dumps(value) if name in JSON_COLUMNS else value
    return {"case_id_": case_id, **{f"{name}_": value for name, value in values.items()}}


def _columns(params: Mapping[str, object]) -> frozenset[str]:
    return frozenset(name[:-1] for name in params if name != "case_id_")


@cache
def _settle_pg(columns: frozenset[str]) -> Executable:
    """PostgreSQL: `settle_case` as one statement. Each step runs only if the one before it
    wrote (EXISTS on its CTE), so the locks are taken in the order of the three statements it
    replaces — the delivery's row, the application's, the case's — and a later step never runs
    ahead of an earlier one. Returns whether the fence held and whether the case was written."""
    fenced = (
        update(OUTBOX)
        .where(
            OUTBOX.c.id == bindparam("row_id"),
            OUTBOX.c.claimed_by == bindparam("worker"),
            OUTBOX.c.lease_generation == bindparam("generation"),
        )
        .values(lease_until=None, done_at=bindparam("now"))
        .returning(OUTBOX.c.id)
        .cte("fenced")
    )
    locked = (
        update(APPS)
        .where(APPS.c.id == bindparam("app_id"), exists(select(fenced.c.id)))
        .values(updated_at=bindparam("now"))
        .returning(APPS.c.id)
        .cte("locked")
    )
    changed = (
        update(CASES)
        .where(
            CASES.c.id == bindparam("case_id_"),
            CASES.c.state.not_in(SETTLED),
            exists(select(locked.c.id)),
        )
        .values({name: bindparam(f"{name}_") for name in sorted(columns)})
        .returning(CASES.c.id)
        .cte("changed")
    )
    return select(
        exists(select(fenced.c.id)).label("fenced"),
        exists(select(changed.c.id)).label("changed"),
    )


def settle_case(
    s: Session,
    claim: Claim,
    *,
    state: CaseState,
    fields: Mapping[str, object],
    now: dt.datetime,
    postgres: bool,
) -> tuple[bool, bool] | None:
    """PostgreSQL, inside transaction `s` before any other write: the three first steps of
    settling `claim` — the fenced release of its delivery (`Store._fence`), the application's
    row lock (`lock_application`), the case written if still open (`set_case`) — in one
    statement. Returns (the fence held, the case was written); None on SQLite, where the caller
    makes the three statements (in-process, they cost no round trips)."""
    if not postgres:
        return None
    params = _case_values(claim.case_id, state, fields, now)
    row = (
        s.connection()
        .execute(
            _settle_pg(_columns(params)),
            {
                **params,
                "row_id": claim.outbox_id,
                "worker": claim.worker,
                "generation": claim.generation,
                "app_id": claim.application_id,
                "now": now,
            },
        )
        .one()
    )
    return bool(row.fenced), bool(row.changed)


# The declarant's registration for notifications comes along (NULL when it registered none):
# a settled case's events and the decision each owed a read of it.
_DECISION_INPUTS_QUERY = (
    select(
        *_DECISION_INPUTS,
        SUBSCRIPTIONS.c.url.label("subscription_url"),
        SUBSCRIPTIONS.c.events.label("subscription_events"),
    )
    .join(APPS, APPS.c.id == CASES.c.application_id)
    .outerjoin(SUBSCRIPTIONS, SUBSCRIPTIONS.c.bin == APPS.c.declarant_bin)
    .where(CASES.c.application_id == bindparam("app_id"))
    .order_by(CASES.c.position)
)


class Subscribed(NamedTuple):
    """A trader's registration as its notifications read it (`gateway.storage.notifications`):
    where to, and the events it chose."""

    url: str
    events: str | None


@dataclass(frozen=True)
class DecisionInputs:
    """What composing a decision reads, in one SELECT: the subject, every case (routing order),
    and whether the application was withdrawn (issue 19: nothing more to decide then)."""

    subject: DecisionSubject
    withdrawn: bool
    decision_xml: bytes | None
    rows: list[Any]  # the cases as stored now (Core rows), with their ids and answer fields
    registration: Subscribed | None  # where the declarant's notifications go, if anywhere

    def case(self, case_id: str) -> Any:
        return next(row for row in self.rows if row.id == case_id)

    @property
    def decidable(self) -> bool:
        """Whether the cases make a decision now (`rules.decidable`): told from their states
        alone, so that an application with a case still open costs no `cases` built."""
        return decidable(CaseState(row.state) for row in self.rows)

    @cached_property
    def cases(self) -> list[CaseResult]:
        """Every case as the decision reads it, in routing order."""
        return [case_result(row) for row in self.rows]


def decision_inputs(s: Session, application_id: str) -> DecisionInputs:
    """The application's facts and all its cases (routing order), in one SELECT. The subject's
    `replaces` is left for the caller (it needs one more count, only when a decision exists)."""
    rows = s.connection().execute(_DECISION_INPUTS_QUERY, {"app_id": application_id}).all()
    if not rows:
        raise LookupError(f"application {application_id} has no cases")
    first = rows[0]
    subject = DecisionSubject(
        application_id,
        first.declarant_bin,
        first.trader_reference,
        first.body_sha256,
        released_at=utc(first.released_at),
    )
    return DecisionInputs(
        subject,
        first.withdrawn_at is not None,
        first.decision_xml,
        list(rows),
        None
        if first.subscription_url is None
        else Subscribed(first.subscription_url, first.subscription_events),
    )


def case_result(row: Any) -> CaseResult:
    """A stored case (an ORM `CaseRow` or a Core row with its columns) as the decision reads it."""
    return CaseResult(
        agency=row.agency,
        state=CaseState(row.state),
        permit_number=row.permit_number,
        valid_until=row.valid_until,
        reasons=tuple((code, text) for code, text in json.loads(row.reasons)),
        conditions=tuple(json.loads(row.conditions)),
        inspection=row.inspection,
        answer_sha256=row.answer_sha256,
        charges=tuple(json.loads(row.charges or "[]")),
    )


_RECORD_DECISION = (
    update(APPS)
    .where(APPS.c.id == bindparam("app_id"))
    .values(
        status="decided",
        verdict=bindparam("verdict"),
        decided_at=bindparam("now"),
        decision_xml=bindparam("xml"),
    )
)


def record_decision(
    s: Session, application_id: str, *, verdict: str, xml: bytes, now: dt.datetime
) -> None:
    # On the session's connection: no flush of what the session has pending (it goes out at
    # commit), and none of the ORM's execution steps for a Core statement.
    s.connection().execute(
        _RECORD_DECISION,
        {"app_id": application_id, "verdict": verdict, "now": now, "xml": xml},
    )
