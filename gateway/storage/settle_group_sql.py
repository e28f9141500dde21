"""Closing a group of an application's deliveries in a few statements (issue 17 item 2): the
answers a dispatcher records together (`OutboxStore.settle_all`) are fenced, and their cases
written, set-based, instead of a fence, a lock and a case write per answer.

- PostgreSQL: one statement per application, whatever the number of answers: the fenced release
  of every claim's delivery, the application's row lock, and each case written if still open, as
  data-modifying CTEs (each step runs only on what the step before it returned, so the locks are
  taken in the order of the statements they replace: deliveries, application, cases).
- SQLite: three statements per application (the fences, the application's lock, the cases),
  where each answer made two or three; the answers go in as one JSON array (`json_each`), so each
  statement's text is fixed per set of columns, rendered and compiled once.

Either way each claim is fenced on its own: a claim another worker holds now changes nothing, and
the others settle. For one answer (two on SQLite) the plain statements of `settle_sql` cost less
CPU, and `OutboxStore` uses them there, and for answers with values `groupable` refuses.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Executable,
    TextClause,
    bindparam,
    func,
    literal_column,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql

from gateway.decision.rules import CaseState
from gateway.fanout.ports import Claim
from gateway.storage.core_tx import Tx
from gateway.storage.outbox_sql import CASES, JSON_COLUMNS, OUTBOX, SETTLED
from gateway.storage.settle_sql import _case_values, lock_application


class GroupSettle(NamedTuple):
    """One answer of a group, as its statements take it: the claim, the case's new values
    (`settle_sql._case_values`: parameter names end in "_") and the columns they set besides
    `updated_at` (the same `now` for all), sorted."""

    claim: Claim
    values: dict[str, object]
    columns: tuple[str, ...]

    @classmethod
    def of(
        cls, claim: Claim, state: CaseState, fields: Mapping[str, object], now: dt.datetime
    ) -> GroupSettle:
        values = _case_values(claim.case_id, state, fields, now)
        for name, value in values.items():
            if name != "updated_at_" and value is not None and type(value) not in (str, int):
                raise TypeError(f"cases.{name[:-1]}: {type(value).__name__} is not stored")
        names = sorted(name[:-1] for name in values if name not in ("case_id_", "updated_at_"))
        return cls(claim, values, tuple(names))


def groupable(fields: Mapping[str, object]) -> bool:
    """Whether an answer's case `fields` can go in a group's JSON: each value text, an integer
    or None, but for the JSON columns (encoded first)."""
    return all(
        name in JSON_COLUMNS or value is None or type(value) in (str, int)
        for name, value in fields.items()
    )


class Closed(NamedTuple):
    """What closing the group did: the outbox ids whose fence held, the case ids written."""

    fenced: frozenset[int]
    written: frozenset[str]


def close_group(
    s: Tx,
    application_id: str,
    answers: Sequence[tuple[Claim, CaseState, Mapping[str, object]]],
    now: dt.datetime,
    *,
    postgres: bool,
) -> Closed:
    """Inside transaction `s`, before any other write of these claims: release each claim's
    delivery if the claim still holds it (`Store._fence`), lock the application (if any fence
    held), and write each fenced claim's case if it is still open (`settle_sql.set_case` with
    `only_if_open`). JSON columns are encoded; any other value that is not text, an integer or
    None is a TypeError (`groupable`: SQLite's JSON carries those three unchanged).

    Answers for different cases that set the same columns (the usual group) go in one round;
    otherwise in rounds of such answers, in order (two answers for one case: an UPDATE joined to
    two rows for one row would apply one of them, which one unsaid)."""
    fenced: set[int] = set()
    written: set[str] = set()
    for run in _runs([GroupSettle.of(c, state, fields, now) for c, state, fields in answers]):
        closed = _close(s, application_id, run, now, postgres)
        fenced |= closed.fenced
        written |= closed.written
    return Closed(frozenset(fenced), frozenset(written))


def _runs(group: Sequence[GroupSettle]) -> list[list[GroupSettle]]:
    """`group` cut, in order, into runs of answers for different cases setting the same
    columns."""
    runs: list[list[GroupSettle]] = []
    for g in group:
        run = runs[-1] if runs else None
        if (
            run is None
            or run[0].columns != g.columns
            or any(r.claim.case_id == g.claim.case_id for r in run)
        ):
            runs.append([g])
        else:
            run.append(g)
    return runs


def _close(
    s: Tx,
    application_id: str,
    group: Sequence[GroupSettle],
    now: dt.datetime,
    postgres: bool,
) -> Closed:
    columns = group[0].columns
    if postgres:
        params = {"claims": _claims_json(group), "app_id": application_id, "now": now}
        row = s.connection().execute(_close_pg(columns), params).one()
        return Closed(frozenset(row.fenced or ()), frozenset(row.changed or ()))
    connection = s.connection()
    claims = json.dumps([[g.claim.outbox_id, g.claim.worker, g.claim.generation] for g in group])
    fenced = frozenset(
        r.id for r in connection.execute(_FENCE_SQLITE, {"claims": claims, "now": now})
    )
    if not fenced:
        return Closed(fenced, frozenset())
    lock_application(s, application_id, now)
    rows = json.dumps(
        [
            [g.claim.case_id, *(g.values[f"{name}_"] for name in columns)]
            for g in group
            if g.claim.outbox_id in fenced
        ]
    )
    written = connection.execute(_cases_sqlite(columns), {"rows": rows, "now": now})
    return Closed(fenced, frozenset(r.id for r in written))


_STILL_OPEN = "cases.state NOT IN ({})".format(", ".join(f"'{state}'" for state in SETTLED))
_DONE_AT = OUTBOX.c.done_at.type


@cache
def _close_pg(columns: tuple[str, ...]) -> TextClause:
    """PostgreSQL's one statement (`close_group`); parameters: claims (`_claims_json`), app_id
    and now. The answers go in as one JSON parameter, typed by the server: a dozen array
    parameters cost the client more to adapt than the statement's round trip."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    record = ", ".join(
        ["row_id BIGINT", "worker TEXT", "generation INTEGER", "case_id TEXT"]
        + [f"{name} {CASES.c[name].type.compile(dialect=dialect)}" for name in columns]
    )
    sets = ", ".join([f"{name} = claims.{name}" for name in columns] + ["updated_at = :now"])
    # Only the table's own column names and the settled states are formatted in (`_case_values`
    # refuses any other name); every value is a bound parameter.
    sql = f"""WITH claims AS MATERIALIZED (
    SELECT * FROM jsonb_to_recordset(CAST(:claims AS JSONB)) AS claims({record})
), fenced AS (
    UPDATE outbox SET lease_until = NULL, done_at = :now
    FROM claims
    WHERE outbox.id = claims.row_id AND outbox.claimed_by = claims.worker
      AND outbox.lease_generation = claims.generation
    RETURNING outbox.id
), locked AS (
    UPDATE applications SET updated_at = :now
    WHERE applications.id = :app_id AND EXISTS (SELECT FROM fenced)
    RETURNING applications.id
), changed AS (
    UPDATE cases SET {sets}
    FROM claims JOIN fenced ON fenced.id = claims.row_id
    WHERE cases.id = claims.case_id AND {_STILL_OPEN} AND EXISTS (SELECT FROM locked)
    RETURNING cases.id
)
SELECT (SELECT array_agg(id) FROM fenced) AS fenced,
       (SELECT array_agg(id) FROM changed) AS changed"""  # noqa: S608
    return text(sql).bindparams(bindparam("now", type_=_DONE_AT))


