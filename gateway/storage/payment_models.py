"""Tables of payment orders, treasury confirmations and reconciliations (issue 20).

Amounts are BIGINT minor units (1 KZT = 100 tiyn), never floats or NUMERIC with a fraction.
Migration 0011 makes exactly these tables; 0019 lets a re-assessment supersede an order; 0018
and 0020 make the guarantees and their queued releases at customs.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.storage.base import Base, BigId


class PaymentOrderRow(Base):
    """One order in force per application (the unique index over the orders not superseded),
    signed when issued. A re-assessment supersedes it (status superseded, `superseded_by`) with
    a new one that `supersedes` it and carries what it received as `credited_minor`."""

    __tablename__ = "payment_orders"
    __table_args__ = (
        Index(
            "ux_payment_orders_in_force",
            "application_id",
            unique=True,
            sqlite_where=text("status <> 'superseded'"),
            postgresql_where=text("status <> 'superseded'"),
        ),
    )

    reference: Mapped[str] = mapped_column(String(32), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"))
    payer_bin: Mapped[str] = mapped_column(String(12))
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int] = mapped_column(BigInteger)
    due: Mapped[dt.date] = mapped_column(Date)
    issued_on: Mapped[dt.date] = mapped_column(Date)
    payee_account: Mapped[str] = mapped_column(String(34))
    canonical: Mapped[bytes] = mapped_column(LargeBinary)  # PaymentOrder.canonical_bytes()
    signature: Mapped[str] = mapped_column(Text)  # detached JWS over `canonical`
    status: Mapped[str] = mapped_column(String(16))  # open | paid | superseded
    received_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # the credit included
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    paid_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    supersedes: Mapped[str | None] = mapped_column(String(32))
    superseded_by: Mapped[str | None] = mapped_column(String(32))
    credited_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class PaymentOrderLineRow(Base):
    __tablename__ = "payment_order_lines"

    reference: Mapped[str] = mapped_column(ForeignKey("payment_orders.reference"), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    kbk: Mapped[str | None] = mapped_column(String(6))
    legal_basis: Mapped[str] = mapped_column(Text)
    due: Mapped[dt.date] = mapped_column(Date)
    beneficiary: Mapped[str] = mapped_column(String(32))


class PaymentSerialRow(Base):
    """The last reference serial of a day, incremented in the issuing transaction."""

    __tablename__ = "payment_reference_serials"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class PaymentConfirmationRow(Base):
    """One treasury payment, settled once: the primary key makes confirmations idempotent. The
    reference is not a foreign key: a payment for an unknown reference is recorded too."""

    __tablename__ = "payment_confirmations"

    payment_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    payer: Mapped[str] = mapped_column(String(12))
    paid_on: Mapped[dt.date] = mapped_column(Date, index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(64))
    counted: Mapped[bool] = mapped_column(Boolean)
    received_minor: Mapped[int] = mapped_column(BigInteger)
    outstanding_minor: Mapped[int] = mapped_column(BigInteger)
    refund_owed_minor: Mapped[int] = mapped_column(BigInteger)
    detail: Mapped[str] = mapped_column(Text)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ReconciliationRow(Base):
    __tablename__ = "reconciliations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    statement: Mapped[bytes] = mapped_column(LargeBinary)  # the signed body, byte-exact
    differences: Mapped[str] = mapped_column(Text)  # JSON list
    run_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class GuaranteeRow(Base):
    """A guarantee offered as security for an application's payment (issue 20 item 3): what
    the declarant offered and what customs answered. Migration 0018 makes exactly this table."""

    __tablename__ = "guarantees"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    reference: Mapped[str] = mapped_column(String(64))
    guarantor_bin: Mapped[str] = mapped_column(String(12))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    valid_until: Mapped[dt.date] = mapped_column(Date)
    owed_minor: Mapped[int] = mapped_column(BigInteger)  # the order's total when offered
    outcome: Mapped[str] = mapped_column(String(16))  # accepted | refused
    reason_code: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
    offered_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    discharged_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # When customs answered the gateway's ReleaseGuarantee: it holds no reservation (0020).
    released_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class GuaranteeReleaseRow(Base):
    """Customs' ReleaseGuarantee owed for one guarantee (migration 0020): written in the
    transaction that made the guarantee unnecessary, claimed with a lease like an outbox row
    (the same lease columns), retried with backoff until customs answers; kept once done."""

    __tablename__ = "guarantee_releases"
    __table_args__ = (Index("ix_guarantee_releases_ready", "done_at", "available_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # One release per guarantee: queuing it again changes nothing.
    guarantee_id: Mapped[int] = mapped_column(ForeignKey("guarantees.id"), unique=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    reference: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(
        String(16)
    )  # withdrawn | not-needed | discharged (customs.xsd)
    state: Mapped[str] = mapped_column(String(16))  # queued | answered | failed
    answer: Mapped[str | None] = mapped_column(String(16))  # released | not-reserved
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    available_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    lease_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    done_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
