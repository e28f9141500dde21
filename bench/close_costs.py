"""Closing claimed deliveries, alone: the CPU `OutboxStore` spends releasing each answered
claim's lease (fenced), locking the application and writing its case, per application. Not a
test.

    .venv/bin/python bench/close_costs.py [-n N] [--group G] [--postgres URL --may-wipe NAME]

N applications of four cases each are lodged and all their deliveries claimed; then each
application's answers are closed in groups of G (as the dispatcher's settle group records the
answers it has in hand together: 1 when agencies answer one after another, up to all of an
application's cases when they answer at once), each group in its own transaction, and this
thread's CPU time inside `_close_deliveries` is reported per application (the transaction's
BEGIN is taken before the clock starts). Run it for a base and a branch back to back (same
venv, `PYTHONPATH` of each) to compare the statements that close a group, nothing else.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections.abc import Callable
from typing import Any

from _claimed import AGENCIES, NOW, add_arguments, claimed_answers, fresh_store

from gateway.fanout.ports import Answered
from gateway.storage.db import is_postgres
from gateway.storage.outbox import OutboxStore


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_arguments(parser)
    parser.add_argument("--group", type=int, default=8, help="answers closed together")
    args = parser.parse_args(argv)
    store = fresh_store(args, "close")
    engine = store.engine
    by_application = claimed_answers(store, args.n)
    postgres = is_postgres(engine)
    close = getattr(store, "_close_deliveries", None) or _one_by_one(store)
    spent = 0.0
    for application_id, answers in by_application.items():
        for start in range(0, len(answers), args.group):
            with store.transaction() as s:
                s.connection()  # BEGIN, outside the clock
                began = time.thread_time()
                close(s, application_id, answers[start : start + args.group], NOW, postgres)
                spent += time.thread_time() - began
    database = "PostgreSQL" if postgres else "SQLite"
    print(
        f"{database}, {args.n} applications of {len(AGENCIES)} cases, groups of {args.group}: "
        f"closing {spent / args.n * 1000:.3f} ms CPU per application"
    )
    engine.dispose()
    return 0


def _one_by_one(store: OutboxStore) -> Callable[..., object]:
    """Before `_close_deliveries` (c9f18ae and earlier): `_close_delivery` per answer, the
    application locked by the first."""

    def close(s: Any, _app: str, answers: list[Answered], now: dt.datetime, _pg: bool) -> None:
        for i, answer in enumerate(answers):
            store._close_delivery(s, answer, now, locked=i > 0)  # type: ignore[call-arg]

    return close


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
