"""Tables of supporting documents (issue 19, item 3): each document's bytes once, by SHA-256,
and which applications it was uploaded for. Migration 0015 makes exactly these tables."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.storage.base import Base


class AttachmentBlobRow(Base):
    """The bytes of one document, kept once however many applications list it."""

    __tablename__ = "attachment_blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)  # lowercase hex
    media_type: Mapped[str] = mapped_column(String(64))  # as judged by content at upload
    size: Mapped[int] = mapped_column(BigInteger)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    stored_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ApplicationAttachmentRow(Base):
    """A signed entry of an application whose bytes were uploaded (the trail holds the request)."""

    __tablename__ = "application_attachments"

    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), primary_key=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("attachment_blobs.sha256"), primary_key=True)
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
