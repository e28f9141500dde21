"""Tables of permits with a balance, their write-offs, the permits applications cite, and the
applications held for a permit (issue 20 item 4). Migration 0016 makes exactly these tables.

Quantities are NUMERIC(20,3): exact decimals, never floats (a gram of a kilogram). The balance is
`granted - written_off`; `written_off` is the sum of the write-offs not credited back, kept on the
permit row so that one conditional UPDATE decides the race for the last units.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, DateTime, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.storage.base import Base, BigId

QUANTITY = Numeric(20, 3)


class PermitRow(Base):
    __tablename__ = "permits"

    permit_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agency: Mapped[str] = mapped_column(String(32))
    holder_bin: Mapped[str] = mapped_column(String(12), index=True)
    hs_code: Mapped[str] = mapped_column(String(10))
    description: Mapped[str] = mapped_column(Text)
    unit: Mapped[str] = mapped_column(String(8))
    granted: Mapped[Decimal] = mapped_column(QUANTITY)
    written_off: Mapped[Decimal] = mapped_column(QUANTITY)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    standing: Mapped[str] = mapped_column(String(16))  # active | suspended | revoked
    granted_for: Mapped[str | None] = mapped_column(String(40))  # the application it was granted in
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class PermitWriteOffRow(Base):
    """One application's write-off; a credit-back keeps the row and sets `credited_back_at`."""

    __tablename__ = "permit_write_offs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    permit_id: Mapped[str] = mapped_column(ForeignKey("permits.permit_id"), index=True)
    application_id: Mapped[str] = mapped_column(String(40), index=True)
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    day: Mapped[dt.date] = mapped_column(Date)
    written_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    credited_back_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class PermitCitationRow(Base):
    """A goods item that cites a permit instead of asking for a new one (stored at intake)."""

    __tablename__ = "permit_citations"

    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), primary_key=True)
    item_line: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency: Mapped[str] = mapped_column(String(32))
    permit_id: Mapped[str] = mapped_column(String(64), index=True)
    hs_code: Mapped[str] = mapped_column(String(10))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    unit: Mapped[str] = mapped_column(String(8))


class PermitHoldRow(Base):
    """An application held for a permit: a refused write-off, or a permit the agency suspended
    or revoked before the vehicle exited. Cleared (`cleared_at`) when it no longer applies."""

    __tablename__ = "permit_holds"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(String(40), index=True)
    permit_id: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(64))  # the problem type's code
    detail: Mapped[str] = mapped_column(Text)
    held_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    cleared_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
