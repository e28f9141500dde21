"""Read models for the applications pages: plain dicts for the templates, one short transaction each
(no connection is held while a page renders or an event stream waits)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import load_only

from gateway.clock import iso
from gateway.omc.roles import Officer
from gateway.storage.models import ApplicationRow, ArrivalNoticeRow, CaseRow, MessageRow
from gateway.storage.repository import Store, utc

LIST_LIMIT = 200
SINCE_HOURS = {"1h": 1, "24h": 24, "7d": 24 * 7}


@dataclass(frozen=True)
class Filters:
    status: str = ""  # in_progress | released | refused | inspection
    agency: str = ""
    checkpoint: str = ""
    trader: str = ""  # declarant BIN or trader reference (prefix)
    since: str = ""  # one of SINCE_HOURS

    @classmethod
    def from_args(cls, args: Any) -> Filters:
        return cls(
            **{name: str(args.get(name, "")).strip()[:64] for name in cls.__dataclass_fields__}
        )


def list_applications(store: Store, who: Officer, f: Filters) -> list[dict[str, Any]]:
    query: Select[Any] = (
        select(ApplicationRow)
        .options(
            load_only(
                ApplicationRow.id,
                ApplicationRow.declarant_bin,
                ApplicationRow.trader_reference,
                ApplicationRow.procedure,
                ApplicationRow.status,
                ApplicationRow.verdict,
                ApplicationRow.received_at,
                ApplicationRow.decided_at,
            )
        )
        .order_by(ApplicationRow.received_at.desc(), ApplicationRow.id.desc())
        .limit(LIST_LIMIT)
    )
    agency = who.agency if who.agency else f.agency
    if agency:
        query = query.where(
            ApplicationRow.id.in_(select(CaseRow.application_id).where(CaseRow.agency == agency))
        )
    if f.status == "in_progress":
        query = query.where(ApplicationRow.status == "in_progress")
    elif f.status:
        query = query.where(ApplicationRow.verdict == f.status)
    if f.trader:
        query = query.where(
            (ApplicationRow.declarant_bin == f.trader)
            | ApplicationRow.trader_reference.startswith(f.trader, autoescape=True)
        )
    if f.since in SINCE_HOURS:
        cutoff = store.clock() - dt.timedelta(hours=SINCE_HOURS[f.since])
        query = query.where(ApplicationRow.received_at >= cutoff)
    with store.reading() as s:
        if f.checkpoint:
            ids: set[str] = set()
            for apps in s.scalars(
                select(ArrivalNoticeRow.applications).where(
                    ArrivalNoticeRow.checkpoint == f.checkpoint
                )
            ):
                ids.update(json.loads(apps))
            query = query.where(ApplicationRow.id.in_(sorted(ids)))
        rows = s.scalars(query).all()
        cases: dict[str, list[dict[str, str]]] = {}
        if rows:
            for app_id, case_agency, state in s.execute(
                select(CaseRow.application_id, CaseRow.agency, CaseRow.state)
                .where(CaseRow.application_id.in_([r.id for r in rows]))
                .order_by(CaseRow.position)
            ):
                if who.sees_agency(case_agency):
                    cases.setdefault(app_id, []).append({"agency": case_agency, "state": state})
        return [
            {
                "id": r.id,
                "declarant_bin": r.declarant_bin,
                "trader_reference": r.trader_reference,
                "procedure": r.procedure,
                "status": r.status,
                "verdict": r.verdict,
                "received_at": _time(r.received_at),
                "decided_at": _time(r.decided_at),
                "cases": cases.get(r.id, []),
            }
            for r in rows
        ]


def application_messages(store: Store, application_id: str, who: Officer) -> list[dict[str, Any]]:
    """The application's trail messages (not their bodies), those of other agencies' cases left out
    for an agency officer."""
    with store.reading() as s:
        case_agency = dict(
            s.execute(
                select(CaseRow.id, CaseRow.agency).where(CaseRow.application_id == application_id)
            ).all()
        )
        rows = s.execute(
            select(MessageRow.seq, MessageRow.kind, MessageRow.direction, MessageRow.counterpart,
                   MessageRow.case_id, MessageRow.content_type, MessageRow.sha256,
                   MessageRow.created_at)
            .where(MessageRow.application_id == application_id)
            .order_by(MessageRow.seq)
        ).all()  # fmt: skip
    return [
        {
            "seq": r.seq,
            "kind": r.kind,
            "direction": r.direction,
            "counterpart": r.counterpart,
            "case_id": r.case_id,
            "content_type": r.content_type,
            "sha256": r.sha256,
            "at": _time(r.created_at),
        }
        for r in rows
        if r.case_id is None or who.sees_agency(case_agency.get(r.case_id, ""))
    ]


def message_row(store: Store, seq: int) -> dict[str, Any] | None:
    with store.reading() as s:
        row = s.scalars(select(MessageRow).where(MessageRow.seq == seq)).first()
        if row is None:
            return None
        agency = (
            s.scalar(select(CaseRow.agency).where(CaseRow.id == row.case_id))
            if row.case_id
            else None
        )
        return {
            "seq": row.seq,
            "entry": bytes(row.entry),
            "application_id": row.application_id,
            "case_id": row.case_id,
            "agency": agency,
            "kind": row.kind,
            "body_size": len(row.body),
            "sha256": row.sha256,
        }


SIGN_IN_KINDS = ("omc-sign-in", "omc-sign-out")


def sign_ins(store: Store, limit: int = 50) -> list[dict[str, Any]]:
    """The latest OMC sign-ins, refusals and sign-outs in the trail, newest first."""
    with store.reading() as s:
        rows = s.scalars(
            select(MessageRow)
            .where(MessageRow.kind.in_(SIGN_IN_KINDS))
            .order_by(MessageRow.seq.desc())
            .limit(limit)
        ).all()
        return [{"seq": r.seq, **json.loads(r.body)} for r in rows]


def _time(moment: dt.datetime | None) -> str | None:
    return iso(t) if (t := utc(moment)) else None
