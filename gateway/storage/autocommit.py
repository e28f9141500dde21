"""A DB-API cursor in autocommit, on a pooled connection, without SQLAlchemy's execution layer.

Each statement is a transaction of its own, with no BEGIN or COMMIT round trip around it
(SQLite's connections are in autocommit already, `db.make_engine`, and a lone SELECT takes no
write lock). For the few statements made all the time where SQLAlchemy's execution steps cost
more CPU than the statement (issue 17): the trail's integrator and proofs, the claims and the
loops' one-statement looks (`driver_sql`), a trader's signed read and its nonce. A lost
connection is
`DatabaseUnavailable`, as through a transaction, and the pool drops it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from gateway.storage.db import is_postgres, unavailable_on_disconnect


@contextmanager
def autocommit_cursor(engine: Engine) -> Iterator[Any]:
    """A DB-API cursor on one of `engine`'s pooled connections, in autocommit; see the module."""
    postgres = is_postgres(engine)
    with unavailable_on_disconnect():
        raw = engine.raw_connection()
        try:
            if postgres:
                raw.driver_connection.autocommit = True  # type: ignore[union-attr]
            cursor = raw.cursor()
            try:
                yield cursor
            finally:
                cursor.close()
                if postgres:
                    raw.driver_connection.autocommit = False  # type: ignore[union-attr]
        except engine.dialect.loaded_dbapi.Error as exc:
            # As SQLAlchemy would wrap it, so a lost connection is `DatabaseUnavailable` and the
            # pool drops the dead connection.
            wrapped = DBAPIError.instance(None, None, exc, engine.dialect.loaded_dbapi.Error)
            if engine.dialect.is_disconnect(exc, raw.dbapi_connection, None):
                wrapped.connection_invalidated = True
                raw.invalidate(exc)
            raise wrapped from exc
        finally:
            raw.close()
