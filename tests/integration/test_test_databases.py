"""The `database_url` fixture: every test gets a database of its own at the newest migration,
whatever ran before it in the same process (the copies of a template must not share state)."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from gateway.storage.db import make_engine
from gateway.storage.migrate import alembic_config


@pytest.mark.parametrize("run", [1, 2])
def test_each_test_starts_from_the_migrations_alone(database_url: str, run: int) -> None:
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            assert connection.scalar(text("SELECT version_num FROM alembic_version")) == head
            assert connection.scalar(text("SELECT count(*) FROM applications")) == 0
            # Left behind on purpose: the next run fails here if it is handed the same database.
            connection.execute(text("CREATE TABLE left_by_an_earlier_test (run INTEGER)"))
    finally:
        engine.dispose()
