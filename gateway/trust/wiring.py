"""Composition of the trust registries on the gateway's database, for the commands that only need
them (`nsw representatives ...`, `nsw traders ...`); the server gets them from gateway.bootstrap."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from gateway.clock import Clock, system_clock
from gateway.trust.representatives import Representatives
from gateway.trust.trader_keys import TraderCertificates


@dataclass(frozen=True)
class Registries:
    representatives: Representatives
    trader_certs: TraderCertificates


@contextmanager
def registries(database_url: str, clock: Clock = system_clock) -> Iterator[Registries]:
    """The registries on the database at `database_url` (migrated first); closed on exit."""
    from gateway.storage.db import make_engine
    from gateway.storage.migrate import upgrade
    from gateway.storage.representatives import StoredRepresentatives
    from gateway.storage.trader_keys import StoredTraderCertificates

    engine = make_engine(database_url)
    try:
        upgrade(engine)
        yield Registries(
            StoredRepresentatives(engine, clock), StoredTraderCertificates(engine, clock)
        )
    finally:
        engine.dispose()
