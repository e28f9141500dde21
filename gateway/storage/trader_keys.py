"""Trader certificates and request nonces in the database (the `TraderCertificates` and
`NonceLedger` ports of gateway.trust.trader_keys)."""

from __future__ import annotations

import datetime as dt
import threading
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import Engine, bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from gateway.clock import Clock
from gateway.storage.autocommit import autocommit_cursor
from gateway.storage.db import (
    is_postgres,
    read_session_factory,
    session_factory,
    unavailable_on_disconnect,
)
from gateway.storage.driver_sql import driver_statement, sqlite_write
from gateway.storage.models import RequestNonceRow, TraderCertificateRow
from gateway.trust.certificates import TrustedSigner
from gateway.trust.trader_keys import RegisteredCertificate
from wire import certificates


class StoredTraderCertificates:
    """`gateway.trust.trader_keys.TraderCertificates` in the database. Thread-safe."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._sessions = session_factory(engine)
        self._readers = read_session_factory(engine)
        self._clock = clock
        # Fingerprints known to be stored: a trader's every submission registers its key, and
        # the answer is "known" from the second on (set.add and `in` are atomic under the GIL).
        self._known: set[str] = set()
        # The certificates read so far, by fingerprint: a registered row is never changed or
        # removed, so what was read once stays true, and a trader's every signed read would
        # otherwise cost a query and a DER parse (issue 17). What is not registered is looked
        # up every time: another process may register it at any moment.
        self._certificates: dict[str, x509.Certificate] = {}

    def register(self, signer: TrustedSigner, source: str) -> bool:
        """Record `signer`'s certificate (already judged by the trust store); False if known."""
        if signer.bin is None:
            raise ValueError("only certificates that name a BIN can be registered for a trader")
        fingerprint = signer.fingerprint_sha256
        if fingerprint in self._known:  # registered rows are never removed: no need to look
            return False
        with unavailable_on_disconnect(), self._readers.begin() as s:
            if s.get(TraderCertificateRow, fingerprint) is not None:
                self._known.add(fingerprint)
                return False
        der = signer.certificate.public_bytes(serialization.Encoding.DER)
        try:
            with unavailable_on_disconnect(), self._sessions.begin() as s:
                s.add(
                    TraderCertificateRow(
                        fingerprint=signer.fingerprint_sha256,
                        bin=signer.bin,
                        subject=signer.subject,
                        der=der,
                        source=source,
                        registered_at=self._clock(),
                    )
                )
        except IntegrityError:  # registered concurrently by another request
            self._known.add(fingerprint)
            return False
        self._known.add(fingerprint)
        return True

    def certificate(self, fingerprint: str) -> x509.Certificate | None:
        fingerprint = fingerprint.lower()
        found = self._certificates.get(fingerprint)
        if found is not None:
            return found
        query = select(TraderCertificateRow.der).where(
            TraderCertificateRow.fingerprint == fingerprint
        )
        with unavailable_on_disconnect(), self._readers.begin() as s:
            der = s.execute(query).scalar()
        if der is None:
            return None
        # Read back through the one reader: the bytes came from a trader's KeyInfo.
        found = self._certificates[fingerprint] = certificates.certificate_from_der(bytes(der))
        return found

    def list(self, bin_: str | None = None) -> list[RegisteredCertificate]:
        query = select(TraderCertificateRow).order_by(TraderCertificateRow.registered_at)
        if bin_ is not None:
            query = query.where(TraderCertificateRow.bin == bin_)
        with unavailable_on_disconnect(), self._sessions.begin() as s:
            return [
                RegisteredCertificate(r.fingerprint, r.bin, r.subject, r.source, r.registered_at)
                for r in s.scalars(query)
            ]


class StoredNonceLedger:
    """Nonces of accepted signed requests, per key, until their replay window closes.

    Shared through the database so every web node refuses a request another node already served.
    Recording one is a single statement (a trader's every signed read records one): an INSERT
    that, on a conflict, takes over the row only if its window has closed, so a nonce still in
    its window changes no row and is a replay. Rows past their window are deleted at most once
    every `PURGE_EVERY` per process, in the transaction of the nonce that found the purge due,
    instead of a DELETE in every request's transaction."""

    PURGE_EVERY = dt.timedelta(seconds=60)

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._postgres = is_postgres(engine)
        self._insert = postgresql.insert if is_postgres(engine) else sqlite.insert
        self._clock = clock
        self._lock = threading.Lock()
        self._purge_due: dt.datetime | None = None  # None: purge with the first nonce
        # Built once (a trader's every signed read runs it): on a conflict the row is taken
        # over only when its window has closed, so a nonce still in its window is a replay.
        expires = RequestNonceRow.__table__.c.expires_at
        insert = self._insert(RequestNonceRow).values(
            keyid=bindparam("keyid"),
            nonce=bindparam("nonce"),
            expires_at=bindparam("until", type_=expires.type),
        )
        # RETURNING says whether a row was written (psycopg's rowcount is -1 here).
        self._record = insert.on_conflict_do_update(
            index_elements=["keyid", "nonce"],
            set_={"expires_at": insert.excluded.expires_at},
            where=RequestNonceRow.expires_at < bindparam("now", type_=expires.type),
        ).returning(RequestNonceRow.keyid)
        self._purge = delete(RequestNonceRow).where(
            RequestNonceRow.expires_at < bindparam("now", type_=expires.type)
        )

    def autocommit(self) -> AbstractContextManager[Any]:
        """`gateway.storage.autocommit.autocommit_cursor` on the ledger's engine."""
        return autocommit_cursor(self._engine)

    def _write(self, cursor: Any) -> AbstractContextManager[None]:
        return nullcontext() if self._postgres else sqlite_write(self._engine, cursor)

    def _purge_now(self, now: dt.datetime) -> bool:
        with self._lock:
            if self._purge_due is not None and now < self._purge_due:
                return False
            self._purge_due = now + self.PURGE_EVERY
            return True

    def first_use(self, keyid: str, nonce: str, keep_until: dt.datetime) -> bool:
        """Record the nonce; False if it was already used with this key (a replay)."""
        now = self._clock()
        values = {"keyid": keyid, "nonce": nonce, "until": keep_until, "now": now}
        purge = self._purge_now(now)
        # One statement (two when the purge is due) on an autocommit DB-API cursor, compiled
        # once (`driver_sql`): on PostgreSQL each commits by itself, without the BEGIN and COMMIT
        # round trips, and SQLAlchemy's execution steps cost more CPU than the INSERT (issue
        # 17); on SQLite in a write transaction begun as the engine's are (`sqlite_write`). The
        # nonce is durable before the read it guards is answered.
        dialect = self._engine.dialect
        try:
            with self.autocommit() as cursor, self._write(cursor):
                if purge:
                    driver_statement(self._purge, dialect).rows(cursor, {"now": now})
                return bool(driver_statement(self._record, dialect).rows(cursor, values))
        except IntegrityError:  # not expected with ON CONFLICT: refused all the same
            return False
