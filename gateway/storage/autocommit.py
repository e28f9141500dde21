"""A DB-API cursor in autocommit, on a pooled connection, without SQLAlchemy's execution layer.

Each statement is a transaction of its own, with no BEGIN or COMMIT round trip around it
(SQLite's connections are in autocommit already, `db.make_engine`, and a lone SELECT takes no
write lock). For the few statements made all the time where SQLAlchemy's execution steps cost
more CPU than the statement (issue 17): the trail's integrator and proofs, PostgreSQL's claim,
and on PostgreSQL a trader's signed read and its nonce. A lost connection is
`DatabaseUnavailable`, as through a transaction, and the pool drops it.
"""

from __future__ import annotations

import functools
from collections import namedtuple
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement

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


@functools.cache
def driver_sql(statement: ClauseElement, dialect: Dialect) -> tuple[str, type[tuple[Any, ...]]]:
    """`statement` as PostgreSQL's driver takes it, compiled once (named parameters, `%(name)s`),
    and a named tuple of its result columns (keys as SQLAlchemy gives them: a second `id` is
    `id_1`). Only for statements whose columns need no result processing on this dialect (on
    PostgreSQL the driver's own types are what SQLAlchemy hands back for ours)."""
    assert dialect.name == "postgresql", "SQLite's driver returns text where SQLAlchemy parses"
    compiled: Any = statement.compile(dialect=dialect)
    found = compiled.statement
    columns = getattr(found, "selected_columns", None)
    if columns is None:  # an INSERT ... RETURNING, a DELETE
        columns = found.exported_columns
    keys = tuple(columns.keys())
    return compiled.string, namedtuple("DriverRow", keys)
