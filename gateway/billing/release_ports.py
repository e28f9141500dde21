"""What the release loop needs of storage (issue 20): customs' ReleaseGuarantee owed for a
guarantee the application no longer needs, queued in the transaction that made it unnecessary.

Storage implements `ReleaseQueue` in gateway/storage/guarantee_releases.py; each write is one
transaction with its trail messages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from gateway.trail.messages import Message


@dataclass(frozen=True)
class ReleaseClaim:
    """One queued release, claimed with a lease. `worker` and `generation` fence the claim's
    later writes (a claim whose lease ran out and was taken again writes nothing)."""

    id: int
    application_id: str
    reference: str
    reason: str  # withdrawn | not-needed | discharged (customs.xsd ReleaseGuarantee)
    attempts: int
    worker: str
    generation: int


class ReleaseQueue(Protocol):
    def next_due(self) -> dt.datetime | None:
        """When a queued release may next be claimed; None when none is owed."""
        ...

    def claim(self, worker: str, lease_s: float, limit: int = 4) -> list[ReleaseClaim]:
        """Take up to `limit` ready releases for `lease_s` seconds, counting an attempt."""
        ...

    def answered(self, claim: ReleaseClaim, released: bool, messages: Sequence[Message]) -> None:
        """Customs answered (`released`, or it held no reservation for the application): keep
        `messages`; the first answer closes the release and marks the guarantee released."""
        ...

    def failed(
        self,
        claim: ReleaseClaim,
        error: str,
        retry_at: dt.datetime | None,
        messages: Sequence[Message],
    ) -> None:
        """No believable answer: keep `messages` (the attempt), try again at `retry_at`, or
        give up when it is None (a request customs can never accept)."""
        ...
