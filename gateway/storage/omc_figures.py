"""Figures for the OMC's agencies and charts pages and for /metrics (`gateway.omc.ports.Figures`),
and the change marker its live pages poll (`gateway.omc.ports.ChangeMarker`)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select

from gateway.decision.rules import CaseState
from gateway.omc.ports import ChartRows, EscalatedCase, StatusCount
from gateway.storage.models import (
    ApplicationRow,
    CaseRow,
    CheckpointVisitRow,
    MessageRow,
    OutboxRow,
    TransitRow,
)
from gateway.storage.repository import Store, utc


class SqlFigures:
    def __init__(self, store: Store) -> None:
        self.store = store

    def queue_depths(self) -> Mapping[str, int]:
        with self.store.reading() as s:
            rows = s.execute(
                select(CaseRow.agency, func.count(OutboxRow.id))
                .join(CaseRow, CaseRow.id == OutboxRow.case_id)
                .where(OutboxRow.done_at.is_(None))
                .group_by(CaseRow.agency)
            ).all()
        return {agency: int(n) for agency, n in rows}

    def escalated_cases(self, agency: str | None) -> list[EscalatedCase]:
        with self.store.reading() as s:
            query = (
                select(CaseRow.id, CaseRow.application_id, CaseRow.agency, CaseRow.attempts,
                       CaseRow.last_error, CaseRow.updated_at)
                .where(CaseRow.state == CaseState.ESCALATED.value)
                .order_by(CaseRow.updated_at)
            )  # fmt: skip
            if agency:
                query = query.where(CaseRow.agency == agency)
            return [
                EscalatedCase(
                    r.id, r.application_id, r.agency, r.attempts, r.last_error, utc(r.updated_at)
                )
                for r in s.execute(query)
            ]

    def status_counts(self) -> list[StatusCount]:
        with self.store.reading() as s:
            rows = s.execute(
                select(ApplicationRow.status, ApplicationRow.verdict, func.count()).group_by(
                    ApplicationRow.status, ApplicationRow.verdict
                )
            ).all()
        return [StatusCount(status, verdict, int(n)) for status, verdict, n in rows]

    def chart_rows(self, since: dt.datetime, agency: str | None) -> ChartRows:
        with self.store.reading() as s:
            apps = select(
                ApplicationRow.verdict, ApplicationRow.received_at, ApplicationRow.decided_at
            ).where(ApplicationRow.decided_at >= since)
            extras = select(CaseRow.extra).where(
                CaseRow.agency == "customs", CaseRow.updated_at >= since
            )
            if agency:
                mine = select(CaseRow.application_id).where(CaseRow.agency == agency)
                apps = apps.where(ApplicationRow.id.in_(mine))
                extras = extras.where(CaseRow.application_id.in_(mine))
            decided = s.execute(apps).all()
            risk = [json.loads(e).get("risk_channel") for e in s.scalars(extras)]
            stays = s.execute(
                select(CheckpointVisitRow.arrived_at, CheckpointVisitRow.exited_at).where(
                    CheckpointVisitRow.exited_at >= since
                )
            ).all()
        return ChartRows(
            decided=tuple((v, utc(r), utc(d)) for v, r, d in decided),
            risk_channels=tuple(risk),
            stays=tuple((utc(a), utc(b)) for a, b in stays),
        )


class SqlChangeMarker:
    def __init__(self, store: Store) -> None:
        self.store = store

    def marker(self) -> tuple[Any, ...]:
        # A bare connection, no ORM session: this runs every POLL_S for every open page.
        with self.store.engine.connect() as c:
            # A message written, and its place in the log given by the integrator later.
            trail = tuple(
                c.execute(select(func.max(MessageRow.id), func.max(MessageRow.seq))).one()
            )
            case = c.scalar(select(func.max(CaseRow.updated_at)))
            visits = c.scalar(select(func.count(CheckpointVisitRow.id)))
            transits = c.scalar(select(func.count(TransitRow.id)))
        return (trail, str(case), visits, transits)

    def serving(self) -> object:
        # `Services.close` disposes the engine, which gives it a new pool.
        return self.store.engine.pool
