"""What a piece of work asks of the database: the SQL statements an engine runs inside a block.

Tests that compare two paths by their statements (no existence leak, equal sign-in cost) or count
them (an idle gateway, one query per bundle) record them here rather than by wall-clock time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


@contextmanager
def recorded(
    engine: Engine, keep: Callable[[str], bool] = lambda _sql: True
) -> Iterator[list[tuple[str, Any]]]:
    """Every statement `keep` accepts that `engine` sends inside the block, with its parameters,
    in order."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, sql: str, parameters: Any, *_: Any) -> None:
        if keep(sql):
            seen.append((sql, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


@contextmanager
def statements(
    engine: Engine, keep: Callable[[str], bool] = lambda _sql: True
) -> Iterator[list[str]]:
    """The statements' text alone, white space folded, for comparing two paths."""
    texts: list[str] = []
    with recorded(engine, keep) as seen:
        yield texts
        texts.extend(" ".join(sql.split()) for sql, _ in seen)
