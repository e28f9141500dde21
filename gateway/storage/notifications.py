"""Trader notifications in the store: the URL each trader registered, and the deliveries to make.

A delivery row is written by `enqueue_decision` inside the transaction that writes a decision, so a
decision is never made without its notification being owed; likewise `enqueue_event` for a progress
event (gateway/notify/events.py), in the transaction of the change it tells, when the trader chose
that event's type. Rows are claimed with a lease exactly
like outbox rows (FOR UPDATE SKIP LOCKED on PostgreSQL, the write lock on SQLite); a delivered or
finally failed row is kept with its outcome, for the trader's status and for operators.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.engine import Connection, Row
from sqlalchemy.orm import Session

from gateway.clock import Clock, iso
from gateway.domain.views import NotificationStatus, Subscription
from gateway.fanout.wakeup import NOTIFICATIONS
from gateway.i18n.text import Text
from gateway.notify import events as ev
from gateway.notify.ports import NotificationClaim as NotificationClaim
from gateway.storage import wake
from gateway.storage.core_tx import Tx, orm_of
from gateway.storage.db import unavailable_on_disconnect
from gateway.storage.models import (
    ApplicationRow,
    CaseRow,
    MessageRow,
    NotificationRow,
    TraderSubscriptionRow,
)
from gateway.storage.repository import Message, Store, sha256_hex, utc
from gateway.storage.settle_sql import Subscribed

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
NOTIFICATIONS_TABLE = cast(Table, NotificationRow.__table__)
SUBSCRIPTIONS_TABLE = cast(Table, TraderSubscriptionRow.__table__)
_INSERT_NOTIFICATION = insert(NOTIFICATIONS_TABLE)


class NotRead(enum.Enum):
    """The caller has not read the declarant's registration: the function reads it."""

    NOT_READ = "not read"


NOT_READ = NotRead.NOT_READ
Registration = Subscribed | None | NotRead  # read already (None: not registered), or not read

_SUBSCRIPTION = select(SUBSCRIPTIONS_TABLE.c.url, SUBSCRIPTIONS_TABLE.c.events).where(
    SUBSCRIPTIONS_TABLE.c.bin == bindparam("bin")
)  # built once: building the expression cost more than running it


def _subscription(s: Tx, bin_: str, known: Registration = NOT_READ) -> Subscribed | None:
    """The trader's URL and chosen events (`known` when the caller read them already). Neither
    this read nor the INSERT that may follow (`_owe`) depends on the rows the transaction has
    pending, so neither flushes them: the transaction's trail messages then go out together at
    commit instead of one INSERT each ahead of every statement."""
    if known is not NOT_READ:
        return known
    # On the session's connection: no flush, and none of the ORM's execution steps.
    found = s.connection().execute(_SUBSCRIPTION, {"bin": bin_}).first()
    return None if found is None else Subscribed(found.url, found.events)


def _owe(s: Tx, **row: Any) -> None:
    """INSERT one notification row (see `_subscription` for why without a flush), and wake the
    notifier at commit. The statement is built once and run on the session's connection: built
    per row and run through the ORM, it was a quarter of a settle's CPU for a trader who chose
    every event (`bench/settle_costs.py --subscribed`)."""
    s.connection().execute(_INSERT_NOTIFICATION, row)
    wake.owe(s, NOTIFICATIONS)


def enqueue_decision(s: Session, app: ApplicationRow, xml: bytes, clock: Clock) -> None:
    """Inside the decision's transaction: owe the declarant a notification, if it registered a
    URL. A re-composed decision (a held case settled later) is owed again."""
    owe_decision(s, app.id, app.declarant_bin, app.verdict or "", xml, clock)


