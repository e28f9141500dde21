"""`ReleaseQueue` on the database (gateway.billing.release_ports): customs' ReleaseGuarantee,
queued in the transaction that makes a guarantee unnecessary (issue 20).

`queue_release` is called inside that transaction: a withdrawal (`queue_withdrawn`), or an offer
customs reserved for an application that was paid, released or withdrawn meanwhile
(`GuaranteeStore.refuse_reserved`). It owes the release loop a wake-up at commit. A rolled-back
change queues nothing; a committed one cannot lose its release, whatever happens to the process.

Delivery is at least once: rows are claimed with a fenced lease, like outbox rows (the same lease
columns and `Store` helpers), and a claim whose lease ran out may be delivered by another worker
too. That is harmless: customs frees a reservation only for the application holding it, so a
repeat is answered `not-reserved` and frees nothing (simulators/guarantees.py). The first answer
closes the row and marks the guarantee released; every attempt's exchange is in the trail.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import cast

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.billing.release_ports import ReleaseClaim
from gateway.fanout.wakeup import GUARANTEES
from gateway.storage.payment_models import GuaranteeReleaseRow, GuaranteeRow
from gateway.storage.repository import Leased, Store
from gateway.storage.wake import owe
from gateway.trail.messages import Message

# The release row has the outbox row's lease columns, so the shared lease helpers take it.
ROW = cast("type[Leased]", GuaranteeReleaseRow)


def queue_release(s: Session, guarantee: GuaranteeRow, reason: str, now: dt.datetime) -> bool:
    """Inside the transaction that made `guarantee` unnecessary: owe customs its release (once
    per guarantee). True when queued now, False when it was queued already."""
    if guarantee.id is None:
        s.flush()
    queued = s.scalar(
        select(GuaranteeReleaseRow.id).where(GuaranteeReleaseRow.guarantee_id == guarantee.id)
    )
    if queued is not None:
        return False
    s.add(
        GuaranteeReleaseRow(
            guarantee_id=guarantee.id, application_id=guarantee.application_id,
            reference=guarantee.reference, reason=reason, state="queued",
            created_at=now, available_at=now, attempts=0, lease_generation=0,
        )
    )  # fmt: skip
    owe(s, GUARANTEES)
    return True


def queue_withdrawn(s: Session, application_id: str, now: dt.datetime) -> int:
    """Inside a withdrawal's transaction: queue the release of every guarantee still securing
    the application (accepted by customs, neither discharged by a payment nor released).
    Returns how many were queued."""
    securing = s.scalars(
        select(GuaranteeRow).where(
            GuaranteeRow.application_id == application_id,
            GuaranteeRow.outcome == "accepted",
            GuaranteeRow.discharged_at.is_(None),
            GuaranteeRow.released_at.is_(None),
        )
    ).all()
    return sum(queue_release(s, g, "withdrawn", now) for g in securing)


class ReleaseStore(Store):
    """The database implementation of `ReleaseQueue`."""

    def next_due(self) -> dt.datetime | None:
        return self._next_due(ROW)

    def claim(self, worker: str, lease_s: float, limit: int = 4) -> list[ReleaseClaim]:
        return self._lease(ROW, worker, lease_s, limit, _claim)

    def answered(self, claim: ReleaseClaim, released: bool, messages: Sequence[Message]) -> None:
        with self.transaction() as s:
            now = self.clock()
            self._add_messages(s, claim.application_id, messages)
            # The first believable answer closes it, whoever holds the lease now: customs has
            # answered for this guarantee, and a later answer can only be `not-reserved`.
            closed = s.execute(
                update(GuaranteeReleaseRow)
                .where(GuaranteeReleaseRow.id == claim.id, GuaranteeReleaseRow.done_at.is_(None))
                .values(
                    state="answered", answer="released" if released else "not-reserved",
                    done_at=now, lease_until=None, last_error=None,
                )
            )  # fmt: skip
            if closed.rowcount != 1:  # type: ignore[attr-defined]
                return
            guarantee_id = s.scalar(
                select(GuaranteeReleaseRow.guarantee_id).where(GuaranteeReleaseRow.id == claim.id)
            )
            # `not-reserved` after our own request too: an earlier attempt freed it and its
            # answer was lost. Either way customs holds no reservation for the application now.
            s.execute(
                update(GuaranteeRow)
                .where(GuaranteeRow.id == guarantee_id, GuaranteeRow.released_at.is_(None))
                .values(released_at=now)
            )

    def failed(
        self,
        claim: ReleaseClaim,
        error: str,
        retry_at: dt.datetime | None,
        messages: Sequence[Message],
    ) -> None:
        with self.transaction() as s:
            self._add_messages(s, claim.application_id, messages)
            if retry_at is None:
                self._fence(
                    s, ROW, claim.id, claim.worker, claim.generation, "guarantee-release",
                    last_error=error[:2000], state="failed", done_at=self.clock(),
                )  # fmt: skip
            else:
                self._fence(
                    s, ROW, claim.id, claim.worker, claim.generation, "guarantee-release",
                    last_error=error[:2000], available_at=retry_at,
                )  # fmt: skip


def _claim(_s: Session, row: object) -> ReleaseClaim:
    r = cast(GuaranteeReleaseRow, row)
    return ReleaseClaim(
        id=r.id, application_id=r.application_id, reference=r.reference, reason=r.reason,
        attempts=r.attempts, worker=r.claimed_by or "", generation=r.lease_generation,
    )  # fmt: skip
