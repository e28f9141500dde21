"""The checkpoint's storage ports (gateway.checkpoint.ports) in memory, for unit tests of the gate,
the officers' actions and transit monitoring without a database.

It keeps the ports' contract: a unit commits at the end of its block and changes nothing when the
block raises; a second open visit of a vehicle, or a device event id used twice, is `LostRace`; a
case set to inspection or settled composes the decision again (gateway.decision.rules.compose) and
the messages go to `trail`, in order."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from gateway.checkpoint.errors import NoticeConflict
from gateway.checkpoint.exit_permit import AppDecision, CaseView
from gateway.checkpoint.gate_rules import Declared, Finding
from gateway.checkpoint.notices import Notice
from gateway.checkpoint.ports import LostRace
from gateway.checkpoint.views import (
    ArrivalNotice,
    DeviceEventRecord,
    NoticeSaved,
    SeenEvent,
    TrackPoint,
    Transit,
    TransitPlan,
    Visit,
    new_id,
)
from gateway.clock import Clock
from gateway.decision.rules import CaseResult, CaseState, compose
from gateway.trail.messages import Message


@dataclass
class FakeApplication:
    id: str
    declarant_bin: str
    cases: dict[str, CaseResult]  # agency -> case
    verdict: str | None = None  # None: not decided
    decided_at: dt.datetime | None = None


@dataclass
class FakeNotice:
    view: ArrivalNotice
    checkpoint: str
    plate: str
    carrier_bin: str
    reference: str
    version: int
    state: str  # active | superseded | used
    received_at: dt.datetime


@dataclass
class _State:
    applications: dict[str, FakeApplication] = field(default_factory=dict)
    notices: dict[str, FakeNotice] = field(default_factory=dict)
    visits: dict[str, Visit] = field(default_factory=dict)
    events: dict[str, DeviceEventRecord] = field(default_factory=dict)
    transits: dict[str, Transit] = field(default_factory=dict)
    track: dict[str, list[TrackPoint]] = field(default_factory=dict)
    trail: list[tuple[str | None, Message]] = field(default_factory=list)
    told: list[tuple[str, str, dict[str, object]]] = field(default_factory=list)  # trader events


class _Unit:
    def __init__(self, state: _State, clock: Clock) -> None:
        self.visits = _Visits(state)
        self.events = _Events(state)
        self.applications = _Applications(state, clock)
        self.transits = _Transits(state)
        self._state = state

    def record(self, application_id: str | None, message: Message) -> None:
        self._state.trail.append((application_id, message))

    def tell_exit(self, application_ids: Sequence[str], detail: dict[str, object]) -> None:
        self._state.told.extend((a, "checkpoint.exit", detail) for a in application_ids)


class _Visits:
    def __init__(self, state: _State) -> None:
        self.state = state

    def open_visit(self, checkpoint: str, plate: str) -> Visit | None:
        return _open_visit(self.state, checkpoint, plate)

    def visit(self, visit_id: str) -> Visit | None:
        return self.state.visits.get(visit_id)

    def add(self, visit: Visit) -> None:
        # What the database's unique index on open visits does, whatever a look-up before found.
        if visit.id in self.state.visits or _open_visit(self.state, visit.checkpoint, visit.plate):
            raise LostRace(f"vehicle {visit.plate} already has an open visit")
        self.state.visits[visit.id] = visit

    def save(self, visit: Visit) -> None:
        if visit.id not in self.state.visits:
            raise KeyError(visit.id)
        self.state.visits[visit.id] = visit

    def active_notices(self, checkpoint: str, plate: str) -> list[ArrivalNotice]:
        found = [n for n in self.state.notices.values()
                 if (n.checkpoint, n.plate, n.state) == (checkpoint, plate, "active")]  # fmt: skip
        return [n.view for n in sorted(found, key=lambda n: n.received_at)]

    def notice(self, notice_id: str) -> ArrivalNotice:
        return self.state.notices[notice_id].view

    def use_notice(self, notice_id: str) -> None:
        self.state.notices[notice_id].state = "used"


def _open_visit(state: _State, checkpoint: str, plate: str) -> Visit | None:
    open_ = [v for v in state.visits.values()
             if (v.checkpoint, v.plate) == (checkpoint, plate) and v.state != "exited"]  # fmt: skip
    return max(open_, key=lambda v: v.arrived_at, default=None)


class _Events:
    def __init__(self, state: _State) -> None:
        self.state = state

    def seen(self, event_id: str) -> SeenEvent | None:
        found = self.state.events.get(event_id)
        return None if found is None else SeenEvent(found.body_sha256, copy.deepcopy(found.answer))

    def add(self, event: DeviceEventRecord) -> None:
        if event.event_id in self.state.events:
            raise LostRace(f"event id {event.event_id} is taken")
        self.state.events[event.event_id] = event


class _Applications:
    def __init__(self, state: _State, clock: Clock) -> None:
        self.state, self.clock = state, clock

    def decisions(self, application_ids: Sequence[str]) -> list[AppDecision]:
        out = []
        for application_id in application_ids:
            app = self.state.applications[application_id]
            cases = tuple(
                CaseView(c.agency, c.state.value, c.inspection) for c in app.cases.values()
            )
            out.append(AppDecision(app.id, app.verdict, cases))
        return out

    def decided_at(self, application_ids: Sequence[str]) -> dt.datetime | None:
        moments = [self.state.applications[a].decided_at for a in application_ids]
        if not moments or any(m is None for m in moments):
            return None
        return max(m for m in moments if m is not None)

    def inspect(self, application_id: str, finding: Finding) -> str | None:
        app = self.state.applications[application_id]
        case = app.cases.get(finding.agency) or CaseResult(finding.agency, CaseState.INSPECTION)
        app.cases[finding.agency] = replace(
            case, state=CaseState.INSPECTION, inspection=finding.inspection
        )
        body = f"{finding.rule}: {finding.detail}".encode()
        self._record(app, Message("gate-finding", "out", f"agency:{finding.agency}",
                                  "application/json", body, case_id=f"{app.id}-{finding.agency}"))  # fmt: skip
        return self._decide(app)

    def settle_inspection(
        self, application_id: str, agency: str, *, cleared: bool, officer: str, note: str
    ) -> str | None:
        app = self.state.applications[application_id]
        case = app.cases[agency]
        if cleared:
            app.cases[agency] = replace(
                case, state=CaseState.GRANTED, inspection=None,
                conditions=(*case.conditions, f"Inspected by {officer}: {note}"),
                permit_number=case.permit_number or f"INSP-{application_id}-{agency}",
            )  # fmt: skip
        else:
            app.cases[agency] = replace(case, state=CaseState.REFUSED, inspection=None,
                                        reasons=(("inspection-failed", note),))  # fmt: skip
        self._record(app, Message("inspection-result", "in", f"officer:{officer}",
                                  "application/json", note.encode(), case_id=f"{app.id}-{agency}"))  # fmt: skip
        return self._decide(app)

    def _record(self, app: FakeApplication, message: Message) -> None:
        self.state.trail.append((app.id, message))

    def _decide(self, app: FakeApplication) -> str | None:
        decision = compose(list(app.cases.values()))
        if decision is None:
            return None
        app.verdict, app.decided_at = decision.verdict.value, self.clock()
        self._record(app, Message("decision", "out", f"trader:{app.declarant_bin}",
                                  "application/xml", decision.summary.encode()))  # fmt: skip
        return app.verdict


class _Transits:
    def __init__(self, state: _State) -> None:
        self.state = state

    def add(self, transit: Transit) -> None:
        self.state.transits[transit.id] = transit
        self.state.track[transit.id] = []

    def transit(self, transit_id: str) -> Transit | None:
        return self.state.transits.get(transit_id)

    def open_to(self, checkpoint: str, plate: str) -> Transit | None:
        found = self.open_of(plate)
        return found if found is not None and found.exit_checkpoint == checkpoint else None

    def open_of(self, plate: str) -> Transit | None:
        return next((t for t in self.all_open() if t.plate == plate), None)

    def all_open(self) -> list[Transit]:
        return [t for t in self.state.transits.values() if t.state == "open"]

    def save(self, transit: Transit) -> None:
        if transit.id not in self.state.transits:
            raise KeyError(transit.id)
        self.state.transits[transit.id] = transit

    def add_position(self, transit_id: str, point: TrackPoint) -> None:
        self.state.track[transit_id].append(point)

    def track(self, transit_id: str) -> tuple[TrackPoint, ...]:
        return tuple(sorted(self.state.track.get(transit_id, []), key=lambda p: p.at))


class FakeCheckpointStorage:
    """`NoticeBook`, `CheckpointUnits` and `VisitHistory` in memory."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.state = _State()

    @contextmanager
    def unit(self) -> Iterator[_Unit]:
        work = copy.deepcopy(self.state)
        yield _Unit(work, self.clock)
        self.state = work  # only a block that ended without raising is kept

    def exited_visits(self, checkpoint: str | None = None) -> list[Visit]:
        return [v for v in self.state.visits.values()
                if v.state == "exited" and v.notice_id is not None
                and checkpoint in (None, "", v.checkpoint)]  # fmt: skip

    def declarants(self, application_ids: Sequence[str]) -> dict[str, str]:
        apps = self.state.applications
        return {a: apps[a].declarant_bin for a in application_ids if a in apps}

    def save_notice(self, notice: Notice, body: bytes, signer: str) -> NoticeSaved:
        carrier = str(notice.carrier_bin)
        earlier = sorted((n for n in self.state.notices.values()
                          if (n.carrier_bin, n.reference) == (carrier, notice.reference)),
                         key=lambda n: n.version)  # fmt: skip
        latest = earlier[-1] if earlier else None
        if latest is not None and latest.version >= notice.version:
            raise NoticeConflict(f"Notice {notice.reference} is already at version "
                                 f"{latest.version}.", current_version=latest.version)  # fmt: skip
        if latest is not None and latest.state == "used":
            raise NoticeConflict(f"The vehicle of notice {notice.reference} has already entered.")
        plan = (TransitPlan(notice.corridor, notice.exit_checkpoint or "", notice.seal_id)
                if notice.corridor else None)  # fmt: skip
        view = ArrivalNotice(
            new_id("PAN", self.clock()), notice.applications,
            Declared(float(notice.declared_gross_kg), notice.axles), plan,
        )  # fmt: skip
        if latest is not None:
            latest.state = "superseded"
        self.state.notices[view.id] = FakeNotice(
            view, notice.checkpoint, notice.plate, carrier, notice.reference, notice.version,
            "active", self.clock(),
        )  # fmt: skip
        self.state.trail.append((notice.applications[0], Message(
            "arrival-notice", "in", f"carrier:{carrier}", "application/xml", body, signer)))  # fmt: skip
        return NoticeSaved(view.id, notice.version, notice.plate, notice.checkpoint,
                           notice.applications, latest.view.id if latest else None, True)  # fmt: skip

    # --- for the tests' own set-up and checks ----------------------------------------------------

    def add_application(
        self, application_id: str, cases: dict[str, CaseState], *, declarant_bin: str = "",
        decided_at: dt.datetime | None = None,
    ) -> None:  # fmt: skip
        results = {a: CaseResult(a, s, permit_number=f"P-{a}" if s is CaseState.GRANTED else None)
                   for a, s in cases.items()}  # fmt: skip
        decision = compose(list(results.values()))
        self.state.applications[application_id] = FakeApplication(
            application_id, declarant_bin, results,
            decision.verdict.value if decision else None, decided_at if decision else None,
        )  # fmt: skip

    def add_notice(
        self, checkpoint: str, plate: str, applications: tuple[str, ...], *,
        declared_kg: float = 36200, axles: int = 5, transit: TransitPlan | None = None,
    ) -> str:  # fmt: skip
        view = ArrivalNotice(new_id("PAN", self.clock()), applications,
                             Declared(declared_kg, axles), transit)  # fmt: skip
        self.state.notices[view.id] = FakeNotice(view, checkpoint, plate, "", view.id, 1,
                                                 "active", self.clock())  # fmt: skip
        return view.id

    def kinds(self, application_id: str | None = None) -> list[str]:
        """The kinds of the messages in the trail, in order (of one application, if named)."""
        return [m.kind for a, m in self.state.trail if application_id in (None, a)]
