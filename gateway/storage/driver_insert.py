"""A Core INSERT sent as the driver's statement: the SQL SQLAlchemy compiles for the table and
the rows' keys (once per table, keys and dialect), each value as SQLAlchemy would bind it, run
with `exec_driver_sql`. For the SQLite paths made on every application (intake's rows, the
trail's queue), where SQLAlchemy's per-execution compile and parameter steps cost more CPU than
SQLite's in-process inserts do (issue 17). Tests hold the rows equal to the Core INSERT's
(`tests/integration/test_intake_statements.py`, `test_trail_append.py`).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.schema import ScalarElementColumnDefault


def insert_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """`connection.execute(insert(table), rows)` for rows of the same keys, as the driver's
    statement: the SQL SQLAlchemy compiles for them, each value as SQLAlchemy binds it."""
    sql, defaults, values_of, processors = _compiled(table, tuple(rows[0]), connection.dialect)
    values = []
    for row in rows:
        bound = list(values_of(defaults | row))
        for index, process in processors:
            bound[index] = process(bound[index])
        values.append(tuple(bound))
    connection.exec_driver_sql(sql, values[0] if len(values) == 1 else values)


@functools.cache
def _compiled(
    table: Table, keys: tuple[str, ...], dialect: Dialect
) -> tuple[
    str, dict[str, Any], Callable[[dict[str, Any]], tuple[Any, ...]], tuple[tuple[int, Any], ...]
]:
    """The INSERT of `keys` into `table` as SQLAlchemy compiles it for `dialect` (a positional
    paramstyle); the Python-side scalar defaults the compiler added parameters for (SQLAlchemy
    fills them in); what reads a row's parameters in their order; and the column types' bind
    processors by position (SQLite stores a datetime as text of its own)."""
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
    names = compiled.positiontup
    assert names is not None and len(names) > 1, "a positional paramstyle, several columns"
    defaults = {}
    processors = []
    for index, name in enumerate(names):
        column = table.c[name]
        if name not in keys:  # a column the compiler added for its Python-side default
            default = column.default
            if not isinstance(default, ScalarElementColumnDefault):
                raise ValueError(f"{table.name}.{name}: only scalar defaults are filled in")
            defaults[name] = default.arg
        process = column.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors.append((index, process))
    return compiled.string, defaults, operator.itemgetter(*names), tuple(processors)
