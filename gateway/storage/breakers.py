"""The agencies' circuit breakers in the database: one row per agency, shared by every process.

Reads are plain selects. A change is a read-modify-write of the agency's row made atomic against
every other process: on PostgreSQL the row is locked (`SELECT ... FOR UPDATE`) after an
`INSERT ... ON CONFLICT DO NOTHING` makes sure it exists; on SQLite the transaction holds the
database write lock from its start (BEGIN IMMEDIATE, see `db.make_engine`). The transitions
themselves are `gateway.fanout.breakers.BreakerRule`'s; this module only keeps their results.
"""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gateway.clock import Clock
from gateway.fanout.breakers import CLOSED, BreakerRecord, BreakerState, Step
from gateway.storage.db import (
    is_postgres,
    read_session_factory,
    session_factory,
    unavailable_on_disconnect,
)
from gateway.storage.models import AgencyBreakerRow
from gateway.storage.repository import utc

OWNER_MAX = 64  # AgencyBreakerRow.probe_owner is String(64)


class DatabaseBreakerStore:
    """A `gateway.fanout.breakers.BreakerStore` on the gateway's database."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self._sessions = session_factory(engine)
        self._readers = read_session_factory(engine)
        self._clock = clock

    # A lost connection is `DatabaseUnavailable`, as in every store: the dispatcher's loop
    # logs it as one line and carries on.
    def load(self, agency: str) -> BreakerRecord:
        with unavailable_on_disconnect(), self._readers.begin() as s:
            row = s.get(AgencyBreakerRow, agency)
            return CLOSED if row is None else _record(row)

    def load_all(self) -> dict[str, BreakerRecord]:
        with unavailable_on_disconnect(), self._readers.begin() as s:
            return {row.agency: _record(row) for row in s.scalars(select(AgencyBreakerRow))}

    def change(self, agency: str, step: Step) -> BreakerRecord:
        with unavailable_on_disconnect(), self._sessions.begin() as s:
            row = self._locked_row(s, agency)
            before = _record(row)
            after = step(before)
            if after != before:
                row.state = after.state.value
                row.failures = after.failures
                row.opened_at = after.opened_at
                row.probe_owner = after.probe_owner[:OWNER_MAX] if after.probe_owner else None
                row.probe_until = after.probe_until
                row.last_error = after.last_error
                row.updated_at = self._clock()
            return before

    def _locked_row(self, s: Session, agency: str) -> AgencyBreakerRow:
        """The agency's row, created closed if missing, locked until `s` ends."""
        insert = postgresql.insert if is_postgres(self.engine) else sqlite.insert
        s.execute(
            insert(AgencyBreakerRow)
            .values(agency=agency, state=CLOSED.state.value, failures=0, updated_at=self._clock())
            .on_conflict_do_nothing(index_elements=["agency"])
        )
        # FOR UPDATE: a second process wanting to change this breaker waits here until this
        # transaction ends, then reads what it wrote (SQLite renders no FOR UPDATE; the write
        # lock taken at BEGIN IMMEDIATE serialises instead).
        return s.scalars(
            select(AgencyBreakerRow).where(AgencyBreakerRow.agency == agency).with_for_update()
        ).one()


def _record(row: AgencyBreakerRow) -> BreakerRecord:
    return BreakerRecord(
        state=BreakerState(row.state),
        failures=row.failures,
        opened_at=utc(row.opened_at),
        probe_owner=row.probe_owner,
        probe_until=utc(row.probe_until),
        last_error=row.last_error,
    )
