"""A PostgreSQL connection idle in the pool for a while is pinged before it is lent, so a server
restart or a killed backend between two quiet moments costs no request; one lent again a moment
after its last use is not pinged (one round trip fewer per transaction: issue 17)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError

from gateway.storage import db


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(url: str, pid: int) -> None:
    killer = db.make_engine(url)
    try:
        with killer.connect() as c:
            c.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            c.commit()
    finally:
        killer.dispose()


@pytest.fixture
def postgres_url(database_url: str) -> Iterator[str]:
    if not database_url.startswith("postgresql"):
        pytest.skip("pings PostgreSQL backends; set NSW_TEST_DATABASE_URL")
    yield database_url


def _one_connection_engine(url: str, idle_s: float, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", idle_s)
    return db.make_engine(url, connections=1)


def test_an_idle_connection_killed_meanwhile_is_replaced_before_it_is_lent(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _one_connection_engine(postgres_url, 0.0, monkeypatch)  # every lend counts as idle
    try:
        pid = _backend_pid(engine)
        _terminate(postgres_url, pid)
        assert _backend_pid(engine) != pid  # no error: the ping found it dead
    finally:
        engine.dispose()


def test_a_connection_lent_again_at_once_is_not_pinged(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _one_connection_engine(postgres_url, 3600.0, monkeypatch)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    try:
        pid = _backend_pid(engine)
        statements.clear()
        _backend_pid(engine)
        assert statements == ["SELECT pg_backend_pid()"]  # no SELECT 1 before it
        # ...and so a backend killed in that moment fails the transaction as a lost connection,
        # after which the pool starts afresh.
        _terminate(postgres_url, pid)
        with pytest.raises(OperationalError) as lost:
            _backend_pid(engine)
        assert db.is_disconnect(lost.value)
        assert _backend_pid(engine) != pid
    finally:
        engine.dispose()
