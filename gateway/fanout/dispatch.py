"""Dispatchers: claim outbox rows, call the agency through its adapter, record what happened.

Any number of dispatchers (threads in the web process, or `nsw worker` processes) share the work
through the database. A failed call is retried with jittered exponential backoff; after
`max_attempts` the case is escalated — visible in its status, never dropped.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

from adapters.base import AgencyAdapter, AgencyAnswer, AgencyCallFailed, AgencyRequest, Outcome
from gateway.clock import Clock
from gateway.decision.ports import Decide
from gateway.decision.rules import CaseState
from gateway.fanout.breakers import Breakers
from gateway.fanout.callbacks import answer_fields, callback_url
from gateway.fanout.documents import (
    DOCUMENT_WAIT_S,
    StoredDocumentChanged,
    UploadedDocuments,
    documents_for,
)
from gateway.fanout.ports import Answered, Claim, Outbox
from gateway.fanout.settling import Recorded, SettleGroup, settle_together
from gateway.fanout.slots import DeliverySlots
from gateway.fanout.wakeup import OUTBOX, Wakeup
from gateway.fanout.worker_gather import GATHER_S, Gather
from gateway.observability.request_context import request_id_var
from gateway.trail.messages import Message

log = logging.getLogger(__name__)
SWEEP_EVERY_S = 5.0  # how often a dispatcher escalates cases past their deadline
DEFAULT_SLOTS = 4  # deliveries a dispatcher thread has in flight at most

OUTCOME_STATE = {
    Outcome.GRANTED: CaseState.GRANTED,
    Outcome.REFUSED: CaseState.REFUSED,
    Outcome.INSPECTION: CaseState.INSPECTION,
    Outcome.PENDING: CaseState.PENDING,
    Outcome.CANCELLED: CaseState.CANCELLED,
}


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_s: float = 0.5
    cap_s: float = 60.0

    def next_try(self, attempts: int, now: dt.datetime) -> dt.datetime | None:
        """When to try again after `attempts` failed tries, or None to escalate.

        Full jitter (a uniform delay up to the exponential bound) keeps many workers retrying
        one agency from arriving together."""
        if attempts >= self.max_attempts:
            return None
        bound = min(self.cap_s, self.base_s * 2 ** (attempts - 1))
        return now + dt.timedelta(seconds=random.uniform(bound / 2, bound))


def worker_name(index: int = 0) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{index}"


class Dispatcher:
    def __init__(
        self,
        store: Outbox,
        adapters: Mapping[str, AgencyAdapter],
        decide: Decide,
        clock: Clock,
        *,
        retry: RetryPolicy,
        lease_s: float,
        breakers: Breakers,
        deadline_s: float,
        public_url: str = "",
        name: str | None = None,
        documents: UploadedDocuments | None = None,
        slots: int = DEFAULT_SLOTS,
        wakeup: Wakeup | None = None,
    ) -> None:
        self.store = store
        self.adapters = adapters
        self.decide = decide
        self.clock = clock
        self.retry = retry
        self.lease_s = lease_s
        self.breakers = breakers
        self.deadline_s = deadline_s
        self.public_url = public_url  # base of the callback URL sent with each request
        self.name = name or worker_name()
        self.documents = documents  # supporting documents' bytes (None: entries only)
        self._next_sweep = 0.0
        # The last turn's `store.next_due()`, read on its own or in the turn's claim.
        self._due: dt.datetime | None = None
        # The wake-up of new outbox work in this process (`store` signals it after a commit),
        # its count at the start of the last turn, and whether that turn claimed (`_claim`).
        self._wakeup = wakeup
        self._seen: int | None = None
        self._after_claim = False
        self.channel = OUTBOX  # the wake-up it waits on
        self.slots = DeliverySlots(slots)  # the deliveries it has in flight (`step`)
        self.gather_s = GATHER_S  # how long a turn's first answer waits for the others
        self.settling = SettleGroup(store, decide)  # their answers, recorded together

    def run_once(self, batch: int = DEFAULT_SLOTS, *, in_threads: bool = True) -> int:
        """Claim up to `batch` rows, deliver them at once (or, not `in_threads`, one after another
        in this thread) and return when all are done; returns how many were claimed. (Tests and
        profiles drive a dispatcher this way; the threads of `DispatcherThreads` turn `step`,
        which does not wait for the deliveries.)"""
        claimed, ready = self._claim(batch)
        if in_threads:
            self._deliver_all(ready)
            return claimed
        # One after another, the answers held until all are in hand, then recorded together
        # (as the threads' answers are when they arrive together: `SettleGroup`).
        held: list[tuple[Answered, Outcome]] = []
        try:
            for claim in ready:
                self.deliver(claim, held=held)
        finally:
            # Also when a later delivery raised: the answers in hand are recorded, not sent again.
            recorded = (
                settle_together(self.store, self.decide, [answer for answer, _ in held])
                if held
                else []
            )
            for (answer, outcome), verdict in zip(held, recorded, strict=True):
                _log_settled(answer, outcome, verdict)
        failed = [r for r in recorded if isinstance(r, Exception)]
        if failed:
            raise failed[0]
        return claimed

    def _claim(self, limit: int) -> tuple[int, list[Claim]]:
        """Claim up to `limit` ready rows: how many were claimed, and those to deliver now."""
        # The wake-up's count before anything is read this turn: a commit of new work after it
        # signals it again, so the next turn knows whether anything was written since.
        seen = None if self._wakeup is None else self._wakeup.seen()
        last_seen, self._seen = self._seen, seen
        after_claim, self._after_claim = self._after_claim, False
        known = seen is not None and last_seen is not None
        signalled = known and seen != last_seen
        nothing_due = self._due is None or self._due > self.clock()
        if after_claim and known and not signalled and nothing_due:
            # The turn right after a claim (the loop turns again at once when it claimed): the
            # claim's own statement said when the next delivery is due, and nothing was
            # committed here since (it would have signalled the wake-up), so a look now could
            # only find what that claim saw. This turn ends without a statement; the next one,
            # after the loop's wait, looks again (work another process wrote, on SQLite, too).
            return 0, []
        if self.store.looks_before_claiming and nothing_due and not signalled:
            # The last turn saw nothing due by now: one cheap read first, so that an idle turn
            # ends here, knowing when to look again. (When it saw a delivery due, read in its
            # claim's transaction, the claim goes ahead without this read; so it does when new
            # work was signalled since, as the claim says when the next delivery is due itself;
            # on PostgreSQL the claim always does.)
            self._due = self.store.next_due()
            if self._due is None or self._due > self.clock():
                return 0, []
        skipped = self.breakers.open_agencies()
        turn = self.store.claim_ready(self.name, self.lease_s, limit=limit, skip_agencies=skipped)
        claims, self._due = turn.claims, turn.next_due
        self._after_claim = bool(claims)
        if not claims and skipped:
            # What is ready waits for an open breaker: look again at the safety-net poll.
            self._due = None
        ready: list[Claim] = []
        now = self.clock()  # one read for all the turn's claims
        for claim in claims:
            if self._lease_too_short(claim, now):
                # The claim is older than its lease can cover a call: a call now could still be
                # running when another worker takes the row and sends it again. Put it back.
                self.store.defer(claim, now)
                continue
            ready.append(claim)
        return len(claims), ready

    def _deliver_all(self, claims: list[Claim]) -> None:
        """Deliver each claim in its own thread, all at once, and wait for them all; raises the
        first error any of them raised."""
        if len(claims) <= 1:
            for claim in claims:
                self.deliver(claim)
            return
        errors: list[Exception] = []

        def one(claim: Claim) -> None:
            try:
                self.deliver(claim)
            except Exception as exc:  # the loop logs it; the claim's lease brings the row back
                errors.append(exc)

        threads = [
            threading.Thread(target=one, args=(c,), name=f"{self.name}:{c.agency}", daemon=True)
            for c in claims
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]

    def _lease_too_short(self, claim: Claim, now: dt.datetime) -> bool:
        """Whether the claim's lease runs out before a call to its agency could time out."""
        adapter = self.adapters.get(claim.agency)
        if claim.lease_until is None or adapter is None:
            return False
        left = (claim.lease_until - now).total_seconds()
        return left < adapter.spec.timeout_s

    def step(self) -> int:
        """One turn of the loop: the deadline sweep when it is due, then, once a delivery slot is
        free, claim as many ready rows as slots are free and start each in its slot. Returns how
        many were claimed without waiting for their deliveries: the next turn claims again as
        soon as a slot frees, so an application's cases go out together and a slow agency holds
        up only its own slot. (The loop turns at least every safety-net poll, so the sweep runs
        every max(SWEEP_EVERY_S, poll) s.)"""
        if time.monotonic() >= self._next_sweep:
            self.sweep()
            self._next_sweep = time.monotonic() + SWEEP_EVERY_S
        free = self.slots.wait_free()  # blocks only while every slot is busy
        if not free:
            return 0  # closing
        claimed, ready = self._claim(free)
        # Several deliveries of one turn: their answers are recorded together (`Gather`).
        gather = Gather(len(ready), self.gather_s) if len(ready) > 1 else None
        for claim in ready:
            started = False
            try:
                started = self.slots.run(
                    partial(self.deliver, claim, gather), f"{self.name}:{claim.agency}"
                )
            finally:
                if not started and gather is not None:
                    gather.ended()  # closing, or no thread: its siblings do not wait for it
        return claimed

    def finish(self, timeout_s: float) -> None:
        """Claim no more and wait up to `timeout_s` for the deliveries in flight (a delivery
        still running then is left to its lease, as if this process had been killed)."""
        if not self.slots.close(timeout_s):
            log.warning("%s: deliveries still running after %.0f s", self.name, timeout_s)

    def next_due(self) -> dt.datetime | None:
        """When a delivery may next be ready without a wake-up (a retry's time, a lease running
        out), as read by the last turn; None: nothing owed, or only deliveries waiting for an
        open breaker (the safety-net poll looks at those again)."""
        return self._due

    def sweep(self) -> list[str]:
        """Escalate cases still open past the deadline (e.g. an agency that never called back)."""
        escalated = self.store.escalate_overdue(self.deadline_s)
        for case_id in escalated:
            log.warning("case %s escalated: no answer within %.0f s", case_id, self.deadline_s)
        return escalated

    def deliver(
        self,
        claim: Claim,
        gather: Gather | None = None,
        *,
        held: list[tuple[Answered, Outcome]] | None = None,
    ) -> None:
        """Send `claim` and record what happened; with `gather`, its answer is recorded with
        those of the other deliveries of its turn (`worker_gather`); with `held`, its answer is
        only added there, for the caller to record (`run_once`)."""
        # Log lines of this delivery carry the request id the application arrived with.
        token = request_id_var.set(claim.request_id or "-")
        try:
            self._deliver(claim, gather, held)
        finally:
            request_id_var.reset(token)
            if gather is not None:
                gather.ended()

    def _deliver(
        self,
        claim: Claim,
        gather: Gather | None,
        held: list[tuple[Answered, Outcome]] | None,
    ) -> None:
        adapter = self.adapters.get(claim.agency)
        counterpart = f"agency:{claim.agency}"
        if adapter is None or not adapter.spec.endpoint:
            self._failed(claim, f"No endpoint is configured for agency {claim.agency}.", [])
            return
        try:
            # A cancellation carries no documents and never waits for one.
            documents = (
                ()
                if claim.operation == "cancel"
                else documents_for(
                    adapter.spec, claim.application_id, claim.application_body, self.documents
                )
            )
        except StoredDocumentChanged as exc:
            self._failed(claim, f"not sent: {exc}", [], escalate=True)
            return
        if documents is None:  # a wanted document is not uploaded yet: wait (docs/attachments.md)
            self.store.defer(claim, self.clock() + dt.timedelta(seconds=DOCUMENT_WAIT_S))
            return
        breaker = self.breakers[claim.agency]
        if not breaker.allow(self.name):
            # The breaker opened after the claim: put it back without spending an attempt.
            self.store.defer(claim, self.clock() + dt.timedelta(seconds=breaker.reset_after_s))
            return
        request = AgencyRequest(
            claim.case_id,
            claim.application_id,
            claim.application_body,
            callback_url=(
                None if claim.operation == "cancel" else callback_url(self.public_url, adapter.spec)
            ),
            operation=claim.operation,
            version=claim.version,
            reason=claim.reason,
            documents=documents,
        )
        try:
            answer = adapter.send(request)
        except AgencyCallFailed as exc:
            messages = []
            if exc.request_bytes:
                messages.append(
                    _msg("agency-request", "out", counterpart, claim, exc.request_bytes)
                )
            if exc.answer_bytes:
                messages.append(_msg("agency-answer", "in", counterpart, claim, exc.answer_bytes))
            if exc.retryable:
                breaker.record_failure(str(exc))
                self._failed(claim, str(exc), messages)
            else:  # the agency is up and answered: it refused this request, which won't change
                breaker.record_success()
                error = (
                    f"{exc}. The agency refused the request itself; sending it again cannot help"
                )
                self._failed(claim, error, messages, escalate=True)
            return
        except Exception as exc:  # a bug in an adapter must not lose the case
            log.exception("adapter %s raised", claim.agency)
            breaker.record_failure(repr(exc))
            self._failed(claim, f"internal error in the {claim.agency} adapter: {exc!r}", [])
            return
        breaker.record_success()
        self._settled(claim, answer, counterpart, gather, held)

    def _settled(
        self,
        claim: Claim,
        answer: AgencyAnswer,
        counterpart: str,
        gather: Gather | None,
        held: list[tuple[Answered, Outcome]] | None,
    ) -> None:
        fields = answer_fields(answer)
        messages = [
            _msg("agency-request", "out", counterpart, claim, answer.request_bytes),
            _msg("agency-answer", "in", counterpart, claim, answer.answer_bytes),
        ]
        if (answer.outcome is Outcome.CANCELLED) != (claim.operation == "cancel"):
            error = f"the agency answered {answer.outcome.value} to a {claim.operation}"
            self._failed(claim, error, messages, escalate=True)
            return
        if claim.operation == "cancel":  # issue 19: the case keeps its permit, now cancelled
            fields = {"answer_sha256": fields["answer_sha256"]}
        answered = Answered(claim, OUTCOME_STATE[answer.outcome], fields, messages)
        if held is not None:  # `run_once` records its turn's answers together
            held.append((answered, answer.outcome))
            return
        if gather is not None:
            taken = gather.handed_in((answered, answer.outcome))
            if taken is None:
                return  # the turn's first answer records it, with its own
            if len(taken) > 1:
                self._record_together(taken, answered)
                return
        _log_settled(answered, answer.outcome, self.settling.settle(answered))

    def _record_together(self, taken: list[tuple[Answered, Outcome]], mine: Answered) -> None:
        """Record the answers of a turn together, in the dispatcher's settle group (with any
        answers waiting there: never two settle transactions of one dispatcher at once); raises
        what recording `mine` raised, and logs what recording each of the others raised (their
        threads have ended)."""
        recorded = self.settling.settle_many([answer for answer, _ in taken])
        failed: Exception | None = None
        for (answer, outcome), verdict in zip(taken, recorded, strict=True):
            # A turn may hold cases of several applications: each line under its own request id.
            token = request_id_var.set(answer.claim.request_id or "-")
            try:
                _log_settled(answer, outcome, verdict)
                if isinstance(verdict, Exception) and answer is not mine:
                    log.error(
                        "case %s: recording the answer failed",
                        answer.claim.case_id,
                        exc_info=verdict,
                    )
            finally:
                request_id_var.reset(token)
            if isinstance(verdict, Exception) and answer is mine:
                failed = verdict
        if failed is not None:
            raise failed

    def _failed(
        self, claim: Claim, error: str, messages: list[Message], *, escalate: bool = False
    ) -> None:
        now = self.clock()
        retry_at = None if escalate else self.retry.next_try(claim.attempts, now)
        deadline = claim.received_at + dt.timedelta(seconds=self.deadline_s)
        if retry_at is not None and retry_at > deadline:
            retry_at = None  # the next try would come after the case's deadline: escalate now
        log.warning(
            "case %s attempt %d failed: %s (%s)",
            claim.case_id,
            claim.attempts,
            error,
            "escalated" if retry_at is None else f"retry at {retry_at:%H:%M:%S}",
        )
        self.store.reschedule(claim, error=error, retry_at=retry_at, messages=messages)


def _log_settled(answered: Answered, outcome: Outcome, verdict: Recorded) -> None:
    if isinstance(verdict, Exception):
        return  # its caller raises it
    claim = answered.claim
    log.info("case %s: %s", claim.case_id, outcome.value)
    if verdict:
        log.info("application %s decided: %s", claim.application_id, verdict)


def _msg(kind: str, direction: str, counterpart: str, claim: Claim, body: bytes) -> Message:
    content_type = "application/json" if body[:1] in (b"{", b"[") else "application/xml"
    return Message(kind, direction, counterpart, content_type, body, case_id=claim.case_id)
