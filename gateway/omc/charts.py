"""Figures for the charts page: decisions per hour, time to decision (p50/p95), risk-channel shares
and time at the checkpoint — over the last 24 hours, as plain lists for Chart.js."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from gateway.observability.timings import percentile

if TYPE_CHECKING:
    from gateway.bootstrap import Services

HOURS = 24
CHANNELS = ("green", "yellow", "red")
CHECKPOINT_BINS = (10, 20, 30, 45, 60, 90, 120, 180)  # minutes; the seed's target is 40-50


def chart_data(svc: Services, agency: str | None = None) -> dict[str, Any]:
    now = svc.clock()
    start = (now - dt.timedelta(hours=HOURS - 1)).replace(minute=0, second=0, microsecond=0)
    hours = [start + dt.timedelta(hours=i) for i in range(HOURS)]
    rows = svc.omc.figures.chart_rows(start, agency)
    risk = list(rows.risk_channels)
    per_hour: dict[str, list[int]] = {v: [0] * HOURS for v in ("released", "refused", "inspection")}
    durations: list[list[float]] = [[] for _ in hours]
    for verdict, received, decided_at in rows.decided:
        at, got = decided_at or now, received or now
        index = min(HOURS - 1, max(0, int((at - start).total_seconds() // 3600)))
        if verdict in per_hour:
            per_hour[verdict][index] += 1
        durations[index].append((at - got).total_seconds())
    minutes = [((b or now) - (a or now)).total_seconds() / 60 for a, b in rows.stays]
    return {
        "hours": [h.strftime("%H:00") for h in hours],
        "decisions": per_hour,
        "p50": [round(percentile(d, 0.5), 1) if d else None for d in durations],
        "p95": [round(percentile(d, 0.95), 1) if d else None for d in durations],
        "channels": {"labels": list(CHANNELS), "counts": [risk.count(c) for c in CHANNELS]},
        "checkpoint": {
            "labels": [f"<={b}" for b in CHECKPOINT_BINS] + [f">{CHECKPOINT_BINS[-1]}"],
            "counts": _binned(minutes),
            "p50": round(percentile(minutes, 0.5), 1) if minutes else None,
            "p95": round(percentile(minutes, 0.95), 1) if minutes else None,
        },
    }


def _binned(minutes: list[float]) -> list[int]:
    counts = [0] * (len(CHECKPOINT_BINS) + 1)
    for m in minutes:
        counts[
            next((i for i, b in enumerate(CHECKPOINT_BINS) if m <= b), len(CHECKPOINT_BINS))
        ] += 1
    return counts
