"""The timing report of a checkpoint from its recorded visits (gateway.checkpoint.timing)."""

from __future__ import annotations

from gateway.checkpoint.ports import VisitHistory
from gateway.checkpoint.timing import TimingReport, VisitTiming, summarise, visit_timing


def timing_report(history: VisitHistory, checkpoint: str | None = None) -> TimingReport:
    """Vehicles that exited through the electronic lanes (with a notice), stage by stage."""
    timings: list[VisitTiming] = []
    for visit in history.exited_visits(checkpoint):
        stages = {mark.stage: mark.at for mark in visit.stages if mark.stage != "exit"}
        exited = visit.exited_at
        requested = visit.exit_requested_at or exited
        if exited is None or requested is None or "entry" not in stages:
            continue
        timings.append(
            visit_timing(stages, requested, exited, bool(visit.decision_ready_on_arrival))
        )
    return summarise(timings)
