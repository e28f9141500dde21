"""Agency health: what the agencies page and /metrics show, computed the same way for both."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.decision.rules import CaseState
from gateway.omc.ports import EscalatedCase

if TYPE_CHECKING:
    from gateway.bootstrap import Services

CLOSED = {"state": "closed", "consecutive_failures": 0, "opened_at": None, "last_error": None}


def agency_health(svc: Services) -> list[dict[str, Any]]:
    """Per agency: breaker (shared by every process), latency p50/p95 and error rate (this
    process, last 15 minutes), queue depth (open deliveries), oldest open case, cases by state,
    escalations."""
    stats = svc.store.agency_stats()
    breakers = svc.breakers.snapshot()
    depth = svc.omc.figures.queue_depths()
    health = []
    for code, spec in sorted(svc.specs.items()):
        entry = stats.get(code)
        cases = dict(entry.cases) if entry else {}
        health.append(
            {
                "code": code,
                "name": spec.name,
                "officer": spec.officer,
                "breaker": breakers.get(code, CLOSED),
                "timing": svc.timings.summary(code),
                "queue_depth": int(depth.get(code, 0)),
                "oldest_open_s": entry.oldest_open_s if entry else None,
                "cases": cases,
                "escalated": int(cases.get(CaseState.ESCALATED.value, 0)),
            }
        )
    return health


def escalated_cases(svc: Services, agency: str | None = None) -> list[EscalatedCase]:
    return svc.omc.figures.escalated_cases(agency)


def application_counts(svc: Services) -> dict[str, int]:
    """Applications by status/verdict: in_progress, released, refused, inspection."""
    counts: dict[str, int] = {}
    for c in svc.omc.figures.status_counts():
        key = c.verdict if c.status == "decided" and c.verdict else c.status
        counts[key] = counts.get(key, 0) + c.count
    return counts
