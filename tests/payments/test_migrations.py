"""Migrations 0010, 0011, 0016, 0018 and 0020 make exactly the payment, permit and guarantee models
(both databases)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from gateway.storage.db import make_engine
from gateway.storage.migrate import upgrade
from gateway.storage.models import Base

OURS = (
    "payment_orders", "payment_order_lines", "payment_reference_serials",
    "payment_confirmations", "reconciliations", "charges", "released_at",
    "permits", "permit_write_offs", "permit_citations", "permit_holds", "guarantees",
    "guarantee_releases",
)  # fmt: skip


def test_migrations_make_exactly_the_payment_models(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert [d for d in diff if any(name in repr(d) for name in OURS)] == []
