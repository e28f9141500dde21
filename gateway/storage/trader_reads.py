"""What a trader's signed reads take from the database (gateway.web.api; issue 17): each read is
one statement, built once, that joins the application's columns shown with its cases' (and, for
the decision, the signed document), sent without a transaction around it (see `TraderReads`);
notifications, versions and permit history are read after it only where the application has
them.

The first statement is the same whether the id exists, is the reader's, or is another
company's; what follows it is read only when `reader_bin` is the declarant. Every answer is a
`Gated` pair: the declarant's BIN (None: no such application), for the caller's representative
check, and what was read (None unless the reader is the declarant). A representative's read is
made again with the declarant's BIN once the representation is checked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, bindparam, exists, select
from sqlalchemy.engine import Connection

from gateway.domain.views import ApplicationStatus, CaseStatus, NotificationStatus
from gateway.lifecycle.ports import PermitView, VersionView
from gateway.storage.db import unavailable_on_disconnect
from gateway.storage.driver_sql import driver_statement
from gateway.storage.models import ApplicationRow, CaseRow
from gateway.storage.notifications import NOTIFICATIONS_TABLE, notifications_of
from gateway.storage.repository import (
    APPLICATION_COLUMNS,
    CASE_COLUMNS,
    Store,
    case_status,
    status_of,
)
from gateway.storage.versions import history_of

T = TypeVar("T")
Gated = tuple[str | None, T | None]
AnySelect = Select[*tuple[Any, ...]]
More = Callable[[], Connection]  # the connection for what a read takes after its first statement


def _with_cases(*extra: Any) -> AnySelect:
    """The application's columns, then `extra`, then its cases' (`CASE_COLUMNS`, always last):
    a row per case in routing order, or one row whose case columns are NULL if it has none."""
    statement: AnySelect = (
        select(*APPLICATION_COLUMNS, *extra, *CASE_COLUMNS)
        .select_from(
            ApplicationRow.__table__.outerjoin(
                CaseRow.__table__, CaseRow.application_id == ApplicationRow.id
            )
        )
        .where(ApplicationRow.id == bindparam("id"))
        .order_by(CaseRow.position)
    )
    return statement


_CASES_AT = -len(CASE_COLUMNS)
_APPLICATION = _with_cases()
# Whether the status read must read notifications too (only where the trader registered a URL).
_STATUS = _with_cases(
    exists().where(NOTIFICATIONS_TABLE.c.application_id == ApplicationRow.id).label("notified")
)
_DECISION = _with_cases(ApplicationRow.decision_xml)


@dataclass(frozen=True)
class TraderStatus:
    """The application and what its status read lists with it."""

    application: ApplicationStatus
    notifications: list[NotificationStatus]
    versions: list[VersionView]
    permits: list[PermitView]


class TraderReads(Store):
    """Each read's first statement goes on an autocommit DB-API cursor (`Store.autocommit`),
    compiled once and read with SQLAlchemy's own processors (`driver_sql`): a lone SELECT is its
    own snapshot, so it needs no BEGIN and COMMIT (on PostgreSQL two round trips), and
    SQLAlchemy's execution steps cost more CPU than the statement (issue 17). What a read takes
    after it (rare: notifications, history) is read in a transaction that only reads, a snapshot
    of its own: PostgreSQL's READ COMMITTED gave each statement its own inside one transaction
    anyway."""

    def application_for(
        self, application_id: str, reader_bin: str | None
    ) -> Gated[ApplicationStatus]:
        return self._gated(application_id, reader_bin, _APPLICATION, lambda _more, _row, app: app)

    def trader_status(self, application_id: str, reader_bin: str | None) -> Gated[TraderStatus]:
        """The application and everything its status read lists: cases, notifications, versions
        and permit history."""

        def rest(more: More, row: Any, app: ApplicationStatus) -> TraderStatus:
            # Versions are written from the first amendment on, permit history by an amendment
            # or a withdrawal (gateway.storage.versions), notifications where the trader
            # registered a URL: most reads are of applications with none of them.
            versions: list[VersionView] = []
            permits: list[PermitView] = []
            notifications: list[NotificationStatus] = []
            history = row.version > 1 or row.withdrawn_at is not None
            if history or row.notified:
                connection = more()
                if history:
                    versions, permits = history_of(connection, app.id)
                if row.notified:
                    notifications = notifications_of(connection, app.id)
            return TraderStatus(app, notifications, versions, permits)

        return self._gated(application_id, reader_bin, _STATUS, rest)

    def decision_for(
        self, application_id: str, reader_bin: str | None
    ) -> Gated[tuple[ApplicationStatus, bytes | None]]:
        """The application and its signed decision (None until there is one)."""

        def rest(
            _more: More, row: Any, app: ApplicationStatus
        ) -> tuple[ApplicationStatus, bytes | None]:
            return app, None if row.decision_xml is None else bytes(row.decision_xml)

        return self._gated(application_id, reader_bin, _DECISION, rest)

    def _gated(
        self,
        application_id: str,
        reader_bin: str | None,
        statement: AnySelect,
        rest: Callable[[More, Any, ApplicationStatus], T],
    ) -> Gated[T]:
        """`statement`'s rows for `application_id`, gated by `reader_bin`, and `rest` of them;
        `rest` reads anything more on the connection its first argument returns."""
        with ExitStack() as stack:
            stack.enter_context(unavailable_on_disconnect())
            sent = driver_statement(statement, self.engine.dialect)
            with self.autocommit() as cursor:
                rows = sent.records(cursor, {"id": application_id})

            def more() -> Connection:
                return stack.enter_context(self._read_engine.begin())

            if not rows:
                return None, None
            row = rows[0]
            if reader_bin is None or row.declarant_bin != reader_bin:
                return row.declarant_bin, None
            app = status_of(row, _cases(rows), self.clock)
            return row.declarant_bin, rest(more, row, app)


def _cases(rows: Sequence[Any]) -> Iterator[CaseStatus]:
    if rows[0][_CASES_AT] is None:  # the outer join found no case
        return iter(())
    return (case_status(r[_CASES_AT:]) for r in rows)
