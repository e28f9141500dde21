"""Authorised representatives in the database (the `Representatives` port of gateway.trust)."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from gateway.clock import Clock
from gateway.domain.identifiers import Bin
from gateway.storage.db import read_session_factory, session_factory, unavailable_on_disconnect
from gateway.storage.models import RepresentativeRow
from gateway.trust.representatives import Registration, Role


def _registration(row: RepresentativeRow) -> Registration:
    return Registration(
        principal=row.principal_bin,
        representative=row.representative_bin,
        role=Role(row.role),
        registered_at=row.registered_at,
        revoked_at=row.revoked_at,
        note=row.note,
    )


class StoredRepresentatives:
    """`gateway.trust.representatives.Representatives` in the gateway's database. Safe to share
    between threads."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._sessions = session_factory(engine)
        self._readers = read_session_factory(engine)
        self._clock = clock

    def register(self, principal: Bin, representative: Bin, role: Role, note: str = "") -> bool:
        """Register `representative` for `principal`; False if an active registration exists."""
        if principal == representative:
            raise ValueError("a company does not need to be registered as its own representative")
        with unavailable_on_disconnect(), self._sessions.begin() as s:
            if self._active(s, str(principal), str(representative), role) is not None:
                return False
            s.add(
                RepresentativeRow(
                    principal_bin=str(principal),
                    representative_bin=str(representative),
                    role=role.value,
                    registered_at=self._clock(),
                    revoked_at=None,
                    note=note,
                )
            )
        return True

    def revoke(self, principal: Bin, representative: Bin, role: Role | None = None) -> int:
        """End the active registrations of `representative` for `principal`; how many ended."""
        ended = 0
        with unavailable_on_disconnect(), self._sessions.begin() as s:
            rows = s.scalars(
                select(RepresentativeRow).where(
                    RepresentativeRow.principal_bin == str(principal),
                    RepresentativeRow.representative_bin == str(representative),
                    RepresentativeRow.revoked_at.is_(None),
                )
            )
            for row in rows:
                if role is None or row.role == role.value:
                    row.revoked_at = self._clock()
                    ended += 1
        return ended

    def may_act_for(self, representative: str, principal: str) -> Role | None:
        """The role of an active registration of `representative` for `principal`, or None."""
        with unavailable_on_disconnect(), self._readers.begin() as s:
            row = self._active(s, principal, representative, None)
            return Role(row.role) if row is not None else None

    def list(self, bin_: str | None = None, *, include_revoked: bool = False) -> list[Registration]:
        """Registrations where `bin_` is principal or representative (all if None)."""
        query = select(RepresentativeRow).order_by(RepresentativeRow.id)
        if bin_ is not None:
            query = query.where(
                (RepresentativeRow.principal_bin == bin_)
                | (RepresentativeRow.representative_bin == bin_)
            )
        if not include_revoked:
            query = query.where(RepresentativeRow.revoked_at.is_(None))
        with unavailable_on_disconnect(), self._sessions.begin() as s:
            return [_registration(row) for row in s.scalars(query)]

    @staticmethod
    def _active(
        s: Session, principal: str, representative: str, role: Role | None
    ) -> RepresentativeRow | None:
        query = select(RepresentativeRow).where(
            RepresentativeRow.principal_bin == principal,
            RepresentativeRow.representative_bin == representative,
            RepresentativeRow.revoked_at.is_(None),
        )
        if role is not None:
            query = query.where(RepresentativeRow.role == role.value)
        return s.scalars(query.order_by(RepresentativeRow.id)).first()