def owe_decision(
    s: Tx,
    application_id: str,
    bin_: str,
    verdict: str,
    xml: bytes,
    clock: Clock,
    registration: Registration = NOT_READ,
) -> None:
    """`enqueue_decision` without an ORM row: one read of the subscription (none when the
    caller passes the `registration` it read), one INSERT if it registered a URL and chose
    decisions."""
    found = _subscription(s, bin_, registration)
    if found is None or ev.DECISION not in ev.chosen(found.events):
        return
    url = found.url
    now = clock()
    _owe(
        s,
        application_id=application_id,
        bin=bin_,
        url=url,
        verdict=verdict,
        decision_sha256=sha256_hex(xml),
        state=PENDING,
        created_at=now,
        available_at=now,
        attempts=0,
    )


def enqueue_event(
    s: Tx,
    application_id: str,
    event_type: str,
    detail: dict[str, Any],
    clock: Clock,
    declarant: tuple[str, str] | None = None,
    registration: Registration = NOT_READ,
) -> None:
    """Inside the transaction of the change it tells: owe the declarant the progress event
    `event_type` (with `detail`), if it registered a URL and chose that type. `declarant` (its
    BIN and the trader's reference) and its `registration`, when the caller has read them
    already, spare a read each."""
    if declarant is None:
        app = orm_of(s).get(ApplicationRow, application_id)
        if app is None:
            return
        declarant = (app.declarant_bin, app.trader_reference)
    bin_, reference = declarant
    subscription = _subscription(s, bin_, registration)
    if subscription is None or event_type not in ev.chosen(subscription.events):
        return
    now = clock()
    body = ev.event_document(event_type, application_id, reference, iso(now), detail)
    _owe(
        s,
        application_id=application_id,
        bin=bin_,
        url=subscription.url,
        verdict=str(detail.get("state") or "")[:16],
        decision_sha256=sha256_hex(body),
        kind=event_type,
        payload=body,
        state=PENDING,
        created_at=now,
        available_at=now,
        attempts=0,
    )


def enqueue_case_events(
    s: Tx,
    case: CaseRow | Row[Any],
    clock: Clock,
    declarant: tuple[str, str] | None = None,
    registration: Registration = NOT_READ,
) -> None:
    """A case was just changed (in `s`, not yet committed): the events it raises for the
    trader — its agency's outcome, a document asked for — told as the case now stands.
    `declarant` and `registration` as for `enqueue_event`."""
    if registration is None:
        # The caller read that the declarant registered no URL: no event is owed, and none of
        # the case's JSON is decoded to say so (four times per application on the settle path).
        return
    extra = _json(case.extra, {})
    extra = extra if isinstance(extra, dict) else {}
    fields = {
        "permit_number": case.permit_number,
        "valid_until": case.valid_until,
        "reasons": _json(case.reasons, []),
        "inspection": case.inspection,
        "extra": extra,
        "answer_sha256": case.answer_sha256,
    }
    for event_type in ev.case_event_types(case.state, extra):
        detail = ev.case_detail(case.id, case.agency, case.state, fields)
        enqueue_event(s, case.application_id, event_type, detail, clock, declarant, registration)


