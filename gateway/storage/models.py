"""Tables. Schema changes go through an Alembic migration in migrations/versions/."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class ApplicationRow(Base):
    __tablename__ = "applications"
    __table_args__ = (
        UniqueConstraint("declarant_bin", "trader_reference", name="uq_declarant_ref"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    declarant_bin: Mapped[str] = mapped_column(String(12))
    trader_reference: Mapped[str] = mapped_column(String(64))
    procedure: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # in_progress | decided
    verdict: Mapped[str | None] = mapped_column(String(16))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    body: Mapped[bytes] = mapped_column(LargeBinary)  # exactly the bytes received
    body_sha256: Mapped[str] = mapped_column(String(64))
    signer_subject: Mapped[str] = mapped_column(Text)
    signer_fingerprint: Mapped[str] = mapped_column(String(64))
    routing: Mapped[str] = mapped_column(Text)  # JSON: agency -> rule hits
    decision_xml: Mapped[bytes | None] = mapped_column(LargeBinary)

    cases: Mapped[list[CaseRow]] = relationship(
        back_populates="application", order_by="CaseRow.position"
    )


class CaseRow(Base):
    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("application_id", "agency", name="uq_application_agency"),)

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    agency: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    permit_number: Mapped[str | None] = mapped_column(String(64))
    valid_until: Mapped[str | None] = mapped_column(String(10))
    reasons: Mapped[str] = mapped_column(Text, default="[]")  # JSON [[code, text], ...]
    conditions: Mapped[str] = mapped_column(Text, default="[]")  # JSON [text, ...]
    inspection: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[str] = mapped_column(Text, default="{}")  # JSON, e.g. customs risk channel
    answer_sha256: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    application: Mapped[ApplicationRow] = relationship(back_populates="cases")


class OutboxRow(Base):
    """One delivery to make. Written in the same transaction as its case; claimed with a lease."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_ready", "done_at", "available_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    available_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    done_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class MessageRow(Base):
    """Every message in and out, byte-exact: the raw material of the audit trail."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)  # leaf index in the Merkle log
    entry: Mapped[bytes] = mapped_column(LargeBinary)  # the leaf input (gateway.trail_format)
    application_id: Mapped[str | None] = mapped_column(String(40), index=True)
    case_id: Mapped[str | None] = mapped_column(String(48))
    kind: Mapped[str] = mapped_column(String(32))  # application | agency-request | ...
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    counterpart: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(64))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    signer: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class TrailNodeRow(Base):
    """Stored hash of each perfect, aligned subtree of the log (level 0: the leaf hashes), so
    proofs take O(log n) look-ups instead of rehashing the log (RFC 9162 §2.1)."""

    __tablename__ = "trail_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class TreeHeadRow(Base):
    """A signed tree head: the gateway's commitment to the first `size` entries."""

    __tablename__ = "tree_heads"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    issued_at: Mapped[str] = mapped_column(String(40))
    signature: Mapped[bytes] = mapped_column(LargeBinary)
