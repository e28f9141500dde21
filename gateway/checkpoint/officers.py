"""Officers' actions at the checkpoint, each a separate call recorded with who made it: manual
clearance (the barrier opened by hand) and the result of an inspection a gate finding required
(the agency's case granted again or refused, and the decision composed again)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from gateway.checkpoint.errors import ActionNotAllowed, VisitNotFound
from gateway.checkpoint.ports import CheckpointUnit
from gateway.checkpoint.views import Visit
from gateway.i18n.text import Text
from gateway.trail.messages import Message

if TYPE_CHECKING:
    from gateway.checkpoint.service import CheckpointService


def manual_clearance(
    service: CheckpointService, visit_id: str, officer: str, reason: str
) -> dict[str, Any]:
    """An officer opens the barrier by hand: recorded with who did it and why."""
    now = service.clock()
    with service.units.unit() as u:
        visit = _visit(u, visit_id)
        if visit.state == "exited":
            raise ActionNotAllowed(
                Text(
                    "Visit %(visit_id)s has already exited (%(exit_kind)s).",
                    visit_id=visit_id,
                    exit_kind=visit.exit_kind,
                )
            )
        apps = visit.applications
        body = json.dumps({"visit": visit_id, "officer": officer, "reason": reason}).encode()
        u.record(apps[0] if apps else None,
                 Message("manual-clearance", "in", f"officer:{officer}", "application/json", body))  # fmt: skip
        exit_device = service.registry.checkpoints[visit.checkpoint].devices.get("exit", "barrier")
        visit, command = service.open_barrier(u, visit, now, "manual", officer, exit_device)
        u.visits.save(visit)
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
    with service.units.unit() as u:
        visit = _visit(u, visit_id)
        finding = next((f for f in visit.findings if f.id == finding_id), None)
        if finding is None or finding.status != "open":
            raise ActionNotAllowed(
                Text(
                    "Visit %(visit_id)s has no open finding %(finding_id)s.",
                    visit_id=visit_id,
                    finding_id=finding_id,
                )
            )
        finding = replace(
            finding, status="cleared" if cleared else "refused", resolved_by=officer, note=note
        )
        verdicts = [
            u.applications.settle_inspection(a, finding.agency, cleared=cleared, officer=officer,
                                             note=note)
            for a in visit.applications
        ]  # fmt: skip
        findings = tuple(finding if f.id == finding_id else f for f in visit.findings)
        visit = replace(visit, findings=findings)
        if visit.state == "directed" and all(f.status != "open" for f in findings):
            visit = replace(visit, state="in_progress", reason=None)
        u.visits.save(visit)
        return {
            "visit": visit_id,
            "finding": finding.as_dict(),
            "verdicts": verdicts,
            "state": visit.state,
        }


def visit(service: CheckpointService, visit_id: str) -> Visit:
    with service.units.unit() as u:
        return _visit(u, visit_id)


def _visit(u: CheckpointUnit, visit_id: str) -> Visit:
    found = u.visits.visit(visit_id)
    if found is None:
        raise VisitNotFound(Text("There is no checkpoint visit %(visit_id)s.", visit_id=visit_id))
    return found
