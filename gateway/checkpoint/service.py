"""The electronic checkpoint's service: each signed stage event joins the vehicle's visit and
notice, runs the gate rules, lets findings join the right cases, and at the exit either issues the
signed barrier command or directs the vehicle. Officers' actions (manual clearance, inspection
results) are separate calls recorded with who made them. Everything in one transaction per call."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from dataclasses import asdict, replace
from typing import Any

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
from gateway.checkpoint.gate_rules import GateRule, evaluate
from gateway.checkpoint.ports import CheckpointUnit, CheckpointUnits, LostRace
from gateway.checkpoint.registry import STAGES, CheckpointRegistry, Device
from gateway.checkpoint.transit_service import TransitMonitor
from gateway.checkpoint.views import DeviceEventRecord, GateFinding, StageMark, Visit, new_id
from gateway.clock import Clock, iso
from gateway.i18n.text import Text
from gateway.trail.messages import Message
from gateway.trust.xmlsig import SigningIdentity

CLOCK_SKEW = dt.timedelta(seconds=30)
MAX_EVENT_AGE = dt.timedelta(hours=24)


class CheckpointService:
    def __init__(
        self, *, units: CheckpointUnits, clock: Clock, registry: CheckpointRegistry,
        rules: tuple[GateRule, ...], identity: SigningIdentity, transits: TransitMonitor,
    ) -> None:  # fmt: skip
        self.units, self.clock, self.registry, self.rules = units, clock, registry, rules
        self.identity, self.transits = identity, transits

    # --- device events ---------------------------------------------------------------------------

    def record_event(
        self, device: Device, event: StageEvent, body: bytes
    ) -> tuple[dict[str, Any], bool]:
        """Record one stage event; returns (answer for the device, created). The same event id with
        the same bytes returns the first answer and changes nothing."""
        now = self.clock()
        if device.checkpoint != event.checkpoint or device.stage != event.stage:
            raise DeviceNotForThis(
                Text(
                    "Device %(slug)s reports %(stage)s at %(checkpoint)s, not %(stage2)s at "
                    "%(checkpoint2)s.",
                    slug=device.slug,
                    stage=device.stage,
                    checkpoint=device.checkpoint or "no checkpoint",
                    stage2=event.stage,
                    checkpoint2=event.checkpoint,
                )
            )
        checkpoint = self.registry.checkpoints[event.checkpoint]
        if event.lane not in (*checkpoint.lanes, checkpoint.manual_lane):
            raise InvalidEvent(
                Text(
                    "%(checkpoint)s has no lane %(lane)s.",
                    checkpoint=event.checkpoint,
                    lane=event.lane,
                ),
                field="lane",
            )
        if event.measured_at > now + CLOCK_SKEW or event.measured_at < now - MAX_EVENT_AGE:
            raise InvalidEvent(
                Text(
                    "The reading is dated %(measured_at)s, too far from the gateway's time "
                    "%(now)s: check the device's clock.",
                    measured_at=event.measured_at.isoformat(),
                    now=now.isoformat(),
                ),
                field="measured_at",
            )
        if event.stage == "entry" and not checkpoint.hours.is_open(event.measured_at):
            # A closed post takes no vehicle in: the barrier stays down and no visit is opened, so
            # nothing waits half-registered overnight. Vehicles already inside finish their stages.
            opens = checkpoint.hours.next_opening(event.measured_at)
            raise CheckpointClosed(
                Text(
                    "%(checkpoint)s is closed at %(measured_at)s (working hours %(text)s); vehicle "
                    "%(plate)s is not registered. It next opens at %(opens)s.",
                    checkpoint=event.checkpoint,
                    measured_at=event.measured_at.isoformat(),
                    text=checkpoint.hours.text,
                    plate=event.plate,
                    opens=opens.isoformat(),
                ),
                opens_at=opens.isoformat(),
            )
        try:
            return self._judge(device, event, body, now)
        except LostRace:
            # Another request committed between our reads and our insert: the same vehicle's entry
            # (the open-visit unique index) or the same event id. Judged again, this event sees it
            # and gets what a repeat gets: stage-repeated with that visit, or the first answer.
            return self._judge(device, event, body, now)

    def _judge(
        self, device: Device, event: StageEvent, body: bytes, now: dt.datetime
    ) -> tuple[dict[str, Any], bool]:
        """`record_event` in one unit of work."""
        digest = hashlib.sha256(body).hexdigest()
        with self.units.unit() as u:
            seen = u.events.seen(event.event_id)
            if seen is not None:
                if seen.body_sha256 != digest:
                    raise EventIdReused(
                        Text(
                            "Event id %(event_id)s was already used for another event.",
                            event_id=event.event_id,
                        )
                    )
                return seen.answer, False
            if event.stage == "entry":
                visit = self._register_entry(u, event)
                answer = self._entry_answer(visit)
            else:
                visit = self._visit_for(u, event)
                visit, answer = (
                    self._exit(u, visit, event, device) if event.stage == "exit"
                    else self._measure(u, visit, event)
                )  # fmt: skip
                u.visits.save(visit)
            first = visit.applications[0] if visit.applications else None
            u.record(first, Message("device-event", "in", f"device:{device.slug}",
                                    "application/json", body, device.slug))  # fmt: skip
            u.record(first, Message("gate-answer", "out", f"device:{device.slug}",
                                    "application/json", json.dumps(answer).encode()))  # fmt: skip
            u.events.add(DeviceEventRecord(event.event_id, device.slug, visit.id, event.stage,
                                           digest, answer, now))  # fmt: skip
            return answer, True

    def _register_entry(self, u: CheckpointUnit, event: StageEvent) -> Visit:
        existing = u.visits.open_visit(event.checkpoint, event.plate)
        if existing is not None:
            raise StageRepeated(
                Text(
                    "Vehicle %(plate)s is already registered at %(checkpoint)s (visit %(id)s); "
                    "entry is recorded once per pass.",
                    plate=event.plate,
                    checkpoint=event.checkpoint,
                    id=existing.id,
                ),
                visit=existing.id,
            )
        self.transits.close_at(u, event.checkpoint, event.plate, event.measured_at)
        checkpoint = self.registry.checkpoints[event.checkpoint]
        notices = u.visits.active_notices(event.checkpoint, event.plate)
        visit = Visit(
            id=new_id("VIS", event.measured_at), checkpoint=event.checkpoint, plate=event.plate,
            lane=event.lane, state="in_progress", stages=(_stage(event, "passed"),),
            arrived_at=event.measured_at,
        )  # fmt: skip
        if not notices:
            visit = replace(visit, state="manual", lane=checkpoint.manual_lane, reason=Text(
                "No advance notice for vehicle %(plate)s at %(checkpoint)s: registered and sent "
                "to the manual lane %(lane)s (declaration at the border).",
                plate=event.plate, checkpoint=event.checkpoint, lane=checkpoint.manual_lane,
            ))  # fmt: skip
        elif len(notices) > 1:
            visit = replace(visit, state="manual", lane=checkpoint.manual_lane, reason=Text(
                "Plate %(plate)s matches %(count)s active notices (%(notices)s); an officer must "
                "establish which applies.", plate=event.plate, count=len(notices),
                notices=", ".join(n.id for n in notices),
            ))  # fmt: skip
        else:
            notice = notices[0]
            u.visits.use_notice(notice.id)
            ready = u.applications.decided_at(notice.applications)
            visit = replace(
                visit, notice_id=notice.id, applications=notice.applications,
                decision_ready_on_arrival=ready is not None and ready <= event.measured_at,
                decision_ready_at=ready,
            )  # fmt: skip
        u.visits.add(visit)
        return visit

    def _visit_for(self, u: CheckpointUnit, event: StageEvent) -> Visit:
        visit = u.visits.open_visit(event.checkpoint, event.plate)
        if visit is None:
            raise StageOutOfOrder(
                Text(
                    "Vehicle %(plate)s has no entry registration at %(checkpoint)s; the %(stage)s "
                    "reading cannot come first.",
                    plate=event.plate,
                    checkpoint=event.checkpoint,
                    stage=event.stage,
                )
            )
        if visit.stage(event.stage) is not None:
            raise StageRepeated(
                Text(
                    "Stage %(stage)s of visit %(id)s was already recorded.",
                    stage=event.stage,
                    id=visit.id,
                ),
                visit=visit.id,
            )
        missing = [st for st in STAGES[: STAGES.index(event.stage)] if visit.stage(st) is None]
        if missing:
            raise StageOutOfOrder(
                Text(
                    "Stage %(stage)s of visit %(id)s came before %(list)s.",
                    stage=event.stage,
                    id=visit.id,
                    list=", ".join(missing),
                ),
                visit=visit.id,
                missing=missing,
            )
        return visit

    def _measure(
        self, u: CheckpointUnit, visit: Visit, event: StageEvent
    ) -> tuple[Visit, dict[str, Any]]:
        declared = None if visit.notice_id is None else u.visits.notice(visit.notice_id).declared
        findings = evaluate(self.rules, event.stage, event.readings, declared)
        known = list(visit.findings)
        for finding in findings:
            for application_id in visit.applications:
                u.applications.inspect(application_id, finding)
            known.append(GateFinding.of(len(known) + 1, finding))
        visit = replace(
            visit, stages=(*visit.stages, _stage(event, "finding" if findings else "passed")),
            findings=tuple(known),
        )  # fmt: skip
        answer: dict[str, Any] = {"visit": visit.id, "stage": event.stage, "lane": visit.lane}
        if findings:
            first = findings[0]
            if visit.state != "manual":
                visit = replace(visit, state="directed", reason=first.inspection)
            answer |= {"status": "finding", "findings": [asdict(f) for f in findings],
                       "direction": {"lane": first.lane, "agency": first.agency, "why": first.why}}  # fmt: skip
        else:
            answer["status"] = "manual" if visit.state == "manual" else "passed"
        return visit, answer

    def _exit(
        self, u: CheckpointUnit, visit: Visit, event: StageEvent, device: Device
    ) -> tuple[Visit, dict[str, Any]]:
        visit = replace(visit, exit_requested_at=visit.exit_requested_at or event.measured_at)
        visit, verdict = self._verdict(u, visit)
        answer: dict[str, Any] = {"visit": visit.id, "stage": "exit", "lane": visit.lane}
        if verdict.kind != "open":
            status = {"wait": "wait", "manual": "manual"}.get(verdict.kind, "directed")
            return visit, answer | {"status": status, "direction": verdict.direction()}
        visit = replace(visit, stages=(*visit.stages, _stage(event, "passed")))
        visit, command = self.open_barrier(u, visit, event.measured_at, "automatic", None,
                                           device.slug)  # fmt: skip
        return visit, answer | {"status": "open-barrier", "barrier_command": command}

    def _verdict(self, u: CheckpointUnit, visit: Visit) -> tuple[Visit, permits.ExitVerdict]:
        apps = visit.applications
        open_findings = [
            permits.OpenFinding(f.agency, f.lane, f"{f.why} {f.detail}")
            for f in visit.findings if f.status == "open"
        ]  # fmt: skip
        if visit.decision_ready_at is None and apps:
            visit = replace(visit, decision_ready_at=u.applications.decided_at(apps))
        return visit, permits.exit_verdict(
            manual_reason=visit.reason if visit.state == "manual" else None,
            manual_lane=self.registry.checkpoints[visit.checkpoint].manual_lane,
            stages_passed={m.stage for m in visit.stages if m.status in ("passed", "finding")},
            findings=open_findings,
            decisions=u.applications.decisions(apps),
            day=permits.exit_day(visit.exit_requested_at) if visit.exit_requested_at else None,
        )

    def open_barrier(self, u: CheckpointUnit, visit: Visit, at: dt.datetime, kind: str,
                     officer: str | None, to: str) -> tuple[Visit, str]:  # fmt: skip
        """Sign the barrier command and record it; the visit exits (the caller saves it) and a
        declared transit along a known corridor opens. Returns the visit and the command."""
        apps = visit.applications
        xml = permits.barrier_command(
            self.identity, checkpoint=visit.checkpoint, lane=visit.lane, plate=visit.plate,
            visit_id=visit.id, applications=apps, kind=kind, issued_at=at, cleared_by=officer,
        )  # fmt: skip
        u.record(apps[0] if apps else None,
                 Message("barrier-command", "out", f"device:{to}", "application/xml", xml))  # fmt: skip
        visit = replace(visit, state="exited", exited_at=at, exit_kind=kind, cleared_by=officer)
        u.tell_exit(apps, {"visitId": visit.id, "checkpoint": visit.checkpoint, "plate": visit.plate,
                           "exitedAt": iso(at), "exitKind": kind})  # fmt: skip
        if visit.notice_id is not None:
            plan = u.visits.notice(visit.notice_id).transit
            if plan and plan.corridor in self.transits.corridors:
                self.transits.open(u, plate=visit.plate, notice_id=visit.notice_id,
                                   application_id=apps[0] if apps else None, plan=plan, at=at)  # fmt: skip
        return visit, base64.b64encode(xml).decode("ascii")

    @staticmethod
    def _entry_answer(visit: Visit) -> dict[str, Any]:
        answer: dict[str, Any] = {"visit": visit.id, "stage": "entry", "lane": visit.lane,
                                  "notice": visit.notice_id, "applications": list(visit.applications)}  # fmt: skip
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

    def visit(self, visit_id: str) -> Visit:
        return officers.visit(self, visit_id)


def _stage(event: StageEvent, status: str) -> StageMark:
    return StageMark(event.stage, event.measured_at, status, event.event_id, event.lane)
