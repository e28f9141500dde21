"""Migration 0002 creates exactly what the models of issue 4 describe."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from gateway.storage.db import make_engine
from gateway.storage.migrate import upgrade
from gateway.storage.models import Base

TABLES = {"representatives", "trader_certificates", "request_nonces"}


def test_migrations_match_the_identity_models(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    ours = [d for d in diff if TABLES & {getattr(x, "name", None) for x in _objects(d)}]
    assert ours == []


def _objects(entry: Any) -> Iterator[Any]:
    items = entry if isinstance(entry, list) else [entry]
    for item in items:
        for part in item if isinstance(item, tuple) else (item,):
            yield part
            table = getattr(part, "table", None)
            if table is not None:
                yield table
