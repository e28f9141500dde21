"""Two entries of one vehicle at once (two lanes, two cameras) open one visit, never two: the
database refuses a second open visit, and the loser is answered as a repeated entry."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select

from gateway.checkpoint.views import Visit
from gateway.storage.checkpoint_unit import SqlVisits
from gateway.storage.db import is_postgres, make_engine
from gateway.storage.migrate import upgrade
from gateway.storage.models import Base, CheckpointVisitRow, DeviceEventRow
from tests.checkpoint.conftest import Checkpoint


def _problem(response: requests.Response) -> str:
    return str(response.json()["type"]).rsplit(":", 1)[-1]


def _recorded(checkpoint: Checkpoint, plate: str) -> tuple[int, int]:
    """(visits not yet exited, entry events recorded) for the plate at Nur Zholy."""
    with checkpoint.services.store.transaction() as s:
        open_visits = s.scalar(
            select(func.count(CheckpointVisitRow.id)).where(
                CheckpointVisitRow.checkpoint == "KZ-NURZHOLY",
                CheckpointVisitRow.plate == plate,
                CheckpointVisitRow.state != "exited",
            )
        )
        events = s.scalar(
            select(func.count(DeviceEventRow.event_id))
            .join(CheckpointVisitRow, CheckpointVisitRow.id == DeviceEventRow.visit_id)
            .where(CheckpointVisitRow.plate == plate, DeviceEventRow.stage == "entry")
        )
    return int(open_visits or 0), int(events or 0)


def _assert_one_visit_and_a_repeat(
    checkpoint: Checkpoint, plate: str, answers: list[requests.Response]
) -> None:
    won = [r for r in answers if r.status_code == 201]
    lost = [r for r in answers if r.status_code != 201]
    assert len(won) == 1 and len(lost) == 1, [(r.status_code, r.text) for r in answers]
    visit = won[0].json()["visit"]
    assert lost[0].status_code == 409 and _problem(lost[0]) == "stage-repeated"
    assert lost[0].json()["visit"] == visit
    assert f"{plate} is already registered at KZ-NURZHOLY" in lost[0].json()["detail"]
    assert _recorded(checkpoint, plate) == (1, 1)
    # The visit goes on: the next stage joins it.
    radiation = checkpoint.stage("radiation", plate)
    assert radiation.status_code == 201 and radiation.json()["visit"] == visit


def test_two_lanes_registering_one_truck_at_once_open_one_visit(
    checkpoint: Checkpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    if is_postgres(checkpoint.services.checkpoint.store.engine):
        # Make the race certain: both entries look for an open visit (and find none) before
        # either inserts one. (SQLite cannot interleave: every transaction is BEGIN IMMEDIATE, so
        # the second entry waits for the first; the race then only checks the answers.)
        looked = threading.Barrier(2, timeout=30)
        calls: list[str] = []
        real = SqlVisits.open_visit

        def open_visit(visits: SqlVisits, checkpoint_code: str, plate: str) -> Visit | None:
            found = real(visits, checkpoint_code, plate)
            calls.append(plate)
            if len(calls) <= 2:
                looked.wait()
            return found

        monkeypatch.setattr(SqlVisits, "open_visit", open_visit)
    anpr = checkpoint.device("device-nurzholy-anpr")
    start = threading.Barrier(2, timeout=30)
    answers: list[requests.Response] = []

    def register(lane: str) -> None:
        start.wait()
        answers.append(anpr.event("entry", "555RCE02", lane=lane, event_id=f"entry-race-{lane}"))

    threads = [threading.Thread(target=register, args=(lane,)) for lane in ("L1", "L2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(answers) == 2
    _assert_one_visit_and_a_repeat(checkpoint, "555RCE02", answers)


def test_an_entry_that_missed_the_open_visit_is_answered_as_a_repeat(
    checkpoint: Checkpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second entry's look-up ran before the first committed (simulated: it finds nothing
    once); its insert meets the unique index, and it is judged again as a repeat, not a 500."""
    first = checkpoint.stage("entry", "555RCE02", lane="L1")
    assert first.status_code == 201
    real = SqlVisits.open_visit
    missed: list[Any] = []

    def open_visit(visits: SqlVisits, checkpoint_code: str, plate: str) -> Visit | None:
        if not missed:
            missed.append(plate)
            return None
        return real(visits, checkpoint_code, plate)

    monkeypatch.setattr(SqlVisits, "open_visit", open_visit)
    second = checkpoint.stage("entry", "555RCE02", lane="L2")
    assert missed == ["555RCE02"]
    _assert_one_visit_and_a_repeat(checkpoint, "555RCE02", [first, second])


def test_the_migrations_make_the_open_visit_index_of_the_model(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
            indexes = {i["name"]: i for i in inspect(connection).get_indexes("checkpoint_visits")}
    finally:
        engine.dispose()
    assert [d for d in diff if "checkpoint_visits" in repr(d)] == []
    index = indexes["uq_checkpoint_visits_open"]
    assert index["unique"] and index["column_names"] == ["checkpoint", "plate"]
    options = index.get("dialect_options", {})
    where = options.get("postgresql_where", options.get("sqlite_where"))
    assert "exited" in str(where)
