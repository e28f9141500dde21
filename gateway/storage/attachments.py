"""`Attachments` on the database (gateway.lifecycle.ports): each document's bytes once by SHA-256,
the applications they were uploaded for, and the upload's trail entry in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from gateway.fanout.wakeup import OUTBOX
from gateway.lifecycle.ports import LodgedApplication
from gateway.storage import wake
from gateway.storage.attachment_models import ApplicationAttachmentRow, AttachmentBlobRow
from gateway.storage.db import is_postgres
from gateway.storage.models import ApplicationRow, CaseRow, OutboxRow
from gateway.storage.repository import Store
from gateway.trail.messages import Message


class AttachmentStore(Store):
    """The database implementation of `Attachments` (bytes in `attachment_blobs`)."""

    def lodged(self, application_id: str) -> LodgedApplication | None:
        with self.reading() as s:
            row = s.get(ApplicationRow, application_id)
            if row is None:
                return None
            return LodgedApplication(row.id, row.declarant_bin, bytes(row.body))

    def put(
        self, application_id: str, sha256: str, media_type: str, data: bytes, message: Message
    ) -> bool:
        now = self.clock()
        insert = postgresql.insert if is_postgres(self.engine) else sqlite.insert
        with self.transaction() as s:
            # Under the application's row lock, so two uploads of one entry record it once.
            s.execute(
                select(ApplicationRow.id)
                .where(ApplicationRow.id == application_id)
                .with_for_update()
            )
            if s.get(ApplicationAttachmentRow, (application_id, sha256)) is not None:
                return False
            # Another application may be storing the same bytes at this moment: whoever is
            # second keeps the first copy (the same bytes, by their digest).
            s.execute(
                insert(AttachmentBlobRow)
                .values(
                    sha256=sha256, media_type=media_type, size=len(data), content=data,
                    stored_at=now,
                )
                .on_conflict_do_nothing(index_elements=["sha256"])
            )  # fmt: skip
            s.add(
                ApplicationAttachmentRow(
                    application_id=application_id, sha256=sha256, uploaded_at=now
                )
            )
            self._add_message(s, application_id, message)
            # Deliveries waiting for this document (gateway.fanout.documents) may go now. (An
            # upload that commits while a dispatcher is deciding to wait is seen one lease later.)
            s.execute(
                update(OutboxRow)
                .where(
                    OutboxRow.case_id.in_(
                        select(CaseRow.id).where(CaseRow.application_id == application_id)
                    ),
                    OutboxRow.done_at.is_(None),
                    OutboxRow.available_at > now,
                )
                # Not in flight (a claim leaves available_at in the past): a delivery put back
                # to wait; its old lease would hold it until it ran out.
                .values(available_at=now, lease_until=None)
                .execution_options(synchronize_session=False)
            )
            wake.owe(s, OUTBOX)
        return True

    def refused(self, application_id: str, message: Message) -> None:
        with self.transaction() as s:
            self._add_message(s, application_id, message)

    def uploaded(self, application_id: str) -> frozenset[str]:
        with self.reading() as s:
            return frozenset(
                s.scalars(
                    select(ApplicationAttachmentRow.sha256).where(
                        ApplicationAttachmentRow.application_id == application_id
                    )
                )
            )

    def contents(self, application_id: str, digests: Iterable[str]) -> Mapping[str, bytes]:
        wanted = list(digests)
        if not wanted:
            return {}
        query = (
            select(AttachmentBlobRow.sha256, AttachmentBlobRow.content)
            .join(
                ApplicationAttachmentRow,
                ApplicationAttachmentRow.sha256 == AttachmentBlobRow.sha256,
            )
            .where(
                ApplicationAttachmentRow.application_id == application_id,
                AttachmentBlobRow.sha256.in_(wanted),
            )
        )
        with self.reading() as s:
            return {sha: bytes(content) for sha, content in s.execute(query)}
