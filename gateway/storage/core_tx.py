"""A write transaction on a Core connection that the settle path's steps take as they take an ORM
session (`Tx`), with an ORM session made only for a step that needs one (`orm_of`).

Settling an answer is a handful of Core and driver statements; the ORM session around them (its
set-up, its transaction object, its commit and close) cost about 50 µs of CPU per transaction,
one settle in twenty (`bench/settle_costs.py`, issue 17). The steps shared with the ORM paths
(callbacks, payments) take a `Tx`, which a `Session` is as it stands.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session


class Tx(Protocol):
    """What a step uses of its transaction: the connection its statements run on, a dict that
    lives as long as the transaction (`wake.owe`), and a flush of what the ORM has pending."""

    def connection(self) -> Connection: ...

    @property
    def info(self) -> dict[Any, Any]: ...

    def flush(self) -> None: ...


class CoreTx:
    """`Tx` over a Core connection in a transaction (`Store.core_transaction`). Its ORM session,
    if a step asked for one (`orm`), is joined to the same transaction and flushed with it."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._session: Session | None = None
        self.info: dict[Any, Any] = {}

    def connection(self) -> Connection:
        return self._connection

    def flush(self) -> None:
        if self._session is not None:
            self._session.flush()

    def orm(self) -> Session:
        """A session on this transaction's connection (made on first use): what it writes is
        committed or rolled back with the transaction, and what it owes (`wake.owe`) is owed by
        the transaction."""
        if self._session is None:
            # Joined to the connection's transaction: its commit and close leave it open.
            self._session = Session(bind=self._connection, expire_on_commit=False)
            self._session.info.update(self.info)
            self.info = self._session.info  # one dict: owed wake-ups land in it either way
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


def orm_of(tx: Tx) -> Session:
    """`tx`'s ORM session: itself when it is one, else `CoreTx.orm`."""
    if isinstance(tx, Session):
        return tx
    assert isinstance(tx, CoreTx)
    return tx.orm()
