"""The repository: every read and write the services make, each write in one transaction.

Services speak in plain values (`NewApplication`, `Claim`, `CaseResult`); SQL stays here.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from functools import cache
from typing import Any, TypeVar, cast

from sqlalchemy import (
    Engine,
    Executable,
    Select,
    Table,
    bindparam,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement

from gateway.clock import Clock, iso

# The `X as X` imports re-export names other modules (checkpoint, OMC, tests) still import from
# here; their homes are the ports of the services that use them.
from gateway.decision.ports import Decide as Decide
from gateway.domain.views import (
    ApplicationPage,
    ApplicationStatus,
    CaseStatus,
    ReasonView,
    SortKey,
)
from gateway.fanout.ports import Claim as Claim
from gateway.intake.ports import DuplicateReference as DuplicateReference
from gateway.intake.ports import NewApplication as NewApplication
from gateway.storage import trail_log, wake
from gateway.storage.autocommit import autocommit_cursor
from gateway.storage.core_tx import CoreTx, Tx, orm_of
from gateway.storage.db import (
    DatabaseUnavailable,
    disconnect_reason,
    is_postgres,
    read_engine,
    read_session_factory,
    session_factory,
    unavailable_on_disconnect,
)
from gateway.storage.db import (
    utc as utc,
)
from gateway.storage.driver_sql import driver_statement
from gateway.storage.intake_sql import insert_application
from gateway.storage.models import ApplicationRow, CaseRow, MessageRow, NotificationRow, OutboxRow
from gateway.storage.outbox_sql import due_at
from gateway.storage.permit_citations import add_citations
from gateway.storage.settle_sql import case_result as case_result
from gateway.storage.wake import wakeups_for
from gateway.trail.messages import Message as Message
from gateway.trail.messages import sha256_hex as sha256_hex
from gateway.trail.ports import TrailEntry

T = TypeVar("T")
Leased = OutboxRow | NotificationRow  # rows claimed with a lease (Store._lease)
APPLICATIONS, CASES, OUTBOX = (
    cast(Table, row.__table__) for row in (ApplicationRow, CaseRow, OutboxRow)
)
log = logging.getLogger(__name__)


def trail_entry(row: MessageRow) -> TrailEntry:
    return TrailEntry(
        seq=row.seq,
        entry=row.entry,
        application_id=row.application_id,
        case_id=row.case_id,
        kind=row.kind,
        direction=row.direction,
        counterpart=row.counterpart,
        content_type=row.content_type,
        body=row.body,
        sha256=row.sha256,
        signer=row.signer,
        created_at=utc(row.created_at) or row.created_at,
    )


@cache
def _next_due_query(model: type[Leased]) -> Select[dt.datetime | None]:
    """Built once per model (building it cost more than running it), over the table's columns:
    a statement over the mapped class goes through the ORM's compile and result steps."""
    t: Any = model.__table__
    return select(func.min(due_at(t))).where(t.c.done_at.is_(None))


@cache
def _fence_statement(model: type[Leased], also: frozenset[str]) -> Executable:
    """The fenced release of a lease (parameters: row_id, worker, generation, and `also`'s
    columns by their names), built once per model and set of further columns; a Core UPDATE, so
    there is no ORM state to synchronise."""
    table: Any = model.__table__
    return (
        update(table)
        .where(
            table.c.id == bindparam("row_id"),
            table.c.claimed_by == bindparam("worker"),
            table.c.lease_generation == bindparam("generation"),
        )
        .values(lease_until=None, **{name: bindparam(name) for name in sorted(also)})
    )


