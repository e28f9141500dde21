"""The gate's decisions on the in-memory storage: who passes, who is directed where, and that a
refused event leaves nothing behind. The same behaviour on a database: tests/checkpoint/."""

from __future__ import annotations

import base64
import datetime as dt

import pytest

from gateway.checkpoint.errors import (
    ActionNotAllowed,
    CheckpointClosed,
    EventIdReused,
    StageOutOfOrder,
    StageRepeated,
    VisitNotFound,
)
from gateway.checkpoint.registry import STAGES
from gateway.checkpoint.views import TransitPlan
from gateway.decision.rules import CaseState
from tests.fakes.checkpoint import _Visits
from tests.unit.checkpoint.conftest import CHECKPOINT, Gate

GRANTED = {"customs": CaseState.GRANTED, "transport": CaseState.GRANTED}


def _released(gate: Gate, plate: str, application_id: str = "APP-1", **notice: object) -> str:
    gate.storage.add_application(application_id, GRANTED, decided_at=gate.clock())
    gate.storage.add_notice(CHECKPOINT, plate, (application_id,), **notice)  # type: ignore[arg-type]
    return application_id


def test_a_released_vehicle_passes_every_stage_and_the_barrier_opens(gate: Gate) -> None:
    application_id = _released(gate, "123ABC02")
    entry = gate.stage("entry", "123ABC02")
    assert entry["status"] == "passed" and entry["decision_ready_on_arrival"] is True
    for stage in STAGES[1:-1]:
        assert gate.stage(stage, "123ABC02")["status"] == "passed"
    exit_answer = gate.stage("exit", "123ABC02")
    assert exit_answer["status"] == "open-barrier"
    assert b"<BarrierCommand" in base64.b64decode(exit_answer["barrier_command"])
    visit = gate.service.visit(entry["visit"])
    assert visit.state == "exited" and visit.exit_kind == "automatic"
    kinds = gate.storage.kinds(application_id)
    assert kinds.count("device-event") == 6 and kinds.count("barrier-command") == 1


def test_a_vehicle_without_a_notice_goes_to_the_manual_lane(gate: Gate) -> None:
    entry = gate.stage("entry", "777NEW01")
    assert entry["status"] == "manual" and entry["lane"] == "M1"
    assert "No advance notice for vehicle 777NEW01" in entry["direction"]["why"]
    for stage in STAGES[1:-1]:
        assert gate.stage(stage, "777NEW01")["status"] == "manual"
    exit_answer = gate.stage("exit", "777NEW01")
    assert exit_answer["status"] == "manual" and exit_answer["direction"]["lane"] == "M1"
    assert gate.service.visit(entry["visit"]).state == "manual"


def test_a_plate_on_two_active_notices_goes_to_an_officer(gate: Gate) -> None:
    _released(gate, "123ABC02", "APP-1")
    _released(gate, "123ABC02", "APP-2")
    entry = gate.stage("entry", "123ABC02")
    assert entry["status"] == "manual"
    assert "matches 2 active notices" in entry["direction"]["why"]


def test_stages_come_in_their_order_and_once(gate: Gate) -> None:
    _released(gate, "123ABC02")
    with pytest.raises(StageOutOfOrder, match="no entry registration"):
        gate.stage("radiation", "123ABC02")
    visit = gate.stage("entry", "123ABC02")["visit"]
    with pytest.raises(StageOutOfOrder, match="came before radiation"):
        gate.stage("parameters", "123ABC02")
    gate.stage("radiation", "123ABC02")
    with pytest.raises(StageRepeated, match=f"Stage radiation of visit {visit}"):
        gate.stage("radiation", "123ABC02")
    with pytest.raises(StageRepeated, match="already registered"):
        gate.stage("entry", "123ABC02", lane="L2")
    assert [m.stage for m in gate.service.visit(visit).stages] == ["entry", "radiation"]


def test_a_refused_event_changes_nothing(gate: Gate) -> None:
    _released(gate, "123ABC02")
    gate.stage("entry", "123ABC02")
    before = gate.storage.kinds()
    with pytest.raises(StageOutOfOrder):
        gate.stage("scan", "123ABC02")
    assert gate.storage.kinds() == before


def test_the_same_event_again_gets_the_first_answer_and_another_body_is_refused(
    gate: Gate,
) -> None:
    _released(gate, "123ABC02")
    event = gate.event("entry", "123ABC02", event_id="cam-1")
    first = gate.send(event, b"first")
    trail = gate.storage.kinds()
    again, created = gate.service.record_event(gate.device("entry"), event, b"first")
    assert again == first and created is False
    assert gate.storage.kinds() == trail
    with pytest.raises(EventIdReused, match="cam-1"):
        gate.send(event, b"other bytes")


