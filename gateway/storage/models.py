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
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gateway.storage.base import Base as Base
from gateway.storage.base import BigId as BigId


class ApplicationRow(Base):
    __tablename__ = "applications"
    __table_args__ = (
        UniqueConstraint("declarant_bin", "trader_reference", name="uq_declarant_ref"),
        # A trader's own list, newest first (gateway/storage/application_list.py).
        Index("ix_applications_declarant_received", "declarant_bin", "received_at", "id"),
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
    request_id: Mapped[str | None] = mapped_column(String(64))  # X-Request-Id at intake (logs)
    # Released: granted by every agency and nothing owed (paid, or no charges). Issue 20.
    released_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Issue 19 (migration 0014): the version now (compare-and-set by amendments), and withdrawal.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawal_reason: Mapped[str | None] = mapped_column(String(32))
    # The last accepted amendment: its reopened cases' deadline counts from here.
    amended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

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
    # JSON [{kind, amount, currency, legalBasis, due, kbk}, ...]: what the agency assessed
    charges: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
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
    # Fencing token: incremented by every claim; a claim's writes match it (migration 0006).
    lease_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    done_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Issue 19 (migration 0014): what is asked — request | amend (for `version`) | cancel (`reason`)
    operation: Mapped[str] = mapped_column(String(16), default="request", server_default="request")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    reason: Mapped[str | None] = mapped_column(String(32))


class MessageRow(Base):
    """Every message in and out, byte-exact: the raw material of the audit trail."""

    __tablename__ = "messages"
    __table_args__ = (
        # The integrator's queue (gateway/storage/trail_log.py): messages written but not yet
        # sequenced, in insertion order. Partial, so it holds only the few waiting rows.
        Index(
            "ix_messages_pending",
            "id",
            sqlite_where=text("seq IS NULL"),
            postgresql_where=text("seq IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # The leaf index in the Merkle log; NULL until the integrator sequences the message.
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    # The leaf input (gateway.trail.format.entry_bytes) once sequenced; before, the same fields
    # without "seq", fixed by the transaction that wrote the message.
    entry: Mapped[bytes] = mapped_column(LargeBinary)
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


class CheckpointRow(Base):
    """A C2SP checkpoint (c2sp.org/tlog-checkpoint) the log signed with its Ed25519 key, with the
    witnesses' cosignature lines added to `note` as they arrive."""

    __tablename__ = "trail_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text)  # the signed note: body, blank line, signature lines
    signed_at: Mapped[str] = mapped_column(String(40))


class RepresentativeRow(Base):
    """A registration: `representative_bin` may sign applications for `principal_bin` (issue 4).

    Managed by `nsw representatives ...`; revoked rows are kept (with `revoked_at`) as history."""

    __tablename__ = "representatives"
    __table_args__ = (Index("ix_representatives_pair", "principal_bin", "representative_bin"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    principal_bin: Mapped[str] = mapped_column(String(12))
    representative_bin: Mapped[str] = mapped_column(String(12))
    role: Mapped[str] = mapped_column(String(32))  # customs-representative | carrier
    registered_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str] = mapped_column(Text, default="")


class TraderCertificateRow(Base):
    """A trader certificate whose key may sign HTTP requests (RFC 9421 keyid = SHA-256
    fingerprint). Registered at a successful signed submission or by `nsw traders register`."""

    __tablename__ = "trader_certificates"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    bin: Mapped[str] = mapped_column(String(12), index=True)
    subject: Mapped[str] = mapped_column(Text)
    der: Mapped[bytes] = mapped_column(LargeBinary)
    source: Mapped[str] = mapped_column(String(16))  # submission | operator
    registered_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class RequestNonceRow(Base):
    """Nonces of accepted signed HTTP requests, kept until their replay window closes."""

    __tablename__ = "request_nonces"

    keyid: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(128), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


# --- electronic checkpoint (issue 9; migration 0003) ---------------------------------------------


class ArrivalNoticeRow(Base):
    """A carrier's signed pre-arrival notice. An amendment (same carrier and reference, higher
    version) supersedes the earlier row, which is kept with `superseded_by` set."""

    __tablename__ = "arrival_notices"
    __table_args__ = (
        UniqueConstraint("carrier_bin", "reference", "version", name="uq_notice_version"),
        Index("ix_arrival_notices_plate", "checkpoint", "plate"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    carrier_bin: Mapped[str] = mapped_column(String(12))
    reference: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    checkpoint: Mapped[str] = mapped_column(String(32))
    plate: Mapped[str] = mapped_column(String(16))
    trailer_plate: Mapped[str | None] = mapped_column(String(16))
    expected_arrival: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    details: Mapped[str] = mapped_column(Text)  # JSON: driver, vehicle, transit
    applications: Mapped[str] = mapped_column(Text)  # JSON [application id, ...]
    state: Mapped[str] = mapped_column(String(16))  # active | superseded | used
    superseded_by: Mapped[str | None] = mapped_column(String(40))
    body_sha256: Mapped[str] = mapped_column(String(64))
    signer_subject: Mapped[str] = mapped_column(Text)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class CheckpointVisitRow(Base):
    """One vehicle's pass through one checkpoint, from entry registration to the exit barrier."""

    __tablename__ = "checkpoint_visits"
    __table_args__ = (
        Index("ix_checkpoint_visits_plate", "checkpoint", "plate", "state"),
        # One open visit per vehicle and checkpoint: of two entries registered at once (two lanes,
        # two cameras) the second insert fails here, and is answered as a repeated entry.
        Index(
            "uq_checkpoint_visits_open",
            "checkpoint",
            "plate",
            unique=True,
            sqlite_where=text("state <> 'exited'"),
            postgresql_where=text("state <> 'exited'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    checkpoint: Mapped[str] = mapped_column(String(32))
    plate: Mapped[str] = mapped_column(String(16))
    lane: Mapped[str] = mapped_column(String(32))
    notice_id: Mapped[str | None] = mapped_column(String(40))
    applications: Mapped[str] = mapped_column(Text, default="[]")  # JSON, from the notice
    state: Mapped[str] = mapped_column(String(16))  # in_progress | manual | directed | exited
    reason: Mapped[str | None] = mapped_column(Text)  # why manual / directed, for the officer
    stages: Mapped[str] = mapped_column(Text, default="{}")  # JSON stage -> {at, status, event}
    findings: Mapped[str] = mapped_column(Text, default="[]")  # JSON [finding, ...]
    arrived_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    decision_ready_on_arrival: Mapped[bool | None] = mapped_column()
    decision_ready_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    exit_requested_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    exited_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    exit_kind: Mapped[str | None] = mapped_column(String(16))  # automatic | manual
    cleared_by: Mapped[str | None] = mapped_column(Text)


class DeviceEventRow(Base):
    """Each accepted device event, by the device's own event id (a repeat is answered from here)."""

    __tablename__ = "checkpoint_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    device: Mapped[str] = mapped_column(String(64))
    visit_id: Mapped[str | None] = mapped_column(String(40), index=True)
    stage: Mapped[str] = mapped_column(String(16))
    body_sha256: Mapped[str] = mapped_column(String(64))
    answer: Mapped[str] = mapped_column(Text)  # JSON: what the device was told
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class TransitRow(Base):
    """A vehicle under transit monitoring along a declared corridor, until its exit checkpoint."""

    __tablename__ = "transits"
    __table_args__ = (Index("ix_transits_plate", "plate", "state"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    plate: Mapped[str] = mapped_column(String(16))
    notice_id: Mapped[str | None] = mapped_column(String(40))
    application_id: Mapped[str | None] = mapped_column(String(40))
    corridor: Mapped[str] = mapped_column(String(64))
    exit_checkpoint: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))  # open | closed
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    due_by: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_lat: Mapped[float | None] = mapped_column()
    last_lon: Mapped[float | None] = mapped_column()
    last_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    stopped_since: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    seal: Mapped[str] = mapped_column(String(16), default="closed")
    alerts: Mapped[str] = mapped_column(Text, default="[]")  # JSON [{kind, at, detail}, ...]


class TransitPositionRow(Base):
    """The track: every accepted GNSS fix of a transit, in order."""

    __tablename__ = "transit_positions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    transit_id: Mapped[str] = mapped_column(String(40), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    lat: Mapped[float] = mapped_column()
    lon: Mapped[float] = mapped_column()
    seal: Mapped[str] = mapped_column(String(16))
    offset_m: Mapped[float] = mapped_column()  # distance from the corridor's centre line


# --- Operative Management Centre accounts (issue 10; migration 0004) ------------------------------


class OmcAccountRow(Base):
    """A person who signs in to the OMC: role, agency (agency officers), argon2id hash, lockout."""

    __tablename__ = "omc_accounts"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # operator | agency-officer | auditor | admin
    agency: Mapped[str | None] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(Text)  # argon2id PHC string
    cert_fingerprint: Mapped[str | None] = mapped_column(String(64), unique=True)
    disabled: Mapped[bool] = mapped_column(default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Raised by sign-out, password change, disabling, role change and lockout: a session made under
    # an older generation is refused, so every session of the account ends at once (migration 0006).
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locale: Mapped[str | None] = mapped_column(String(8))  # kk | ru | en; None: not chosen (0012)


# --- trader notifications and shared breakers (issue 6; migration 0005) ---------------------------


class TraderSubscriptionRow(Base):
    """Where a trader (by BIN) wants its decisions sent: one URL, registered by a signed request."""

    __tablename__ = "trader_subscriptions"

    bin: Mapped[str] = mapped_column(String(12), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    registered_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    registered_by: Mapped[str] = mapped_column(String(64))  # fingerprint of the signing cert
    # The event types chosen (gateway.notify.events), a JSON array; NULL: decisions only.
    events: Mapped[str | None] = mapped_column(Text)


class NotificationRow(Base):
    """One signed decision — or progress event (`kind`, migration 0013) — to deliver to a
    trader's URL. Written in the transaction that writes the decision (or the change the event
    tells); claimed with a lease like an outbox row; kept, with its outcome, once done."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_ready", "done_at", "available_at"),
        Index("ix_notifications_application", "application_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"))
    bin: Mapped[str] = mapped_column(String(12))
    url: Mapped[str] = mapped_column(Text)
    verdict: Mapped[str] = mapped_column(String(16))
    decision_sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))  # pending | delivered | failed
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    available_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Fencing token: incremented by every claim; a claim's writes match it (migration 0006).
    lease_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    done_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_status: Mapped[int | None] = mapped_column(Integer)  # the trader's HTTP status
    last_error: Mapped[str | None] = mapped_column(Text)
    # "decision", or an event type; an event's JSON body is `payload` (decision_sha256 its hash).
    kind: Mapped[str] = mapped_column(String(32), default="decision", server_default="decision")
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)


class AgencyBreakerRow(Base):
    """The circuit breaker of one agency, shared by every web and worker process."""

    __tablename__ = "agency_breakers"

    agency: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))  # closed | open | half-open
    failures: Mapped[int] = mapped_column(Integer, default=0)
    opened_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    probe_owner: Mapped[str | None] = mapped_column(String(64))  # who holds the half-open probe
    probe_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


# The payment tables (issue 20) live beside; importing them here puts them in Base.metadata.
from gateway.storage import attachment_models as _attachment_models  # noqa: E402, F401
from gateway.storage import payment_models as _payment_models  # noqa: E402, F401
from gateway.storage import permit_models as _permit_models  # noqa: E402, F401
from gateway.storage import version_models as _version_models  # noqa: E402, F401
