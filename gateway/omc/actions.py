"""Officers' actions. Each one is recorded in the trail in the same transaction as the change it
makes (the storage port takes the trail entry with the change), with the officer's identity, so the
evidence bundle of the application shows who did what and when; each checks the officer's agency
where the action concerns one. The checkpoint's own actions (inspection result, clearance by hand)
record the officer as `Officer.label` — name, role and agency — in their trail entry, the
decision's conditions and the barrier command."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from gateway.checkpoint.service import CheckpointService
from gateway.clock import Clock, iso
from gateway.i18n import Text
from gateway.omc.errors import ActionRefused, RoleForbidden
from gateway.omc.ports import Alert, AlertAcknowledged, Message, NoSuchAlert, OmcPorts
from gateway.omc.roles import Officer

if TYPE_CHECKING:
    from gateway.bootstrap import Services


class RetriesCases(Protocol):
    def retry_case(self, case_id: str, messages: Sequence[Message] = ()) -> str: ...


class ActionServices(Protocol):
    """What the actions below use of `Services` (unit tests pass fakes of the ports)."""

    @property
    def clock(self) -> Clock: ...

    @property
    def omc(self) -> OmcPorts: ...

    @property
    def store(self) -> RetriesCases: ...


def action_message(clock: Clock, who: Officer, action: str, detail: dict[str, Any],
                   case_id: str | None = None) -> Message:  # fmt: skip
    body = {"action": action, "officer": who.username, "role": who.role.value,
            "agency": who.agency, "at": iso(clock()), **detail}  # fmt: skip
    return Message("officer-action", "in", f"officer:{who.username}", "application/json",
                   json.dumps(body, sort_keys=True).encode(), case_id=case_id)  # fmt: skip


def check_case(svc: ActionServices, who: Officer, case_id: str) -> str:
    """The case's agency, if the officer may act on it."""
    agency = svc.omc.actions.case_agency(case_id)
    if agency is None:
        raise ActionRefused(Text("There is no case %(case)s.", case=case_id))
    if not who.sees_agency(agency):
        raise RoleForbidden(
            Text("Case %(case)s belongs to %(agency)s, not to %(mine)s.", case=case_id,
                 agency=agency, mine=who.agency)
        )  # fmt: skip
    return agency


def retry_case(svc: ActionServices, who: Officer, case_id: str) -> str:
    """Send an escalated case to its agency again; returns the application id."""
    check_case(svc, who, case_id)
    message = action_message(svc.clock, who, "retry-case", {"case": case_id}, case_id)
    try:
        return svc.store.retry_case(case_id, [message])
    except (LookupError, ValueError) as exc:
        said = exc.args[0] if exc.args else None  # a Text from the store stays one (kk, ru)
        raise ActionRefused(said if isinstance(said, str) else str(exc)) from exc


def acknowledge_alert(svc: ActionServices, who: Officer, transit_id: str, key: str) -> None:
    """Mark a transit alert as seen and taken in hand by `who`."""

    def trail(alert: Alert) -> list[Message]:
        detail = {"transit": transit_id, "alert": key, "kind": alert.kind, "plate": alert.plate}
        return [action_message(svc.clock, who, "acknowledge-alert", detail)]

    try:
        svc.omc.actions.acknowledge_alert(
            transit_id, key, by=who.username, at=svc.clock(), trail=trail
        )
    except NoSuchAlert as exc:
        raise ActionRefused(
            Text("Transit %(transit)s has no alert %(key)s.", transit=transit_id, key=key)
        ) from exc
    except AlertAcknowledged as exc:
        raise ActionRefused(
            Text("The alert was acknowledged by %(officer)s already.", officer=exc.by)
        ) from exc


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


def check_finding(svc: ActionServices, who: Officer, visit_id: str, finding_id: str) -> None:
    finding = svc.omc.actions.finding(visit_id, finding_id)
    if finding is None:
        raise ActionRefused(
            Text("Visit %(visit)s has no finding %(finding)s.", visit=visit_id, finding=finding_id)
        )
    if not who.sees_agency(finding.agency):
        raise RoleForbidden(
            Text("The finding is for %(agency)s, not %(mine)s.", agency=finding.agency,
                 mine=who.agency)
        )  # fmt: skip


def clear_vehicle(svc: Services, who: Officer, visit_id: str, reason: str) -> dict[str, Any]:
    """Open the exit barrier by hand (the checkpoint service records it with the officer's name)."""
    if not reason.strip():
        raise ActionRefused(Text("Say why the vehicle is cleared by hand."))
    return svc.checkpoint.service.manual_clearance(visit_id, who.label, reason.strip())