def test_an_entry_whose_lookup_missed_the_open_visit_is_answered_as_a_repeat(
    gate: Gate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The look-up ran before the other entry committed (simulated: it finds nothing once); the
    insert loses the race, and the event is judged again, as a repeat."""
    _released(gate, "123ABC02")
    first = gate.stage("entry", "123ABC02")
    real = _Visits.open_visit
    missed: list[str] = []

    def open_visit(visits: _Visits, checkpoint: str, plate: str) -> object:
        if not missed:
            missed.append(plate)
            return None
        return real(visits, checkpoint, plate)

    monkeypatch.setattr(_Visits, "open_visit", open_visit)
    with pytest.raises(StageRepeated) as repeated:
        gate.stage("entry", "123ABC02", lane="L2")
    assert missed == ["123ABC02"] and repeated.value.extensions["visit"] == first["visit"]
    assert [v.id for v in gate.storage.state.visits.values()] == [first["visit"]]


def test_a_closed_checkpoint_registers_no_one(gate: Gate) -> None:
    gate.clock.now = dt.datetime(2026, 5, 4, 6, 30, tzinfo=dt.UTC)  # 14:30 in Beijing: the break
    with pytest.raises(CheckpointClosed, match="KZ-DOSTYK is closed"):
        gate.send(gate.event("entry", "123ABC02", checkpoint="KZ-DOSTYK"))
    assert gate.storage.state.visits == {} and gate.storage.kinds() == []


def test_an_undecided_application_makes_the_vehicle_wait_at_the_exit(gate: Gate) -> None:
    gate.storage.add_application("APP-1", {"customs": CaseState.PENDING})
    gate.storage.add_notice(CHECKPOINT, "123ABC02", ("APP-1",))
    entry = gate.stage("entry", "123ABC02")
    assert entry["decision_ready_on_arrival"] is False
    for stage in STAGES[1:-1]:
        gate.stage(stage, "123ABC02")
    exit_answer = gate.stage("exit", "123ABC02")
    assert exit_answer["status"] == "wait"
    assert "waiting for customs" in exit_answer["direction"]["why"]
    assert gate.service.visit(entry["visit"]).exit_requested_at == gate.clock()


def test_a_finding_holds_the_vehicle_until_the_inspection_clears_it(gate: Gate) -> None:
    application_id = _released(gate, "123ABC02", declared_kg=30000)
    visit = gate.stage("entry", "123ABC02")["visit"]
    gate.stage("radiation", "123ABC02")
    measured = gate.stage("parameters", "123ABC02")  # 36,400 kg weighed, 30,000 declared
    assert measured["status"] == "finding"
    assert measured["direction"]["lane"] == "transport-control"
    app = gate.storage.state.applications[application_id]
    assert app.verdict == "inspection" and app.cases["transport"].state is CaseState.INSPECTION
    for stage in ("scan", "documents"):
        gate.stage(stage, "123ABC02")
    held = gate.stage("exit", "123ABC02")
    assert held["status"] == "directed" and held["direction"]["agency"] == "transport"
    assert gate.service.visit(visit).state == "directed"

    result = gate.service.inspection_result(visit, "F1", "inspector-1", cleared=True,
                                            note="weighed again")  # fmt: skip
    assert result["verdicts"] == ["released"] and result["state"] == "in_progress"
    assert result["finding"]["status"] == "cleared"
    assert gate.storage.state.applications[application_id].verdict == "released"
    with pytest.raises(ActionNotAllowed, match="no open finding F1"):
        gate.service.inspection_result(visit, "F1", "inspector-1", cleared=True, note="again")
    assert gate.stage("exit", "123ABC02")["status"] == "open-barrier"


def test_a_failed_inspection_refuses_the_application(gate: Gate) -> None:
    application_id = _released(gate, "123ABC02")
    visit = gate.stage("entry", "123ABC02")["visit"]
    alarm = gate.stage("radiation", "123ABC02", alarm=True)
    assert alarm["direction"]["agency"] == "health"  # an agency the routing did not involve
    result = gate.service.inspection_result(visit, "F1", "officer", cleared=False, note="hot")
    assert result["verdicts"] == ["refused"]
    assert (
        gate.storage.state.applications[application_id].cases["health"].state is CaseState.REFUSED
    )


def test_an_officer_clears_a_vehicle_by_hand_once(gate: Gate) -> None:
    visit = gate.stage("entry", "777NEW01")["visit"]
    cleared = gate.service.manual_clearance(visit, "officer-7", "declared at the border")
    assert cleared["status"] == "open-barrier" and cleared["cleared_by"] == "officer-7"
    shown = gate.service.visit(visit)
    assert (shown.state, shown.exit_kind, shown.cleared_by) == ("exited", "manual", "officer-7")
    assert gate.storage.kinds(None)[-2:] == ["manual-clearance", "barrier-command"]
    with pytest.raises(ActionNotAllowed, match="already exited"):
        gate.service.manual_clearance(visit, "officer-7", "again")
    with pytest.raises(VisitNotFound):
        gate.service.manual_clearance("VIS-NONE", "officer-7", "who?")


def test_leaving_on_a_declared_corridor_opens_a_transit_that_its_exit_closes(gate: Gate) -> None:
    plan = TransitPlan("china-uzbekistan", "KZ-ZHIBEKZHOLY", "ES-0047")
    _released(gate, "512KTC08", transit=plan)
    for stage in STAGES:
        gate.stage(stage, "512KTC08")
    transit_id = gate.transits.open_transit_for("512KTC08")
    assert transit_id is not None
    tracked = gate.transits.transit(transit_id)
    assert tracked is not None and tracked.transit.exit_checkpoint == "KZ-ZHIBEKZHOLY"
    assert tracked.as_dict()["state"] == "open"
    gate.clock.advance(hours=49)  # past the corridor's 48 hours
    assert [a["kind"] for a in gate.transits.sweep_overdue()] == ["overdue"]
    assert gate.transits.sweep_overdue() == []  # raised once
    gate.stage("entry", "512KTC08", checkpoint="KZ-ZHIBEKZHOLY")
    assert gate.transits.open_transit_for("512KTC08") is None
    closed = gate.transits.transit(transit_id)
    assert closed is not None and closed.transit.state == "closed"
