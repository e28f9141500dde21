"""The electronic checkpoint's service: each signed stage event joins the vehicle's visit and
notice, runs the gate rules, lets findings join the right cases, and at the exit either issues the
signed barrier command or directs the vehicle. Officers' actions (manual clearance, inspection
results) are separate calls recorded with who made them. Everything in one transaction per call."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.checkpoint import exit_permit as permits
from gateway.checkpoint import officers
from gateway.checkpoint.errors import (
    CheckpointClosed,
    DeviceNotForThis,
    EventIdReused,
    InvalidEvent,
    StageOutOfOrder,
    StageRepeated,
)  # fmt: skip
from gateway.checkpoint.events import StageEvent
from gateway.checkpoint.gate_rules import Declared, GateRule, evaluate
from gateway.checkpoint.registry import STAGES, CheckpointRegistry, Device
from gateway.checkpoint.store import CheckpointStore, new_id
from gateway.checkpoint.transit_service import TransitMonitor
from gateway.storage.models import ArrivalNoticeRow, CheckpointVisitRow, DeviceEventRow
from gateway.storage.repository import Decide, Message, sha256_hex
from gateway.trust.xmlsig import SigningIdentity

CLOCK_SKEW = dt.timedelta(seconds=30)
MAX_EVENT_AGE = dt.timedelta(hours=24)


class CheckpointService:
    def __init__(
        self, *, store: CheckpointStore, registry: CheckpointRegistry, rules: tuple[GateRule, ...],
        identity: SigningIdentity, decide: Decide, transits: TransitMonitor,
    ) -> None:  # fmt: skip
        self.store, self.registry, self.rules = store, registry, rules
        self.identity, self.decide, self.transits = identity, decide, transits

    # --- device events ---------------------------------------------------------------------------

    def record_event(
        self, device: Device, event: StageEvent, body: bytes
    ) -> tuple[dict[str, Any], bool]:
        """Record one stage event; returns (answer for the device, created). The same event id with
        the same bytes returns the first answer and changes nothing."""
        now = self.store.clock()
        if device.checkpoint != event.checkpoint or device.stage != event.stage:
            raise DeviceNotForThis(
                f"Device {device.slug} reports {device.stage} at {device.checkpoint or 'no checkpoint'}, "
                f"not {event.stage} at {event.checkpoint}."
            )
        checkpoint = self.registry.checkpoints[event.checkpoint]
        if event.lane not in (*checkpoint.lanes, checkpoint.manual_lane):
            raise InvalidEvent(f"{event.checkpoint} has no lane {event.lane}.", field="lane")
        if event.measured_at > now + CLOCK_SKEW or event.measured_at < now - MAX_EVENT_AGE:
            raise InvalidEvent(
                f"The reading is dated {event.measured_at.isoformat()}, too far from the gateway's "
                f"time {now.isoformat()}: check the device's clock.", field="measured_at",
            )  # fmt: skip
        if event.stage == "entry" and not checkpoint.hours.is_open(event.measured_at):
            # A closed post takes no vehicle in: the barrier stays down and no visit is opened, so
            # nothing waits half-registered overnight. Vehicles already inside finish their stages.
            opens = checkpoint.hours.next_opening(event.measured_at)
            raise CheckpointClosed(
                f"{event.checkpoint} is closed at {event.measured_at.isoformat()} (working hours "
                f"{checkpoint.hours.text}); vehicle {event.plate} is not registered. It next opens "
                f"at {opens.isoformat()}.", opens_at=opens.isoformat(),
            )  # fmt: skip
        try:
            return self._judge(device, event, body, now)
        except IntegrityError:
            # Another request committed between our reads and our insert: the same vehicle's entry
            # (the open-visit unique index) or the same event id. Judged again, this event sees it
            # and gets what a repeat gets: stage-repeated with that visit, or the first answer.
            return self._judge(device, event, body, now)

    def _judge(
        self, device: Device, event: StageEvent, body: bytes, now: dt.datetime
    ) -> tuple[dict[str, Any], bool]:
        """`record_event` in one transaction."""
        digest = sha256_hex(body)
        with self.store.transaction() as s:
            seen = s.get(DeviceEventRow, event.event_id)
            if seen is not None:
                if seen.body_sha256 != digest:
                    raise EventIdReused(
                        f"Event id {event.event_id} was already used for another event."
                    )
                return json.loads(seen.answer), False
            if event.stage == "entry":
                visit = self._register_entry(s, event)
                answer = self._entry_answer(visit)
            else:
                visit = self._visit_for(s, event)
                answer = (
                    self._exit(s, visit, event, device) if event.stage == "exit"
                    else self._measure(s, visit, event)
                )  # fmt: skip
            apps = json.loads(visit.applications)
            first = apps[0] if apps else None
            self.store.record(s, first, Message("device-event", "in", f"device:{device.slug}",
                                                "application/json", body, device.slug))  # fmt: skip
            self.store.record(s, first, Message("gate-answer", "out", f"device:{device.slug}",
                                                "application/json", json.dumps(answer).encode()))  # fmt: skip
            s.add(DeviceEventRow(event_id=event.event_id, device=device.slug, visit_id=visit.id,
                                 stage=event.stage, body_sha256=digest, answer=json.dumps(answer),
                                 received_at=now))  # fmt: skip
            return answer, True

    def _register_entry(self, s: Session, event: StageEvent) -> CheckpointVisitRow:
        existing = self.store.open_visit(s, event.checkpoint, event.plate)
        if existing is not None:
            raise StageRepeated(
                f"Vehicle {event.plate} is already registered at {event.checkpoint} (visit "
                f"{existing.id}); entry is recorded once per pass.", visit=existing.id,
            )  # fmt: skip
        self.transits.close_at(s, event.checkpoint, event.plate, event.measured_at)
        checkpoint = self.registry.checkpoints[event.checkpoint]
        notices = self.store.active_notices(s, event.checkpoint, event.plate)
        visit = CheckpointVisitRow(
            id=new_id("VIS", event.measured_at), checkpoint=event.checkpoint, plate=event.plate,
            lane=event.lane, applications="[]", state="in_progress", findings="[]",
            stages=json.dumps({"entry": _stage(event, "passed")}), arrived_at=event.measured_at,
        )  # fmt: skip
        if not notices:
            visit.state, visit.lane = "manual", checkpoint.manual_lane
            visit.reason = (
                f"No advance notice for vehicle {event.plate} at {event.checkpoint}: registered and "
                f"sent to the manual lane {checkpoint.manual_lane} (declaration at the border)."
            )
        elif len(notices) > 1:
            visit.state, visit.lane = "manual", checkpoint.manual_lane
            visit.reason = (
                f"Plate {event.plate} matches {len(notices)} active notices "
                f"({', '.join(n.id for n in notices)}); an officer must establish which applies."
            )
        else:
            notice = notices[0]
            notice.state = "used"
            visit.notice_id, visit.applications = notice.id, notice.applications
            ready = self.store.decided_at(s, json.loads(notice.applications))
            visit.decision_ready_on_arrival = ready is not None and ready <= event.measured_at
            visit.decision_ready_at = ready
        s.add(visit)
        s.flush()
        return visit

    def _visit_for(self, s: Session, event: StageEvent) -> CheckpointVisitRow:
        visit = self.store.open_visit(s, event.checkpoint, event.plate)
        if visit is None:
            raise StageOutOfOrder(
                f"Vehicle {event.plate} has no entry registration at {event.checkpoint}; the "
                f"{event.stage} reading cannot come first."
            )
        stages = json.loads(visit.stages)
        if event.stage in stages:
            raise StageRepeated(
                f"Stage {event.stage} of visit {visit.id} was already recorded.", visit=visit.id
            )
        missing = [st for st in STAGES[: STAGES.index(event.stage)] if st not in stages]
        if missing:
            raise StageOutOfOrder(
                f"Stage {event.stage} of visit {visit.id} came before {', '.join(missing)}.",
                visit=visit.id, missing=missing,
            )  # fmt: skip
        return visit

    def _measure(self, s: Session, visit: CheckpointVisitRow, event: StageEvent) -> dict[str, Any]:
        declared = None
        if visit.notice_id is not None:
            vehicle = json.loads(s.get_one(ArrivalNoticeRow, visit.notice_id).details)["vehicle"]
            declared = Declared(float(vehicle["declared_gross_kg"]), int(vehicle["axles"]))
        findings = evaluate(self.rules, event.stage, event.readings, declared)
        known = json.loads(visit.findings)
        for finding in findings:
            for application_id in json.loads(visit.applications):
                self.store.set_inspection(s, application_id, finding, self.decide)
            known.append({"id": f"F{len(known) + 1}", **asdict(finding), "status": "open"})
        stages = json.loads(visit.stages)
        stages[event.stage] = _stage(event, "finding" if findings else "passed")
        visit.stages, visit.findings = json.dumps(stages), json.dumps(known)
        answer: dict[str, Any] = {"visit": visit.id, "stage": event.stage, "lane": visit.lane}
        if findings:
            first = findings[0]
            if visit.state != "manual":
                visit.state, visit.reason = "directed", first.inspection
            answer |= {"status": "finding", "findings": [asdict(f) for f in findings],
                       "direction": {"lane": first.lane, "agency": first.agency, "why": first.why}}  # fmt: skip
        else:
            answer["status"] = "manual" if visit.state == "manual" else "passed"
        return answer

    def _exit(
        self, s: Session, visit: CheckpointVisitRow, event: StageEvent, device: Device
    ) -> dict[str, Any]:
        visit.exit_requested_at = visit.exit_requested_at or event.measured_at
        verdict = self._verdict(s, visit)
        answer: dict[str, Any] = {"visit": visit.id, "stage": "exit", "lane": visit.lane}
        if verdict.kind != "open":
            status = {"wait": "wait", "manual": "manual"}.get(verdict.kind, "directed")
            return answer | {"status": status, "direction": verdict.direction()}
        stages = json.loads(visit.stages)
        stages["exit"] = _stage(event, "passed")
        visit.stages = json.dumps(stages)
        command = self.open_barrier(s, visit, event.measured_at, "automatic", None, device.slug)
        return answer | {"status": "open-barrier", "barrier_command": command}

    def _verdict(self, s: Session, visit: CheckpointVisitRow) -> permits.ExitVerdict:
        stages = json.loads(visit.stages)
        apps = json.loads(visit.applications)
        open_findings = [
            permits.OpenFinding(f["agency"], f["lane"], f"{f['why']} {f['detail']}")
            for f in json.loads(visit.findings) if f["status"] == "open"
        ]  # fmt: skip
        if visit.decision_ready_at is None and apps:
            visit.decision_ready_at = self.store.decided_at(s, apps)
        return permits.exit_verdict(
            manual_reason=visit.reason if visit.state == "manual" else None,
            manual_lane=self.registry.checkpoints[visit.checkpoint].manual_lane,
            stages_passed={st for st, v in stages.items() if v["status"] in ("passed", "finding")},
            findings=open_findings,
            decisions=self.store.decisions(s, apps),
        )

    def open_barrier(self, s: Session, visit: CheckpointVisitRow, at: dt.datetime, kind: str,
                      officer: str | None, to: str) -> str:  # fmt: skip
        import base64

        apps = json.loads(visit.applications)
        xml = permits.barrier_command(
            self.identity, checkpoint=visit.checkpoint, lane=visit.lane, plate=visit.plate,
            visit_id=visit.id, applications=apps, kind=kind, issued_at=at, cleared_by=officer,
        )  # fmt: skip
        self.store.record(s, apps[0] if apps else None,
                          Message("barrier-command", "out", f"device:{to}", "application/xml", xml))  # fmt: skip
        visit.state, visit.exited_at, visit.exit_kind, visit.cleared_by = (
            "exited",
            at,
            kind,
            officer,
        )
        if visit.notice_id is not None:
            transit = json.loads(s.get_one(ArrivalNoticeRow, visit.notice_id).details)["transit"]
            if transit and transit["corridor"] in self.transits.corridors:
                self.transits.open(s, plate=visit.plate, notice_id=visit.notice_id,
                                   application_id=apps[0] if apps else None, transit=transit, at=at)  # fmt: skip
        return base64.b64encode(xml).decode("ascii")

    @staticmethod
    def _entry_answer(visit: CheckpointVisitRow) -> dict[str, Any]:
        answer: dict[str, Any] = {"visit": visit.id, "stage": "entry", "lane": visit.lane,
                                  "notice": visit.notice_id, "applications": json.loads(visit.applications)}  # fmt: skip
        if visit.state == "manual":
            return answer | {
                "status": "manual",
                "direction": {"lane": visit.lane, "agency": "customs", "why": visit.reason},
            }
        return answer | {
            "status": "passed",
            "decision_ready_on_arrival": visit.decision_ready_on_arrival,
        }

    # --- officers (gateway.checkpoint.officers) --------------------------------------------------

    def manual_clearance(self, visit_id: str, officer: str, reason: str) -> dict[str, Any]:
        """An officer opens the barrier by hand: recorded with who did it and why."""
        return officers.manual_clearance(self, visit_id, officer, reason)

    def inspection_result(
        self, visit_id: str, finding_id: str, officer: str, *, cleared: bool, note: str
    ) -> dict[str, Any]:
        """An inspection's result for one gate finding; the decision is composed again."""
        return officers.inspection_result(
            self, visit_id, finding_id, officer, cleared=cleared, note=note
        )

    def visit(self, visit_id: str) -> dict[str, Any]:
        return officers.visit(self, visit_id)


def _stage(event: StageEvent, status: str) -> dict[str, str]:
    return {
        "at": event.measured_at.isoformat(),
        "status": status,
        "event": event.event_id,
        "lane": event.lane,
    }
