"""The checkpoint's storage (the ports of gateway.checkpoint.ports), on the gateway's store: every
message it receives or sends goes through `Store._add_message` (byte-exact, appended to the Merkle
trail), and every gate finding changes a case through `OutboxStore.update_case`, so the decision is
composed and signed again with the `decide` the composition root gave."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from gateway.checkpoint.errors import NoticeConflict
from gateway.checkpoint.ports import CheckpointUnit, LostRace
from gateway.checkpoint.views import NoticeSaved, Visit, new_id
from gateway.clock import Clock
from gateway.i18n.text import Text
from gateway.storage.checkpoint_rows import visit_view
from gateway.storage.checkpoint_unit import SqlCheckpointUnit
from gateway.storage.models import ApplicationRow, ArrivalNoticeRow, CheckpointVisitRow
from gateway.storage.outbox import OutboxStore
from gateway.storage.repository import Decide, FencedWrites, Message, sha256_hex

if TYPE_CHECKING:
    from gateway.checkpoint.notices import Notice


def notice_details(notice: Notice) -> dict[str, Any]:
    return {
        "vehicle": {
            "country": notice.vehicle_country,
            "axles": notice.axles,
            "declared_gross_kg": float(notice.declared_gross_kg),
        },
        "driver": {
            "name": notice.driver_name,
            "document": notice.driver_document,
            "country": notice.driver_country,
        },
        "transit": (
            {
                "corridor": notice.corridor,
                "exit_checkpoint": notice.exit_checkpoint,
                "seal_id": notice.seal_id,
            }
            if notice.corridor
            else None
        ),
    }


class CheckpointStore(OutboxStore):
    """`NoticeBook`, `CheckpointUnits` and `VisitHistory` on the database."""

    def __init__(
        self, engine: Engine, clock: Clock, *, decide: Decide, fenced: FencedWrites | None = None
    ) -> None:
        super().__init__(engine, clock, fenced)
        self.decide = decide

    @contextmanager
    def unit(self) -> Iterator[CheckpointUnit]:
        """One transaction of the checkpoint; a unique key won by a concurrent transaction (the
        open-visit index, a device event id) is `LostRace`."""
        try:
            with self.transaction() as s:
                yield SqlCheckpointUnit(self, s)
        except IntegrityError as exc:
            raise LostRace(str(exc.orig)) from exc

    def declarants(self, application_ids: Sequence[str]) -> dict[str, str]:
        """application id -> declarant BIN, for the ids that exist."""
        with self.transaction() as s:
            rows = s.execute(
                select(ApplicationRow.id, ApplicationRow.declarant_bin).where(
                    ApplicationRow.id.in_(list(application_ids))
                )
            ).all()
        return {row.id: row.declarant_bin for row in rows}

    # --- notices ---------------------------------------------------------------------------------

    def save_notice(self, notice: Notice, body: bytes, signer: str) -> NoticeSaved:
        now = self.clock()
        carrier = str(notice.carrier_bin)
        try:
            with self.transaction() as s:
                earlier = list(
                    s.scalars(
                        select(ArrivalNoticeRow)
                        .where(
                            ArrivalNoticeRow.carrier_bin == carrier,
                            ArrivalNoticeRow.reference == notice.reference,
                        )
                        .order_by(ArrivalNoticeRow.version)
                    )
                )
                same = next((r for r in earlier if r.version == notice.version), None)
                if same is not None and same.body_sha256 == sha256_hex(body):
                    return self._saved(same, None, created=False)
                latest = earlier[-1] if earlier else None
                if latest is not None and latest.version >= notice.version:
                    raise NoticeConflict(
                        Text(
                            "Notice %(reference)s of BIN %(carrier)s is already at version "
                            "%(version)s; an amendment needs a higher version.",
                            reference=notice.reference,
                            carrier=carrier,
                            version=latest.version,
                        ),
                        current_version=latest.version,
                    )
                if latest is not None and latest.state == "used":
                    raise NoticeConflict(
                        Text(
                            "The vehicle of notice %(reference)s has already entered the "
                            "checkpoint under version %(version)s; it can no longer be amended.",
                            reference=notice.reference,
                            version=latest.version,
                        )
                    )
                row = ArrivalNoticeRow(
                    id=new_id("PAN", now),
                    carrier_bin=carrier,
                    reference=notice.reference,
                    version=notice.version,
                    checkpoint=notice.checkpoint,
                    plate=notice.plate,
                    trailer_plate=notice.trailer_plate,
                    expected_arrival=notice.expected_arrival,
                    details=json.dumps(notice_details(notice)),
                    applications=json.dumps(list(notice.applications)),
                    state="active",
                    body_sha256=sha256_hex(body),
                    signer_subject=signer,
                    received_at=now,
                )
                s.add(row)
                if latest is not None:
                    latest.state = "superseded"
                    latest.superseded_by = row.id
                message = Message(
                    "arrival-notice", "in", f"carrier:{carrier}", "application/xml", body, signer
                )
                self._add_message(s, notice.applications[0], message)
                return self._saved(row, latest.id if latest else None, created=True)
        except IntegrityError as exc:  # the same version raced in through another request
            raise NoticeConflict(
                Text(
                    "Version %(version)s of notice %(reference)s was just lodged by another "
                    "request.",
                    version=notice.version,
                    reference=notice.reference,
                )
            ) from exc

    @staticmethod
    def _saved(row: ArrivalNoticeRow, supersedes: str | None, *, created: bool) -> NoticeSaved:
        return NoticeSaved(
            row.id,
            row.version,
            row.plate,
            row.checkpoint,
            tuple(json.loads(row.applications)),
            supersedes,
            created,
        )

    # --- reports ---------------------------------------------------------------------------------

    def exited_visits(self, checkpoint: str | None = None) -> list[Visit]:
        query = select(CheckpointVisitRow).where(
            CheckpointVisitRow.state == "exited", CheckpointVisitRow.notice_id.is_not(None)
        )
        if checkpoint:
            query = query.where(CheckpointVisitRow.checkpoint == checkpoint)
        with self.transaction() as s:
            return [visit_view(row) for row in s.scalars(query)]
