"""Rows the storage tests need without going through intake."""

from __future__ import annotations

from gateway.storage.outbox import OutboxStore
from gateway.storage.repository import NewApplication


def lodge(store: OutboxStore, app_id: str) -> None:
    """An application routed to customs alone, as intake would store it (no trail entries)."""
    store.create_application(
        NewApplication(
            id=app_id, declarant_bin="210540012341", trader_reference=f"REF-{app_id}",
            procedure="import", body=b"<Application/>", signer_subject="CN=test",
            signer_fingerprint="00" * 32, routing={"customs": []},
        ),
        [],
    )  # fmt: skip