def _json(value: Any, default: Any) -> Any:
    """A JSON column's value, whether stored as text or (set this transaction) already decoded."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return default
    return default if value is None else value


class NotificationStore(Store):
    # --- subscriptions --------------------------------------------------------------------------

    def subscribe(
        self,
        bin_: str,
        url: str,
        *,
        fingerprint: str,
        message: Message,
        events: tuple[str, ...] = ev.DEFAULT_EVENTS,
    ) -> None:
        """Register (or replace) where `bin_`'s decisions — and the progress `events` it chose —
        go; `message` (the signed request) joins the trail in the same transaction, so the
        audit shows who pointed them where."""
        now = self.clock()
        chosen = ev.stored(events)
        with self.transaction() as s:
            row = s.get(TraderSubscriptionRow, bin_)
            if row is None:
                s.add(
                    TraderSubscriptionRow(
                        bin=bin_, url=url, registered_at=now, registered_by=fingerprint,
                        events=chosen,
                    )
                )  # fmt: skip
            else:
                row.url, row.registered_at, row.registered_by = url, now, fingerprint
                row.events = chosen
            self._add_message(s, None, message)

    def unsubscribe(self, bin_: str, *, message: Message) -> bool:
        with self.transaction() as s:
            row = s.get(TraderSubscriptionRow, bin_)
            if row is None:
                return False
            s.delete(row)
            self._add_message(s, None, message)
            return True

    def subscription(self, bin_: str) -> Subscription | None:
        with self.reading() as s:
            row = s.get(TraderSubscriptionRow, bin_)
            if row is None:
                return None
            return Subscription(
                bin=row.bin,
                url=row.url,
                registered_at=iso(utc(row.registered_at) or self.clock()),
                registered_by=row.registered_by,
                events=ev.chosen(row.events),
            )

    # --- deliveries -----------------------------------------------------------------------------

    def claim(self, worker: str, lease_s: float, limit: int = 4) -> list[NotificationClaim]:
        def build(s: Session, row: NotificationRow) -> NotificationClaim:
            return NotificationClaim(
                row.id, row.application_id, row.bin, row.url, self._decision_bytes(s, row),
                row.decision_sha256, row.attempts, worker, row.lease_generation,
                utc(row.lease_until), row.kind,
            )  # fmt: skip

        return self._lease(NotificationRow, worker, lease_s, limit, build)

    def _decision_bytes(self, s: Session, row: NotificationRow) -> bytes:
        """The exact decision this notification owes. The application keeps only its newest
        decision; an older one (superseded meanwhile) is found in the trail by its hash. An
        event's body is the row's own."""
        if row.kind != ev.DECISION:
            return row.payload or b""
        app = s.get_one(ApplicationRow, row.application_id)
        if app.decision_xml is not None and sha256_hex(app.decision_xml) == row.decision_sha256:
            return app.decision_xml
        body = s.scalars(
            select(MessageRow.body).where(
                MessageRow.application_id == row.application_id,
                MessageRow.kind == "decision",
                MessageRow.sha256 == row.decision_sha256,
            )
        ).first()
        if body is None:  # cannot happen: the decision and its notification commit together
            raise LookupError(f"decision {row.decision_sha256} of {row.application_id} is gone")
        return body

    def next_due(self) -> dt.datetime | None:
        """When a notification may next be ready to claim; None when none is owed."""
        return self._next_due(NotificationRow)

    def delivered(self, claim: NotificationClaim, status: int, record: dict[str, Any]) -> None:
        """The trader's endpoint took it: close the row and put the delivery in the trail.
        Nothing changes when another notifier holds the row's lease now (`Store._fence`)."""
        with self.transaction() as s:
            if not self._fenced(s, claim, "notification-delivered"):
                return
            row = s.get_one(NotificationRow, claim.id)
            row.state, row.done_at = DELIVERED, self.clock()
            row.last_status, row.last_error = status, None
            self._add_message(s, claim.application_id, _record_message(claim, record))

    def failed(
        self,
        claim: NotificationClaim,
        *,
        error: str,
        status: int | None,
        retry_at: dt.datetime | None,
        record: dict[str, Any],
    ) -> None:
        """An attempt failed: try again at `retry_at`, or give up (state failed, kept visible,
        and the giving up recorded in the trail) when it is None. Nothing changes when another
        notifier holds the row's lease now (`Store._fence`)."""
        with self.transaction() as s:
            if not self._fenced(s, claim, "notification-failed"):
                return
            row = s.get_one(NotificationRow, claim.id)
            row.last_status, row.last_error = status, error
            if retry_at is not None:
                row.available_at = retry_at
                wake.owe(s, NOTIFICATIONS)  # other processes' notifiers learn the new due time
                return
            row.state, row.done_at = FAILED, self.clock()
            self._add_message(s, claim.application_id, _record_message(claim, record))

    def release(self, claim: NotificationClaim) -> None:
        """Put a claimed notification back, available now, without counting an attempt (its
        lease has too little time left for a call); fenced like every write of a claim."""
        with self.transaction() as s:
            if not self._fenced(s, claim, "notification-release"):
                return
            row = s.get_one(NotificationRow, claim.id)
            row.attempts, row.available_at = max(row.attempts - 1, 0), self.clock()
            wake.owe(s, NOTIFICATIONS)

    def _fenced(self, s: Session, claim: NotificationClaim, kind: str) -> bool:
        return self._fence(s, NotificationRow, claim.id, claim.worker, claim.generation, kind)

    def retry(self, notification_id: int) -> str:
        """An operator sends a failed notification again (e.g. after the trader fixed its
        endpoint), to the URL registered now. Returns its application id."""
        now = self.clock()
        with self.transaction() as s:
            row = s.get(NotificationRow, notification_id)
            if row is None:
                raise LookupError(Text("There is no notification %(id)s.", id=notification_id))
            if row.state != FAILED:
                raise ValueError(
                    Text(
                        "Notification %(id)s is %(state)s; only failed ones are retried.",
                        id=notification_id,
                        state=row.state,
                    )
                )
            subscription = s.get(TraderSubscriptionRow, row.bin)
            if subscription is not None:
                row.url = subscription.url
            row.state, row.done_at, row.attempts = PENDING, None, 0
            row.available_at, row.last_error = now, None
            wake.owe(s, NOTIFICATIONS)
            return row.application_id

    def for_application(self, application_id: str) -> list[NotificationStatus]:
        with unavailable_on_disconnect(), self._read_engine.begin() as connection:
            return notifications_of(connection, application_id)

    def listing(self, state: str | None = None, limit: int = 200) -> list[NotificationStatus]:
        with self.reading() as s:
            query = select(NotificationRow).order_by(NotificationRow.id.desc()).limit(limit)
            if state:
                query = query.where(NotificationRow.state == state)
            return [_public(r) for r in s.scalars(query)]


