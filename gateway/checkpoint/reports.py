"""The timing report of a checkpoint from its recorded visits (gateway.checkpoint.timing)."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from gateway.checkpoint.store import CheckpointStore
from gateway.checkpoint.timing import TimingReport, VisitTiming, summarise, visit_timing
from gateway.storage.models import CheckpointVisitRow
from gateway.storage.repository import utc


def timing_report(store: CheckpointStore, checkpoint: str | None = None) -> TimingReport:
    """Vehicles that exited through the electronic lanes (with a notice), stage by stage."""
    query = select(CheckpointVisitRow).where(
        CheckpointVisitRow.state == "exited", CheckpointVisitRow.notice_id.is_not(None)
    )
    if checkpoint:
        query = query.where(CheckpointVisitRow.checkpoint == checkpoint)
    timings: list[VisitTiming] = []
    with store.transaction() as s:
        for visit in s.scalars(query):
            stages = {
                name: dt.datetime.fromisoformat(v["at"])
                for name, v in json.loads(visit.stages).items()
                if name != "exit"
            }
            exited = utc(visit.exited_at)
            requested = utc(visit.exit_requested_at) or exited
            if exited is None or requested is None or "entry" not in stages:
                continue
            timings.append(
                visit_timing(stages, requested, exited, bool(visit.decision_ready_on_arrival))
            )
    return summarise(timings)
