"""The database pool is sized from what a process runs: every web thread, every delivery slot
and every loop can hold a connection at once, so none queues for one (issue 17: with 16 delivery
slots a worker's PostgreSQL pool kept 10 connections)."""

from __future__ import annotations

import pytest

from gateway.bootstrap import pool_connections
from gateway.config import load_config
from gateway.fanout.slots import SLOTS_PER_DISPATCHER
from gateway.storage.db import make_engine


@pytest.mark.parametrize(("dispatcher_threads", "web_threads"), [(4, 0), (2, 8), (0, 8), (3, 0)])
def test_every_thread_slot_and_loop_can_hold_a_connection_at_once(
    database_url: str, dispatcher_threads: int, web_threads: int
) -> None:
    config = load_config(
        {"NSW_DATABASE_URL": database_url},
        dispatcher_threads=dispatcher_threads,
        web_threads=web_threads,
    )
    holders = web_threads + dispatcher_threads * SLOTS_PER_DISPATCHER
    if dispatcher_threads:
        holders += 2 + max(1, dispatcher_threads // 2) + 2  # claimer, releases, notifiers, trail
    engine = make_engine(database_url, pool_connections(config))
    try:
        assert engine.pool.size() >= holders  # type: ignore[attr-defined]
        held = [engine.connect() for _ in range(holders)]  # none waits for another's return
        for connection in held:
            connection.close()
    finally:
        engine.dispose()


def test_nsw_web_threads_sizes_the_web_processes_pool() -> None:
    assert load_config({"NSW_WEB_THREADS": "32"}).web_threads == 32
    assert load_config({}).web_threads == 8  # gunicorn's threads by default (WebSettings)
