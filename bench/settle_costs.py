"""Settling answers, alone: the CPU `OutboxStore.settle_all` spends per application in storage —
closing the deliveries, reading the decision's inputs, the trader's events, the permits, the
decision's row, the trail's queue and the notification, and the transaction around them — with a
decider that signs nothing (its cost is the decision module's, not storage's). Not a test.

    .venv/bin/python bench/settle_costs.py [-n N] [--group G] [--subscribed] [--postgres URL --may-wipe NAME]

N applications of four cases each are lodged and all their deliveries claimed; then each
application's answers are settled in groups of G (as the dispatcher's settle group records the
answers it has in hand together), each group one `settle_all`, with two trail messages of 2 kB
per answer as an agency exchange has. This thread's CPU time inside `settle_all` is reported per
application, and the statements and transactions it made. `--subscribed`: the declarant
registered a URL for every event (a notification row per case and one for the decision). Run it
for a base and a branch back to back (same venv, `PYTHONPATH` of each).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from _claimed import AGENCIES, BIN, NOW, add_arguments, claimed_answers, fresh_store
from sqlalchemy import event, insert

from gateway.fanout.ports import Claim
from gateway.notify.events import EVENT_TYPES
from gateway.storage.db import is_postgres
from gateway.storage.models import TraderSubscriptionRow
from gateway.trail.messages import Message


def _decide(subject: object, cases: object) -> tuple[str, bytes]:
    return "granted", b"<Decision>" + b"x" * 3000 + b"</Decision>"


def _exchange(claim: Claim) -> list[Message]:
    """The two trail messages of 2 kB of an agency exchange."""
    return [
        Message(kind, way, f"agency:{claim.agency}", "application/xml",
                f"<{kind} case='{claim.case_id}'>".encode() + b"y" * 2000, case_id=claim.case_id)
        for kind, way in (("request", "out"), ("answer", "in"))
    ]  # fmt: skip


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_arguments(parser)
    parser.add_argument("--group", type=int, default=4, help="answers settled together")
    parser.add_argument("--subscribed", action="store_true", help="the trader chose every event")
    args = parser.parse_args(argv)
    store = fresh_store(args, "settle")
    engine = store.engine
    if args.subscribed:
        with engine.begin() as connection:
            connection.execute(
                insert(TraderSubscriptionRow.__table__),  # type: ignore[arg-type]
                {"bin": BIN, "url": "https://127.0.0.1/hook", "events": json.dumps(EVENT_TYPES),
                 "registered_by": "00" * 32, "registered_at": NOW},
            )  # fmt: skip
    by_application = claimed_answers(store, args.n, _exchange)
    statements = transactions = 0

    def _count(*_args: object) -> None:
        nonlocal statements
        statements += 1

    def _began(*_args: object) -> None:
        nonlocal transactions
        transactions += 1

    event.listen(engine, "before_cursor_execute", _count)
    event.listen(engine, "begin", _began)
    spent = 0.0
    for answers in by_application.values():
        for start in range(0, len(answers), args.group):
            began = time.thread_time()
            store.settle_all(answers[start : start + args.group], _decide)
            spent += time.thread_time() - began
    database = "PostgreSQL" if is_postgres(engine) else "SQLite"
    print(
        f"{database}, {args.n} applications of {len(AGENCIES)} cases, groups of {args.group}"
        f"{', subscribed' if args.subscribed else ''}: settling {spent / args.n * 1000:.3f} ms "
        f"CPU per application; {statements / args.n:.1f} statements (SQLAlchemy's) in "
        f"{transactions / args.n:.1f} transactions"
    )
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