def _claims_json(group: Sequence[GroupSettle]) -> str:
    """The group as PostgreSQL's statement reads it: a JSON array of one object per answer,
    its claim and the case's new values by column name."""
    return json.dumps(
        [
            {
                "row_id": g.claim.outbox_id, "worker": g.claim.worker,
                "generation": g.claim.generation, "case_id": g.claim.case_id,
                **{name: g.values[f"{name}_"] for name in g.columns},
            }
            for g in group
        ]
    )  # fmt: skip


# SQLite: the claims as [[outbox id, worker, generation], ...]. The id's IN lets the primary key
# find the rows; the row value's IN is the fence. (Core statements, not text: their compiled
# form and result columns are cached, where a text statement's result is described anew at each
# execution.)
_CLAIMS = func.json_each(bindparam("claims")).table_valued("value")


def _claim_part(i: int) -> ColumnElement[Any]:
    return func.json_extract(_CLAIMS.c.value, literal_column(f"'$[{i}]'"))


_FENCE_SQLITE = (
    update(OUTBOX)
    .where(
        OUTBOX.c.id.in_(select(_claim_part(0))),
        tuple_(OUTBOX.c.id, OUTBOX.c.claimed_by, OUTBOX.c.lease_generation).in_(
            select(_claim_part(0), _claim_part(1), _claim_part(2))
        ),
    )
    .values(lease_until=None, done_at=bindparam("now"))
    .returning(OUTBOX.c.id)
)


@cache
def _cases_sqlite(columns: tuple[str, ...]) -> Executable:
    """SQLite's case writes (`close_group`); parameters: rows, as [[case id, the columns' values
    in `columns` order], ...], and now."""
    rows = func.json_each(bindparam("rows")).table_valued("value")
    answers = select(
        *(
            func.json_extract(rows.c.value, literal_column(f"'$[{i}]'")).label(name)
            for i, name in enumerate(("case_id", *columns))
        )
    ).subquery("answers")
    return (
        update(CASES)
        .where(CASES.c.id == answers.c.case_id, text(_STILL_OPEN))
        .values({**{name: answers.c[name] for name in columns}, "updated_at": bindparam("now")})
        .returning(CASES.c.id)
    )
