"""Officers' actions at the checkpoint, each a separate call recorded with who made it: manual
clearance (the barrier opened by hand) and the result of an inspection a gate finding required
(the agency's case granted again or refused, and the decision composed again)."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from gateway.checkpoint.errors import ActionNotAllowed, VisitNotFound
from gateway.storage.models import CheckpointVisitRow
from gateway.storage.repository import Message, utc

if TYPE_CHECKING:
    from gateway.checkpoint.service import CheckpointService


def manual_clearance(
    service: CheckpointService, visit_id: str, officer: str, reason: str
) -> dict[str, Any]:
    """An officer opens the barrier by hand: recorded with who did it and why."""
    now = service.store.clock()
    with service.store.transaction() as s:
        visit = _visit(s, visit_id)
        if visit.state == "exited":
            raise ActionNotAllowed(f"Visit {visit_id} has already exited ({visit.exit_kind}).")
        apps = json.loads(visit.applications)
        body = json.dumps({"visit": visit_id, "officer": officer, "reason": reason}).encode()
        service.store.record(s, apps[0] if apps else None,
                          Message("manual-clearance", "in", f"officer:{officer}", "application/json", body))  # fmt: skip
        exit_device = service.registry.checkpoints[visit.checkpoint].devices.get("exit", "barrier")
        command = service.open_barrier(s, visit, now, "manual", officer, exit_device)
        return {
            "visit": visit_id,
            "status": "open-barrier",
            "cleared_by": officer,
            "barrier_command": command,
        }


def inspection_result(
    service: CheckpointService,
    visit_id: str,
    finding_id: str,
    officer: str,
    *,
    cleared: bool,
    note: str,
) -> dict[str, Any]:
    """An inspection's result for one gate finding: the agency's case is granted again (or
    refused) and the decision composed again; the vehicle may then request the exit again."""
    with service.store.transaction() as s:
        visit = _visit(s, visit_id)
        findings = json.loads(visit.findings)
        finding = next((f for f in findings if f["id"] == finding_id), None)
        if finding is None or finding["status"] != "open":
            raise ActionNotAllowed(f"Visit {visit_id} has no open finding {finding_id}.")
        finding |= {
            "status": "cleared" if cleared else "refused",
            "resolved_by": officer,
            "note": note,
        }
        verdicts = [
            service.store.settle_inspection(s, a, finding["agency"], cleared=cleared,
                                         officer=officer, note=note, decide=service.decide)
            for a in json.loads(visit.applications)
        ]  # fmt: skip
        visit.findings = json.dumps(findings)
        if visit.state == "directed" and all(f["status"] != "open" for f in findings):
            visit.state, visit.reason = "in_progress", None
        return {
            "visit": visit_id,
            "finding": finding,
            "verdicts": verdicts,
            "state": visit.state,
        }


def visit(service: CheckpointService, visit_id: str) -> dict[str, Any]:
    with service.store.transaction() as s:
        v = _visit(s, visit_id)
        return {
            "id": v.id, "checkpoint": v.checkpoint, "plate": v.plate, "lane": v.lane,
            "state": v.state, "reason": v.reason, "notice": v.notice_id,
            "applications": json.loads(v.applications), "stages": json.loads(v.stages),
            "findings": json.loads(v.findings), "exit_kind": v.exit_kind,
            "cleared_by": v.cleared_by, "decision_ready_on_arrival": v.decision_ready_on_arrival,
            "arrived_at": _iso(v.arrived_at), "exited_at": _iso(v.exited_at),
        }  # fmt: skip


def _visit(s: Session, visit_id: str) -> CheckpointVisitRow:
    visit = s.get(CheckpointVisitRow, visit_id)
    if visit is None:
        raise VisitNotFound(f"There is no checkpoint visit {visit_id}.")
    return visit


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else (utc(moment) or moment).isoformat()
