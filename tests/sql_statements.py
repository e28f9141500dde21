"""What a piece of work asks of the database: the SQL statements an engine runs inside a block.

Tests that compare two paths by their statements (no existence leak, equal sign-in cost) or count
them (an idle gateway, one query per bundle) record them here rather than by wall-clock time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from gateway.storage.repository import Store
from gateway.storage.trader_keys import StoredNonceLedger

if TYPE_CHECKING:
    from gateway.storage.trail import StoredTrail


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


@contextmanager
def raw_recorded(
    source: StoredTrail | Store | StoredNonceLedger,
) -> Iterator[list[tuple[str, Any]]]:
    """Every statement (with its parameters) `source` sends inside the block on its autocommit
    DB-API cursors (`Store.autocommit`: the integrator's, the proofs' and PostgreSQL's claim and
    trader reads; `StoredNonceLedger.autocommit`), which bypass SQLAlchemy's events."""
    store: Store | StoredNonceLedger = (
        source if isinstance(source, Store | StoredNonceLedger) else source.store
    )
    seen: list[tuple[str, Any]] = []
    opened = store.autocommit

    @contextmanager
    def recording() -> Iterator[Any]:
        with opened() as cursor:
            yield _RecordingCursor(cursor, seen)

    store.autocommit = recording  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        del store.autocommit


class _RecordingCursor:
    def __init__(self, cursor: Any, seen: list[tuple[str, Any]]) -> None:
        self.cursor, self.seen = cursor, seen

    def execute(self, sql: str, parameters: Any = None) -> Any:
        self.seen.append((sql, parameters))
        return (
            self.cursor.execute(sql) if parameters is None else self.cursor.execute(sql, parameters)
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cursor, name)
