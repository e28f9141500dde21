"""Intake's rows: the application, one case and one delivery per agency (issue 17: "intake
inserts in one round trip").

On PostgreSQL they are one statement: data-modifying CTEs insert the application, its cases
(from arrays, joined to the application's RETURNING) and their deliveries (from the cases'
RETURNING), and the statement itself sends the outbox wake-up (`pg_notify`, delivered at commit
like NOTIFY). The foreign keys are checked at the end of the statement, when all three rows are
there. On SQLite, where a CTE cannot insert, they are three statements on the same connection
(cases and deliveries each one multi-row statement): an in-process call each, no round trip.

Both write exactly the same rows; the caller's transaction holds them.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable, Iterable
from typing import Any, cast

from sqlalchemy import DateTime, Integer, String, Table, bindparam, func, insert, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.expression import Executable
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from gateway.decision.rules import CaseState
from gateway.fanout.wakeup import OUTBOX as OUTBOX_CHANNEL
from gateway.intake.ports import NewApplication
from gateway.storage import wake
from gateway.storage.core_tx import Tx
from gateway.storage.driver_insert import insert_rows
from gateway.storage.models import ApplicationRow, CaseRow, OutboxRow
from gateway.trail.messages import sha256_hex

APPLICATIONS, CASES, OUTBOX = (
    cast(Table, row.__table__) for row in (ApplicationRow, CaseRow, OutboxRow)
)
_INSERT_APPLICATION = insert(APPLICATIONS)
# What a new case holds before its agency is asked (the columns without a default of their own).
_NEW_CASE = {
    "state": CaseState.QUEUED.value,
    "reasons": "[]",
    "conditions": "[]",
    "extra": "{}",
    "charges": "[]",
    "attempts": 0,
}


def insert_application(s: Tx, new: NewApplication, now: dt.datetime) -> None:
    """Inside intake's transaction `s`: the application, its cases and their deliveries, and the
    outbox's loops owed a wake-up once it commits. Raises the database's IntegrityError when the
    declarant already used the trader reference (the unique constraint; nothing is looked up
    first)."""
    application = _application_values(new, now)
    case_ids = [f"{new.id}-{agency}" for agency in new.routing]
    # On the transaction's connection: nothing is pending before these statements, and the ORM's
    # execution steps cost more than the statements do.
    connection = s.connection()
    if not case_ids:
        connection.execute(_INSERT_APPLICATION, application)
        return
    if connection.dialect.name == "postgresql":
        params = {f"new_{name}": value for name, value in application.items()}
        params |= {"case_ids": case_ids, "agencies": list(new.routing), "now": now}
        connection.execute(_one_statement(tuple(application)), params)
        wake.owe(s, OUTBOX_CHANNEL, notified=True)
        return
    # SQLite: the three Core INSERTs as the driver's statements (`insert_rows`).
    run = functools.partial(insert_rows, connection)
    run(APPLICATIONS, [application])
    run(
        CASES,
        [
            {"id": case_id, "application_id": new.id, "position": position, "agency": agency}
            | _NEW_CASE
            | {"updated_at": now}
            for position, (case_id, agency) in enumerate(zip(case_ids, new.routing, strict=True))
        ],
    )
    run(OUTBOX, [{"case_id": case_id, "available_at": now, "attempts": 0} for case_id in case_ids])
    wake.owe(s, OUTBOX_CHANNEL)


def _application_values(new: NewApplication, now: dt.datetime) -> dict[str, Any]:
    return {
        "id": new.id,
        "declarant_bin": new.declarant_bin,
        "trader_reference": new.trader_reference,
        "procedure": new.procedure,
        "status": "in_progress",
        "received_at": now,
        "updated_at": now,
        "body": new.body,
        "body_sha256": sha256_hex(new.body),
        "signer_subject": new.signer_subject,
        "signer_fingerprint": new.signer_fingerprint,
        "routing": json.dumps(new.routing),
        "request_id": new.request_id,
    }


@functools.cache
def _one_statement(columns: tuple[str, ...]) -> Executable:
    """PostgreSQL: application, cases, deliveries and the wake-up in one statement, built once.
    Parameters: the application's `columns` (`_application_values`' keys) prefixed `new_`,
    `case_ids` and `agencies` (arrays, in routing order: a case's position is its index) and
    `now`."""
    now = bindparam("now", type_=DateTime(timezone=True))
    column: Callable[[str], Any] = APPLICATIONS.c.__getitem__
    # Named apart from every column: a bind parameter named as a column of the table an INSERT
    # writes is that column's own parameter to SQLAlchemy.
    values = {name: bindparam(f"new_{name}", type_=column(name).type) for name in columns}
    values |= {name: literal(v) for name, v in _scalar_defaults(APPLICATIONS, values).items()}
    app = insert(APPLICATIONS).values(values).returning(APPLICATIONS.c.id).cte("new_application")
    routed = (
        func.unnest(
            bindparam("case_ids", type_=ARRAY(String)), bindparam("agencies", type_=ARRAY(String))
        )
        .table_valued("case_id", "agency", with_ordinality="ordinality")
        .render_derived()
    )
    case_columns = ["id", "application_id", "position", "agency", *_NEW_CASE, "updated_at"]
    case_defaults = _scalar_defaults(CASES, case_columns)
    cases = (
        insert(CASES)
        .from_select(
            [*case_columns, *case_defaults],
            select(
                routed.c.case_id,
                app.c.id,
                (routed.c.ordinality - 1).cast(Integer),
                routed.c.agency,
                *(literal(v) for v in _NEW_CASE.values()),
                now,
                *(literal(v) for v in case_defaults.values()),
            ).select_from(app.join(routed, literal(True))),
        )
        .returning(CASES.c.id, CASES.c.position)
        .cte("new_cases")
    )
    delivery_defaults = _scalar_defaults(OUTBOX, ["case_id", "available_at", "attempts"])
    deliveries = insert(OUTBOX).from_select(
        ["case_id", "available_at", "attempts", *delivery_defaults],
        # In routing order, as the SQLite rows are: their ids order the claims of equal due time.
        select(
            cases.c.id, now, literal(0), *(literal(v) for v in delivery_defaults.values())
        ).order_by(cases.c.position),
    )
    return select(func.pg_notify(OUTBOX_CHANNEL, "")).add_cte(
        app, cases, deliveries.cte("new_deliveries")
    )


def _scalar_defaults(table: Table, given: Iterable[str]) -> dict[str, Any]:
    """The columns of `table` not in `given` with a Python-side scalar default, and its value: an
    INSERT that SQLAlchemy compiles fills them in with parameters named as the columns, which
    would clash between the three INSERTs of one statement; written as literals instead."""
    given = set(given)
    return {
        c.name: c.default.arg
        for c in table.columns
        if c.name not in given and isinstance(c.default, ScalarElementColumnDefault)
    }
