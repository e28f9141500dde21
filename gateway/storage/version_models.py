"""The tables of an application's life after lodging (issue 19; migration 0014): every signed
version of an application, and the permits an amendment superseded or a withdrawal cancelled."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.storage.base import Base, BigId


class ApplicationVersionRow(Base):
    """One signed version of an application, byte-exact; version 1 is the lodged one."""

    __tablename__ = "application_versions"
    __table_args__ = (UniqueConstraint("application_id", "version", name="uq_application_version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"))
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    body_sha256: Mapped[str] = mapped_column(String(64))
    signer_subject: Mapped[str] = mapped_column(Text)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    changes: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")  # JSON [sentence]
    # JSON {added, cancelled, reopened, untouched: [agency, ...]}: what the amendment asked of whom
    affected: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")


class CasePermitRow(Base):
    """A permit that no longer stands: superseded by an amendment's new answer, or cancelled with
    its application. The live permit stays on its case; these are its history."""

    __tablename__ = "case_permits"
    __table_args__ = (Index("ix_case_permits_application", "application_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(48))
    application_id: Mapped[str] = mapped_column(String(40))
    agency: Mapped[str] = mapped_column(String(32))
    permit_number: Mapped[str] = mapped_column(String(64))
    valid_until: Mapped[str | None] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(16))  # superseded | cancelled
    version: Mapped[int] = mapped_column(Integer)  # the application's version at that moment
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
