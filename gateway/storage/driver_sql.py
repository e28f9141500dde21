"""A Core statement run on a DB-API cursor: the SQL SQLAlchemy compiles for it (once per
statement and dialect), its parameters bound and its rows read as SQLAlchemy binds and reads
them, without SQLAlchemy's execution steps (an execution context, a result object and the
compiled-cache look-up for each statement: ten times the CPU of a short SQLite statement, and
as much as psycopg's own on PostgreSQL, issue 17). For statements made on every application or
every read on a `Store.autocommit` cursor: the claims (`outbox_sql.claim_deliveries`,
`claim_deliveries_pg`), `Store.read_scalar`, a trader's signed read and its nonce.
Tests hold the SQL, parameters and rows equal to `Connection.execute`'s on both databases
(`tests/integration/test_driver_sql.py`).
"""

from __future__ import annotations

import functools
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import ClauseElement

from gateway.storage.db import let_writers_first

Processors = tuple[tuple[int, Callable[[Any], Any]], ...]


@dataclass(frozen=True)
class DriverStatement:
    """A statement as the driver takes it: SQLite's positional parameters (`?`), or psycopg's
    named ones (`%(name)s`)."""

    sql: str
    positional: bool
    names: tuple[str, ...]  # the parameters: in the order the SQL takes them if positional
    fixed: Mapping[str, Any]  # the values the statement fixes itself (a `+ 1`, an OFFSET 0)
    binds: Mapping[str, Callable[[Any], Any]]  # the parameters' bind processors, by name
    columns: tuple[str, ...]  # the names of its columns, in order
    results: Processors  # the result processors of its columns, by position

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        """The driver's parameters for `values` (by name), each bound as SQLAlchemy binds it."""
        merged = {**self.fixed, **values}
        bound = {}
        for name in self.names:  # a KeyError for a parameter not given
            process = self.binds.get(name)
            bound[name] = merged[name] if process is None else process(merged[name])
        return tuple(bound[name] for name in self.names) if self.positional else bound

    def rows(self, cursor: Any, values: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Run it on `cursor` with `values`; its rows, by column name, each value read as
        SQLAlchemy reads it (SQLite's datetimes are text until then); none for a statement
        that returns no rows (an UPDATE without RETURNING: its `cursor.rowcount` says more)."""
        return self.read(cursor, self.parameters(values))

    def read(
        self, cursor: Any, parameters: tuple[Any, ...] | dict[str, Any]
    ) -> list[dict[str, Any]]:
        """`rows`, given the driver's parameters (`parameters`)."""
        return [dict(zip(self.columns, row, strict=True)) for row in self._read(cursor, parameters)]

    def records(self, cursor: Any, values: Mapping[str, Any]) -> list[Any]:
        """`rows` as named tuples (`record_type`): read by position or by column name."""
        record = self.record_type
        return [record(*row) for row in self._read(cursor, self.parameters(values))]

    @functools.cached_property
    def record_type(self) -> type[tuple[Any, ...]]:
        """A named tuple of its columns (names as SQLAlchemy keys them: a second `id` is
        `id_1`)."""
        return namedtuple("Record", self.columns)

    def _read(self, cursor: Any, parameters: tuple[Any, ...] | dict[str, Any]) -> list[list[Any]]:
        cursor.execute(self.sql, parameters)
        if cursor.description is None:
            return []
        rows = []
        for raw in cursor.fetchall():
            row = list(raw)
            for index, process in self.results:
                row[index] = process(row[index])
            rows.append(row)
        return rows


@functools.lru_cache(maxsize=512)
def driver_statement(statement: ClauseElement, dialect: Dialect) -> DriverStatement:
    """`statement` compiled for `dialect` (a text that is fixed: no expanding parameters), with
    the processors SQLAlchemy's own execution applies to it. Kept by the statement object's
    identity: for statements built once (module constants, cached builders); one built per call
    is compiled again each time (bounded: it is not kept for long)."""
    compiled: Any = statement.compile(dialect=dialect)
    if "POSTCOMPILE" in compiled.string:
        raise ValueError("a statement of fixed text: no expanding parameters")
    if compiled.insert_prefetch or compiled.update_prefetch:  # SQLAlchemy computes them per row
        raise ValueError("no Python-side column defaults: give every column a value")
    positional = compiled.positiontup is not None
    columns = compiled._result_columns  # (key, name, objects, type) of each column, in order
    results = []
    for index, column in enumerate(columns):
        process = column.type._cached_result_processor(dialect, None)
        if process is not None:
            results.append((index, process))
    return DriverStatement(
        sql=compiled.string,
        positional=positional,
        names=tuple(compiled.positiontup if positional else compiled.params),
        fixed={k: v for k, v in compiled.params.items() if v is not None},
        binds=dict(compiled._bind_processors),  # what SQLAlchemy applies, per parameter
        columns=tuple(column.keyname for column in columns),
        results=tuple(results),
    )


def run_in(
    connection: Connection, statement: ClauseElement, values: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], int]:
    """`statement` with `values` on `connection`'s DB-API connection, inside the transaction
    `connection` is in (a `Store.core_transaction`'s, a session's `connection()`): its rows
    (`DriverStatement.rows`) and its row count. A driver error is raised as SQLAlchemy raises
    it for `Connection.execute` (its exception classes, the statement and parameters in the
    message, a lost connection invalidated), by SQLAlchemy's own handler."""
    if not connection.in_transaction():
        raise RuntimeError("run_in: the connection is not in a transaction")
    sent = driver_statement(statement, connection.dialect)
    parameters = sent.parameters(values)
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        rows = sent.read(cursor, parameters)
        return rows, cursor.rowcount
    except connection.dialect.loaded_dbapi.Error as exc:
        connection._handle_dbapi_exception(exc, sent.sql, parameters, cursor, None)
        raise  # not reached: the handler raises
    finally:
        cursor.close()


@contextmanager
def sqlite_write(engine: Engine, cursor: Any) -> Iterator[None]:
    """SQLite: a write transaction on `cursor` (a `Store.autocommit` one), as the engine's own
    transactions begin (BEGIN IMMEDIATE, after the writers that go first) and end (COMMIT, or
    ROLLBACK when the block raises)."""
    let_writers_first(engine)
    cursor.execute("BEGIN IMMEDIATE", ())
    try:
        yield
    except BaseException:
        cursor.execute("ROLLBACK", ())
        raise
    cursor.execute("COMMIT", ())