def notifications_of(connection: Connection, application_id: str) -> list[NotificationStatus]:
    """An application's notifications, oldest first, read on `connection` (the trader's status
    read takes them in the transaction that reads the application): a Core select, no ORM."""
    return [_public(r) for r in connection.execute(_NOTIFICATIONS_OF, {"id": application_id})]


_NOTIFICATIONS_OF = (
    select(NOTIFICATIONS_TABLE)
    .where(NOTIFICATIONS_TABLE.c.application_id == bindparam("id"))
    .order_by(NOTIFICATIONS_TABLE.c.id)
)  # built once: a trader's every status read runs it


def _public(row: NotificationRow | Row[Any]) -> NotificationStatus:
    return NotificationStatus(
        id=row.id,
        application_id=row.application_id,
        url=row.url,
        verdict=row.verdict,
        decision_sha256=row.decision_sha256,
        state=row.state,
        attempts=row.attempts,
        last_status=row.last_status,
        last_error=row.last_error,
        created_at=iso(c) if (c := utc(row.created_at)) else None,
        done_at=iso(d) if (d := utc(row.done_at)) else None,
        kind=row.kind,
    )


def _record_message(claim: NotificationClaim, record: dict[str, Any]) -> Message:
    """The trail entry of a delivery (or of giving up): the signed request's header fields and
    the trader's answer, as JSON. The body sent is the decision itself, byte for byte: it is in
    the trail already and named here by its SHA-256. An event's body is in no other entry, so its
    record ("trader-event", not a notification of the decision) holds it."""
    if claim.is_event:
        event = {
            "notification": claim.id,
            "url": claim.url,
            "idempotency_key": claim.idempotency_key,
            "event_type": claim.kind,
            "event": claim.decision.decode("utf-8"),
            "event_sha256": claim.decision_sha256,
            "attempts": claim.attempts,
            **record,
        }
        return Message(
            "trader-event", "out", f"trader:{claim.bin}", "application/json",
            json.dumps(event, sort_keys=True).encode(),
        )  # fmt: skip
    body = json.dumps(
        {
            "notification": claim.id,
            "url": claim.url,
            "idempotency_key": claim.idempotency_key,
            "decision_sha256": claim.decision_sha256,
            "attempts": claim.attempts,
            **record,
        },
        sort_keys=True,
    ).encode()
    return Message("trader-notification", "out", f"trader:{claim.bin}", "application/json", body)
