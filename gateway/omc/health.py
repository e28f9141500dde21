"""Agency health: what the agencies page and /metrics show, computed the same way for both."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from gateway.bootstrap import Services
from gateway.decision import CaseState
from gateway.storage.models import ApplicationRow, CaseRow, OutboxRow

CLOSED = {"state": "closed", "consecutive_failures": 0, "opened_at": None, "last_error": None}


def agency_health(svc: Services) -> list[dict[str, Any]]:
    """Per agency: breaker (shared by every process), latency p50/p95 and error rate (this
    process, last 15 minutes), queue depth (open deliveries), oldest open case, cases by state,
    escalations."""
    stats = svc.store.agency_stats()
    breakers = svc.breakers.snapshot()
    with svc.store.reading() as s:
        depth = dict(
            s.execute(
                select(CaseRow.agency, func.count(OutboxRow.id))
                .join(CaseRow, CaseRow.id == OutboxRow.case_id)
                .where(OutboxRow.done_at.is_(None))
                .group_by(CaseRow.agency)
            ).all()
        )
    health = []
    for code, spec in sorted(svc.specs.items()):
        entry: dict[str, Any] = stats.get(code, {"cases": {}, "oldest_open_s": None})
        cases: dict[str, int] = entry["cases"]
        health.append(
            {
                "code": code,
                "name": spec.name,
                "officer": spec.officer,
                "breaker": breakers.get(code, CLOSED),
                "timing": svc.timings.summary(code),
                "queue_depth": int(depth.get(code, 0)),
                "oldest_open_s": entry["oldest_open_s"],
                "cases": cases,
                "escalated": int(cases.get(CaseState.ESCALATED.value, 0)),
            }
        )
    return health


def escalated_cases(svc: Services, agency: str | None = None) -> list[dict[str, Any]]:
    with svc.store.reading() as s:
        query = (
            select(CaseRow.id, CaseRow.application_id, CaseRow.agency, CaseRow.attempts,
                   CaseRow.last_error, CaseRow.updated_at)
            .where(CaseRow.state == CaseState.ESCALATED.value)
            .order_by(CaseRow.updated_at)
        )  # fmt: skip
        if agency:
            query = query.where(CaseRow.agency == agency)
        return [dict(r._mapping) for r in s.execute(query)]


def application_counts(svc: Services) -> dict[str, int]:
    """Applications by status/verdict: in_progress, released, refused, inspection."""
    with svc.store.reading() as s:
        rows = s.execute(
            select(ApplicationRow.status, ApplicationRow.verdict, func.count()).group_by(
                ApplicationRow.status, ApplicationRow.verdict
            )
        ).all()
    counts: dict[str, int] = {}
    for status, verdict, n in rows:
        key = verdict if status == "decided" and verdict else status
        counts[key] = counts.get(key, 0) + int(n)
    return counts
