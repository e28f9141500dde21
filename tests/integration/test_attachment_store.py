"""The supporting documents port on the in-memory fake and the database (SQLite, PostgreSQL):
bytes once by digest, linked per application, an upload recorded once, and another application's
bytes never handed out for an application that did not upload them."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from gateway.lifecycle.ports import Attachments
from gateway.storage.attachment_models import AttachmentBlobRow
from gateway.storage.attachments import AttachmentStore
from gateway.storage.db import make_engine
from gateway.storage.outbox import OutboxStore
from gateway.trail.messages import Message
from tests.conftest import MigratedTemplates, _database_urls
from tests.fakes.attachments import InMemoryAttachments
from tests.fakes.clock import FakeClock
from tests.integration.test_store_contract import new

START = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
DATA = b"%PDF-1.7\n%%EOF\n"
SHA = hashlib.sha256(DATA).hexdigest()


class Both:
    """The port, and how a test lodges an application and counts the kept copies."""

    def __init__(self, port: Attachments, lodge: Any, copies: Any) -> None:
        self.port, self.lodge, self.copies = port, lodge, copies


@pytest.fixture(params=["memory", *_database_urls()])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, migrated_templates: MigratedTemplates
) -> Iterator[Both]:
    if request.param == "memory":
        fake = InMemoryAttachments()
        yield Both(
            fake,
            lambda app_id: fake.lodge(app_id, "210540012341", b"<A/>"),
            lambda: len(fake.blobs),
        )
        return
    url = (
        migrated_templates.sqlite(tmp_path / "nsw.db")
        if request.param == "sqlite"
        else migrated_templates.postgresql()
    )
    engine = make_engine(url)
    clock = FakeClock(START)
    outbox, attachments = OutboxStore(engine, clock), AttachmentStore(engine, clock)

    def lodge(app_id: str) -> None:
        outbox.create_application(replace(new(app_id, b"<A/>"), trader_reference=app_id), [])

    def copies() -> int:
        with attachments.reading() as s:
            return int(s.scalar(select(func.count()).select_from(AttachmentBlobRow)) or 0)

    yield Both(attachments, lodge, copies)
    engine.dispose()


def message(app_id: str) -> Message:
    return Message("attachment", "in", "trader:210540012341", "application/json", app_id.encode())


def test_bytes_are_kept_once_and_linked_per_application(store: Both) -> None:
    store.lodge("APP-1")
    store.lodge("APP-2")
    assert store.port.lodged("APP-1") is not None
    assert store.port.lodged("NOPE") is None
    assert store.port.put("APP-1", SHA, "application/pdf", DATA, message("APP-1")) is True
    assert store.port.put("APP-1", SHA, "application/pdf", DATA, message("APP-1")) is False
    assert store.port.uploaded("APP-1") == {SHA}
    # APP-2 lists the same document but has not uploaded it: its bytes are not APP-2's to have.
    assert store.port.uploaded("APP-2") == frozenset()
    assert store.port.contents("APP-2", [SHA]) == {}
    assert store.port.put("APP-2", SHA, "application/pdf", DATA, message("APP-2")) is True
    assert store.port.contents("APP-2", [SHA]) == {SHA: DATA}
    assert store.copies() == 1


def test_two_applications_uploading_the_same_bytes_at_once_keep_one_copy(store: Both) -> None:
    ids = [f"APP-{i}" for i in range(4)]
    for app_id in ids:
        store.lodge(app_id)
    results: list[bool] = []
    threads = [
        threading.Thread(
            target=lambda a=app_id: results.append(
                store.port.put(a, SHA, "application/pdf", DATA, message(a))
            )
        )
        for app_id in ids
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * len(ids)
    assert store.copies() == 1
    assert all(store.port.uploaded(a) == {SHA} for a in ids)


def test_migration_0015_makes_exactly_the_attachment_tables(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from gateway.storage.migrate import upgrade
    from gateway.storage.models import Base

    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    ours = ("attachment_blobs", "application_attachments")
    assert [d for d in diff if any(name in repr(d) for name in ours)] == []
