"""Authorised representatives: who may sign applications for a declarant besides the declarant.

A registration says "BIN R may act for BIN P as a customs representative (or carrier)". It is made
and revoked by operators with `nsw representatives ...`, stored in the database, and read by intake
step 5 (signer is the declarant) and by the trader API (who may read an application). Revoking
keeps the row with `revoked_at`, so the history of who could act for whom stays answerable.
`Representatives` is the port; gateway/storage/representatives.py keeps them in the database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from gateway.domain.identifiers import Bin


class Role(StrEnum):
    CUSTOMS_REPRESENTATIVE = "customs-representative"
    CARRIER = "carrier"


@dataclass(frozen=True)
class Registration:
    principal: str
    representative: str
    role: Role
    registered_at: dt.datetime
    revoked_at: dt.datetime | None
    note: str

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class Representatives(Protocol):
    """The registrations. Implementations are safe to share between threads."""

    def register(self, principal: Bin, representative: Bin, role: Role, note: str = "") -> bool:
        """Register `representative` for `principal`; False if an active registration exists.
        ValueError when they are the same company."""
        ...

    def revoke(self, principal: Bin, representative: Bin, role: Role | None = None) -> int:
        """End the active registrations of `representative` for `principal`; how many ended."""
        ...

    def may_act_for(self, representative: str, principal: str) -> Role | None:
        """The role of an active registration of `representative` for `principal`, or None."""
        ...

    def list(self, bin_: str | None = None, *, include_revoked: bool = False) -> list[Registration]:
        """Registrations where `bin_` is principal or representative (all if None)."""
        ...
