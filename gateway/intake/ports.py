"""What intake needs from storage: a place to lodge an accepted application in one transaction.
Implemented by `gateway.storage.repository.Store`; the in-memory fake is tests/fakes/store.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from gateway.trail.messages import Message


@dataclass(frozen=True)
class CitedPermit:
    """A goods item citing a permit already granted, checked by intake (issue 20)."""

    item_line: int
    agency: str
    permit_id: str
    hs_code: str
    quantity: Decimal
    unit: str


@dataclass(frozen=True)
class NewApplication:
    id: str
    declarant_bin: str
    trader_reference: str
    procedure: str
    body: bytes
    signer_subject: str
    signer_fingerprint: str
    routing: dict[str, list[dict[str, Any]]]  # agency -> rule hits, in routing order
    request_id: str | None = None  # X-Request-Id of the submission, for following it in logs
    citations: tuple[CitedPermit, ...] = ()  # stored with the application, written off at release


class DuplicateReference(Exception):
    """The declarant already used this trader reference (`same_bytes`: for these very bytes)."""

    def __init__(self, existing_id: str, same_bytes: bool) -> None:
        super().__init__(existing_id)
        self.existing_id = existing_id
        self.same_bytes = same_bytes


class Applications(Protocol):
    def create_application(self, new: NewApplication, messages: list[Message]) -> dt.datetime:
        """The application, one queued case and one delivery per routed agency, and the
        messages in the trail, in one transaction; returns when it was received.
        `DuplicateReference` when the declarant already used this trader reference."""
        ...
