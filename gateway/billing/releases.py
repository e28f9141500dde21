"""The release loop (issue 20): asks customs to release each guarantee queued for release
(`ReleaseQueue`), retrying with backoff until customs answers.

Run by the dispatcher threads (`gateway.fanout.loops.Runner`: `step`, `next_due`, `finish`) on
its own wake-up channel, so a commit that queues a release wakes it at once; an idle turn reads
nothing until a wake-up, a known due time, or the safety-net look (work queued by another process
on SQLite, which sends no wake-ups across processes). Each attempt's exchange with customs is in
the trail (`guarantee-release`, `guarantee-release-answer`), as when the call was made once.
"""

from __future__ import annotations

import datetime as dt
import logging
import random

from adapters.base import AgencyCallFailed, GuaranteeReleaser
from gateway.billing.release_ports import ReleaseClaim, ReleaseQueue
from gateway.clock import Clock
from gateway.fanout.wakeup import GUARANTEES, Wakeup
from gateway.trail.messages import Message

log = logging.getLogger(__name__)

CUSTOMS = "customs"
SAFETY_LOOK_S = 30.0  # an idle loop reads the queue at least this often without a wake-up
CAP_S = 300.0  # the longest wait between two attempts while customs does not answer


def next_try(attempts: int, now: dt.datetime, base_s: float, cap_s: float = CAP_S) -> dt.datetime:
    """When to ask again after `attempts` unanswered tries: exponential, capped, with full
    jitter (half to all of the bound), never giving up."""
    bound = min(cap_s, base_s * 2 ** min(max(attempts - 1, 0), 30))
    return now + dt.timedelta(seconds=random.uniform(bound / 2, bound))


def release_exchange(sent: bytes, received: bytes) -> list[Message]:
    """One ReleaseGuarantee attempt's bytes, both ways, as trail messages."""
    out = []
    if sent:
        out.append(Message("guarantee-release", "out", f"agency:{CUSTOMS}", "text/xml", sent))
    if received:
        out.append(
            Message("guarantee-release-answer", "in", f"agency:{CUSTOMS}", "text/xml", received)
        )
    return out


class ReleaseLoop:
    """Claims queued releases and asks customs; one per process that runs dispatchers."""

    def __init__(
        self,
        queue: ReleaseQueue,
        releaser: GuaranteeReleaser,
        clock: Clock,
        *,
        wakeup: Wakeup,
        lease_s: float,
        retry_base_s: float,
        name: str,
    ) -> None:
        self.queue, self.releaser, self.clock = queue, releaser, clock
        self.wakeup, self.lease_s, self.retry_base_s = wakeup, lease_s, retry_base_s
        self.name = name
        self.channel = GUARANTEES  # the wake-up it waits on
        self._seen = -1  # the wake-up count at the last read of the queue
        self._due: dt.datetime | None = None  # what that read said
        self._look_at = dt.datetime.min.replace(tzinfo=dt.UTC)  # read again from then on

    def next_due(self) -> dt.datetime | None:
        return self._due

    def finish(self, timeout_s: float) -> None:
        """Nothing to wait for: each release is asked inside `step`."""

    def step(self, batch: int = 4) -> int:
        seen, now = self.wakeup.seen(), self.clock()
        if seen == self._seen and now < self._look_at:
            return 0  # nothing committed since the last read, and nothing due yet
        self._seen = seen
        self._due = self.queue.next_due()
        safety = now + dt.timedelta(seconds=SAFETY_LOOK_S)
        self._look_at = min(self._due, safety) if self._due is not None else safety
        if self._due is None or self._due > now:
            return 0
        claims = self.queue.claim(self.name, self.lease_s, limit=batch)
        for claim in claims:
            self.deliver(claim)
        self._look_at = now  # more may be ready: read again on the next turn
        return len(claims)

    def deliver(self, claim: ReleaseClaim) -> None:
        try:
            done = self.releaser.release_guarantee(
                claim.application_id, claim.reference, claim.reason
            )
        except AgencyCallFailed as exc:
            retry_at = next_try(claim.attempts, self.clock(), self.retry_base_s)
            if not exc.retryable:  # our request breaks customs' schema: asking again cannot help
                log.error("guarantee %s of %s: release given up: %s",
                          claim.reference, claim.application_id, exc)  # fmt: skip
                self.queue.failed(claim, str(exc), None, release_exchange(b"", b""))
                return
            log.warning(
                "customs did not release guarantee %s of %s (attempt %d): %s; asking again at %s",
                claim.reference, claim.application_id, claim.attempts, exc, f"{retry_at:%H:%M:%S}",
            )  # fmt: skip
            exchange = release_exchange(exc.request_bytes, exc.answer_bytes)
            self.queue.failed(claim, str(exc), retry_at, exchange)
            return
        log.info("customs answered the release of guarantee %s of %s: %s", claim.reference,
                 claim.application_id, "released" if done.released else "not reserved")  # fmt: skip
        self.queue.answered(claim, done.released, release_exchange(done.request_bytes,
                                                                    done.answer_bytes))  # fmt: skip
