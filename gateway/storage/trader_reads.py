"""What a trader's signed reads take from the database (gateway.web.api; issue 17): each read in
one transaction that only reads, of the columns shown, with statements built once.

The first statement is the same whether the id exists, is the reader's, or is another
company's; what follows it is read only when `reader_bin` is the declarant. Every answer is a
`Gated` pair: the declarant's BIN (None: no such application), for the caller's representative
check, and what was read (None unless the reader is the declarant). A representative's read is
made again with the declarant's BIN once the representation is checked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection, Row

from gateway.domain.views import ApplicationStatus, NotificationStatus
from gateway.lifecycle.ports import PermitView, VersionView
from gateway.storage.db import unavailable_on_disconnect
from gateway.storage.models import ApplicationRow
from gateway.storage.notifications import notifications_of
from gateway.storage.repository import Store, application_row, application_status
from gateway.storage.versions import history_of

T = TypeVar("T")
Gated = tuple[str | None, T | None]
_DECISION_OF = select(ApplicationRow.decision_xml).where(ApplicationRow.id == bindparam("id"))


@dataclass(frozen=True)
class TraderStatus:
    """The application and what its status read lists with it."""

    application: ApplicationStatus
    notifications: list[NotificationStatus]
    versions: list[VersionView]
    permits: list[PermitView]


class TraderReads(Store):
    def application_for(
        self, application_id: str, reader_bin: str | None
    ) -> Gated[ApplicationStatus]:
        return self._gated(application_id, reader_bin, lambda _c, _row, app: app)

    def trader_status(self, application_id: str, reader_bin: str | None) -> Gated[TraderStatus]:
        """The application and everything its status read lists: cases, notifications, versions
        and permit history."""

        def rest(connection: Connection, row: Row[Any], app: ApplicationStatus) -> TraderStatus:
            # Versions are written from the first amendment on, permit history by an amendment
            # or a withdrawal (gateway.storage.versions): a first version never withdrawn has
            # none, and most reads are of such applications.
            versions: list[VersionView] = []
            permits: list[PermitView] = []
            if row.version > 1 or row.withdrawn_at is not None:
                versions, permits = history_of(connection, app.id)
            return TraderStatus(app, notifications_of(connection, app.id), versions, permits)

        return self._gated(application_id, reader_bin, rest)

    def decision_for(
        self, application_id: str, reader_bin: str | None
    ) -> Gated[tuple[ApplicationStatus, bytes | None]]:
        """The application and its signed decision (None until there is one)."""

        def rest(
            connection: Connection, _row: Row[Any], app: ApplicationStatus
        ) -> tuple[ApplicationStatus, bytes | None]:
            xml: bytes | None = connection.execute(_DECISION_OF, {"id": app.id}).scalar()
            return app, xml

        return self._gated(application_id, reader_bin, rest)

    def _gated(
        self,
        application_id: str,
        reader_bin: str | None,
        rest: Callable[[Connection, Row[Any], ApplicationStatus], T],
    ) -> Gated[T]:
        with unavailable_on_disconnect(), self._read_engine.begin() as connection:
            row = application_row(connection, application_id)
            if row is None:
                return None, None
            if reader_bin is None or row.declarant_bin != reader_bin:
                return row.declarant_bin, None
            app = application_status(connection, row, self.clock)
            return row.declarant_bin, rest(connection, row, app)
