"""Read models for the OMC's applications and trail pages (`gateway.omc.ports.ApplicationViews`):
frozen views, one short read-only transaction each (no connection is held while a page renders)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import load_only

from gateway.clock import iso
from gateway.omc.ports import (
    ApplicationLine,
    CaseLine,
    Filters,
    TrailBody,
    TrailEntry,
    TrailLine,
)
from gateway.storage.models import ApplicationRow, ArrivalNoticeRow, CaseRow, MessageRow
from gateway.storage.repository import Store, utc


class SqlApplicationViews:
    def __init__(self, store: Store) -> None:
        self.store = store

    def applications(
        self, f: Filters, agency: str, received_since: dt.datetime | None, limit: int
    ) -> list[ApplicationLine]:
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
            .limit(limit)
        )
        if agency:
            query = query.where(
                ApplicationRow.id.in_(
                    select(CaseRow.application_id).where(CaseRow.agency == agency)
                )
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
        if received_since is not None:
            query = query.where(ApplicationRow.received_at >= received_since)
        with self.store.reading() as s:
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
            cases: dict[str, list[CaseLine]] = {}
            if rows:
                for app_id, case_agency, state in s.execute(
                    select(CaseRow.application_id, CaseRow.agency, CaseRow.state)
                    .where(CaseRow.application_id.in_([r.id for r in rows]))
                    .order_by(CaseRow.position)
                ):
                    cases.setdefault(app_id, []).append(CaseLine(case_agency, state))
            return [
                ApplicationLine(
                    id=r.id,
                    declarant_bin=r.declarant_bin,
                    trader_reference=r.trader_reference,
                    procedure=r.procedure,
                    status=r.status,
                    verdict=r.verdict,
                    received_at=_time(r.received_at),
                    decided_at=_time(r.decided_at),
                    cases=tuple(cases.get(r.id, [])),
                )
                for r in rows
            ]

    def trail_lines(self, application_id: str) -> list[TrailLine]:
        with self.store.reading() as s:
            case_agency = dict(
                s.execute(
                    select(CaseRow.id, CaseRow.agency).where(
                        CaseRow.application_id == application_id
                    )
                ).all()
            )
            rows = s.execute(
                select(MessageRow.seq, MessageRow.kind, MessageRow.direction,
                       MessageRow.counterpart, MessageRow.case_id, MessageRow.content_type,
                       MessageRow.sha256, MessageRow.created_at)
                .where(MessageRow.application_id == application_id)
                .order_by(MessageRow.seq.asc().nulls_last(), MessageRow.id)
            ).all()  # fmt: skip
        return [
            TrailLine(
                seq=r.seq,
                kind=r.kind,
                direction=r.direction,
                counterpart=r.counterpart,
                case_id=r.case_id,
                content_type=r.content_type,
                sha256=r.sha256,
                at=_time(r.created_at),
                case_agency=case_agency.get(r.case_id, "") if r.case_id else "",
            )
            for r in rows
        ]

    def trail_entry(self, seq: int) -> TrailEntry | None:
        with self.store.reading() as s:
            row = s.scalars(select(MessageRow).where(MessageRow.seq == seq)).first()
            if row is None:
                return None
            agency = (
                s.scalar(select(CaseRow.agency).where(CaseRow.id == row.case_id))
                if row.case_id
                else None
            )
            return TrailEntry(
                seq=seq,
                entry=bytes(row.entry),
                application_id=row.application_id,
                case_id=row.case_id,
                agency=agency,
                kind=row.kind,
                body_size=len(row.body),
                sha256=row.sha256,
            )

    def latest_of_kinds(self, kinds: Iterable[str], limit: int) -> list[TrailBody]:
        with self.store.reading() as s:
            rows = s.scalars(
                select(MessageRow)
                .where(MessageRow.kind.in_(list(kinds)))
                .order_by(MessageRow.id.desc())  # newest written first, sequenced or queued
                .limit(limit)
            ).all()
            return [TrailBody(r.seq, r.kind, bytes(r.body)) for r in rows]


def _time(moment: dt.datetime | None) -> str | None:
    return iso(t) if (t := utc(moment)) else None