class FencedWrites:
    """How many late writes the lease fence turned into no-ops, by kind (outbox-settle, ...): a
    counter for /metrics (`nsw_fenced_writes_total`). Shared by a process's stores; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, kind: str) -> None:
        with self._lock:
            self._counts[kind] += 1

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


class Store:
    def __init__(self, engine: Engine, clock: Clock, fenced: FencedWrites | None = None) -> None:
        self.engine = engine
        self.clock = clock
        self.fenced = fenced or FencedWrites()
        self._sessions = session_factory(engine)
        self._readers = read_session_factory(engine)
        self._read_engine = read_engine(engine)
        self.wakeups = wakeups_for(engine)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction; a lost database connection in it raises `DatabaseUnavailable`.
        The loops owed a wake-up by it (`wake.owe`) are woken once it has committed."""
        with unavailable_on_disconnect(), self._sessions.begin() as session:
            yield session
            owed = wake.announce(session)
        self.wakeups.signal(owed)

    @contextmanager
    def core_transaction(self) -> Iterator[CoreTx]:
        """`transaction` on a Core connection (`core_tx.CoreTx`), for a path of Core and driver
        statements that owes wake-ups and may need the ORM for a rare step (settling): the
        session's set-up and tear-down are paid only by the transactions that use it."""
        with unavailable_on_disconnect(), self.engine.begin() as connection:
            tx = CoreTx(connection)
            try:
                yield tx
                tx.flush()
                owed = wake.announce(tx)
            finally:
                tx.close()
        self.wakeups.signal(owed)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A transaction that only reads: on SQLite it does not take the write lock."""
        with unavailable_on_disconnect(), self._readers.begin() as session:
            yield session

    def autocommit(self) -> AbstractContextManager[Any]:
        """A DB-API cursor in autocommit, without SQLAlchemy's execution layer
        (`gateway.storage.autocommit`): the trail's integrator and proofs, the claims, the
        loops' one-statement looks, a trader's signed reads and nonces."""
        return autocommit_cursor(self.engine)

    def read_scalar(self, statement: Executable, params: dict[str, Any] | None = None) -> Any:
        """One statement's scalar (its first row's first column; None without a row), read on
        an `autocommit` cursor: a lone SELECT is a transaction by itself, so it needs no BEGIN
        or COMMIT (PostgreSQL: two round trips), takes no write lock on SQLite, and is sent as
        compiled once (`driver_sql.driver_statement`) without SQLAlchemy's execution steps.
        For the loops' one-statement looks, made every turn, and the readers' access checks."""
        sent = driver_statement(cast(ClauseElement, statement), self.engine.dialect)
        with self.autocommit() as cursor:
            rows = sent.rows(cursor, params or {})
        return next(iter(rows[0].values())) if rows else None

    def retry_once_on_disconnect(self, work: Callable[[], T], what: str) -> T:
        """`work()`, and once more on a fresh connection if the database connection was lost.

        Only for work that is safe to repeat even when the first try committed unseen (the
        commit's answer is what got lost): intake, whose same bytes give the same application,
        and reads. The pool dropped the dead connection (and pre-pings the others), so the
        second try gets a live one; a second loss is the caller's `DatabaseUnavailable`."""
        try:
            return work()
        except DatabaseUnavailable as lost:
            log.warning(
                "%s: database connection lost (%s); trying once more on a fresh connection",
                what,
                disconnect_reason(lost),
            )
            return work()

    def _lease(
        self,
        model: type[Leased],
        worker: str,
        lease_s: float,
        limit: int,
        build: Callable[[Session, Any], T],
        *where: Any,
    ) -> list[T]:
        """Take up to `limit` ready rows of `model` (an outbox or notification row: not done,
        available, no live lease) for `worker` for `lease_s` seconds, counting an attempt, and
        return `build(session, row)` for each, in the claiming transaction.

        Safe with any number of threads and processes: candidates are selected `FOR UPDATE SKIP
        LOCKED` on PostgreSQL (SQLite holds the write lock), and the claim is a guarded UPDATE,
        so a row whose lease has not expired is never taken twice. Idle pollers look first in a
        read-only transaction and take the write transaction only when something is ready."""
        m: Any = model
        now = self.clock()
        ready = (
            select(m.id)
            .where(
                m.done_at.is_(None),
                m.available_at <= now,
                or_(m.lease_until.is_(None), m.lease_until < now),
                *where,
            )
            .order_by(m.available_at, m.id)
            .limit(limit)
        )
        with self.reading() as s:
            if s.scalars(ready.limit(1)).first() is None:
                return []
        if is_postgres(self.engine):
            ready = ready.with_for_update(skip_locked=True)
        built: list[T] = []
        with self.transaction() as s:
            for row_id in s.scalars(ready).all():
                taken = s.execute(
                    update(m)
                    .where(
                        m.id == row_id,
                        m.done_at.is_(None),
                        or_(m.lease_until.is_(None), m.lease_until < now),
                    )
                    .values(
                        claimed_by=worker,
                        lease_until=now + dt.timedelta(seconds=lease_s),
                        lease_generation=m.lease_generation + 1,
                        attempts=m.attempts + 1,
                    )
                )
                if taken.rowcount == 1:  # type: ignore[attr-defined]
                    built.append(build(s, s.get_one(model, row_id)))
        return built

    def _next_due(self, model: type[Leased], *where: Any) -> dt.datetime | None:
        """When the earliest unfinished row of `model` may next be claimed (one read): when it
        becomes available, or when its lease runs out if it is leased (a killed worker's row comes
        back then). None: nothing is owed. The loops sleep until then instead of polling."""
        query = _next_due_query(model) if not where else _next_due_query(model).where(*where)
        return utc(self.read_scalar(query))

    def _fence(
        self,
        s: Tx,
        model: type[Leased],
        row_id: int,
        worker: str,
        generation: int,
        kind: str,
        **also: object,
    ) -> bool:
        """Inside transaction `s`, before any other write of a claim: release the claim's lease,
        if the row is still that claim's (same holder, same lease generation), and say whether it
        was. False means the lease expired and another worker claimed the row since: the caller
        must write nothing, or it would clear that worker's live lease and the delivery would go
        out again. The UPDATE also locks the row for the rest of the transaction (PostgreSQL),
        so a new claim waits for this write or this write sees the new generation. `also` are
        further columns the same UPDATE sets (a settled delivery's `done_at`). Run on the
        session's connection: being first, it has nothing pending to flush, and the ORM's
        execution steps would cost more than the statement."""
        released = s.connection().execute(
            _fence_statement(model, frozenset(also)),
            {"row_id": row_id, "worker": worker, "generation": generation, **also},
        )
        if released.rowcount == 1:
            return True
        self._fenced_out(kind, model, row_id, worker, generation)
        return False

    def _fenced_out(
        self, kind: str, model: type[Leased], row_id: int, worker: str, generation: int
    ) -> None:
        """Count and log a late write the lease fence turned into a no-op (`_fence`)."""
        self.fenced.add(kind)
        log.warning(
            "%s of %s %d by %s (lease generation %d) ignored: its lease expired and the row was "
            "claimed again",
            kind, model.__tablename__, row_id, worker, generation,
        )  # fmt: skip

    def _add_message(self, session: Session, application_id: str | None, m: Message) -> None:
        """Store a message byte-exact and append its entry to the trail, in `session`'s transaction
        (`trail_log.append_message`, the trail's one append)."""
        trail_log.append_message(session, application_id, m, self.clock)

    def _add_messages(
        self, session: Tx, application_id: str | None, messages: Sequence[Message]
    ) -> None:
        """`_add_message` for each of `messages`, in order, in one statement."""
        trail_log.append_messages(session, application_id, messages, self.clock)

    # --- intake ---------------------------------------------------------------------------------

    def create_application(self, new: NewApplication, messages: list[Message]) -> dt.datetime:
        """Application, one case and one outbox row per agency, and the messages: one transaction.

        Raises `DuplicateReference` when the declarant already used this trader reference. A lost
        database connection is retried once: if the first try committed unseen, the second finds
        the same bytes under the reference (`DuplicateReference(same_bytes=True)`), which intake
        answers with the original application."""
        return self.retry_once_on_disconnect(
            lambda: self._create_application(new, messages), f"application {new.id}"
        )

    def _create_application(self, new: NewApplication, messages: list[Message]) -> dt.datetime:
        now = self.clock()
        try:
            # On a Core connection: intake's statements are Core and driver statements, and the
            # ORM session around them (set-up, transaction object, commit, close) cost more CPU
            # than they do (issue 17). Only citations, which few applications carry, use the ORM.
            with self.core_transaction() as tx:
                # The application, its cases and deliveries (one statement on PostgreSQL), then
                # the trail. No look for a duplicate first: the unique (declarant, reference)
                # constraint refuses one, and the handler below says which application it was.
                insert_application(tx, new, now)
                if new.citations:  # issue 20: written off at release
                    add_citations(orm_of(tx), new.id, new.citations)
                self._add_messages(tx, new.id, messages)
        except IntegrityError:
            # The reference was used before, or a concurrent submission with it won the race.
            with self.reading() as s:
                self._raise_if_duplicate(s, new)
            raise
        return now

    def _raise_if_duplicate(self, s: Session, new: NewApplication) -> None:
        existing = s.execute(
            select(ApplicationRow.id, ApplicationRow.body_sha256).where(
                ApplicationRow.declarant_bin == new.declarant_bin,
                ApplicationRow.trader_reference == new.trader_reference,
            )
        ).first()
        if existing is not None:
            raise DuplicateReference(existing.id, existing.body_sha256 == sha256_hex(new.body))

    # --- reading --------------------------------------------------------------------------------

    def application(self, application_id: str) -> ApplicationStatus | None:
        with unavailable_on_disconnect(), self._read_engine.begin() as connection:
            return read_application_status(connection, application_id, self.clock)

    def declarant_bin(self, application_id: str) -> str | None:
        """The declarant's BIN of an application, None if there is none: one indexed read, the same
        for a known and an unknown id, to decide who may read before anything else is loaded."""
        declarant: str | None = self.read_scalar(_DECLARANT_OF, {"id": application_id})
        return declarant

    def applications_page(
        self,
        declarant_bin: str,
        *,
        limit: int,
        state: str | None = None,
        since: dt.datetime | None = None,
        after: SortKey | None = None,
    ) -> ApplicationPage:
        """A declarant's applications, newest first, a page at a time
        (`gateway.storage.application_list.list_applications`)."""
        from gateway.storage.application_list import list_applications

        return list_applications(
            self, declarant_bin, limit=limit, state=state, since=since, after=after
        )

    def decision_xml(self, application_id: str) -> bytes | None:
        with self.reading() as s:
            return s.execute(
                select(ApplicationRow.decision_xml).where(ApplicationRow.id == application_id)
            ).scalar_one_or_none()

    def messages(self, application_id: str) -> list[TrailEntry]:
        with self.reading() as s:
            return [
                trail_entry(row)
                for row in s.scalars(
                    select(MessageRow)
                    .where(MessageRow.application_id == application_id)
                    .order_by(MessageRow.id)
                )
            ]

    def count_open_outbox(self) -> int:
        with self.reading() as s:
            return (
                s.scalar(select(func.count(OutboxRow.id)).where(OutboxRow.done_at.is_(None))) or 0
            )


APPLICATION_COLUMNS = (
    ApplicationRow.id,
    ApplicationRow.declarant_bin,
    ApplicationRow.trader_reference,
    ApplicationRow.procedure,
    ApplicationRow.status,
    ApplicationRow.verdict,
    ApplicationRow.received_at,
    ApplicationRow.decided_at,
    ApplicationRow.body_sha256,
    ApplicationRow.signer_subject,
    ApplicationRow.routing,
    ApplicationRow.request_id,
    ApplicationRow.version,
    ApplicationRow.withdrawn_at,
)
CASE_COLUMNS = (
    CaseRow.id,
    CaseRow.agency,
    CaseRow.state,
    CaseRow.permit_number,
    CaseRow.valid_until,
    CaseRow.reasons,
    CaseRow.conditions,
    CaseRow.inspection,
    CaseRow.extra,
    CaseRow.attempts,
    CaseRow.last_error,
    CaseRow.charges,
)


# Built once: a trader's every read runs them, and building a select costs about as much as
# running it on SQLite (issue 17).
_APPLICATION_BY_ID = select(*APPLICATION_COLUMNS).where(ApplicationRow.id == bindparam("id"))
_CASES_OF = (
    select(*CASE_COLUMNS)
    .where(CaseRow.application_id == bindparam("id"))
    .order_by(CaseRow.position)
)
_DECLARANT_OF = select(ApplicationRow.declarant_bin).where(ApplicationRow.id == bindparam("id"))


def read_application_status(
    connection: Connection, application_id: str, clock: Clock
) -> ApplicationStatus | None:
    """The application and its cases (in routing order) as `Store.application` returns them:
    two Core selects of the columns shown, never the stored body or decision (issue 17)."""
    row = application_row(connection, application_id)
    return None if row is None else application_status(connection, row, clock)


def application_row(connection: Connection, application_id: str) -> Row[Any] | None:
    row = connection.execute(_APPLICATION_BY_ID, {"id": application_id}).first()
    return cast("Row[Any] | None", row)


def application_status(connection: Connection, row: Row[Any], clock: Clock) -> ApplicationStatus:
    cases = connection.execute(_CASES_OF, {"id": row.id})
    return status_of(row, (case_status(c) for c in cases), clock)


def status_of(row: Row[Any], cases: Iterable[CaseStatus], clock: Clock) -> ApplicationStatus:
    """The application of `row` (its `APPLICATION_COLUMNS`, first and in order) with `cases`."""
    return ApplicationStatus(
        id=row.id,
        declarant_bin=row.declarant_bin,
        trader_reference=row.trader_reference,
        procedure=row.procedure,
        status=row.status,
        verdict=row.verdict,
        received_at=iso(utc(row.received_at) or clock()),
        decided_at=iso(d) if (d := utc(row.decided_at)) else None,
        application_sha256=row.body_sha256,
        signer=row.signer_subject,
        routing=json.loads(row.routing),
        request_id=row.request_id,
        cases=tuple(cases),
    )


def case_status(values: Sequence[Any]) -> CaseStatus:
    """A case from the values of `CASE_COLUMNS`, in their order (a row of `_CASES_OF`, or the
    tail of a row that selected them after other columns)."""
    (id_, agency, state, permit_number, valid_until, reasons, conditions, inspection, extra,
     attempts, last_error, charges) = values  # fmt: skip
    return CaseStatus(
        id=id_,
        agency=agency,
        state=state,
        permit_number=permit_number,
        valid_until=valid_until,
        reasons=tuple(ReasonView(k, t) for k, t in json.loads(reasons)),
        conditions=tuple(json.loads(conditions)),
        inspection=inspection,
        extra=json.loads(extra),
        attempts=attempts,
        last_error=last_error,
        charges=tuple(json.loads(charges or "[]")),
    )
