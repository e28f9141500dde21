"""The outbox's hot statements in SQLAlchemy Core: the tables, and claiming deliveries (issue 17
item 2). Settling a case and recording the decision are in `gateway.storage.settle_sql`.

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
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Executable,
    Select,
    String,
    Table,
    and_,
    any_,
    bindparam,
    case,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.engine import Dialect

from gateway.decision.rules import CaseState
from gateway.fanout.ports import Claim, ClaimTurn
from gateway.storage.db import utc
from gateway.storage.driver_sql import driver_statement
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
    # Issue 19: an amended application's deadlines count from the amendment.
    func.coalesce(APPS.c.amended_at, APPS.c.received_at).label("received_at"),
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


def _json_values(name: str) -> Any:
    """SQLite: the values of parameter `name`, a JSON array, as a one-column table."""
    return func.json_each(bindparam(name)).table_valued("value").c.value


@cache
def any_ready() -> Select[int]:
    """One ready delivery's id, if any (parameter: now)."""
    return select(OUTBOX.c.id).where(_ready()).limit(1)


@cache
def _claim(postgres: bool, skipping: bool) -> Executable:
    """The claim (parameters: now, limit, worker, lease_until; skip: agencies, if `skipping`)."""
    ready = select(OUTBOX.c.id).where(_ready())
    if skipping:
        # The agencies as one parameter, so the statement's text is fixed (it is sent as
        # rendered once, `driver_statement`): PostgreSQL's an array, SQLite's a
        # JSON array (`json_each`).
        skipped = (
            CASES.c.agency == any_(bindparam("skip", type_=ARRAY(String)))
            if postgres
            else CASES.c.agency.in_(select(_json_values("skip")))
        )
        ready = ready.where(OUTBOX.c.case_id.not_in(select(CASES.c.id).where(skipped)))
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
    # One round trip, whatever it takes: the UPDATE as a data-modifying CTE, joined to the case
    # and application, beside when the rows it did not take are next due. That one-row "due"
    # comes first and the claimed rows are joined to it (LEFT JOIN ... ON true), so a claim that
    # takes nothing still says when to look again, without a second statement. (The statement's
    # sub-selects read the table as it was before the UPDATE: the rows taken are left out, their
    # lease is known.)
    taken = claimed.cte("claimed")
    others = OUTBOX.alias("others")
    due = (
        select(func.min(due_at(others)).label("next_due"))
        .where(others.c.done_at.is_(None), others.c.id.not_in(select(taken.c.id)))
        .subquery("due")
    )
    rows = (
        select(taken, *_CLAIM_DETAILS)
        .join(CASES, CASES.c.id == taken.c.case_id)
        .join(APPS, APPS.c.id == CASES.c.application_id)
        .subquery("taken")
    )
    return select(due.c.next_due, rows).select_from(due.outerjoin(rows, true()))


# SQLite: after the UPDATE, in its transaction, so the rows taken count with their new lease.
# The case ids go in as one JSON array (`json_each`): a statement of fixed text, compiled once,
# where an expanding IN was rendered again for every claim.
_CLAIMED_DETAILS = (
    select(
        CASES.c.id.label("case_id"), *_CLAIM_DETAILS, NEXT_DUE.scalar_subquery().label("next_due")
    )
    .join(APPS, APPS.c.id == CASES.c.application_id)
    .where(CASES.c.id.in_(select(_json_values("case_ids"))))
)


def claim_deliveries(
    cursor: Any,
    dialect: Dialect,
    *,
    worker: str,
    now: dt.datetime,
    lease_until: dt.datetime,
    limit: int,
    skip_agencies: frozenset[str],
) -> ClaimTurn:
    """SQLite, on a DB-API `cursor` in a write transaction (`driver_sql.sqlite_write`: it holds
    the database write lock from BEGIN IMMEDIATE): lease up to `limit` ready deliveries to
    `worker` until `lease_until`, counting an attempt and a lease generation each, and return
    them as claims, with when a delivery is next due after them (read in the claim's statements;
    one more statement only when nothing was claimed). The statements go to the driver as
    SQLAlchemy compiles them (`driver_statement`): its execution steps cost the claim several
    times what SQLite does (issue 17).

    The guard (not done, available, no live lease) is in the UPDATE itself, so a row whose lease
    has not expired is never taken twice."""
    params = _params(worker, now, lease_until, limit, skip_agencies)
    if skip_agencies:
        params["skip"] = json.dumps(params["skip"])
    statement = driver_statement(_claim(False, bool(skip_agencies)), dialect)
    # SQLite's RETURNING names only the updated table: the details are one more SELECT.
    leased = {r["case_id"]: r for r in statement.rows(cursor, params)}
    if not leased:
        (due,) = driver_statement(NEXT_DUE, dialect).rows(cursor, {})
        return ClaimTurn([], utc(next(iter(due.values()))))
    details = driver_statement(_CLAIMED_DETAILS, dialect)
    rows = [
        {**leased[d["case_id"]], **d}
        for d in details.rows(cursor, {"case_ids": json.dumps(list(leased))})
    ]
    return _turn(rows, worker, now, lease_until)


def claim_deliveries_pg(
    cursor: Any,
    dialect: Dialect,
    *,
    worker: str,
    now: dt.datetime,
    lease_until: dt.datetime,
    limit: int,
    skip_agencies: frozenset[str],
) -> ClaimTurn:
    """`claim_deliveries` on PostgreSQL: one statement, sent on a DB-API `cursor` in
    autocommit (`Store.autocommit`): it is atomic by itself, so it needs no BEGIN or COMMIT
    round trip, and SQLAlchemy's execution steps cost the client twice what the statement does
    (issue 17). Candidates are locked `FOR UPDATE SKIP LOCKED` in its first CTE, so concurrent
    claimers take different rows without waiting; the guard is in its UPDATE, as on SQLite."""
    statement = driver_statement(_claim(True, bool(skip_agencies)), dialect)
    rows = statement.rows(cursor, _params(worker, now, lease_until, limit, skip_agencies))
    if rows[0]["id"] is None:  # the one row of "due", with nothing claimed beside it
        return ClaimTurn([], utc(rows[0]["next_due"]))
    return _turn(rows, worker, now, lease_until)


def _params(
    worker: str,
    now: dt.datetime,
    lease_until: dt.datetime,
    limit: int,
    skip_agencies: frozenset[str],
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "now": now, "limit": limit, "worker": worker, "lease_until": lease_until,
    }  # fmt: skip
    if skip_agencies:
        params["skip"] = sorted(skip_agencies)
    return params


def _turn(
    rows: Sequence[Mapping[str, Any]], worker: str, now: dt.datetime, lease_until: dt.datetime
) -> ClaimTurn:
    """The claims of the rows a claim took (each with `next_due`: when the rows it did not
    take are next due), in outbox order, and when the claimer should look again."""
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
            received_at=utc(r["received_at"]) or now,
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
