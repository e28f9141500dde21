"""What the trail records: one message in or out, byte-exact, as the services hand it over.

A `Message` is a plain value. The services build it; the storage port that performs the write it
belongs to stores it and appends its entry to the trail in the same transaction (see
`gateway.storage.trail_log.append_message`, the trail's one append).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Message:
    kind: str
    direction: str
    counterpart: str
    content_type: str
    body: bytes
    signer: str | None = None
    case_id: str | None = None
