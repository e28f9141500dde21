"""A lost database connection is a passing condition, not a 500: intake retries its transaction
once on a fresh connection (the same signed bytes give the same application), a second loss is a
503 `service-unavailable` with Retry-After, and the background loops log one line and carry on.

On PostgreSQL the connection is really killed (pg_terminate_backend) in the middle of the intake
transaction; on SQLite, which has no server to lose, the driver's error is raised in its place."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.exc import OperationalError

from gateway.clock import system_clock
from gateway.fanout.loops import poll
from gateway.fanout.wakeup import OUTBOX
from gateway.storage.db import DatabaseUnavailable, is_postgres, make_engine
from gateway.storage.models import ApplicationRow

XML = {"Content-Type": "application/xml"}


def lose_connection_on_insert(engine: Engine, times: int) -> Callable[[], int]:
    """Kill the connection that next inserts an application, `times` times; returns a function
    telling how many were killed."""
    killed = [0]

    def kill(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # On PostgreSQL the application is inserted inside intake's one statement (a CTE).
        if killed[0] >= times or "INSERT INTO applications" not in statement:
            return
        killed[0] += 1
        if is_postgres(engine):
            pid = conn.connection.dbapi_connection.info.backend_pid
            killer = make_engine(engine.url.render_as_string(hide_password=False))
            with killer.connect() as c:
                c.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                c.commit()
            killer.dispose()
        else:
            raise OperationalError(
                statement,
                {},
                Exception("server closed the connection"),
                connection_invalidated=True,
            )

    event.listen(engine, "before_cursor_execute", kill)
    return lambda: killed[0]


def applications(engine: Engine) -> int:
    with engine.connect() as c:
        return c.execute(select(func.count()).select_from(ApplicationRow)).scalar_one()


def test_a_submission_survives_a_lost_connection(
    app_factory: Callable[..., Flask], signed_sample: Callable[..., bytes]
) -> None:
    app = app_factory()
    engine = app.extensions["nsw"].store.engine
    killed = lose_connection_on_insert(engine, times=1)
    answer = app.test_client().post(
        "/api/v1/applications", data=signed_sample("fresh-apples-import"), headers=XML
    )
    assert killed() == 1
    assert answer.status_code == 202, answer.get_data(as_text=True)
    assert applications(engine) == 1


def test_a_second_loss_is_a_503_and_the_resend_is_accepted(
    app_factory: Callable[..., Flask], signed_sample: Callable[..., bytes]
) -> None:
    app = app_factory()
    engine = app.extensions["nsw"].store.engine
    killed = lose_connection_on_insert(engine, times=2)
    body = signed_sample("fresh-apples-import")
    client = app.test_client()
    refused = client.post("/api/v1/applications", data=body, headers=XML)
    assert killed() == 2
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
    problem = refused.get_json()
    assert problem["type"] == "urn:kz:nsw:problem:service-unavailable"
    assert "again" in problem["detail"]
    resent = client.post("/api/v1/applications", data=body, headers=XML)
    assert resent.status_code == 202
    assert (
        client.post("/api/v1/applications", data=body, headers=XML).get_json()["id"]
        == (resent.get_json()["id"])
    )
    assert applications(engine) == 1


class FlakyRunner:
    """A runner whose database goes away once, then comes back."""

    name = "flaky"
    channel = OUTBOX
    clock = staticmethod(system_clock)

    def __init__(self) -> None:
        self.turns = 0
        self.recovered = threading.Event()

    def next_due(self) -> None:
        return None  # nothing owed: the loop sleeps until a wake-up or the poll

    def step(self) -> int:
        self.turns += 1
        if self.turns == 1:
            lost = OperationalError("SELECT", {}, Exception("terminating connection"), True)
            raise DatabaseUnavailable("lost") from lost
        self.recovered.set()
        return 0


def test_a_worker_loop_logs_one_line_and_carries_on(caplog: pytest.LogCaptureFixture) -> None:
    runner, stop = FlakyRunner(), threading.Event()
    thread = threading.Thread(target=poll, args=(runner, stop, 0.01))
    with caplog.at_level(logging.WARNING, logger="gateway.fanout.dispatch"):
        thread.start()
        try:
            assert runner.recovered.wait(10)
        finally:
            stop.set()
            thread.join(10)
    (line,) = [r for r in caplog.records if r.name == "gateway.fanout.dispatch"]
    assert line.levelno == logging.WARNING and line.exc_info is None
    assert "database connection lost (terminating connection)" in line.getMessage()
