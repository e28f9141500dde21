"""What the trader notifier needs from storage: the owed notifications, claimed with a fenced lease.
Implemented by `gateway.storage.notifications.NotificationStore`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class NotificationClaim:
    id: int
    application_id: str
    bin: str
    url: str
    decision: bytes
    decision_sha256: str
    attempts: int
    worker: str = ""  # the lease holder and the row's lease generation at the claim (fencing)
    generation: int = 0
    lease_until: dt.datetime | None = None
    # "decision" (`decision` is the signed decision's XML), or a progress event's type
    # (gateway.notify.events; `decision` is then the event's JSON body).
    kind: str = "decision"

    @property
    def is_event(self) -> bool:
        return self.kind != "decision"

    @property
    def idempotency_key(self) -> str:
        """The same on every attempt of one delivery: the trader keeps the first, ignores repeats.
        Each notification has its own, a decision's and each event's alike."""
        return f"nsw-{'event' if self.is_event else 'notification'}-{self.id}"


class Deliveries(Protocol):
    def next_due(self) -> dt.datetime | None:
        """When a notification may next be ready to claim; None when none is owed."""
        ...

    def claim(self, worker: str, lease_s: float, limit: int = 4) -> list[NotificationClaim]: ...

    def release(self, claim: NotificationClaim) -> None:
        """Put a claimed notification back, available now, without counting an attempt."""
        ...

    def delivered(self, claim: NotificationClaim, status: int, record: dict[str, Any]) -> None:
        """Close the notification and put the delivery (`record`) in the trail."""
        ...

    def failed(
        self,
        claim: NotificationClaim,
        *,
        error: str,
        status: int | None,
        retry_at: dt.datetime | None,
        record: dict[str, Any],
    ) -> None:
        """Try again at `retry_at`, or give up (recorded in the trail) when it is None."""
        ...
