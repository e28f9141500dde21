"""Officers' actions. Each one is recorded in the trail (`Store._add_message`, same transaction as
the change it makes) with the officer's identity, so the evidence bundle of the application shows
who did what and when; each checks the officer's agency where the action concerns one. The
checkpoint's own actions (inspection result, clearance by hand) record the officer as
`Officer.label` — name, role and agency — in their trail entry, the decision's conditions and the
barrier command."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from gateway.bootstrap import Services
from gateway.checkpoint.service import CheckpointService
from gateway.clock import iso
from gateway.i18n import Text
from gateway.omc.errors import ActionRefused, RoleForbidden
from gateway.omc.roles import Officer
from gateway.storage.models import CaseRow, CheckpointVisitRow, TransitRow
from gateway.storage.repository import Message, Store


def action_message(store: Store, who: Officer, action: str, detail: dict[str, Any],
                   case_id: str | None = None) -> Message:  # fmt: skip
    body = {"action": action, "officer": who.username, "role": who.role.value,
            "agency": who.agency, "at": iso(store.clock()), **detail}  # fmt: skip
    return Message("officer-action", "in", f"officer:{who.username}", "application/json",
                   json.dumps(body, sort_keys=True).encode(), case_id=case_id)  # fmt: skip


def case_agency(store: Store, case_id: str) -> str | None:
    with store.transaction() as s:
        case = s.get(CaseRow, case_id)
        return None if case is None else case.agency


def check_case(svc: Services, who: Officer, case_id: str) -> str:
    """The case's agency, if the officer may act on it."""
    agency = case_agency(svc.store, case_id)
    if agency is None:
        raise ActionRefused(Text("There is no case %(case)s.", case=case_id))
    if not who.sees_agency(agency):
        raise RoleForbidden(
            Text("Case %(case)s belongs to %(agency)s, not to %(mine)s.", case=case_id,
                 agency=agency, mine=who.agency)
        )  # fmt: skip
    return agency


def retry_case(svc: Services, who: Officer, case_id: str) -> str:
    """Send an escalated case to its agency again; returns the application id."""
    check_case(svc, who, case_id)
    message = action_message(svc.store, who, "retry-case", {"case": case_id}, case_id)
    try:
        return svc.store.retry_case(case_id, [message])
    except (LookupError, ValueError) as exc:
        raise ActionRefused(str(exc)) from exc


def acknowledge_alert(svc: Services, who: Officer, transit_id: str, key: str) -> None:
    """Mark a transit alert as seen and taken in hand by `who`."""
    store = svc.checkpoint.store
    with store.transaction() as s:
        row = s.get(TransitRow, transit_id)
        alerts = json.loads(row.alerts) if row is not None else []
        alert = next((a for a in alerts if a.get("key") == key), None)
        if row is None or alert is None:
            raise ActionRefused(
                Text("Transit %(transit)s has no alert %(key)s.", transit=transit_id, key=key)
            )
        if alert.get("acknowledged_by"):
            raise ActionRefused(
                Text(
                    "The alert was acknowledged by %(officer)s already.",
                    officer=alert["acknowledged_by"],
                )
            )
        alert |= {"acknowledged_by": who.username, "acknowledged_at": iso(store.clock())}
        row.alerts = json.dumps(alerts)
        detail = {
            "transit": transit_id,
            "alert": key,
            "kind": alert.get("kind"),
            "plate": row.plate,
        }
        store._add_message(
            s, row.application_id, action_message(store, who, "acknowledge-alert", detail)
        )


def record_inspection(svc: Services, who: Officer, visit_id: str, finding_id: str,
                      *, cleared: bool, note: str) -> dict[str, Any]:  # fmt: skip
    """An inspection's result for one gate finding (the checkpoint service records it with the
    officer's name and composes the decision again)."""
    check_finding(svc, who, visit_id, finding_id)
    if not note.strip():
        raise ActionRefused(Text("Write what the inspection found."))
    service: CheckpointService = svc.checkpoint.service
    return service.inspection_result(
        visit_id, finding_id, who.label, cleared=cleared, note=note.strip()
    )


def check_finding(svc: Services, who: Officer, visit_id: str, finding_id: str) -> None:
    with svc.checkpoint.store.transaction() as s:
        finding = _finding(s, visit_id, finding_id)
    if not who.sees_agency(str(finding.get("agency", ""))):
        raise RoleForbidden(
            Text("The finding is for %(agency)s, not %(mine)s.", agency=finding.get("agency"),
                 mine=who.agency)
        )  # fmt: skip


def clear_vehicle(svc: Services, who: Officer, visit_id: str, reason: str) -> dict[str, Any]:
    """Open the exit barrier by hand (the checkpoint service records it with the officer's name)."""
    if not reason.strip():
        raise ActionRefused(Text("Say why the vehicle is cleared by hand."))
    return svc.checkpoint.service.manual_clearance(visit_id, who.label, reason.strip())


def _finding(s: Session, visit_id: str, finding_id: str) -> dict[str, Any]:
    visit = s.get(CheckpointVisitRow, visit_id)
    findings = json.loads(visit.findings) if visit is not None else []
    found = next((f for f in findings if f.get("id") == finding_id), None)
    if found is None:
        raise ActionRefused(
            Text("Visit %(visit)s has no finding %(finding)s.", visit=visit_id, finding=finding_id)
        )
    return dict(found)
