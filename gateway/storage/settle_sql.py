"""Settling a case and recording the decision in SQLAlchemy Core (issue 17 item 2): the
statements `OutboxStore.settle` runs once a delivery has its answer.

- a case is settled by one guarded UPDATE whose row count says whether it was still open (on
  PostgreSQL one statement also releases the delivery's lease and locks the application row;
  several answers recorded together are settled set-based: `settle_group_sql`);
- the decision reads the application, its cases and the trader's subscription in one joined
  SELECT, and is recorded by one UPDATE.

The tables and the claim's statements are in `gateway.storage.outbox_sql`; what its docstring says
of running on the session's connection holds here too.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any, NamedTuple

from sqlalchemy import (
    Executable,
    and_,
    bindparam,
    exists,
    literal_column,
    select,
    update,
)

from gateway.decision.ports import DecisionSubject
from gateway.decision.rules import CaseResult, CaseState, decidable
from gateway.fanout.ports import Claim
from gateway.storage.core_tx import Tx
from gateway.storage.db import utc
from gateway.storage.outbox_sql import (
    _DECISION_INPUTS,
    APPS,
    CASES,
    JSON_COLUMNS,
    OUTBOX,
    SETTLED,
    SUBSCRIPTIONS,
)
from gateway.storage.trail_log import Step

# A case still open: its state none of the settled ones, written into the statement as constants.
# (A list of values becomes an expanding parameter, rendered again at every execution.)
_STILL_OPEN = CASES.c.state.not_in([literal_column(f"'{state}'") for state in SETTLED])

_LOCK_APPLICATION = (
    update(APPS).where(APPS.c.id == bindparam("app_id")).values(updated_at=bindparam("now"))
)


def lock_application(s: Tx, application_id: str, now: dt.datetime) -> None:
    """Lock the application's row until `s` ends: callbacks and dispatchers settling its cases
    queue here, so two settling its last two cases at once cannot both see "one still open"
    (PostgreSQL row lock; SQLite's write lock is held already)."""
    s.connection().execute(_LOCK_APPLICATION, {"app_id": application_id, "now": now})


@cache
def _set_case(columns: frozenset[str], only_if_open: bool) -> Executable:
    guard = [CASES.c.id == bindparam("case_id_")]
    if only_if_open:
        guard.append(_STILL_OPEN)
    return (
        update(CASES)
        .where(and_(*guard))
        .values({name: bindparam(f"{name}_") for name in sorted(columns)})
    )


def set_case(
    s: Tx,
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
        values[name] = _encoded(value) if name in JSON_COLUMNS else value
    return {"case_id_": case_id, **{f"{name}_": value for name, value in values.items()}}


def _encoded(value: object) -> str:
    """A JSON column's text: `json.dumps`, but for the usual empty list or object (most answers
    carry no reasons, conditions, charges or extra), whose text is known."""
    if not value:
        if type(value) in (list, tuple):
            return "[]"
        if type(value) is dict:
            return "{}"
    return json.dumps(value)


def _listed(text: str) -> list[Any]:
    """A JSON list column's value: `json.loads`, but for the usual "[]", without a parse."""
    return [] if text == "[]" else json.loads(text)


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
            _STILL_OPEN,
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
    s: Tx,
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


def decision_inputs(s: Tx, application_id: str) -> DecisionInputs:
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
        reasons=tuple((code, text) for code, text in _listed(row.reasons)),
        conditions=tuple(_listed(row.conditions)),
        inspection=row.inspection,
        answer_sha256=row.answer_sha256,
        charges=tuple(_listed(row.charges or "[]")),
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
    s: Tx, application_id: str, *, verdict: str, xml: bytes, now: dt.datetime
) -> None:
    # On the session's connection: no flush of what the session has pending (it goes out at
    # commit), and none of the ORM's execution steps for a Core statement.
    s.connection().execute(
        _RECORD_DECISION,
        {"app_id": application_id, "verdict": verdict, "now": now, "xml": xml},
    )


# `_RECORD_DECISION` as a WITH item of the trail's append on PostgreSQL (`record_decision_step`);
# the decision's bytes go in binary (`%b`), as the append's bodies do.
_RECORD_DECISION_PG = (
    "decided AS (UPDATE applications SET status = 'decided', verdict = %s, decided_at = %s,"
    " decision_xml = %b WHERE applications.id = %s)"
)


def record_decision_step(
    application_id: str, *, verdict: str, xml: bytes, now: dt.datetime
) -> Step:
    """`record_decision` as a step of the trail's append (`trail_log.append_messages`): on
    PostgreSQL in the append's statement, one round trip for the two; elsewhere
    `record_decision` itself. `tests/integration/test_settle_statements.py` holds the rows equal
    to `record_decision`'s."""
    return Step(
        _RECORD_DECISION_PG,
        (verdict, now, xml, application_id),
        lambda s: record_decision(s, application_id, verdict=verdict, xml=xml, now=now),
    )
